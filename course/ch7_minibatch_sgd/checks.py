"""Visible checks for chapter 7. They compare with values worked out by hand and explain what went wrong."""
from __future__ import annotations

import numbers
from typing import Callable

import torch
from torch.utils.data import DataLoader, TensorDataset

from course_kit import CheckFailed, require_close, require_float, run_check


def check_train_epoch(train_epoch: Callable) -> None:
    """Chapter 4's four points in two batches of two, from w = b = 0, learning rate 0.01.

    By hand: batch 1 (x = 1, 2) has loss (3² + 5²)/2 = 17 and gradients (-13, -8), so w = 0.13,
    b = 0.08; batch 2 (x = 3, 4) then has errors -6.53, -8.40, loss 56.60045, gradients (-53.19, -14.93),
    so w = 0.6619, b = 0.2293. Without zero_grad the second step uses (-66.19, -22.93) instead.
    """
    def check() -> None:
        x = torch.tensor([[1.0], [2.0], [3.0], [4.0]])
        y = torch.tensor([[3.0], [5.0], [7.0], [9.0]])
        w = torch.zeros(1, requires_grad=True)
        b = torch.zeros(1, requires_grad=True)
        loader = DataLoader(TensorDataset(x, y), batch_size=2, shuffle=False)
        optimizer = torch.optim.SGD([w, b], lr=0.01)
        call = "train_epoch(w=0, b=0, loader of x = 1, 2, 3, 4 in batches of 2, SGD with lr=0.01)"
        losses = train_epoch(w, b, loader, optimizer)
        if not isinstance(losses, list):
            raise CheckFailed(f"{call} returned a {type(losses).__name__}; it returns the list of the batch losses.")
        if len(losses) != 2:
            hint = " Is the return statement inside the loop?" if len(losses) == 1 else ""
            raise CheckFailed(f"{call} returned {len(losses)} losses, expected 2, one per batch.{hint}")
        for k, (got, want) in enumerate(zip(losses, [17.0, 56.60045])):
            if isinstance(got, torch.Tensor):
                raise CheckFailed(f"loss {k + 1} returned by {call} is a tensor, but the docstring promises a "
                                  "float: append loss.item().")
            got = require_float(got, f"loss {k + 1} returned by {call}")
            require_close(got, want, f"loss {k + 1} returned by {call}", {
                "that is the sum over the batch: take the mean": 2 * want,
            }, rel_tol=1e-5)
        require_close(w.item(), 0.6619, f"w after {call}", {
            "the gradients piled up from batch to batch: call optimizer.zero_grad() before each backward()": 0.7919,
            "w moved only once: call optimizer.step() after each batch's backward()": 0.13,
            "w never moved: call optimizer.step()": 0.0,
        }, rel_tol=1e-5)
        require_close(b.item(), 0.2293, f"b after {call}", {
            "the gradients piled up from batch to batch: call optimizer.zero_grad() before each backward()": 0.3093,
        }, rel_tol=1e-5)
    run_check("train_epoch", check)


def check_step_decay(step_decay: Callable) -> None:
    def check() -> None:
        for epoch, want in [(0, 0.1), (9, 0.1), (10, 0.05), (25, 0.025), (40, 0.00625)]:
            call = f"step_decay({epoch}, initial_rate=0.1, drop=0.5, every=10)"
            got = step_decay(epoch, 0.1, 0.5, 10)
            if isinstance(got, bool) or not isinstance(got, numbers.Real):
                raise CheckFailed(f"{call} returned a {type(got).__name__}, but the docstring promises a float.")
            require_close(require_float(got, call), want, call, {
                "the rate fell a little every epoch: count whole periods, epoch // every, not epoch / every":
                    0.1 * 0.5 ** (epoch / 10),
                "the drop came one epoch early: epochs count from 0, so use epoch // every": 0.1 * 0.5 ** ((epoch + 1) // 10),
                "the rate should be multiplied by drop once per period, not divided": 0.1 * 2 ** (epoch // 10),
            })
    run_check("step_decay", check)



def _variance_of_a_batch_mean(values: list[float], size: int) -> float:
    """Exact variance of the mean of `size` of `values` drawn without repeats, from the inclusion probabilities:
    each value is in the batch with probability p = B/N, each pair with q = B(B-1)/(N(N-1))."""
    n = len(values)
    centred = [v - sum(values) / n for v in values]
    p, q = size / n, size * (size - 1) / (n * (n - 1))
    squares, pairs = sum(d * d for d in centred), sum(centred) ** 2 - sum(d * d for d in centred)
    return (p * (1 - p) * squares + (q - p * p) * pairs) / size ** 2


def check_predicted_ratio(predicted_ratio: float) -> None:
    def check() -> None:
        got = require_float(predicted_ratio, "predicted_ratio")
        values = [float(k * k % 37) for k in range(200)]  # any 200 numbers give the same ratio
        want = _variance_of_a_batch_mean(values, 50) / _variance_of_a_batch_mean(values, 1)
        require_close(got, want, "predicted_ratio", {
            "that is 1/B alone: the batch is drawn without repeats, so the correction (N − B)/(N − 1) applies": 1 / 50,
            "that is 1/√B, the ratio of the standard deviations: the question asks for the variances": 50 ** -0.5,
            "that is upside down: the batch of 50 has the smaller variance, so the ratio is below 1": 1 / want,
        }, rel_tol=0.02)
    run_check("predicted_ratio", check)

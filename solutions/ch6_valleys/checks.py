"""Visible checks for chapter 6. They compare with closed forms and explain what went wrong."""
from __future__ import annotations

import math
from typing import Callable

import torch

from course_kit import CheckFailed, require_close, require_float, run_check


def check_centre(centre: Callable) -> None:
    def check() -> None:
        for column in ([1.0, 2.0, 3.0, 4.0], [10.0, 20.0, 60.0]):
            x = torch.tensor([[v] for v in column])
            before = x.clone()
            call = f"centre(tensor({[[v] for v in column]}))"
            got = centre(x)
            if not torch.equal(x, before):
                raise CheckFailed(f"{call} changed x itself: return a new tensor, x - x.mean(), instead of "
                                  "subtracting in place (x -= ...), which would change the student's data too.")
            if not isinstance(got, torch.Tensor) or got.shape != x.shape:
                shape = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
                raise CheckFailed(f"{call} returned {shape}; it returns a tensor of the same shape as x, {tuple(x.shape)}.")
            mean = sum(column) / len(column)
            std = math.sqrt(sum((v - mean) ** 2 for v in column) / (len(column) - 1))
            for value, original in zip(got.ravel().tolist(), column):
                require_close(value, original - mean, f"{call}, the value for x = {original}", {
                    "every value became 0: the mean was taken over the wrong dimension (each row's own "
                    "mean); take the mean of the whole column, x.mean() or x.mean(dim=0)": 0.0,
                    "that is centred and scaled: centre only subtracts the mean": (original - mean) / std,
                    "the sign is flipped: subtract the mean from x, not x from the mean": mean - original,
                }, rel_tol=1e-6)
    run_check("centre", check)


def check_momentum_step(momentum_step: Callable) -> None:
    def check() -> None:
        w, v, g, eta, beta = 1.0, 0.5, 2.0, 0.1, 0.9
        call = f"momentum_step(w={w}, velocity={v}, gradient={g}, learning_rate={eta}, momentum={beta})"
        got = momentum_step(w, v, g, eta, beta)
        if not isinstance(got, tuple) or len(got) != 2:
            raise CheckFailed(f"{call} returned {got!r}; it returns a pair: (new w, new velocity).")
        new_w, new_v = (require_float(value, call) for value in got)
        require_close(new_v, beta * v + g, f"the velocity returned by {call}", {
            "the velocity forgot the old one: velocity = momentum * velocity + gradient": g,
            "the learning rate belongs to the step of w, not to the velocity": beta * v - eta * g,
            "the gradient is missing from the new velocity": beta * v,
        })
        require_close(new_w, w - eta * (beta * v + g), f"the w returned by {call}", {
            "w moved with the old velocity: compute the new velocity first, then w - learning_rate * velocity":
                w - eta * v,
            "the step went uphill: subtract learning_rate * velocity": w + eta * (beta * v + g),
            "the learning rate is missing from the step of w": w - (beta * v + g),
        })
        call = "momentum_step(tensor([1., -1.]), tensor([0., 0.]), tensor([2., 4.]), 0.1, 0.9)"
        got = momentum_step(torch.tensor([1.0, -1.0]), torch.tensor([0.0, 0.0]), torch.tensor([2.0, 4.0]), 0.1, 0.9)
        if not (isinstance(got, tuple) and len(got) == 2 and all(isinstance(t, torch.Tensor) for t in got)):
            raise CheckFailed(f"{call} should return two tensors: write the step with +, -, * only, so it works "
                              "for floats and tensors alike.")
        if not (torch.allclose(got[0], torch.tensor([0.8, -1.4])) and torch.allclose(got[1], torch.tensor([2.0, 4.0]))):
            raise CheckFailed(f"{call} returned {got!r}, expected (tensor([0.8, -1.4]), tensor([2., 4.])).")
    run_check("momentum_step", check)


def _closed_form_condition_number(column: list[float]) -> float:
    """λ_max / λ_min of the 2x2 Hessian 2/n [[Σx², Σx], [Σx, n]], from its trace and determinant."""
    n = len(column)
    h11, h12, h22 = 2 * sum(v * v for v in column) / n, 2 * sum(column) / n, 2.0
    trace, det = h11 + h22, h11 * h22 - h12 * h12
    root = math.sqrt(trace * trace / 4 - det)
    return (trace / 2 + root) / (trace / 2 - root)


def check_condition_number(condition_number: Callable) -> None:
    def check() -> None:
        for column in ([1.0, 2.0, 3.0, 4.0], [-1.5, -0.5, 0.5, 1.5], [0.0, 1.0]):
            call = f"condition_number(tensor({[[v] for v in column]}))"
            got = require_float(condition_number(torch.tensor([[v] for v in column])), call)
            want = _closed_form_condition_number(column)
            require_close(got, want, call, {
                "that is smallest / largest eigenvalue: the condition number is largest / smallest, at least 1":
                    1 / want,
                "the loss depends on w and b: its Hessian is 2x2, with the features [x, 1] as columns": 1.0,
            }, rel_tol=1e-4)
    run_check("condition_number", check)

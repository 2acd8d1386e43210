"""Visible checks for chapter 4. They try small documented inputs and explain what went wrong."""
from __future__ import annotations

from typing import Callable

import torch

from course_kit import CheckFailed, require_close, require_float, run_check

X = torch.tensor([[1.0], [2.0], [3.0], [4.0]])
Y = torch.tensor([[3.0], [5.0], [7.0], [9.0]])


def check_mse_loss(mse_loss: Callable) -> None:
    def check() -> None:
        call = "mse_loss(tensor([[1.], [2.]]), tensor([[0.], [0.]]))"
        loss = mse_loss(torch.tensor([[1.0], [2.0]]), torch.tensor([[0.0], [0.0]]))
        if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
            raise CheckFailed(f"{call} should return a single-number tensor (so that .backward() works), "
                              f"got {loss!r}.")
        require_close(loss.item(), 2.5, call, {
            "that is the sum of the squared errors: take the mean": 5.0,
            "the errors are not squared": 1.5,
        }, rel_tol=1e-5)
    run_check("mse_loss", check)


def check_train_step(train_step: Callable, mse_loss: Callable) -> None:
    """Checked against your own `mse_loss`, so a slip in exercise 1 does not count twice."""
    def check() -> None:
        lr = 0.01
        w_copy = torch.tensor([1.0], requires_grad=True)
        b_copy = torch.tensor([0.0], requires_grad=True)
        own_loss = mse_loss(X * w_copy + b_copy, Y)
        if not isinstance(own_loss, torch.Tensor) or own_loss.dim() != 0:
            raise CheckFailed("mse_loss must return a single-number tensor before train_step can work: "
                              "finish exercise 1 first.")
        own_loss.backward()
        want_w, want_b = 1.0 - lr * w_copy.grad.item(), 0.0 - lr * b_copy.grad.item()

        w = torch.tensor([1.0], requires_grad=True)
        b = torch.tensor([0.0], requires_grad=True)
        x, y = X.clone(), Y.clone()
        call = "train_step(w=1, b=0, x, y, learning_rate=0.01)"
        loss = require_float(train_step(w, b, x, y, lr), call)
        require_close(loss, own_loss.item(), f"the loss returned by {call}", {}, rel_tol=1e-5)
        require_close(w.item(), want_w, f"w after {call}", {
            "the step went uphill: subtract learning_rate * w.grad": 1.0 + lr * w_copy.grad.item(),
            "w did not move: update it in place (w -= ...) under torch.no_grad()": 1.0,
        }, rel_tol=1e-5)
        require_close(b.item(), want_b, f"b after {call}", {
            "the step went uphill for b": 0.0 + lr * b_copy.grad.item()}, rel_tol=1e-5)
        stale = [g for g in (w.grad, b.grad) if g is not None and g.abs().sum()]
        if stale:  # zeros, or None (what optimizer.zero_grad() does), are both fine
            raise CheckFailed(f"after {call}, w.grad and b.grad should be zeros (call .grad.zero_()), "
                              "or the next epoch adds the old gradient to the new one.")
        if not (torch.equal(x, X) and torch.equal(y, Y)):
            raise CheckFailed(f"{call} changed the data x or y: only w and b may change.")
        if not (w.is_leaf and w.requires_grad and b.is_leaf and b.requires_grad):
            raise CheckFailed("w and b must stay leaf tensors that require grad: update them in place "
                              "inside `with torch.no_grad():`.")
    run_check("train_step", check)

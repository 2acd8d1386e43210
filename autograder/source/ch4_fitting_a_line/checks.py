"""Visible checks for chapter 4. They try small documented inputs and explain what went wrong."""
from __future__ import annotations

import math
from typing import Callable

import torch

from course_kit import CheckFailed, require_close, require_float, run_check

X = torch.tensor([[1.0], [2.0], [3.0], [4.0]])
Y = torch.tensor([[3.0], [5.0], [7.0], [9.0]])
SCALAR = "a 0-dimensional (scalar) tensor"


def check_mse_loss(mse_loss: Callable) -> None:
    def check() -> None:
        call = "mse_loss(tensor([[1.], [2.]]), tensor([[0.], [0.]]))"
        loss = mse_loss(torch.tensor([[1.0], [2.0]]), torch.tensor([[0.0], [0.0]]))
        if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
            raise CheckFailed(f"{call} should return {SCALAR} (so that .backward() works), got {loss!r}.")
        require_close(loss.item(), 2.5, call, {
            "that is the sum of the squared errors: take the mean": 5.0,
            "the errors are not squared": 1.5,
        }, rel_tol=1e-5)
    run_check("mse_loss", check)


def _mse_is_right(mse_loss: Callable) -> bool:
    try:
        loss = mse_loss(X * 1.0 + 0.0, Y)
        return isinstance(loss, torch.Tensor) and loss.dim() == 0 and math.isclose(loss.item(), 13.5, rel_tol=1e-6)
    except Exception:  # noqa: BLE001 - a broken mse_loss is reported by its own check
        return False


def _plain_words(error: Exception, call: str) -> CheckFailed:
    """An error raised inside train_step, explained."""
    text = f"{type(error).__name__}: {error}"
    if isinstance(error, (AttributeError, TypeError)) and "NoneType" in str(error):
        return CheckFailed(f"{call} raised {text}. w.grad is None until loss.backward() has computed it: the "
                           "gradients were used, or zeroed with .zero_(), before there were any. Zeroing them at the "
                           "start of a step is fine once they exist; or zero them after the update.")
    return CheckFailed(f"{call} raised {text}.")


def check_train_step(train_step: Callable, mse_loss: Callable) -> None:
    """Checked with your own `mse_loss`, so a slip in exercise 1 does not count twice.

    From w = 1, b = 0 on the four points the errors are x - (2x + 1) = -x - 1, so the loss is
    mean((x + 1)^2), dL/dw = 2 mean((-x - 1) x) and dL/db = 2 mean(-x - 1): plain numbers to compare with.
    A second epoch shows whether the gradients were cleared in between (at the start of the step or after
    the update, both fine): if not, its step uses the sum of both epochs' gradients.
    """
    def check() -> None:
        lr = 0.01
        xs = [v[0] for v in X.tolist()]
        err = [-x - 1 for x in xs]
        loss_before = sum(e * e for e in err) / len(xs)
        first_slope = 2 * sum(e * x for e, x in zip(err, xs)) / len(xs)  # dL/dw at w = 1, b = 0
        want_w = 1.0 - lr * first_slope
        want_b = 0.0 - lr * 2 * sum(err) / len(xs)
        loss_after = sum((want_w * x + want_b - (2 * x + 1)) ** 2 for x in xs) / len(xs)
        second_slope = 2 * sum((want_w * x + want_b - (2 * x + 1)) * x for x in xs) / len(xs)  # dL/dw there
        values = _mse_is_right(mse_loss)  # else: the values are checked once mse_loss passes its check

        w = torch.tensor([1.0], requires_grad=True)
        b = torch.tensor([0.0], requires_grad=True)
        x, y = X.clone(), Y.clone()
        call = "train_step(w=1, b=0, x, y, learning_rate=0.01)"
        try:
            returned = train_step(w, b, x, y, lr)
        except (NotImplementedError, CheckFailed):
            raise
        except Exception as error:  # noqa: BLE001 - explained in words instead of a traceback
            raise _plain_words(error, call) from None
        loss = require_float(returned, call)
        if values:
            require_close(loss, loss_before, f"the loss returned by {call}", {
                "that is the loss after the update: return the loss computed before updating w and b": loss_after,
            }, rel_tol=1e-5)
            require_close(w.item(), want_w, f"w after {call}", {
                "the step went uphill: w moved with its gradient instead of against it": 2.0 - want_w,
                "w did not move: were the gradients zeroed before the update? Between loss.backward() and the "
                "update they hold this epoch's gradient; and w is updated in place, under torch.no_grad()": 1.0,
            }, rel_tol=1e-5)
            require_close(b.item(), want_b, f"b after {call}", {
                "the step went uphill for b": -want_b}, rel_tol=1e-5)
        try:
            train_step(w, b, x, y, lr)
        except (NotImplementedError, CheckFailed):
            raise
        except Exception as error:  # noqa: BLE001 - explained in words instead of a traceback
            raise _plain_words(error, f"{call}, then again on the w and b it left,") from None
        if values:
            require_close(w.item(), want_w - lr * second_slope, f"w after {call} twice", {
                "the gradients were never zeroed: the second epoch's step used the sum of both epochs' "
                "gradients": want_w - lr * (first_slope + second_slope),
            }, rel_tol=1e-5)
        if not (torch.equal(x, X) and torch.equal(y, Y)):
            raise CheckFailed(f"{call} changed the data x or y: only w and b may change.")
        if not (w.is_leaf and w.requires_grad and b.is_leaf and b.requires_grad):
            raise CheckFailed("w and b must stay leaf tensors that require grad: update them in place "
                              "inside `with torch.no_grad():`.")
    run_check("train_step", check)

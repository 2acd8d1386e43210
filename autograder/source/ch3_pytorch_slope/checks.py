"""Visible checks for chapter 3. They try documented inputs and explain what went wrong."""
from __future__ import annotations

import math
from typing import Callable

import torch

from course_kit import CheckFailed, require_close, require_float, run_check


def _quadratic(x):
    return 1.2 * x ** 2 + 4


def check_step(step: Callable, learning_rate: float) -> None:
    def check() -> None:
        x = torch.tensor(-3.0).requires_grad_()
        call = "step(x, f) with x = tensor(-3.)"
        result = step(x, _quadratic)
        if not isinstance(result, torch.Tensor):
            raise CheckFailed(f"{call} returned a {type(result).__name__}; return the tensor x itself, "
                              "so the next step can compute its gradient again.")
        expected = -3.0 - learning_rate * 2.4 * -3.0
        got = result.detach().item()
        require_close(got, expected, call, {
            "the step went uphill: subtract learning_rate * x.grad, do not add it": -3.0 + learning_rate * 2.4 * -3.0,
            "x did not move: did you call y.backward() and update x?": -3.0,
            "the learning rate is missing: move x by learning_rate * x.grad, not by x.grad": -3.0 - 2.4 * -3.0,
        }, rel_tol=1e-5)
        if not result.requires_grad or not result.is_leaf:
            raise CheckFailed(f"{call} returned a tensor that PyTorch will not give a gradient next time. "
                              "Update x in place inside `with torch.no_grad():` (x -= ...), then return x.")
        if result.grad is not None:
            raise CheckFailed(f"after {call}, x.grad is still set: set x.grad = None, or the next step adds "
                              "the old gradient to the new one.")
    run_check("step", check)


def check_xypairs(xypairs: list, f: Callable) -> None:
    def check() -> None:
        if len(xypairs) != 10:
            raise CheckFailed(f"xypairs has {len(xypairs)} pairs; the loop should record 10, one per iteration.")
        for i, pair in enumerate(xypairs):
            if len(pair) != 2:
                raise CheckFailed(f"xypairs[{i}] = {pair!r} should be a pair [x, f(x)].")
            x = require_float(pair[0], f"xypairs[{i}][0]")
            y = require_float(pair[1], f"xypairs[{i}][1]")
            if not math.isclose(y, 1.2 * x ** 2 + 4, rel_tol=1e-5):
                raise CheckFailed(f"xypairs[{i}] = [{x}, {y}], but f({x}) = {1.2 * x ** 2 + 4}.")
        require_close(float(xypairs[0][0]), -3.0, "xypairs[0][0]", {}, rel_tol=1e-5)
    run_check("xypairs", check)

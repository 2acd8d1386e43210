"""Visible checks for chapter 3. They try documented inputs and explain what went wrong."""
from __future__ import annotations

import math
from typing import Callable

import torch

from course_kit import CheckFailed, require_close, run_check


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


def _step_is_right(step: Callable, learning_rate: float) -> bool:
    """Two of your steps in a row from -3 land where x_k = -3 (1 - 2.4 learning_rate)^k says."""
    try:
        x = torch.tensor(-3.0).requires_grad_()
        for k in (1, 2):
            x = step(x, _quadratic)
            if not isinstance(x, torch.Tensor) or x.grad is not None or not math.isclose(
                    x.item(), -3.0 * (1 - 2.4 * learning_rate) ** k, rel_tol=1e-5, abs_tol=1e-6):
                return False
    except Exception:  # noqa: BLE001 - any failure of step is reported by its own check
        return False
    return True


def _as_float(value: object, where: str) -> float:
    if type(value) is not float:
        raise CheckFailed(f"{where} is a {type(value).__module__}.{type(value).__qualname__}, but the task asks "
                          "for plain Python floats: `.item()` turns a one-number tensor into a float.")
    return float(value)


def check_xypairs(xypairs: list, step: Callable, learning_rate: float) -> None:
    """The pairs [x, f(x)] along the path from -3; the path itself is checked once your step is right."""
    def check() -> None:
        if not isinstance(xypairs, list):
            raise CheckFailed(f"xypairs is a {type(xypairs).__name__}; it should be a list of pairs [x, f(x)].")
        if len(xypairs) != 10:
            raise CheckFailed(f"xypairs has {len(xypairs)} pairs; the loop should record 10, one per iteration.")
        path = _step_is_right(step, learning_rate)
        for i, pair in enumerate(xypairs):
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                raise CheckFailed(f"xypairs[{i}] = {pair!r} should be a pair [x, f(x)].")
            x = _as_float(pair[0], f"xypairs[{i}][0]")
            y = _as_float(pair[1], f"xypairs[{i}][1]")
            if not math.isclose(y, _quadratic(x), rel_tol=1e-5):
                raise CheckFailed(f"xypairs[{i}] = [{x}, {y}], but f({x}) = {_quadratic(x)}: "
                                  "each pair should be [x, f(x)].")
            if i == 0 and not math.isclose(x, -3.0, rel_tol=1e-6):
                raise CheckFailed(f"xypairs[0][0] is {x}, but x starts at -3: append the pair before the step moves x.")
            want = -3.0 * (1 - 2.4 * learning_rate) ** i  # each step multiplies x by 1 - 2.4 learning_rate
            if path and not math.isclose(x, want, rel_tol=1e-5, abs_tol=1e-6):
                raise CheckFailed(f"xypairs[{i}][0] is {x}, but after {i} steps from -3 with learning rate "
                                  f"{learning_rate} x is {want:.6g}: record x once per iteration, before the step.")
    run_check("xypairs", check)

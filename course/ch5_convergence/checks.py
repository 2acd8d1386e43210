"""Visible checks for chapter 5. They compare with closed forms and explain what went wrong."""
from __future__ import annotations

import numbers
from typing import Callable

import numpy as np

from course_kit import CheckFailed, require_close, require_float, run_check


def check_learning_rate_limit(learning_rate_limit: Callable[[float, float, float], float]) -> None:
    def check() -> None:
        for a, b, c in [(2.0, -4.0, 5.0), (0.5, 3.0, -1.0), (8.0, 0.0, 0.0)]:
            call = f"learning_rate_limit({a}, {b}, {c})"
            got = require_float(learning_rate_limit(a, b, c), call)
            require_close(got, 2 / (2 * a), call, {
                "that is 1/L'', the Newton step that lands in one step; the limit is twice that, 2/L''": 1 / (2 * a),
                "the curvature L'' of a·w² + b·w + c is 2a: the factor 2 is missing": 2 / a,
                "that is 2/a²: the limit is 2/L'' with L'' = 2a": 2 / a ** 2,
            })
        for a, b, c in [(-1.0, 2.0, 0.0), (0.0, 1.0, 0.0)]:
            call = f"learning_rate_limit({a}, {b}, {c})"
            try:
                got = require_float(learning_rate_limit(a, b, c), call)
            except ZeroDivisionError:
                raise CheckFailed(f"{call} divided by zero: with a = 0 the loss is a straight line without "
                                  "a minimum, so no learning rate converges: return 0.0.") from None
            require_close(got, 0.0, call, {
                f"with a = {a} the loss has no minimum, so no positive learning rate converges: return 0.0 "
                "(2/L'' is negative here)": 1 / a if a else float("nan"),
            })
    run_check("learning_rate_limit", check)


def _quadratic_path(w: float, eta: float, tolerance: float, max_steps: int) -> list[float]:
    """The path on L(w) = (w - 3)^2 in closed form: w_k = 3 + (w - 3)(1 - 2η)^k, cut where the slope is flat."""
    values = [3 + (w - 3) * (1 - 2 * eta) ** k for k in range(max_steps + 1)]
    flat = [k for k, v in enumerate(values) if abs(2 * (v - 3)) < tolerance]
    return values[:flat[0] + 1] if flat else values


def check_descend_until_flat(descend_until_flat: Callable) -> None:
    grad = lambda w: 2 * (w - 3)  # noqa: E731  the slope of L(w) = (w - 3)^2

    def check() -> None:
        for w, eta, tolerance, max_steps in [(0.0, 0.1, 1e-3, 1000), (6.0, 0.1, 1e-3, 10), (3.0, 0.1, 1e-3, 100),
                                             (1.0, 0.25, 1e-6, 500)]:
            call = f"descend_until_flat(grad, {w}, {eta}, {tolerance}, {max_steps}) with grad(w) = 2(w - 3)"
            path = descend_until_flat(grad, w, eta, tolerance, max_steps)
            expected = _quadratic_path(w, eta, tolerance, max_steps)
            if not isinstance(path, list):
                raise CheckFailed(f"{call} returned a {type(path).__name__}; it returns the path as a list.")
            if len(path) != len(expected):
                if len(path) == max_steps + 1:
                    why = "it ran all max_steps steps: stop as soon as abs(grad(w)) < tolerance"
                elif len(path) == 1 and abs(grad(w)) >= tolerance:
                    why = (f"it stopped before the first step although the slope grad({w}) = {grad(w)} is steep: "
                           "compare the size abs(grad(w)) with the tolerance, not grad(w) itself")
                elif len(path) == len(expected) + 1:
                    why = ("one step too many: check the slope before each step, so a start that is already "
                           "flat takes no step")
                elif path and path[0] != w:
                    why = "the path must start with w itself, before the first step"
                else:
                    why = "stop as soon as abs(grad(w)) < tolerance, or after max_steps steps"
                raise CheckFailed(f"{call} returned a path of {len(path)} values, expected {len(expected)}: {why}.")
            for k, (got, want) in enumerate(zip(path, expected)):
                if isinstance(got, bool) or not isinstance(got, numbers.Real):
                    raise CheckFailed(f"{call}: value {k} of the path is a {type(got).__name__}, not a float.")
                require_close(float(got), want, f"value {k} of the path of {call}", {
                    "the step went uphill: subtract learning_rate * grad(w)": 3 + (w - 3) * (1 + 2 * eta) ** k,
                }, rel_tol=1e-9)
    run_check("descend_until_flat", check)


def f_two_minima(w):
    """The chapter's non-convex function f(w) = w^4 - 3w^2 + w (floats or tensors)."""
    return w ** 4 - 3 * w ** 2 + w


def check_find_minimum(find_minimum: Callable) -> None:
    quadratic = lambda w: (w - 3) ** 2  # noqa: E731

    def check() -> None:
        call = "find_minimum(f, 0.0, 0.1, 2) with f(w) = (w - 3)²"
        got = require_float(find_minimum(quadratic, 0.0, 0.1, 2), call)
        require_close(got, 3 - 3 * 0.8 ** 2, call, {  # each step multiplies w - 3 by 1 - 2·0.1
            "the steps went uphill: w moved with its gradient instead of against it": 3 - 3 * 1.2 ** 2,
            "the gradients piled up: w.grad was not cleared between the steps, so each backward() added "
            "the new gradient to the old one": 1.68,
            "w never moved: update it in place (w -= ...) inside `with torch.no_grad():`": 0.0,
            "that is one step: is the return statement inside the loop?": 3 - 3 * 0.8,
        }, rel_tol=1e-5)
        call = "find_minimum(f, 0.0, 0.1, 30) with f(w) = (w - 3)²"
        got = require_float(find_minimum(quadratic, 0.0, 0.1, 30), call)
        require_close(got, 3 - 3 * 0.8 ** 30, call, {}, rel_tol=1e-5)
        left, middle, right = sorted(np.roots([4.0, 0.0, -6.0, 1.0]).real)  # where f'(w) = 4w³ - 6w + 1 = 0
        for start, minimum in [(-2.0, left), (2.0, right)]:
            call = f"find_minimum(f, {start}, 0.02, 200) with f(w) = w⁴ − 3w² + w"
            got = require_float(find_minimum(f_two_minima, start, 0.02, 200), call)
            require_close(got, float(minimum), call, {
                "that is the local maximum between the two minima: the steps went uphill": float(middle),
            }, rel_tol=1e-4)
    run_check("find_minimum", check)


def check_predicted_steps(predicted_steps: float) -> None:
    def check() -> None:
        got = require_float(predicted_steps, "predicted_steps")
        w, measured = 0.0, 0
        while abs(w - 2.0) >= 1e-6:
            w, measured = w - 0.05 * (6 * w - 12), measured + 1
        if abs(got - measured) <= 1:
            return
        for value, why in [
            (89.3, "that is the count for a factor 0.85: L'' of 3w² is 6, the factor 2 of the square is missing"),
            (282.6, "that is the count for a factor 0.95: the factor is 1 − η·L'', not 1 − η"),
            (38.7, "that is the count from a distance of 1: the descent starts 2 away from the minimum w* = 2"),
            (45.7, "that is when the slope 6·(w − 2) falls below 1e-6; the question is about the distance"),
        ]:
            if abs(got - value) <= 1:
                raise CheckFailed(f"predicted_steps = {got:g}: {why}.")
        raise CheckFailed(f"predicted_steps = {got:g} is more than one step from the measurement: the distance "
                          "is multiplied by |1 − η·L''| at every step; count the steps until it is below 1e-6.")
    run_check("predicted_steps", check)

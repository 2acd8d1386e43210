"""Visible checks for chapter 1. They try documented inputs and explain what went wrong."""
from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Callable, Iterator

from course_kit import CheckFailed, require_close, require_float, run_check


def check_loss(loss: Callable[[float], float]) -> None:
    def check() -> None:
        for w, expected in [(3.0, 0.0), (0.0, 9.0), (5.0, 4.0)]:
            got = require_float(loss(w), f"loss({w})")
            require_close(got, expected, f"loss({w})", {
                "the bowl should bottom out at w = 3: did you write (w + 3)?": (w + 3) ** 2,
                "the difference should be squared, not doubled": 2 * (w - 3),
            })
    run_check("loss", check)


def check_grad(grad: Callable[[float], float]) -> None:
    def check() -> None:
        for w, expected in [(0.0, -6.0), (3.0, 0.0), (4.5, 3.0)]:
            got = require_float(grad(w), f"grad({w})")
            require_close(got, expected, f"grad({w})", {
                "the slope of (w - 3)^2 is 2(w - 3): the factor 2 is missing": w - 3,
                "the sign is flipped: the slope is 2(w - 3), not 2(3 - w)": -2 * (w - 3),
            })
    run_check("grad", check)


@contextmanager
def _in_place_of(function: Callable, replacements: dict[str, Callable]) -> Iterator[None]:
    """While inside, the names `function` looks up mean the replacements (as grading does)."""
    namespace = getattr(function, "__globals__", {})
    yours = {name: namespace[name] for name in replacements if name in namespace}
    namespace.update({name: replacements[name] for name in yours})
    try:
        yield
    finally:
        namespace.update(yours)


def _grad_is_right(grad: Callable[[float], float], right_grad: Callable[[float], float]) -> bool:
    try:
        return all(math.isclose(float(grad(w)), right_grad(w), rel_tol=1e-9, abs_tol=1e-12)
                   for w in (0.0, 1.0, 4.5, -2.0))
    except Exception:  # noqa: BLE001 - a grad that fails is not right
        return False


def check_gradient_steps(gradient_steps: Callable[[float, float, int], list],
                         grad: Callable[[float], float]) -> None:
    """Checked with a correct grad in place of yours, so a slip in exercise 1 does not count twice and
    every expected value is the right one, never one computed with your own grad.

    The slope 2(w - 3) makes every step multiply the distance to 3 by 1 - 2 eta: the closed form the
    steps are checked against.
    """
    s, m = 2.0, 3.0

    def check() -> None:
        documented = None
        for w0, eta, n in [(0.0, 0.1, 5), (1.0, 0.2, 3)]:
            call = f"gradient_steps({w0}, {eta}, {n})"
            weights = gradient_steps(w0, eta, n)
            if not isinstance(weights, list):
                raise CheckFailed(f"{call} returned a {type(weights).__name__}; "
                                  "return a list with the weight after each step.")
            if documented is not None and weights == documented:
                raise CheckFailed(f"{call} returned the same list as gradient_steps(0.0, 0.1, 5): the answer "
                                  "ignores its arguments: is it hard-coded? Compute it with a loop.")
            documented = list(weights)
            if len(weights) != n:
                why = {n - 1: "the loop ran number_steps - 1 times",
                       n + 1: "the loop ran number_steps + 1 times, or the starting weight is in the list",
                       1: "is the return statement inside the loop?",
                       0: "the list stayed empty: append the weight after each step"}.get(
                           len(weights), "check how many times your loop runs")
                raise CheckFailed(f"{call} returned {len(weights)} weight{'' if len(weights) == 1 else 's'}, "
                                  f"expected {n} (one after each step): {why}{'' if why.endswith('?') else '.'}")
            # each step multiplies the distance to m = 3 by 1 - eta * s = 1 - 2 eta
            distances = [(1 - eta * s) ** k * (w0 - m) for k in range(n + 1)]
            for i, got_weight in enumerate(weights):
                got = require_float(got_weight, f"{call}[{i}]")
                require_close(got, m + distances[i + 1], f"{call}[{i}]", {
                    "the step went uphill: subtract eta * grad(w), do not add it":
                        w0 + eta * s * (w0 - m) if i == 0 else float("nan"),
                    "this is the weight before the step: append w after updating it": m + distances[i],
                })
        got = gradient_steps(1.0, 0.1, 0)
        if got != []:
            raise CheckFailed(f"gradient_steps(1.0, 0.1, 0) returned {got!r}, expected []: zero steps, no weights.")

    def check_with_a_correct_grad() -> None:
        right_grad = lambda w: s * (w - m)  # noqa: E731 - the slope check_grad states
        right_loss = lambda w: (w - m) ** 2  # noqa: E731
        with _in_place_of(gradient_steps, {"grad": right_grad, "loss": right_loss}):
            try:
                check()
            except CheckFailed as failed:
                if _grad_is_right(grad, right_grad):
                    raise
                raise CheckFailed(f"{failed} (Checked with a correct grad in place of yours, which "
                                  "exercise 1 checks.)") from None
    run_check("gradient_steps", check_with_a_correct_grad)

"""Visible checks for chapter 1. They try documented inputs and explain what went wrong."""
from __future__ import annotations

from typing import Callable

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


def check_gradient_steps(gradient_steps: Callable[[float, float, int], list],
                         grad: Callable[[float], float]) -> None:
    """Checked against your own `grad`, so a slip in exercise 1 does not count twice."""
    def walk(w: float, eta: float, n: int) -> list[float]:
        out = []
        for _ in range(n):
            w = w - eta * grad(w)
            out.append(w)
        return out

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
                                  f"expected {n} (one after each step): {why}.")
            expected = walk(w0, eta, n)
            for i, want in enumerate(expected):
                got = require_float(weights[i], f"{call}[{i}]")
                require_close(got, want, f"{call}[{i}]", {
                    "the step went uphill: subtract eta * grad(w), do not add it":
                        w0 + eta * grad(w0) if i == 0 else float("nan"),
                    "this is the weight before the step: append w after updating it": [w0, *expected][i],
                })
        got = gradient_steps(1.0, 0.1, 0)
        if got != []:
            raise CheckFailed(f"gradient_steps(1.0, 0.1, 0) returned {got!r}, expected []: zero steps, no weights.")
    run_check("gradient_steps", check)

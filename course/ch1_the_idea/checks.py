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
        call = "gradient_steps(0.0, 0.1, 5)"
        weights = gradient_steps(0.0, 0.1, 5)
        if not isinstance(weights, list):
            raise CheckFailed(f"{call} returned a {type(weights).__name__}; "
                              "return a list with the weight after each step.")
        if len(weights) != 5:
            raise CheckFailed(f"{call} returned {len(weights)} weights, expected 5 (one after each "
                              "step): check how many times your loop runs.")
        expected = walk(0.0, 0.1, 5)
        for i, want in enumerate(expected):
            got = require_float(weights[i], f"{call}[{i}]")
            require_close(got, want, f"{call}[{i}]", {
                "the step went uphill: subtract eta * grad(w), do not add it": -want if i == 0 else float("nan"),
                "this is the weight before the step: append w after updating it": [0.0, *expected][i],
            })
        if gradient_steps(1.0, 0.1, 0) != []:
            raise CheckFailed("gradient_steps(1.0, 0.1, 0) should return [] : zero steps, no weights.")
    run_check("gradient_steps", check)

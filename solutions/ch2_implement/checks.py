"""Visible checks for chapter 2. They try documented inputs and explain what went wrong."""
from __future__ import annotations

import math
from typing import Callable

from course_kit import CheckFailed, require_close, require_float, run_check


def check_single_step(single_step_gradient_descent: Callable[[float, float], float]) -> None:
    def check() -> None:
        for theta, lr in [(1.0, 0.1), (-2.0, 0.25)]:
            call = f"single_step_gradient_descent({theta}, {lr})"
            got = require_float(single_step_gradient_descent(theta, lr), call)
            require_close(got, theta - lr * 2 * theta, call, {
                "the step went uphill: subtract learning_rate * gradient, do not add it": theta + lr * 2 * theta,
                "the gradient of theta^2 is 2 * theta: the factor 2 is missing": theta - lr * theta,
                "the learning rate is missing from the update": theta - 2 * theta,
            })
    run_check("single_step_gradient_descent", check)


def check_gradient_descent(gradient_descent: Callable[[float, float, int], float],
                           single_step_gradient_descent: Callable[[float, float], float]) -> None:
    """Checked against your own single step, so a slip in exercise 1 does not count twice.

    One step on theta^2 multiplies theta by a factor (1 - 2 * learning_rate when it is right), so
    n steps from theta give theta * factor ** n: no loop needed to know the answer.
    """
    def factor(lr: float, rel_tol: float) -> float:
        c = float(single_step_gradient_descent(1.0, lr))
        for theta in (2.0, -1.5):
            if not math.isclose(float(single_step_gradient_descent(theta, lr)), theta * c, rel_tol=rel_tol):
                raise CheckFailed("gradient_descent is checked with your single_step_gradient_descent, which "
                                  "does not multiply theta by a fixed factor yet: fix exercise 1 first.")
        return c


    def check() -> None:
        floats = isinstance(single_step_gradient_descent(1.0, 0.2), float)  # a float step should give a float
        rel_tol = 1e-6 if floats else 1e-4  # a float32 tensor rounds at every step
        call = "gradient_descent(1.0, 0.2, 20)"
        got = gradient_descent(1.0, 0.2, 20)
        c = factor(0.2, rel_tol)
        if floats:
            got = require_float(got, call)
        require_close(float(got), c ** 20, call, {
            "that is 19 steps: the loop ran number_steps - 1 times": c ** 19,
            "that is 21 steps: the loop ran number_steps + 1 times": c ** 21,
            "that is one step: is the return statement inside the loop?": c,
            "that is the starting value: theta was never updated (assign the result of each step)": 1.0,
        }, rel_tol=rel_tol)
        documented = float(got)
        for theta, lr, n in [(2.0, 0.1, 3), (1.5, 0.2, 0)]:
            call = f"gradient_descent({theta}, {lr}, {n})"
            got = gradient_descent(theta, lr, n)
            c = factor(lr, rel_tol)
            if floats:
                got = require_float(got, call)
            require_close(float(got), theta * c ** n, call, {
                "that is the answer of gradient_descent(1.0, 0.2, 20): the result ignores the arguments: "
                "is it hard-coded? Compute it with a loop": documented,
                "the loop ran number_steps - 1 times": theta * c ** (n - 1) if n else float("nan"),
                "the loop ran number_steps + 1 times": theta * c ** (n + 1),
                "that is one step: is the return statement inside the loop?": theta * c,
            }, rel_tol=rel_tol)
    run_check("gradient_descent", check)

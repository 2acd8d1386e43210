"""Visible checks for chapter 2. They try documented inputs and explain what went wrong."""
from __future__ import annotations

from typing import Callable

from course_kit import require_close, require_float, run_check


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


def check_gradient_descent(gradient_descent: Callable[[float, float, int], float]) -> None:
    def check() -> None:
        call = "gradient_descent(1.0, 0.2, 20)"
        got = require_float(gradient_descent(1.0, 0.2, 20), call)
        require_close(got, 0.6 ** 20, call, {
            "that is 19 steps: the loop ran number_steps - 1 times": 0.6 ** 19,
            "that is 21 steps: the loop ran number_steps + 1 times": 0.6 ** 21,
            "that is one step: is the return statement inside the loop?": 0.6,
            "that is the starting value: theta was never updated (assign the result of each step)": 1.0,
        })
        call = "gradient_descent(1.5, 0.2, 0)"
        require_close(require_float(gradient_descent(1.5, 0.2, 0), call), 1.5, call, {})
    run_check("gradient_descent", check)

"""Visible checks for chapter 2. They try documented inputs and explain what went wrong."""
from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Callable, Iterator

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


def check_gradient_descent(gradient_descent: Callable[[float, float, int], float],
                           single_step_gradient_descent: Callable[[float, float], float]) -> None:
    """Checked with a correct single step in place of yours, so a slip in exercise 1 does not count twice
    and every expected value is the right one, never one computed with your own step.

    One step on theta^2 multiplies theta by 1 - 2 * learning_rate, so n steps from theta give
    theta * (1 - 2 * learning_rate) ** n: no loop needed to know the answer.
    """
    def check() -> None:
        try:  # a float step should give a float; a float32 tensor step rounds at every step
            floats = isinstance(single_step_gradient_descent(1.0, 0.2), float)
        except Exception:  # noqa: BLE001 - your step is checked by its own exercise
            floats = True
        rel_tol = 1e-6 if floats else 1e-4
        c = 1 - 2 * 0.2
        call = "gradient_descent(1.0, 0.2, 20)"
        got = gradient_descent(1.0, 0.2, 20)
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
            c = 1 - 2 * lr
            if floats:
                got = require_float(got, call)
            require_close(float(got), theta * c ** n, call, {
                "that is the answer of gradient_descent(1.0, 0.2, 20): the result ignores the arguments: "
                "is it hard-coded? Compute it with a loop": documented,
                "the loop ran number_steps - 1 times": theta * c ** (n - 1) if n else float("nan"),
                "the loop ran number_steps + 1 times": theta * c ** (n + 1),
                "that is one step: is the return statement inside the loop?": theta * c,
            }, rel_tol=rel_tol)

    def check_with_a_correct_step() -> None:
        right_step = lambda theta, lr: theta * (1 - 2 * lr)  # noqa: E731 - the update check_single_step states
        with _in_place_of(gradient_descent, {"single_step_gradient_descent": right_step}):
            try:
                check()
            except CheckFailed as failed:
                if _step_is_right(single_step_gradient_descent, right_step):
                    raise
                raise CheckFailed(f"{failed} (Checked with a correct single step in place of your "
                                  "single_step_gradient_descent, which exercise 1 checks.)") from None
    run_check("gradient_descent", check_with_a_correct_step)


def _step_is_right(single_step_gradient_descent: Callable[[float, float], float],
                   right_step: Callable[[float, float], float]) -> bool:
    try:
        return all(math.isclose(float(single_step_gradient_descent(theta, lr)), right_step(theta, lr),
                                rel_tol=1e-6) for theta, lr in [(1.0, 0.1), (-2.0, 0.25)])
    except Exception:  # noqa: BLE001 - a step that fails is not right
        return False

"""Visible checks for chapter 6. They compare with documented values and explain what went wrong."""
from __future__ import annotations

import math
from typing import Callable

import torch

from course_kit import CheckFailed, require_close, require_float, run_check

# Columns, and their centred values (each column minus its mean).
CENTRED = [([1.0, 2.0, 3.0, 4.0], [-1.5, -0.5, 0.5, 1.5]), ([10.0, 20.0, 60.0], [-20.0, -10.0, 30.0])]


def check_centre(centre: Callable) -> None:
    def check() -> None:
        for column, centred in CENTRED:
            x = torch.tensor([[v] for v in column])
            before = x.clone()
            call = f"centre(tensor({[[v] for v in column]}))"
            got = centre(x)
            if not torch.equal(x, before):
                raise CheckFailed(f"{call} changed x itself: return a new tensor and leave x as it was; "
                                  "subtracting in place (x -= ...) changes the caller's data too.")
            if not isinstance(got, torch.Tensor) or got.shape != x.shape:
                shape = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
                raise CheckFailed(f"{call} returned {shape}; it returns a tensor of the same shape as x, {tuple(x.shape)}.")
            spread = math.sqrt(sum(c * c for c in centred) / (len(centred) - 1))  # the sample standard deviation
            for value, original, want in zip(got.ravel().tolist(), column, centred):
                require_close(value, want, f"{call}, the value for x = {original}", {
                    "every value became 0: the mean was taken over the wrong dimension (each row's own "
                    "mean) instead of over the whole column": 0.0,
                    "that is centred and scaled: centre only subtracts the mean": want / spread,
                    "the sign is flipped: the mean was subtracted from x the wrong way round": -want,
                }, rel_tol=1e-6)
    run_check("centre", check)


# On L(w) = w²/2, whose gradient is w itself, from w = 1 and velocity 0, with learning_rate 0.1 and
# momentum 0.5: w after each of four steps, and where each mistake takes it instead.
MOMENTUM_PATH = [0.9, 0.76, 0.614, 0.4796]
MISTAKEN_PATHS = {
    "the velocity forgot the old one: the old velocity, decayed by momentum, is missing from the new one":
        [0.9, 0.81, 0.729, 0.6561],
    "w did not move: the gradient is missing from the new velocity": [1.0, 1.0, 1.0, 1.0],
    "w moved with the old velocity, from before this step's gradient was added to it": [1.0, 0.9, 0.75, 0.585],
    "the step went uphill: w moved with the gradient instead of against it": [1.1, 1.26, 1.466, 1.7156],
    "the learning rate is missing from the step of w": [0.0, -0.5, -0.25, 0.125],
}


def _same_path(got: list[float], want: list[float]) -> bool:
    return len(got) == len(want) and all(math.isclose(g, v, rel_tol=1e-9, abs_tol=1e-12) for g, v in zip(got, want))


def check_momentum_step(momentum_step: Callable) -> None:
    """Judged by the path of w, with the velocity momentum_step returns passed back in at the next step: a
    velocity kept the other common way (the learning rate inside it, w + velocity) gives the same path."""
    def check() -> None:
        w, velocity, path = 1.0, 0.0, []
        for step in range(1, len(MOMENTUM_PATH) + 1):
            call = f"momentum_step(w={w:.6g}, velocity, gradient={w:.6g}, learning_rate=0.1, momentum=0.5) at step {step}"
            got = momentum_step(w, velocity, w, 0.1, 0.5)
            if not isinstance(got, tuple) or len(got) != 2:
                raise CheckFailed(f"{call} returned {got!r}; it returns a pair: (new w, new velocity).")
            w, velocity = require_float(got[0], f"the w returned by {call}"), got[1]
            path.append(w)
        if not _same_path(path, MOMENTUM_PATH):
            shown = [float(f"{v:.6g}") for v in path]
            where = ("on L(w) = w²/2 (its gradient is w) from w = 1 and velocity 0, learning_rate 0.1, momentum 0.5, "
                     f"each step given the velocity the step before returned: w went {shown}, expected {MOMENTUM_PATH}")
            reason = next((why for why, wrong in MISTAKEN_PATHS.items() if _same_path(path, wrong)), None)
            raise CheckFailed(f"{where}: {reason}" if reason else f"{where}.")
        w, velocity = torch.tensor([1.0, -1.0]), torch.tensor([0.0, 0.0])
        for want in (0.9, 0.76):
            call = f"momentum_step on tensors, w = {w.tolist()}, gradient = w"
            got = momentum_step(w, velocity, w, 0.1, 0.5)
            if not (isinstance(got, tuple) and len(got) == 2 and all(isinstance(t, torch.Tensor) for t in got)):
                raise CheckFailed(f"{call}, should return two tensors: write the step with +, -, * only, so it "
                                  "works for floats and tensors alike.")
            w, velocity = got
            if not torch.allclose(w, torch.tensor([want, -want])):
                raise CheckFailed(f"{call}, returned w = {w!r}, expected tensor([{want}, {-want}]).")
    run_check("momentum_step", check)


# Columns whose Hessian 2/n [[Σx², Σx], [Σx, n]] has eigenvalues with short exact forms: symmetric about 0
# it is diag(2 mean(x²), 2); for [0, 1] it is [[1, 1], [1, 2]], eigenvalues (3 ± √5)/2; for chapter 4's
# 1, 2, 3, 4 it is [[15, 5], [5, 2]], eigenvalues (17 ± √269)/2.
CONDITION_NUMBERS = [
    ([-1.5, -0.5, 0.5, 1.5], 2.5 / 2),
    ([-3.0, 3.0], 18.0 / 2),
    ([0.0, 1.0], (3 + math.sqrt(5)) / (3 - math.sqrt(5))),
    ([1.0, 2.0, 3.0, 4.0], (17 + math.sqrt(269)) / (17 - math.sqrt(269))),
]


def check_condition_number(condition_number: Callable) -> None:
    def check() -> None:
        for column, want in CONDITION_NUMBERS:
            call = f"condition_number(tensor({[[v] for v in column]}))"
            got = require_float(condition_number(torch.tensor([[v] for v in column])), call)
            require_close(got, want, call, {
                "that is smallest / largest eigenvalue: the condition number is largest / smallest, at least 1":
                    1 / want,
                "the loss depends on w and b: its Hessian is 2x2, with the features [x, 1] as columns": 1.0,
            }, rel_tol=1e-4)
    run_check("condition_number", check)

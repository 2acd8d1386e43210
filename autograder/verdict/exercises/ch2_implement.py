"""Chapter 2 · Let's implement gradient descent: trusted checks, wrong answers, documented outputs.

The checks run in the grader and judge plain observations of the student's code (see
autograder/verdict/observations.py); the wrong answers are mistakes students make, each losing
exactly the tests it names in a real nbgrader run (tests/grading/test_hidden_tests_bite.py); the
documented outputs are what the source text prints, reproduced by solutions/.
"""

from __future__ import annotations

import random

from autograder.verdict.diagnosis import Diagnosis
from autograder.verdict.exercises import Documented, Exercise, WrongAnswer
from autograder.verdict.observations import Case, judge_scalar

ASSIGNMENT = "ch2_implement"
NOTEBOOK = "gradient_descent"


def ref_single_step(theta: float, lr: float) -> float:
    return theta - lr * 2 * theta


def ref_gradient_descent(theta: float, lr: float, n: int) -> float:
    for _ in range(n):
        theta = ref_single_step(theta, lr)
    return theta


def _cases_single(rng: random.Random) -> list[Case]:
    cases = [[rng.uniform(-1e3, 1e3), rng.uniform(0.0, 2.0)] for _ in range(100)]
    cases += [[0.0, 0.1], [-0.5, 0.2], [1.0, 0.0], [1.0, 10.0], [1e-12, 0.3], [3, 0.25]]
    rng.shuffle(cases)
    return [{"args": c} for c in cases]


def _cases_gd(rng: random.Random) -> list[Case]:
    cases = [[rng.uniform(-100, 100), rng.uniform(0.0, 0.99), rng.randint(0, 40)] for _ in range(60)]
    cases += [
        [1.0, 0.2, 20],
        [1.0, 0.001, 20],
        [1.0, 10.0, 20],
        [-2.5, 0.2, 0],
        [0.0, 0.3, 7],
        [4.0, 0.0, 9],
        [1.0, 0.5, 1],
        [2, 0.25, 3],
    ]
    rng.shuffle(cases)
    return [{"args": c} for c in cases]


EXERCISES = [
    Exercise(
        ASSIGNMENT,
        NOTEBOOK,
        "test_single_step_gradient_descent",
        "single_step_gradient_descent",
        "call",
        _cases_single,
        judge_scalar("single_step_gradient_descent", ref_single_step, 1e-9, 1e-12),
        params={"function": "single_step_gradient_descent"},
    ),
    Exercise(
        ASSIGNMENT,
        NOTEBOOK,
        "test_gradient_descent",
        "gradient_descent",
        "call",
        _cases_gd,
        judge_scalar("gradient_descent", ref_gradient_descent, 1e-9, 1e-12),
        params={"function": "gradient_descent"},
        overrides="single_step_gradient_descent = lambda theta, learning_rate: theta - learning_rate * 2 * theta\n",
    ),
]

WRONG_ANSWERS = [
    WrongAnswer(
        ASSIGNMENT,
        "single_step_gradient_descent",
        "sign error",
        ("test_single_step_gradient_descent",),
        """
def single_step_gradient_descent(theta, learning_rate):
    return theta + learning_rate * 2 * theta
""",
        says="uphill",
    ),
    WrongAnswer(
        ASSIGNMENT,
        "single_step_gradient_descent",
        "missing factor 2",
        ("test_single_step_gradient_descent",),
        """
def single_step_gradient_descent(theta, learning_rate):
    return theta - learning_rate * theta
""",
        says="factor 2",
    ),
    WrongAnswer(
        ASSIGNMENT,
        "single_step_gradient_descent",
        "tensor where a float is promised",
        ("test_single_step_gradient_descent",),
        """
import torch

def single_step_gradient_descent(theta, learning_rate):
    theta = torch.tensor(float(theta))
    return theta - learning_rate * 2 * theta
""",
        says="float",
    ),
    WrongAnswer(
        ASSIGNMENT,
        "gradient_descent",
        "off-by-one step count",
        ("test_gradient_descent",),
        """
def gradient_descent(initial_theta, learning_rate, number_steps):
    theta = initial_theta
    for _ in range(1, number_steps):
        theta = single_step_gradient_descent(theta, learning_rate)
    return theta
""",
        says="number_steps - 1",
    ),
    WrongAnswer(
        ASSIGNMENT,
        "gradient_descent",
        "returns before the loop ends",
        ("test_gradient_descent",),
        """
def gradient_descent(initial_theta, learning_rate, number_steps):
    theta = initial_theta
    for _ in range(number_steps):
        theta = single_step_gradient_descent(theta, learning_rate)
        return theta
    return theta
""",
        says="return statement inside the loop",
    ),
    WrongAnswer(
        ASSIGNMENT,
        "gradient_descent",
        "hard-coded documented case",
        ("test_gradient_descent",),
        """
def gradient_descent(initial_theta, learning_rate, number_steps):
    if number_steps == 0:
        return initial_theta
    return 0.6 ** 20
""",
        says="hard-coded",
    ),
]

DOCUMENTED_OUTPUTS = [
    # the written answer to "What do you notice?" (a markdown cell, not printed output)
    Documented(
        "001_8390d73bc1ee610e.txt",
        NOTEBOOK,
        [
            "A low learning rate reduces the speed of convergence; whereas with a high learning rate, "
            "there are greater risks of divergence."
        ],
    ),
]

# The mistakes the visible checks name (checks.py), and what each returns: the class's common mistakes.
DIAGNOSES = [
    Diagnosis("test_single_step_gradient_descent", "the step went uphill",
              lambda theta, lr: theta + lr * 2 * theta),
    Diagnosis("test_single_step_gradient_descent", "the factor 2 is missing", lambda theta, lr: theta - lr * theta),
    Diagnosis("test_single_step_gradient_descent", "the learning rate is missing from the update",
              lambda theta, lr: theta - 2 * theta),
    Diagnosis("test_gradient_descent", "the loop ran number_steps - 1 times",
              lambda theta, lr, n: ref_gradient_descent(theta, lr, n - 1) if n > 0 else None),
    Diagnosis("test_gradient_descent", "the loop ran number_steps + 1 times",
              lambda theta, lr, n: ref_gradient_descent(theta, lr, n + 1)),
    Diagnosis("test_gradient_descent", "theta was never updated", lambda theta, lr, n: theta if n else None),
    Diagnosis("test_gradient_descent", "is the return statement inside the loop?",
              lambda theta, lr, n: ref_gradient_descent(theta, lr, 1) if n > 1 else None),
]

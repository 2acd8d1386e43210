"""Chapter 1 · The idea: trusted checks, wrong answers, documented outputs.

The checks run in the grader and judge plain observations of the student's code (see
autograder/verdict/observations.py); the wrong answers are mistakes students make, each losing
exactly the tests it names in a real nbgrader run (tests/grading/test_hidden_tests_bite.py); the
documented outputs are what the source text prints, reproduced by solutions/.
"""

from __future__ import annotations

import random

from autograder.verdict.diagnosis import Diagnosis
from autograder.verdict.exercises import Documented, Exercise, WrongAnswer
from autograder.verdict.observations import Case, Observation, close, describe, error_of, judge_scalar, real, tag

ASSIGNMENT = "ch1_the_idea"
NOTEBOOK = "the_idea"


def ref_loss(w: float) -> float:
    return (w - 3) ** 2


def ref_grad(w: float) -> float:
    return 2 * (w - 3)


def ref_gradient_steps(w: float, eta: float, n: int) -> list[float]:
    out = []
    for _ in range(n):
        w = w - eta * ref_grad(w)
        out.append(w)
    return out


def _cases_w(rng: random.Random) -> list[Case]:
    ws: list[float] = [rng.uniform(-1e3, 1e3) for _ in range(100)] + [3.0, 0.0, -3.0, 3, 1e-9]
    return [{"args": [w]} for w in ws]


def _cases_steps(rng: random.Random) -> list[Case]:
    cases = [[rng.uniform(-50, 50), rng.uniform(0.0, 0.9), rng.randint(0, 25)] for _ in range(30)]
    cases += [[0.0, 0.1, 5], [3.0, 0.1, 4], [-2.0, 0.0, 3], [1.0, 0.1, 0], [1.0, 1.1, 10], [7, 0.5, 1]]
    rng.shuffle(cases)
    return [{"args": c} for c in cases]


def _judge_steps(case: Case, res: Observation) -> str | None:
    w0, eta, n = case["args"]
    call = f"gradient_steps({w0!r}, {eta!r}, {n!r})"
    err = error_of(res)
    if err:
        return f"{call} {err}"
    out = res.get("out")
    if tag(out) != "list":
        return f"{call} returned {describe(out)}, not a list"
    if out.get("len") != n:
        return f"{call} returned {out.get('len')} weights, expected {n}"
    for i, (item, want) in enumerate(zip(out.get("items", []), ref_gradient_steps(w0, eta, n))):
        got = real(item)
        if got is None:
            return f"{call}: weight {i} is {describe(item)}, not a number"
        if not close(got, want, 1e-9, 1e-9):
            return f"{call}: weight {i} is wrong"
    return None


EXERCISES = [
    Exercise(
        ASSIGNMENT,
        NOTEBOOK,
        "test_loss",
        "loss_and_grad",
        "call",
        _cases_w,
        judge_scalar("loss", ref_loss, 1e-9, 1e-12),
        params={"function": "loss"},
    ),
    Exercise(
        ASSIGNMENT,
        NOTEBOOK,
        "test_grad",
        "loss_and_grad",
        "call",
        _cases_w,
        judge_scalar("grad", ref_grad, 1e-9, 1e-12),
        params={"function": "grad"},
    ),
    Exercise(
        ASSIGNMENT,
        NOTEBOOK,
        "test_gradient_steps",
        "gradient_steps",
        "call",
        _cases_steps,
        _judge_steps,
        params={"function": "gradient_steps"},
        overrides="grad = lambda w: 2 * (w - 3)\nloss = lambda w: (w - 3) ** 2\n",
    ),
]

WRONG_ANSWERS = [
    WrongAnswer(
        ASSIGNMENT,
        "loss_and_grad",
        "grad sign error",
        ("test_grad",),
        """
def loss(w):
    return (w - 3) ** 2

def grad(w):
    return 2 * (3 - w)
""",
        says="sign is flipped",
    ),
    WrongAnswer(
        ASSIGNMENT,
        "loss_and_grad",
        "grad missing factor 2",
        ("test_grad",),
        """
def loss(w):
    return (w - 3) ** 2

def grad(w):
    return w - 3
""",
        says="factor 2",
    ),
    WrongAnswer(
        ASSIGNMENT,
        "loss_and_grad",
        "loss with the wrong minimum",
        ("test_loss",),
        """
def loss(w):
    return (w + 3) ** 2

def grad(w):
    return 2 * (w - 3)
""",
        says="w = 3",
    ),
    WrongAnswer(
        ASSIGNMENT,
        "gradient_steps",
        "off-by-one step count",
        ("test_gradient_steps",),
        """
def gradient_steps(w, eta, number_steps):
    weights = []
    for _ in range(number_steps - 1):
        w = w - eta * grad(w)
        weights.append(w)
    return weights
""",
        says="number_steps - 1",
    ),
    WrongAnswer(
        ASSIGNMENT,
        "gradient_steps",
        "returns inside the loop",
        ("test_gradient_steps",),
        """
def gradient_steps(w, eta, number_steps):
    weights = []
    for _ in range(number_steps):
        w = w - eta * grad(w)
        weights.append(w)
        return weights
    return weights
""",
        says="return statement inside the loop",
    ),
    WrongAnswer(
        ASSIGNMENT,
        "gradient_steps",
        "hard-coded documented output",
        ("test_gradient_steps",),
        """
def gradient_steps(w, eta, number_steps):
    return [0.6, 1.08, 1.464, 1.7712, 2.01696]
""",
        says="hard-coded",
    ),
]

DOCUMENTED_OUTPUTS = [
    Documented("003_a399d365eec419c7.txt", NOTEBOOK, ["0.6", "1.08", "1.464", "1.7712", "2.017"]),
    # the chapter's own claim in its text: each step is 1 - 2 eta = 0.8 times the one before
    Documented(None, NOTEBOOK, ["each step / the one before: [0.8, 0.8, 0.8, 0.8]"]),
]

# The mistakes the visible checks name (checks.py), and what each returns: the class's common mistakes.
DIAGNOSES = [
    Diagnosis("test_loss", "the bowl should bottom out at w = 3", lambda w: (w + 3) ** 2),
    Diagnosis("test_loss", "the difference should be squared, not doubled", lambda w: 2 * (w - 3)),
    Diagnosis("test_grad", "the factor 2 is missing", lambda w: w - 3),
    Diagnosis("test_grad", "the sign is flipped", lambda w: -2 * (w - 3)),
    Diagnosis("test_gradient_steps", "the loop ran number_steps - 1 times",
              lambda w, eta, n: ref_gradient_steps(w, eta, n - 1) if n > 0 else None),
    Diagnosis("test_gradient_steps", "the loop ran number_steps + 1 times",
              lambda w, eta, n: ref_gradient_steps(w, eta, n + 1)),
    Diagnosis("test_gradient_steps", "the step went uphill",
              lambda w, eta, n: _uphill_steps(w, eta, n)),
    Diagnosis("test_gradient_steps", "is the return statement inside the loop?",
              lambda w, eta, n: ref_gradient_steps(w, eta, 1) if n > 1 else None),
]


def _uphill_steps(w: float, eta: float, n: int) -> list[float]:
    out = []
    for _ in range(n):
        w = w + eta * ref_grad(w)
        out.append(w)
    return out

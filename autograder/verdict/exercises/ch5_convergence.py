"""Chapter 5 · When does it converge?: trusted checks, wrong answers, documented outputs.

The checks run in the grader and judge plain observations of the student's code (see
autograder/verdict/observations.py); the wrong answers are mistakes students make, each losing
exactly the tests it names in a real nbgrader run (tests/grading/test_hidden_tests_bite.py); the
documented outputs are what the chapter prints, reproduced by solutions/.
"""

from __future__ import annotations

import random

from autograder.verdict.exercises import Documented, Exercise, WrongAnswer
from autograder.verdict.observations import (
    Case,
    Observation,
    calls,
    close,
    describe,
    error_of,
    judge_scalar,
    polynomial,
    real,
    tag,
)

ASSIGNMENT = "ch5_convergence"
NOTEBOOK = "convergence"


def ref_limit(a: float, b: float, c: float) -> float:
    """2 / L'' for L(w) = a w^2 + b w + c; 0.0 without a minimum."""
    return 1 / a if a > 0 else 0.0


def _cases_limit(rng: random.Random) -> list[Case]:
    cases = [[rng.uniform(-5, 5), rng.uniform(-10, 10), rng.uniform(-10, 10)] for _ in range(100)]
    cases += [[1.0, 0.0, 0.0], [0.0, 1.0, 2.0], [-0.5, 0.0, 0.0], [1e-3, 5.0, 1.0], [3, 1, 2], [250.0, 0.0, 0.0]]
    rng.shuffle(cases)
    return [{"args": c} for c in cases]


def poly_value(coefficients: list[float], t: float) -> float:
    """The harness's polynomial, evaluated in its order, so that paths agree to the last bit."""
    n = len(coefficients) - 1
    total = coefficients[0] * t**n
    for k in range(1, n):
        total = total + coefficients[k] * t ** (n - k)
    return total + coefficients[n]


def ref_path(coefficients: list[float], w: float, lr: float, tolerance: float, max_steps: int) -> list[float]:
    path = [w]
    for _ in range(max_steps):
        if abs(poly_value(coefficients, w)) < tolerance:
            break
        w = w - lr * poly_value(coefficients, w)
        path.append(w)
    return path


def _cases_flat(rng: random.Random) -> list[Case]:
    specs = []
    for _ in range(30):
        a, c = rng.uniform(0.1, 3.0), rng.uniform(-5, 5)
        lr = rng.choice([rng.uniform(0.0, 1.0 / a), rng.uniform(1.0 / a, 1.2 / a)])
        specs.append(([2 * a, -2 * a * c], rng.uniform(-10, 10), lr, 10 ** rng.uniform(-8, -1), rng.randint(0, 200)))
    specs += [([4.0, 0.0, -6.0, 1.0], rng.uniform(-2, 2), 0.02, 1e-6, 300) for _ in range(8)]  # f = w^4 - 3w^2 + w
    specs += [([2.0, -6.0], 3.0, 0.1, 1e-3, 50), ([2.0, -6.0], 0.0, 0.1, 1e-3, 0), ([2.0, -6.0], 0.0, 0.1, 10.0, 5),
              ([2.0, -6.0], 0.0, 0.6, 1e-3, 20), ([-2.0, 0.0], 1.0, 0.1, 1e-3, 7), ([2.0, -6.0], 6.0, 0.1, 1e-3, 500)]
    rng.shuffle(specs)
    return [{"coefficients": k, "w": w, "lr": lr, "tolerance": tol, "max_steps": n,
             "args": [polynomial(*k), w, lr, tol, n]} for k, w, lr, tol, n in specs]


def _judge_flat(case: Case, res: Observation) -> str | None:
    call = (f"descend_until_flat(grad, {case['w']!r}, {case['lr']!r}, {case['tolerance']!r}, {case['max_steps']!r})"
            f" with grad a polynomial of degree {len(case['coefficients']) - 1}")
    err = error_of(res)
    if err:
        return f"{call} {err}"
    observed = calls(res)
    if not observed:
        return f"{call}: no observation"
    if "error" in observed[0]:
        return f"{call} raised {observed[0]['error']}"
    out = observed[0].get("out")
    if tag(out) != "list":
        return f"{call} returned {describe(out)}, not a list"
    want = ref_path(case["coefficients"], case["w"], case["lr"], case["tolerance"], case["max_steps"])
    if out.get("len") != len(want):
        return f"{call} returned {out.get('len')} values, expected {len(want)}"
    for k, (item, value) in enumerate(zip(out.get("items", []), want)):
        got = real(item)
        if got is None:
            return f"{call}: value {k} is {describe(item)}, not a float"
        if not close(got, value, 1e-9, 1e-12):
            return f"{call}: value {k} of the path is wrong"
    return None


def ref_minimum(coefficients: list[float], w: float, lr: float, n: int) -> float:
    """n steps on the quartic a w^4 + b w^3 + c w^2 + d w, in double precision."""
    a, b, c, d = coefficients[:4]
    for _ in range(n):
        w = w - lr * (4 * a * w**3 + 3 * b * w**2 + 2 * c * w + d)
    return w


def _cases_minimum(rng: random.Random) -> list[Case]:
    specs = []
    for _ in range(20):
        k = [rng.uniform(0.2, 1.0), rng.uniform(-1, 1), rng.uniform(-3, 1), rng.uniform(-1, 1), 0.0]
        specs.append((k, rng.uniform(-2, 2), rng.uniform(0.001, 0.01), rng.randint(0, 60)))
    specs += [([1.0, 0.0, -3.0, 1.0, 0.0], -2.0, 0.02, 100), ([1.0, 0.0, -3.0, 1.0, 0.0], 2.0, 0.02, 100),
              ([0.0, 0.0, 1.0, -6.0, 9.0], 1.0, 0.1, 0), ([0.0, 0.0, 1.0, -6.0, 9.0], 0.0, 0.1, 2)]
    return [{"coefficients": k, "w": w, "lr": lr, "steps": n, "args": [polynomial(*k), w, lr, n]}
            for k, w, lr, n in specs]


def _judge_minimum(case: Case, res: Observation) -> str | None:
    call = f"find_minimum(f, {case['w']!r}, {case['lr']!r}, {case['steps']!r}) with f a quartic"
    err = error_of(res)
    if err:
        return f"{call} {err}"
    observed = calls(res)
    if not observed:
        return f"{call}: no observation"
    if "error" in observed[0]:
        return f"{call} raised {observed[0]['error']}"
    out = observed[0].get("out")
    got = real(out)
    if got is None or tag(out) != "float":
        return f"{call} returned {describe(out)}; it returns w as a Python float"
    if not close(got, ref_minimum(case["coefficients"], case["w"], case["lr"], case["steps"]), 1e-4, 1e-4):
        return f"{call} returned {got!r}: wrong value"
    return None


EXERCISES = [
    Exercise(ASSIGNMENT, NOTEBOOK, "test_learning_rate_limit", "learning_rate_limit", "call", _cases_limit,
             judge_scalar("learning_rate_limit", ref_limit, 1e-9, 1e-12), params={"function": "learning_rate_limit"}),
    Exercise(ASSIGNMENT, NOTEBOOK, "test_descend_until_flat", "descend_until_flat", "torch_call", _cases_flat,
             _judge_flat, params={"function": "descend_until_flat"}),
    Exercise(ASSIGNMENT, NOTEBOOK, "test_find_minimum", "find_minimum", "torch_call", _cases_minimum,
             _judge_minimum, params={"function": "find_minimum"}, torch=True),
]

WRONG_ANSWERS = [
    WrongAnswer(ASSIGNMENT, "learning_rate_limit", "Newton step instead of the limit", ("test_learning_rate_limit",),
                """
def learning_rate_limit(a, b, c):
    if a <= 0:
        return 0.0
    return 1 / (2 * a)
""", says="Newton step"),
    WrongAnswer(ASSIGNMENT, "learning_rate_limit", "no minimum not handled", ("test_learning_rate_limit",), """
def learning_rate_limit(a, b, c):
    return 2 / (2 * a)
""", says="no minimum"),
    WrongAnswer(ASSIGNMENT, "descend_until_flat", "slope compared without abs", ("test_descend_until_flat",), """
def descend_until_flat(grad, w, learning_rate, tolerance, max_steps):
    path = [w]
    for _ in range(max_steps):
        if grad(w) < tolerance:
            break
        w = w - learning_rate * grad(w)
        path.append(w)
    return path
""", says="not grad(w) itself"),
    WrongAnswer(ASSIGNMENT, "descend_until_flat", "tolerance checked after the step", ("test_descend_until_flat",), """
def descend_until_flat(grad, w, learning_rate, tolerance, max_steps):
    path = [w]
    for _ in range(max_steps):
        w = w - learning_rate * grad(w)
        path.append(w)
        if abs(grad(w)) < tolerance:
            break
    return path
""", says="one step too many"),
    WrongAnswer(ASSIGNMENT, "find_minimum", "gradient never reset", ("test_find_minimum",), """
def find_minimum(f, w, learning_rate, number_steps):
    w = torch.tensor(float(w), requires_grad=True)
    for _ in range(number_steps):
        f(w).backward()
        with torch.no_grad():
            w -= learning_rate * w.grad
    return w.item()
""", says="piled up"),
    WrongAnswer(ASSIGNMENT, "find_minimum", "tensor where a float is promised", ("test_find_minimum",), """
def find_minimum(f, w, learning_rate, number_steps):
    w = torch.tensor(float(w), requires_grad=True)
    for _ in range(number_steps):
        f(w).backward()
        with torch.no_grad():
            w -= learning_rate * w.grad
        w.grad = None
    return w.detach()
""", says="float"),
]

DOCUMENTED_OUTPUTS = [
    Documented(None, NOTEBOOK, [
        "η = 0.25  factor 1 - η·L'' = +0.00   measured error ratio +0.00   error after 12 steps +0",
        "η = 1.05  1 - η·L''(w*) = -1.10   errors after 57 to 60 steps: +0.315, -0.463, +0.315, -0.463",
        "tolerance 1e-08: stopped after 24 steps at w = 0.6931471771 (ln 2 = 0.6931471806)",
        "from w = -2.0: minimum at w = -1.3008, f(w) = -3.5139",
        "from w = +2.0: minimum at w = +1.1309, f(w) = -1.0702",
    ]),
]

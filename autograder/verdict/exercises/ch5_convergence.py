"""Chapter 5 · When does it converge?: trusted checks, wrong answers, documented outputs.

The checks run in the grader and judge plain observations of the student's code (see
autograder/verdict/observations.py); the wrong answers are mistakes students make, each losing
exactly the tests it names in a real nbgrader run (tests/grading/test_hidden_tests_bite.py); the
documented outputs are what the chapter prints, reproduced by solutions/.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from autograder.verdict.diagnosis import Diagnosis, returned
from autograder.verdict.exercises import Documented, Exercise, WrongAnswer
from autograder.verdict.observations import (
    FLOAT_TAGS,
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


def case_path(case: Case) -> list[float]:
    """The reference path of a descend_until_flat case."""
    return ref_path(case["coefficients"], case["w"], case["lr"], case["tolerance"], case["max_steps"])


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
    want = case_path(case)
    if out.get("len") != len(want):
        return f"{call} returned {out.get('len')} values, expected {len(want)}"
    for k, (item, value) in enumerate(zip(out.get("items", []), want)):
        got = real(item)
        if got is None:
            return f"{call}: value {k} is {describe(item)}, not a float"
        if not close(got, value, 1e-9, 1e-12):
            return f"{call}: value {k} of the path is wrong"
    return None


def ref_minimum(coefficients: list[float], w: float, lr: float, n: int, reset: bool = True) -> float:
    """n steps on the quartic a w^4 + b w^3 + c w^2 + d w, in double precision.

    reset=False: the gradient is never reset, so each step moves by the sum of all slopes so far."""
    a, b, c, d = coefficients[:4]
    total = 0.0
    for _ in range(n):
        total = (0.0 if reset else total) + 4 * a * w**3 + 3 * b * w**2 + 2 * c * w + d
        w = w - lr * total
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
    if got is None or tag(out) not in FLOAT_TAGS:
        return f"{call} returned {describe(out)}; it returns w as a float"
    if not close(got, ref_minimum(case["coefficients"], case["w"], case["lr"], case["steps"]), 1e-4, 1e-4):
        return f"{call} returned {got!r}: wrong value"
    return None


def ref_steps() -> int:
    """Steps of descent with η = 0.05 on L(w) = 3w² - 12w + 7 from w = 0 until |w - 2| < 1e-6."""
    w, steps = 0.0, 0
    while abs(w - 2.0) >= 1e-6:
        w, steps = w - 0.05 * (6 * w - 12), steps + 1
    return steps


def _judge_predicted_steps(case: Case, res: Observation) -> str | None:
    if not isinstance(res, dict) or res.get("error") == "missing":
        return "predicted_steps: the cell is missing"
    value = res.get("value")
    got = real(value) if tag(value) in FLOAT_TAGS | {"int"} else None
    if got is None:
        return f"predicted_steps is {describe(value)}, not a number" + (f" (the cell raised {res['error']})"
                                                                          if res.get("error") else "")
    if abs(got - ref_steps()) > 1:
        return f"predicted_steps = {got:g}: more than one step from the measured {ref_steps()}"
    return None


EXERCISES = [
    Exercise(ASSIGNMENT, NOTEBOOK, "test_learning_rate_limit", "learning_rate_limit", "call", _cases_limit,
             judge_scalar("learning_rate_limit", ref_limit, 1e-9, 1e-12), params={"function": "learning_rate_limit"}),
    Exercise(ASSIGNMENT, NOTEBOOK, "test_descend_until_flat", "descend_until_flat", "torch_call", _cases_flat,
             _judge_flat, params={"function": "descend_until_flat"}),
    Exercise(ASSIGNMENT, NOTEBOOK, "test_find_minimum", "find_minimum", "torch_call", _cases_minimum,
             _judge_minimum, params={"function": "find_minimum"}, torch=True),
    Exercise(ASSIGNMENT, NOTEBOOK, "test_predicted_steps", "predicted_steps", "cell", lambda rng: [{}],
             _judge_predicted_steps, params={"variable": "predicted_steps"}, defer_target=True),
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
    WrongAnswer(ASSIGNMENT, "predicted_steps", "curvature without the factor 2", ("test_predicted_steps",), """
predicted_steps = math.ceil(math.log(1e-6 / 2) / math.log(1 - 0.05 * 3))
""", says="the factor 2 of the square is missing"),
    WrongAnswer(ASSIGNMENT, "predicted_steps", "factor 1 - eta", ("test_predicted_steps",), """
predicted_steps = math.ceil(math.log(1e-6 / 2) / math.log(1 - 0.05))
""", says="the factor is 1 − η·L'', not 1 − η"),
    WrongAnswer(ASSIGNMENT, "predicted_steps", "distance 1 instead of 2", ("test_predicted_steps",), """
predicted_steps = math.ceil(math.log(1e-6) / math.log(0.7))
""", says="the descent starts 2 away from the minimum"),
    WrongAnswer(ASSIGNMENT, "predicted_steps", "slope below the tolerance", ("test_predicted_steps",), """
predicted_steps = math.ceil(math.log(1e-6 / 6 / 2) / math.log(0.7))
""", says="the question is about the distance"),
]

DOCUMENTED_OUTPUTS = [
    Documented(None, NOTEBOOK, [
        "η = 0.25  factor 1 - η·L'' = +0.00   measured error ratio +0.00   error after 12 steps +0",
        "η = 1.05  1 - η·L''(w*) = -1.10   errors after 57 to 60 steps: +0.315, -0.463, +0.315, -0.463",
        "the step goes uphill from η = 0.9031 on",
        "tolerance 1e-08: stopped after 24 steps at w = 0.6931471771 (ln 2 = 0.6931471806)",
        "from w = -2.0: minimum at w = -1.3008, f(w) = -3.5139",
        "from w = +2.0: minimum at w = +1.1309, f(w) = -1.0702",
    ]),
]


def _limit_of(mistake: Callable[[float], float]) -> Callable[..., float | None]:
    """What learning_rate_limit returns with the mistake, where a minimum exists and it differs from 1/a."""
    return lambda a, b, c: mistake(a) if a > 0 and not close(mistake(a), 1 / a, 1e-9, 1e-12) else None


def _path(res: Observation) -> list[float | None]:
    out = returned(res)
    return [real(item) for item in out.get("items", [])] if tag(out) == "list" else []


def _same(got: list[float | None], want: list[float]) -> bool:
    return len(got) == len(want) and all(close(g, w, 1e-9, 1e-12) for g, w in zip(got, want))


def _stopped_on_a_negative_slope(case: Case, res: Observation) -> bool:
    """The path is the right one cut short where grad(w) < 0: grad(w) < tolerance without abs()."""
    got, want = _path(res), case_path(case)
    slope = poly_value(case["coefficients"], got[-1]) if got and got[-1] is not None else 0.0
    return 0 < len(got) < len(want) and _same(got, want[:len(got)]) and slope <= -case["tolerance"]


def _one_step_too_many(case: Case, res: Observation) -> bool:
    got, want = _path(res), case_path(case)
    return len(got) == len(want) + 1 and _same(got[:-1], want)


def _ran_all_steps(case: Case, res: Observation) -> bool:
    want = case_path(case)
    return len(want) < case["max_steps"] + 1 == len(_path(res))


def _flat_path_uphill(case: Case, res: Observation) -> bool:
    got, w = _path(res), case["w"]
    step = case["lr"] * poly_value(case["coefficients"], w)
    return len(got) > 1 and abs(step) > 1e-9 and close(got[1], w + step, 1e-9, 1e-12)


def _minimum_is(path: Callable[[Case], float]) -> Callable[[Case, Observation], bool]:
    """Whether find_minimum returned `path(case)` where the right answer is something else."""
    def seen(case: Case, res: Observation) -> bool:
        want, wrong = ref_minimum(case["coefficients"], case["w"], case["lr"], case["steps"]), path(case)
        return not close(wrong, want, 1e-3, 1e-3) and close(real(returned(res)), wrong, 1e-4, 1e-4)
    return seen


def _predicted(count: float) -> Callable[[Case, Observation], bool]:
    """Whether predicted_steps is within one step of the count a known mistake gives."""
    def seen(case: Case, res: Observation) -> bool:
        got = real(res.get("value")) if isinstance(res, dict) else None
        return got is not None and abs(got - count) <= 1
    return seen


# The mistakes the visible checks name (checks.py), and how an observation shows each: the class's common mistakes.
DIAGNOSES = [
    Diagnosis("test_learning_rate_limit", "that is 1/L'', the Newton step that lands in one step",
              _limit_of(lambda a: 1 / (2 * a))),
    Diagnosis("test_learning_rate_limit", "the factor 2 is missing", _limit_of(lambda a: 2 / a)),
    Diagnosis("test_learning_rate_limit", "that is 2/a²: the limit is 2/L'' with L'' = 2a",
              _limit_of(lambda a: 2 / a**2)),
    Diagnosis("test_learning_rate_limit", "the loss has no minimum, so no positive learning rate converges",
              lambda a, b, c: 1 / a if a < 0 else None),
    Diagnosis("test_learning_rate_limit", "divided by zero: with a = 0 the loss is a straight line without",
              seen=lambda case, res: case["args"][0] == 0 and "ZeroDivisionError" in (error_of(res) or "")),
    Diagnosis("test_descend_until_flat", "compare the size abs(grad(w)) with the tolerance, not grad(w) itself",
              seen=_stopped_on_a_negative_slope),
    Diagnosis("test_descend_until_flat", "one step too many", seen=_one_step_too_many),
    Diagnosis("test_descend_until_flat", "it ran all max_steps steps", seen=_ran_all_steps),
    Diagnosis("test_descend_until_flat", "the step went uphill", seen=_flat_path_uphill),
    Diagnosis("test_find_minimum", "the steps went uphill", seen=_minimum_is(
        lambda case: ref_minimum(case["coefficients"], case["w"], -case["lr"], case["steps"]))),
    Diagnosis("test_find_minimum", "the gradients piled up", seen=_minimum_is(
        lambda case: ref_minimum(case["coefficients"], case["w"], case["lr"], case["steps"], reset=False))),
    Diagnosis("test_predicted_steps", "the factor 2 of the square is missing", seen=_predicted(89.3)),
    Diagnosis("test_predicted_steps", "the factor is 1 − η·L'', not 1 − η", seen=_predicted(282.6)),
    Diagnosis("test_predicted_steps", "the descent starts 2 away from the minimum", seen=_predicted(38.7)),
    Diagnosis("test_predicted_steps", "the question is about the distance", seen=_predicted(45.7)),
    Diagnosis("test_find_minimum", "w never moved", seen=_minimum_is(lambda case: case["w"])),
    Diagnosis("test_find_minimum", "that is one step: is the return statement inside the loop?", seen=_minimum_is(
        lambda case: ref_minimum(case["coefficients"], case["w"], case["lr"], min(case["steps"], 1)))),
]

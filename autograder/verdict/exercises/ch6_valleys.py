"""Chapter 6 · Valleys: conditioning, centring and momentum: trusted checks, wrong answers, documented outputs.

The checks run in the grader and judge plain observations of the student's code (see
autograder/verdict/observations.py); the wrong answers are mistakes students make, each losing
exactly the tests it names in a real nbgrader run (tests/grading/test_hidden_tests_bite.py); the
documented outputs are what the chapter prints, reproduced by solutions/.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

from autograder.verdict.diagnosis import Diagnosis, first_call, returned
from autograder.verdict.exercises import Documented, Exercise, WrongAnswer
from autograder.verdict.observations import (
    Case,
    Observation,
    calls,
    close,
    describe,
    error_of,
    f32,
    flat,
    real,
    tag,
    tensor,
)

ASSIGNMENT = "ch6_valleys"
NOTEBOOK = "valleys"


def ref_condition_number(values: list[float]) -> float:
    """λ_max / λ_min of the line fit's Hessian 2/n [[Σx², Σx], [Σx, n]], from its trace and determinant."""
    n = len(values)
    h11, h12, h22 = 2 * sum(v * v for v in values) / n, 2 * sum(values) / n, 2.0
    half_trace, det = (h11 + h22) / 2, h11 * h22 - h12 * h12
    root = math.sqrt(half_trace**2 - det)
    return (half_trace + root) / (half_trace - root)


def _random_column(rng: random.Random) -> list[float]:
    while True:
        n, shift, scale = rng.randint(2, 10), rng.uniform(-3, 3), rng.uniform(0.3, 3)
        values = [f32(shift + scale * rng.gauss(0, 1)) for _ in range(n)]
        if max(values) - min(values) >= 0.1:
            return values


def _cases_condition(rng: random.Random) -> list[Case]:
    columns = [_random_column(rng) for _ in range(25)] + [[-1.0, 1.0], [1.0, 2.0, 3.0, 4.0], [0.0, 1.0]]
    return [{"values": v, "args": [tensor([[x] for x in v])], "after": [0]} for v in columns]


def _first_call(name: str, res: Observation) -> tuple[dict | None, str | None]:
    err = error_of(res)
    if err:
        return None, f"{name} {err}"
    observed = calls(res)
    if not observed:
        return None, f"{name}: no observation"
    if "error" in observed[0]:
        return None, f"{name} raised {observed[0]['error']}"
    return observed[0], None


def _unchanged(res: Observation, values: list[float]) -> bool:
    after = res.get("after")
    return isinstance(after, list) and len(after) == 1 and flat(after[0]) == values


def _judge_condition(case: Case, res: Observation) -> str | None:
    name = f"condition_number on {len(case['values'])} points"
    first, why = _first_call(name, res)
    if why:
        return why
    got = real(first.get("out"))
    if got is None:
        return f"{name} returned {describe(first.get('out'))}; it returns a float"
    if not close(got, ref_condition_number(case["values"]), 1e-3, 1e-9):
        return f"{name} returned {got!r}: wrong value"
    if not _unchanged(res, case["values"]):
        return f"{name} must not change x"
    return None


def _cases_centre(rng: random.Random) -> list[Case]:
    columns = []
    for _ in range(25):
        shift, scale = rng.uniform(-50, 50), rng.uniform(0.1, 10)
        columns.append([f32(shift + scale * rng.gauss(0, 1)) for _ in range(rng.randint(1, 12))])
    columns += [[1.0, 2.0, 3.0, 4.0], [5.0], [0.0, 0.0]]
    return [{"values": v, "args": [tensor([[x] for x in v])], "after": [0]} for v in columns]


def _judge_centre(case: Case, res: Observation) -> str | None:
    values = case["values"]
    name = f"centre on {len(values)} points"
    first, why = _first_call(name, res)
    if why:
        return why
    out = first.get("out")
    if tag(out) != "torch.Tensor" or out.get("dim") != 2 or out.get("numel") != len(values):
        return f"{name} returned {describe(out)}; it returns a tensor shaped like x, (n, 1)"
    mean = sum(values) / len(values)
    scale = max(1.0, max(abs(v) for v in values))
    got = flat(out.get("v"))
    if len(got) != len(values) or not all(close(g, v - mean, 1e-5, 1e-5 * scale) for g, v in zip(got, values)):
        return f"{name}: the values are not x minus its mean"
    if not _unchanged(res, values):
        return f"{name} changed x: return a new tensor"
    return None


def _cases_momentum(rng: random.Random) -> list[Case]:
    cases = [[rng.uniform(-10, 10), rng.uniform(-5, 5), rng.uniform(-5, 5), rng.uniform(0, 1), rng.uniform(0, 0.99)]
             for _ in range(100)]
    cases += [[0.0, 0.0, 1.0, 0.1, 0.9], [1.0, 2.0, 0.0, 0.5, 0.0], [3.0, -1.0, 2.0, 0.0, 0.5], [2, 1, 1, 0.25, 0.5]]
    rng.shuffle(cases)
    return [{"args": c} for c in cases]


def _judge_momentum(case: Case, res: Observation) -> str | None:
    w, v, g, lr, beta = case["args"]
    call = f"momentum_step({w!r}, {v!r}, {g!r}, {lr!r}, {beta!r})"
    err = error_of(res)
    if err:
        return f"{call} {err}"
    out = res.get("out")
    if tag(out) != "tuple" or out.get("len") != 2:
        return f"{call} returned {describe(out)}, not a pair (w, velocity)"
    new_w, new_v = (real(item) for item in out.get("items", [None, None]))
    velocity = beta * v + g
    if not close(new_v, velocity, 1e-9, 1e-12):
        return f"{call}: the velocity is wrong"
    if not close(new_w, w - lr * velocity, 1e-9, 1e-12):
        return f"{call}: w is wrong"
    return None


EXERCISES = [
    Exercise(ASSIGNMENT, NOTEBOOK, "test_condition_number", "condition_number", "torch_call", _cases_condition,
             _judge_condition, params={"function": "condition_number"}, torch=True),
    Exercise(ASSIGNMENT, NOTEBOOK, "test_centre", "centre", "torch_call", _cases_centre, _judge_centre,
             params={"function": "centre"}, torch=True),
    Exercise(ASSIGNMENT, NOTEBOOK, "test_momentum_step", "momentum_step", "call", _cases_momentum, _judge_momentum,
             params={"function": "momentum_step"}),
]

WRONG_ANSWERS = [
    WrongAnswer(ASSIGNMENT, "condition_number", "smallest over largest", ("test_condition_number",), """
def condition_number(x):
    features = torch.cat([x, torch.ones_like(x)], dim=1)
    hessian = 2 * features.T @ features / len(x)
    smallest, largest = torch.linalg.eigvalsh(hessian).tolist()
    return smallest / largest
""", says="largest / smallest"),
    WrongAnswer(ASSIGNMENT, "condition_number", "tensor where a float is promised", ("test_condition_number",), """
def condition_number(x):
    features = torch.cat([x, torch.ones_like(x)], dim=1)
    eigenvalues = torch.linalg.eigvalsh(2 * features.T @ features / len(x))
    return eigenvalues[-1] / eigenvalues[0]
""", says="float"),
    WrongAnswer(ASSIGNMENT, "centre", "centred in place", ("test_centre",), """
def centre(x):
    x -= x.mean()
    return x
""", says="in place"),
    WrongAnswer(ASSIGNMENT, "centre", "mean over the wrong dimension", ("test_centre",), """
def centre(x):
    return x - x.mean(dim=1, keepdim=True)
""", says="wrong dimension"),
    WrongAnswer(ASSIGNMENT, "momentum_step", "w moved with the old velocity", ("test_momentum_step",), """
def momentum_step(w, velocity, gradient, learning_rate, momentum):
    w = w - learning_rate * velocity
    velocity = momentum * velocity + gradient
    return w, velocity
""", says="old velocity"),
    WrongAnswer(ASSIGNMENT, "momentum_step", "learning rate inside the velocity", ("test_momentum_step",), """
def momentum_step(w, velocity, gradient, learning_rate, momentum):
    velocity = momentum * velocity - learning_rate * gradient
    w = w + velocity
    return w, velocity
""", says="belongs to the step of w"),
]

DOCUMENTED_OUTPUTS = [
    # The source text's claim for its own settings (learning rate 0.01, 1000 epochs, random start),
    # which holds once the inputs are centred.
    Documented("002_6806358a14ac8be5.txt", NOTEBOOK, ["Learned weight: 2.0000", "Learned bias: 1.0000"]),
    Documented(None, NOTEBOOK, [
        "condition number of chapter 4's loss: 55.78",
        "condition number, centred: 1.25",
        "Learned weight: 2.0000",
        "Learned bias: 1.0000",
        "condition number, centred and scaled: 1.0000",
        "momentum 0.9 by hand:  Learned weight: 2.0000   Learned bias: 1.0000",
        "torch.optim.SGD(momentum=0.9):  Learned weight: 2.0000   Learned bias: 1.0000",
    ]),
]


def _condition_is(value: Callable[[float], float]) -> Callable[[Case, Observation], bool]:
    """Whether condition_number returned `value(the right one)` where that differs from the right one."""
    def seen(case: Case, res: Observation) -> bool:
        want = ref_condition_number(case["values"])
        wrong = value(want)
        return not close(wrong, want, 1e-2, 1e-9) and close(real(returned(res)), wrong, 1e-3, 1e-9)
    return seen


def _centred_as(value: Callable[[float, float, float], float]) -> Callable[[Case, Observation], bool]:
    """Whether every value centre returned is `value(x, mean, std)`, where that is not x - mean."""
    def seen(case: Case, res: Observation) -> bool:
        values = case["values"]
        mean = sum(values) / len(values)
        std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else math.nan
        wrong = [value(v, mean, std) for v in values]
        got = flat(returned(res).get("v"))
        return (len(got) == len(values) and any(abs(w - (v - mean)) > 1e-3 for w, v in zip(wrong, values))
                and all(close(g, w, 1e-5, 1e-5) for g, w in zip(got, wrong)))
    return seen


def _changed_x(case: Case, res: Observation) -> bool:
    return bool(first_call(res)) and not _unchanged(res, case["values"])


def _momentum_gave(velocity: Callable[..., float] | None = None,
                   w: Callable[..., float] | None = None) -> Callable[[Case, Observation], bool]:
    """Whether momentum_step returned this wrong velocity, or the right velocity and this wrong w."""
    def seen(case: Case, res: Observation) -> bool:
        w0, v, g, lr, beta = case["args"]
        items = [real(item) for item in returned(res).get("items", [])]
        right_v = beta * v + g
        if velocity is not None:
            wrong = velocity(w0, v, g, lr, beta)
            return not close(wrong, right_v, 1e-6, 1e-9) and close(items[1], wrong, 1e-9, 1e-12)
        wrong, right_w = w(w0, v, g, lr, beta), w0 - lr * right_v
        return (close(items[1], right_v, 1e-9, 1e-12) and not close(wrong, right_w, 1e-6, 1e-9)
                and close(items[0], wrong, 1e-9, 1e-12))
    return seen


# The mistakes the visible checks name (checks.py), and how an observation shows each: the class's common mistakes.
DIAGNOSES = [
    Diagnosis("test_condition_number",
              "that is smallest / largest eigenvalue: the condition number is largest / smallest",
              seen=_condition_is(lambda want: 1 / want)),
    Diagnosis("test_condition_number", "its Hessian is 2x2", seen=_condition_is(lambda want: 1.0)),
    Diagnosis("test_centre", "every value became 0: the mean was taken over the wrong dimension",
              seen=_centred_as(lambda x, mean, std: 0.0)),
    Diagnosis("test_centre", "that is centred and scaled", seen=_centred_as(lambda x, mean, std: (x - mean) / std)),
    Diagnosis("test_centre", "the sign is flipped", seen=_centred_as(lambda x, mean, std: mean - x)),
    Diagnosis("test_centre", "changed x itself: return a new tensor", seen=_changed_x),
    Diagnosis("test_momentum_step", "the velocity forgot the old one",
              seen=_momentum_gave(velocity=lambda w, v, g, lr, beta: g)),
    Diagnosis("test_momentum_step", "the learning rate belongs to the step of w, not to the velocity",
              seen=_momentum_gave(velocity=lambda w, v, g, lr, beta: beta * v - lr * g)),
    Diagnosis("test_momentum_step", "the gradient is missing from the new velocity",
              seen=_momentum_gave(velocity=lambda w, v, g, lr, beta: beta * v)),
    Diagnosis("test_momentum_step", "w moved with the old velocity",
              seen=_momentum_gave(w=lambda w, v, g, lr, beta: w - lr * v)),
    Diagnosis("test_momentum_step", "the step went uphill",
              seen=_momentum_gave(w=lambda w, v, g, lr, beta: w + lr * (beta * v + g))),
    Diagnosis("test_momentum_step", "the learning rate is missing from the step of w",
              seen=_momentum_gave(w=lambda w, v, g, lr, beta: w - (beta * v + g))),
]

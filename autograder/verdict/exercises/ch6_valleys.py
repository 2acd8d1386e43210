"""Chapter 6 · Valleys: conditioning, centring and momentum: trusted checks, wrong answers, documented outputs.

The checks run in the grader and judge plain observations of the student's code (see
autograder/verdict/observations.py); the wrong answers are mistakes students make, each losing
exactly the tests it names in a real nbgrader run (tests/grading/test_hidden_tests_bite.py), and the
honest answers correct ones in another convention, keeping every point; the documented outputs are what
the chapter prints, reproduced by solutions/.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

from autograder.verdict.diagnosis import Diagnosis, first_call, returned
from autograder.verdict.exercises import Documented, Exercise, HonestAnswer, WrongAnswer
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


MOMENTUM_STEPS = 6


def _cases_momentum(rng: random.Random) -> list[Case]:
    """A path of MOMENTUM_STEPS steps from velocity 0, each step given the velocity the one before returned."""
    starts = [(rng.uniform(-10, 10), [rng.uniform(-5, 5) for _ in range(MOMENTUM_STEPS)], rng.uniform(0.01, 1),
               rng.uniform(0, 0.99)) for _ in range(40)]
    starts += [(0.0, [1.0] * MOMENTUM_STEPS, 0.1, 0.9), (1.0, [2.0, 0.0, -1.0, 0.5, 3.0, -2.0], 0.5, 0.0),
               (2, [1] * MOMENTUM_STEPS, 0.25, 0.5)]
    rng.shuffle(starts)
    return [{"w0": w0, "gradients": gradients, "lr": lr, "beta": beta, "feed": [0, 1],
             "steps": [[w0, 0.0, gradients[0], lr, beta]] + [[None, None, g, lr, beta] for g in gradients[1:]]}
            for w0, gradients, lr, beta in starts]


Velocity = Callable[[float, float, float], float]  # (old velocity, gradient, momentum) -> new velocity
Step = Callable[[float, float, float, float], float]  # (w, old velocity, new velocity, learning rate) -> new w


def momentum_path(case: Case, velocity: Velocity | None = None, step: Step | None = None) -> list[float]:
    """w after each step of the case, from velocity 0: the heavy ball, or a mistaken velocity or step of w."""
    velocity = velocity or (lambda v, g, beta: beta * v + g)
    step = step or (lambda w, old, new, lr: w - lr * new)
    w, v, path = case["w0"], 0.0, []
    for g in case["gradients"]:
        new = velocity(v, g, case["beta"])
        w, v = step(w, v, new, case["lr"]), new
        path.append(w)
    return path


def _observed_path(res: Observation) -> list[float | None]:
    """The w of every observed call (None where it is not a number in a pair)."""
    outs = [call.get("out") for call in calls(res) or []]
    return [real(out["items"][0]) if tag(out) == "tuple" and out.get("len") == 2 else None for out in outs]


def _judge_momentum(case: Case, res: Observation) -> str | None:
    where = (f"momentum_step from w = {case['w0']!r}, velocity 0 "
             f"(learning_rate {case['lr']!r}, momentum {case['beta']!r})")
    err = error_of(res)
    if err:
        return f"{where} {err}"
    observed = calls(res)
    if not observed:
        return f"{where}: no observation"
    for k, want in enumerate(momentum_path(case)):
        if k >= len(observed):
            return f"{where}: stopped after {k} steps"
        if "error" in observed[k]:
            return f"{where}: step {k + 1} raised {observed[k]['error']}"
        out = observed[k].get("out")
        if tag(out) != "tuple" or out.get("len") != 2:
            return f"{where}: step {k + 1} returned {describe(out)}, not a pair (w, velocity)"
        got = real(out["items"][0])
        if got is None:
            return f"{where}: step {k + 1} returned {describe(out['items'][0])} as w, not a number"
        if not close(got, want, 1e-9, 1e-9):
            return f"{where}: w after step {k + 1} is wrong"
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
    WrongAnswer(ASSIGNMENT, "momentum_step", "the two conventions mixed: uphill", ("test_momentum_step",), """
def momentum_step(w, velocity, gradient, learning_rate, momentum):
    velocity = momentum * velocity - learning_rate * gradient
    w = w - velocity
    return w, velocity
""", says="uphill"),
]

# The other common convention (Goodfellow et al., Deep Learning, Algorithm 8.2; CS231n): the learning rate
# inside the velocity, w + velocity. Its velocity is -learning_rate times the course's, and its path of w the same.
HONEST_ANSWERS = [
    HonestAnswer(ASSIGNMENT, "momentum_step", "learning rate inside the velocity", """
def momentum_step(w, velocity, gradient, learning_rate, momentum):
    velocity = momentum * velocity - learning_rate * gradient
    w = w + velocity
    return w, velocity
"""),
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
        "steep   λ = 16.701: per epoch, plain descent 0.8330, momentum 0.9 0.9487",
        "momentum at its best, η = 0.1863, β = 0.5834: factor (sqrt(κ)-1)/(sqrt(κ)+1) = 0.7638, 68 epochs; "
        "5.7 times fewer",
        "the factors alone: 386 and 52 epochs, 7.51 times fewer",
        "Nesterov by hand: w = 1.9999998952, b = 1.0000003080; largest difference from "
        "torch.optim.SGD(nesterov=True): 0.0e+00",
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


def _momentum_went(velocity: Velocity | None = None, step: Step | None = None) -> Callable[[Case, Observation], bool]:
    """Whether the observed path of w is the one this mistaken velocity or step of w gives, not the right one."""
    def seen(case: Case, res: Observation) -> bool:
        wrong, right = momentum_path(case, velocity, step), momentum_path(case)
        got = _observed_path(res)
        return (len(got) == len(wrong) and any(not close(a, b, 1e-6, 1e-9) for a, b in zip(wrong, right))
                and all(close(g, a, 1e-9, 1e-9) for g, a in zip(got, wrong)))
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
              seen=_momentum_went(velocity=lambda v, g, beta: g)),
    Diagnosis("test_momentum_step", "the gradient is missing from the new velocity",
              seen=_momentum_went(velocity=lambda v, g, beta: beta * v)),
    Diagnosis("test_momentum_step", "w moved with the old velocity",
              seen=_momentum_went(step=lambda w, old, new, lr: w - lr * old)),
    Diagnosis("test_momentum_step", "the step went uphill",
              seen=_momentum_went(step=lambda w, old, new, lr: w + lr * new)),
    Diagnosis("test_momentum_step", "the learning rate is missing from the step of w",
              seen=_momentum_went(step=lambda w, old, new, lr: w - new)),
]

"""Chapter 8 · Digits: trusted checks, wrong answers, documented outputs.

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
from autograder.verdict.exercises import Documented, Exercise, HonestAnswer, WrongAnswer
from autograder.verdict.exercises.ch5_convergence import poly_value
from autograder.verdict.observations import (
    Case,
    Observation,
    calls,
    close,
    describe,
    error_of,
    f32,
    flat,
    polynomial,
    real,
    tag,
    tensor,
    tensor_scalar,
)

ASSIGNMENT = "ch8_digits"
NOTEBOOK = "digits"

# ---- exercise 1: the gradient of softmax regression

def _logits(W: list, b: list[float], X: list) -> list:
    return [[sum(x[i] * W[i][k] for i in range(len(W))) + b[k] for k in range(len(b))] for x in X]


def ref_gradient(W: list, b: list[float], X: list, Y: list, mean: bool = True,
                 over_examples: bool = False) -> tuple[list, list[float]]:
    """(dW, db) of the mean cross-entropy of softmax(X W + b), in double precision, without overflow.

    mean=False: summed over the examples instead; over_examples=True: the softmax taken down each
    column (over the examples) instead of along each row."""
    n, classes, z = len(X), len(b), _logits(W, b, X)
    z = [list(column) for column in zip(*z)] if over_examples else z
    probabilities = []
    for row in z:
        top = max(row)
        exponentials = [math.exp(v - top) for v in row]
        probabilities.append([e / sum(exponentials) for e in exponentials])
    if over_examples:
        probabilities = [list(row) for row in zip(*probabilities)]
    scale = 1 / n if mean else 1.0
    dz = [[(probabilities[m][k] - Y[m][k]) * scale for k in range(classes)] for m in range(n)]
    dW = [[sum(X[m][i] * dz[m][k] for m in range(n)) for k in range(classes)] for i in range(len(W))]
    return dW, [sum(dz[m][k] for m in range(n)) for k in range(classes)]


def _cases_gradient(rng: random.Random) -> list[Case]:
    cases = []
    for k in range(15):
        n, d, classes = rng.randint(1, 8), rng.randint(1, 6), rng.randint(2, 5)
        scale = 100.0 if k % 3 == 2 else 1.0  # 100: logits in the hundreds, where exp overflows without care
        while True:
            W = [[f32(rng.gauss(0.0, scale)) for _ in range(classes)] for _ in range(d)]
            b = [f32(rng.gauss(0.0, scale)) for _ in range(classes)]
            X = [[f32(rng.random()) for _ in range(d)] for _ in range(n)]
            if scale == 1.0 or max(max(row) for row in _logits(W, b, X)) > 100:
                break
        labels = [rng.randrange(classes) for _ in range(n)]
        Y = [[1.0 if c == label else 0.0 for c in range(classes)] for label in labels]
        cases.append({"W": W, "b": b, "X": X, "Y": Y, "scale": scale,
                      "args": [tensor(W), tensor(b), tensor(X), tensor(Y)]})
    return cases


def _first_call(where: str, res: Observation) -> tuple[str | None, dict]:
    """(why the call cannot be judged, or None; the first observed call)."""
    err, observed = error_of(res), calls(res)
    if err or not observed:
        return f"{where} {err or 'gave no observation'}", {}
    return (f"{where} raised {observed[0]['error']}" if "error" in observed[0] else None), observed[0]


def _shape(v: object) -> tuple[int, ...]:
    return (len(v), *_shape(v[0])) if isinstance(v, list) and v else ((0,) if isinstance(v, list) else ())


def _flat_pair(observation: Observation) -> list[list[float | None]] | None:
    """The values of the (dW, db) a call returned, flattened, or None if it did not return two tensors."""
    out = returned(observation)
    items = out.get("items", []) if tag(out) in ("tuple", "list") else []
    good = len(items) == 2 and all(tag(item) == "torch.Tensor" and "v" in item for item in items)
    return [flat(item["v"]) for item in items] if good else None


_tolerance = lambda case: 1e-4 if case["scale"] == 1.0 else 1e-3  # logits in the hundreds: float32 rounds more


def _same(got: list[float | None], want: list[float], tolerance: float) -> bool:
    return len(got) == len(want) and all(close(g, w, 1e-4, tolerance) for g, w in zip(got, want))


def _judge_gradient(case: Case, res: Observation) -> str | None:
    where = (f"softmax_regression_gradient ({len(case['X'])} examples, {len(case['W'])} features, "
             f"{len(case['b'])} classes, weights of spread {case['scale']:g})")
    problem, observed = _first_call(where, res)
    if problem:
        return problem
    out = observed.get("out")
    if tag(out) not in ("tuple", "list") or out.get("len") != 2:
        return f"{where} returned {describe(out)}; it returns a pair (dW, db)"
    for name, item, want in zip(("dW", "db"), out.get("items", []), ref_gradient(case["W"], case["b"], case["X"],
                                                                                   case["Y"])):
        if tag(item) != "torch.Tensor" or "v" not in item:
            return f"{where}: {name} is {describe(item)}, not a tensor"
        if _shape(item["v"]) != _shape(want):
            return f"{where}: {name} has shape {_shape(item['v'])}, expected {_shape(want)}"
        if not _same(flat(item["v"]), flat(want), _tolerance(case)):
            return f"{where}: wrong {name}"
    return None


def _gradient_is(mistake: Callable[[Case], tuple[list, list[float]]]) -> Callable[[Case, Observation], bool]:
    """Whether the (dW, db) returned is the one `mistake(case)` gives, where the right one differs."""
    def seen(case: Case, res: Observation) -> bool:
        got, right, wrong = _flat_pair(res), ref_gradient(case["W"], case["b"], case["X"], case["Y"]), mistake(case)
        wrong_flat = [flat(wrong[0]), flat(wrong[1])]
        return (got is not None and not all(_same(w, flat(r), 1e-3) for w, r in zip(wrong_flat, right))
                and all(_same(g, w, _tolerance(case)) for g, w in zip(got, wrong_flat)))
    return seen


def _overflowed(case: Case, res: Observation) -> bool:
    got = _flat_pair(res)
    values = [v for part in got for v in part] if got is not None else []
    return case["scale"] > 1 and any(v is None or not math.isfinite(v) for v in values)


# ---- exercise 2: finite differences

def ref_difference(coefficients: list[float], w: float, epsilon: float, forward: bool = False) -> float:
    """The central (or forward) difference of the polynomial at w, in double precision."""
    if forward:
        return (poly_value(coefficients, w + epsilon) - poly_value(coefficients, w)) / epsilon
    return (poly_value(coefficients, w + epsilon) - poly_value(coefficients, w - epsilon)) / (2 * epsilon)


def _cases_difference(rng: random.Random) -> list[Case]:
    cases = []
    while len(cases) < 12:
        coefficients = [rng.uniform(-2.0, 2.0) for _ in range(4)]  # a cubic, highest power first
        w, epsilon = f32(rng.uniform(-2.0, 2.0)), f32(rng.uniform(0.05, 0.3))
        central = ref_difference(coefficients, w, epsilon)
        if abs(central) < 0.1 or abs(ref_difference(coefficients, w, epsilon, forward=True) - central) < 0.05:
            continue  # the common mistakes would not show
        nested = rng.random() < 0.5  # w of shape (1, 1) rather than (1,)
        cases.append({"coefficients": coefficients, "w": w, "epsilon": epsilon, "nested": nested,
                      "args": [polynomial(*coefficients), tensor([[w]] if nested else [w]), epsilon], "watch": [1]})
    return cases


def _judge_difference(case: Case, res: Observation) -> str | None:
    where = (f"finite_difference_check(a cubic, w of shape {(1, 1) if case['nested'] else (1,)} holding "
             f"{case['w']:.6g}, epsilon={case['epsilon']:.6g})")
    problem, observed = _first_call(where, res)
    if problem:
        return problem
    out = observed.get("out")
    if tag(out) != "torch.Tensor" or out.get("numel") != 1 or out.get("dim") != (2 if case["nested"] else 1):
        return f"{where} returned {describe(out)}; it returns a tensor shaped like w"
    want = ref_difference(case["coefficients"], case["w"], case["epsilon"])
    if not close(tensor_scalar(out), want, 1e-4, 2e-4):
        return f"{where} returned a wrong central difference"
    watched = observed.get("args") if isinstance(observed.get("args"), list) else []
    if not watched or not close(tensor_scalar(watched[0]), case["w"], 0.0, 1e-6):
        return f"{where} changed w: it must be left as it was"
    return None


def _difference_is(value: Callable[[Case], float]) -> Callable[[Case, Observation], bool]:
    def seen(case: Case, res: Observation) -> bool:
        want, wrong = ref_difference(case["coefficients"], case["w"], case["epsilon"]), value(case)
        return not close(wrong, want, 1e-3, 1e-3) and close(tensor_scalar(returned(res)), wrong, 1e-4, 2e-4)
    return seen


def _w_changed(case: Case, res: Observation) -> bool:
    watched = first_call(res).get("args")
    return isinstance(watched, list) and bool(watched) and not close(tensor_scalar(watched[0]), case["w"], 0.0, 1e-6)


# ---- exercise 3: early stopping

def ref_best_epoch(losses: list[float], patience: int, ties_improve: bool = False) -> int:
    """The epoch early stopping keeps: scanning in order, stopped after `patience` epochs in a row
    without a loss lower than the best so far (ties_improve=True: an equal loss counts as lower)."""
    best = 0
    for epoch in range(1, len(losses)):
        if losses[epoch] < losses[best] or (ties_improve and losses[epoch] == losses[best]):
            best = epoch
        elif epoch - best == patience:
            break
    return best


def _cases_early(rng: random.Random) -> list[Case]:
    cases = []
    for _ in range(150):
        level, losses = rng.uniform(0.5, 3.0), []
        for _epoch in range(rng.randint(1, 40)):
            level = max(0.0, level + rng.choice([-1, -1, 1]) * rng.uniform(0.0, 0.3))
            losses.append(round(level, rng.choice([1, 2, 6])))  # rounded, so that equal losses happen
        cases.append([losses, rng.randint(1, 8)])
    cases += [[[1.0], 1], [[2.0, 1.0, 0.5], 1], [[0.5, 0.5, 0.4], 1], [[0.5, 0.5, 0.4], 2],
              [[1.0, 0.8, 0.9, 0.85, 0.7], 2], [[1.0, 0.8, 0.9, 0.85, 0.7], 3]]
    rng.shuffle(cases)
    # first, two cases on which each common mistake returns an epoch of its own (as in the visible check)
    first = [[[1.0, 0.8, 0.9, 0.85, 0.7, 0.75, 0.8, 0.9, 0.3], 2], [[0.9, 0.5, 0.7, 0.5, 0.6], 3]]
    return [{"args": c} for c in first + cases]


INT_TAGS = frozenset({"int", "numpy.int64", "numpy.int32", "numpy.int16", "numpy.int8", "numpy.uint64", "numpy.uint32",
                      "numpy.uint16", "numpy.uint8"})


def _judge_early(case: Case, res: Observation) -> str | None:
    losses, patience = case["args"]
    call = f"best_epoch({losses}, {patience})"
    err = error_of(res)
    if err:
        return f"{call} {err}"
    out = res.get("out")
    if tag(out) not in INT_TAGS:
        return f"{call} returned {describe(out)}; it returns the epoch as an int"
    if real(out) != ref_best_epoch(losses, patience):
        return f"{call} returned {real(out):g}: wrong epoch"
    return None


def _early_with(mistake: Callable[[list[float], int], int]) -> Callable[[list[float], int], int | None]:
    """What best_epoch returns with the mistake, where that differs from the right epoch."""
    def wrong(losses: list[float], patience: int) -> int | None:
        value = mistake(losses, patience)
        return None if value == ref_best_epoch(losses, patience) else value
    return wrong


EXERCISES = [
    Exercise(ASSIGNMENT, NOTEBOOK, "test_softmax_regression_gradient", "softmax_regression_gradient", "torch_call",
             _cases_gradient, _judge_gradient, params={"function": "softmax_regression_gradient"}, torch=True),
    Exercise(ASSIGNMENT, NOTEBOOK, "test_finite_difference_check", "finite_difference_check", "torch_call",
             _cases_difference, _judge_difference, params={"function": "finite_difference_check"}, torch=True),
    Exercise(ASSIGNMENT, NOTEBOOK, "test_best_epoch", "best_epoch", "call", _cases_early, _judge_early,
             params={"function": "best_epoch"}),
]

_GRADIENT = "def softmax_regression_gradient(W, b, X, y):\n"
_STABLE = "    logits = X @ W + b\n    logits = logits - logits.max(dim=1, keepdim=True).values\n"
_DIFFERENCE = """
def finite_difference_check(loss, w, epsilon):
    gradient = torch.zeros_like(w)
    for i in range(w.numel()):
        step = torch.zeros_like(w)
        step.view(-1)[i] = epsilon
        gradient.view(-1)[i] = (loss(w + step) - loss(w - step)) / (2 * epsilon)
    return gradient
"""
_EARLY = """
def best_epoch(validation_losses, patience):
    best, waited = 0, 0
    for epoch in range(1, len(validation_losses)):
        if validation_losses[epoch] < validation_losses[best]:
            best, waited = epoch, 0
        else:
            waited += 1
            if waited == patience:
                break
    return best
"""


def _changed(source: str, old: str, new: str) -> str:
    """The reference `source` with one mistake put in."""
    assert source.count(old) == 1, old
    return source.replace(old, new)


WRONG_ANSWERS = [
    WrongAnswer(ASSIGNMENT, "softmax_regression_gradient", "summed over the examples",
                ("test_softmax_regression_gradient",), _GRADIENT + _STABLE + """
    probabilities = logits.exp() / logits.exp().sum(dim=1, keepdim=True)
    dlogits = probabilities - y
    return X.T @ dlogits, dlogits.sum(dim=0)
""", says="divide by the number of examples"),
    WrongAnswer(ASSIGNMENT, "softmax_regression_gradient", "softmax over the examples",
                ("test_softmax_regression_gradient",), _GRADIENT + """
    probabilities = torch.softmax(X @ W + b, dim=0)
    dlogits = (probabilities - y) / len(X)
    return X.T @ dlogits, dlogits.sum(dim=0)
""", says="normalised over the examples"),
    WrongAnswer(ASSIGNMENT, "softmax_regression_gradient", "exp of large logits overflows",
                ("test_softmax_regression_gradient",), _GRADIENT + """
    exponentials = (X @ W + b).exp()
    dlogits = (exponentials / exponentials.sum(dim=1, keepdim=True) - y) / len(X)
    return X.T @ dlogits, dlogits.sum(dim=0)
""", says="subtract each row's largest logit"),
    WrongAnswer(ASSIGNMENT, "finite_difference_check", "forward difference", ("test_finite_difference_check",),
                _changed(_DIFFERENCE, "loss(w - step)) / (2 * epsilon)", "loss(w)) / epsilon"),
                says="that is the forward difference"),
    WrongAnswer(ASSIGNMENT, "finite_difference_check", "divided by epsilon", ("test_finite_difference_check",),
                _changed(_DIFFERENCE, "/ (2 * epsilon)", "/ epsilon"), says="are 2 * epsilon apart"),
    WrongAnswer(ASSIGNMENT, "finite_difference_check", "w left moved", ("test_finite_difference_check",), """
def finite_difference_check(loss, w, epsilon):
    gradient = torch.zeros_like(w)
    for i in range(w.numel()):
        w.view(-1)[i] += epsilon
        above = loss(w)
        w.view(-1)[i] -= 2 * epsilon
        gradient.view(-1)[i] = (above - loss(w)) / (2 * epsilon)
    return gradient
""", says="w was changed"),
    WrongAnswer(ASSIGNMENT, "best_epoch", "no patience", ("test_best_epoch",), """
def best_epoch(validation_losses, patience):
    return validation_losses.index(min(validation_losses))
""", says="stop the scan once patience epochs pass without improvement"),
    WrongAnswer(ASSIGNMENT, "best_epoch", "an equal loss counted as an improvement", ("test_best_epoch",),
                _changed(_EARLY, "] < validation_losses[", "] <= validation_losses["),
                says="an equal loss is not an improvement"),
    WrongAnswer(ASSIGNMENT, "best_epoch", "epochs counted from 1", ("test_best_epoch",),
                _changed(_EARLY, "return best", "return best + 1"), says="epochs count from 0"),
    WrongAnswer(ASSIGNMENT, "best_epoch", "one epoch too many", ("test_best_epoch",),
                _changed(_EARLY, "waited == patience", "waited > patience"), says="one epoch too many"),
]

HONEST_ANSWERS = [
    HonestAnswer(ASSIGNMENT, "finite_difference_check", "each coordinate moved in place and put back", """
def finite_difference_check(loss, w, epsilon):
    gradient = torch.zeros_like(w)
    coordinates, differences = w.view(-1), gradient.view(-1)
    for i in range(coordinates.numel()):
        saved = coordinates[i].item()
        coordinates[i] = saved + epsilon
        above = float(loss(w))
        coordinates[i] = saved - epsilon
        below = float(loss(w))
        coordinates[i] = saved
        differences[i] = (above - below) / (2 * epsilon)
    return gradient
"""),
]

DOCUMENTED_OUTPUTS = [
    Documented(None, NOTEBOOK, [
        "1797 images of 64 pixels, each from 0 to 1",
        "training 1077, validation 360, test 360 images",
        "test accuracy 94.4%: 339 to 342 of the 360 test images right",
        "test accuracy 96.4%: 343 to 351 of the 360 test images right",
        "more test images right than softmax regression in 5 of 5 runs (same seeds, same batches)",
        "validation loss lowest 0.616 (0.596 to 0.642), at epochs 73 to 85",
        "validation loss at the end 0.648 (0.623 to 0.673)",
        "validation loss at the end 0.610 (0.593 to 0.621)",
        "after 100 steps from zero: loss 2.3017, the entropy of the digits' frequencies 2.3017",
        "largest difference between two hidden units' outputs on the training images: 0.0",
        "weights drawn with spread 0.0001: training loss below 1.0 after 53 to 55 steps",
    ]),
]

# The mistakes the visible checks name (checks.py), and how an observation shows each: the class's common mistakes.
DIAGNOSES = [
    Diagnosis("test_softmax_regression_gradient", "subtract each row's largest logit", seen=_overflowed),
    Diagnosis("test_softmax_regression_gradient", "that is the sum over the examples: divide by the number of examples",
              seen=_gradient_is(lambda case: ref_gradient(case["W"], case["b"], case["X"], case["Y"], mean=False))),
    Diagnosis("test_softmax_regression_gradient", "the probabilities were normalised over the examples (dim=0)",
              seen=_gradient_is(lambda case: ref_gradient(case["W"], case["b"], case["X"], case["Y"],
                                                          over_examples=True))),
    Diagnosis("test_softmax_regression_gradient", "the one-hot labels were not subtracted",
              seen=_gradient_is(lambda case: ref_gradient(case["W"], case["b"], case["X"],
                                                          [[0.0] * len(case["b"]) for _ in case["X"]]))),
    Diagnosis("test_finite_difference_check", "w was changed", seen=_w_changed),
    Diagnosis("test_finite_difference_check", "that is the forward difference", seen=_difference_is(
        lambda case: ref_difference(case["coefficients"], case["w"], case["epsilon"], forward=True))),
    Diagnosis("test_finite_difference_check", "are 2 * epsilon apart", seen=_difference_is(
        lambda case: 2 * ref_difference(case["coefficients"], case["w"], case["epsilon"]))),
    Diagnosis("test_best_epoch", "that is the lowest loss of the whole run: stop the scan once patience epochs pass "
              "without improvement",
              _early_with(lambda losses, patience: losses.index(min(losses)))),
    Diagnosis("test_best_epoch", "an equal loss is not an improvement",
              _early_with(lambda losses, patience: ref_best_epoch(losses, patience, ties_improve=True))),
    Diagnosis("test_best_epoch", "one epoch too many",
              _early_with(lambda losses, patience: ref_best_epoch(losses, patience + 1))),
    Diagnosis("test_best_epoch", "epochs count from 0",
              _early_with(lambda losses, patience: ref_best_epoch(losses, patience) + 1)),
]

"""Chapter 3 · Let PyTorch compute the slope: trusted checks, wrong answers, documented outputs.

The checks run in the grader and judge plain observations of the student's code (see
autograder/verdict/observations.py); the wrong answers are mistakes students make, each losing
exactly the tests it names in a real nbgrader run (tests/grading/test_hidden_tests_bite.py); the
documented outputs are what the source text prints, reproduced by solutions/.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from autograder.verdict.diagnosis import Diagnosis, first_call
from autograder.verdict.exercises import Documented, Exercise, WrongAnswer
from autograder.verdict.observations import (
    Case,
    Observation,
    calls,
    close,
    describe,
    error_of,
    f32,
    polynomial,
    real,
    tag,
    tensor,
    tensor_scalar,
)

ASSIGNMENT = "ch3_pytorch_slope"
NOTEBOOK = "pytorch_slope"

REFERENCE_STEP = """
def step(x, f):
    y = f(x)
    y.backward()
    with torch.no_grad():
        x -= learning_rate * x.grad
    x.grad = None
    return x
"""


def ref_f3(x: float) -> float:
    """The source's f (chapter 3)."""
    return 1.2 * x**2 + 4


def _cases_torch_step(rng: random.Random) -> list[Case]:
    cases = []
    for _ in range(40):
        a, c, d = rng.uniform(0.1, 5.0), rng.uniform(-5.0, 5.0), rng.uniform(-5.0, 5.0)
        lr = rng.choice([0.0, 0.05, 0.2, rng.uniform(0.0, 1.0)])
        x0 = rng.uniform(-10.0, 10.0)
        cases.append({"lr": lr, "a": a, "c": c, "d": d, "x0": x0, "steps": 3,
                      # step(x, f) three times from x0, each result fed back in, on f = a x^2 + c x + d
                      "args": [tensor(x0, requires_grad=True), polynomial(a, c, d)], "repeat": 3, "feed": 0,
                      "globals": {"learning_rate": lr}})
    return cases


def _judge_torch_step(case: Case, res: Observation) -> str | None:
    where = f"step from {case['x0']:.6g} with learning_rate {case['lr']:.6g}"
    err = error_of(res)
    if err:
        return f"{where} {err}"
    observed = calls(res)
    if observed is None:
        return f"{where}: no observation"
    steps = [c.get("out", c) for c in observed]
    prev = f32(case["x0"])
    for k in range(case["steps"]):
        if k >= len(steps):
            return f"{where}: stopped after {k} steps"
        s = steps[k]
        if "error" in s:
            return f"{where}: step {k + 1} raised {s['error']}"
        if tag(s) != "torch.Tensor":
            return f"{where}: step must return x, a torch.Tensor, not {describe(s)}"
        if not (s.get("is_leaf") is True and s.get("requires_grad") is True):
            return f"{where}: step must return x, a leaf tensor that requires grad"
        if s.get("grad", "?") is not None:
            return f"{where}: x.grad must be reset after the step"
        got = tensor_scalar(s)
        want = prev - case["lr"] * (2 * case["a"] * prev + case["c"])
        if not close(got, want, 1e-5, 1e-4):
            return f"{where}: step {k + 1} moved x to {got!r}: wrong value"
        prev = got
    return None


def _cases_xypairs(rng: random.Random) -> list[Case]:
    return [{"globals": {"learning_rate": 0.2}}, {"globals": {"learning_rate": rng.uniform(0.05, 0.35)}}]


def ref_xy_trajectory(lr: float, n: int = 10, x0: float = -3.0) -> list[float]:
    xs, x = [], x0
    for _ in range(n):
        xs.append(x)
        x = x - lr * 2.4 * x
    return xs


def _judge_xypairs(case: Case, res: Observation) -> str | None:
    lr = case["globals"]["learning_rate"]
    where = f"xypairs (learning_rate {lr:.6g})"
    if not isinstance(res, dict):
        return f"{where}: no observation"
    if res.get("error") == "missing":
        return f"{where}: the cell is missing"
    value = res.get("value")
    if "error" in res and tag(value) != "list":
        return f"{where}: the cell raised {res['error']}"
    if tag(value) != "list":
        return f"{where}: xypairs is {describe(value)}, not a list"
    if value.get("len") != 10:
        return f"{where}: {value.get('len')} pairs, expected 10"
    for i, (pair, want_x) in enumerate(zip(value.get("items", []), ref_xy_trajectory(lr))):
        if tag(pair) not in ("list", "tuple") or pair.get("len") != 2:
            return f"{where}: pair {i} is not [x, f(x)]"
        tags = [tag(v) for v in pair.get("items", [])]
        if tags != ["float", "float"]:
            return f"{where}: pair {i} holds {', '.join(tags)}; each pair holds two Python floats"
        x, y = (real(v) for v in pair["items"])
        if not close(x, want_x, 1e-5, 1e-5):
            return f"{where}: pair {i}: x is not where gradient descent from -3 is after {i} steps"
        if not (close(y, ref_f3(x), 1e-6, 0.0) and close(y, ref_f3(want_x), 1e-5, 1e-5)):
            return f"{where}: pair {i} is not [x, f(x)]"
    return None


EXERCISES = [
    Exercise(
        ASSIGNMENT,
        NOTEBOOK,
        "test_step",
        "step",
        "torch_call",
        _cases_torch_step,
        _judge_torch_step,
        params={"function": "step"},
        torch=True,
    ),
    Exercise(
        ASSIGNMENT,
        NOTEBOOK,
        "test_xypairs",
        "xypairs_loop",
        "cell",
        _cases_xypairs,
        _judge_xypairs,
        params={"variable": "xypairs"},
        overrides=REFERENCE_STEP,
        torch=True,
        defer_target=True,
    ),
]

WRONG_ANSWERS = [
    WrongAnswer(
        ASSIGNMENT,
        "step",
        "sign error",
        ("test_step",),
        """
def step(x, f):
    y = f(x)
    y.backward()
    with torch.no_grad():
        x += learning_rate * x.grad
    x.grad = None
    return x
""",
        says="uphill",
    ),
    WrongAnswer(
        ASSIGNMENT,
        "step",
        "gradient never reset",
        ("test_step",),
        """
def step(x, f):
    y = f(x)
    y.backward()
    with torch.no_grad():
        x -= learning_rate * x.grad
    return x
""",
        says="x.grad is still set",
    ),
    WrongAnswer(
        ASSIGNMENT,
        "step",
        "missing learning rate",
        ("test_step",),
        """
def step(x, f):
    y = f(x)
    y.backward()
    with torch.no_grad():
        x -= x.grad
    x.grad = None
    return x
""",
        says="learning rate is missing",
    ),
    WrongAnswer(
        ASSIGNMENT,
        "xypairs_loop",
        "tensors where floats are promised",
        ("test_xypairs",),
        """
x = torch.tensor(-3.).requires_grad_()
xypairs = []
for i in range(10):
    xypairs.append([x.detach().clone(), f(x).detach()])
    print(f"f({x:.2}) = {f(x):.2}")
    x = step(x, f)
""",
        says="float",
    ),
    WrongAnswer(
        ASSIGNMENT,
        "xypairs_loop",
        "off-by-one: nine pairs",
        ("test_xypairs",),
        """
x = torch.tensor(-3.).requires_grad_()
xypairs = []
for i in range(9):
    xypairs.append([x.item(), f(x).item()])
    print(f"f({x:.2}) = {f(x):.2}")
    x = step(x, f)
""",
        says="9 pairs",
    ),
]

DOCUMENTED_OUTPUTS = [
    Documented(
        "000_a60440d777910709.txt",
        NOTEBOOK,
        [
            "f(-3.0) = 1.5e+01",
            "f(-1.6) = 6.9",
            "f(-0.81) = 4.8",
            "f(-0.42) = 4.2",
            "f(-0.22) = 4.1",
            "f(-0.11) = 4.0",
            "f(-0.059) = 4.0",
            "f(-0.031) = 4.0",
            "f(-0.016) = 4.0",
            "f(-0.0083) = 4.0",
        ],
    ),
    # the chapter's own claims in its text: PyTorch's slope is the hand-derived 2.4x, and a second
    # backward() doubles it; the seed's rounded 1.5e+01 is f(-3) = 14.8
    Documented(None, NOTEBOOK, ["x.grad = -7.2   by hand: 2.4 * x = -7.2",
                                "after a second backward(): x.grad = -14.4 (twice -7.2)",
                                "first pair: x = -3.0, f(x) = 14.8; last pair: x = -0.00833971, f(x) = 4.00008"]),
]


def _first_step(case: Case, res: Observation) -> tuple[float, float, float | None]:
    """(x before, the slope there, x after) for the first observed step."""
    x0 = f32(case["x0"])
    return x0, 2 * case["a"] * x0 + case["c"], tensor_scalar(first_call(res).get("out"))


def _step_moved_by(factor: float) -> Callable[[Case, Observation], bool]:
    """Whether the first step moved x by `factor` × learning_rate × slope (the right step is -1)."""
    def seen(case: Case, res: Observation) -> bool:
        x0, slope, got = _first_step(case, res)
        move = case["lr"] * slope
        return abs(move) > 1e-3 and close(got, x0 + factor * move, 1e-5, 1e-4)
    return seen


def _learning_rate_missing(case: Case, res: Observation) -> bool:
    x0, slope, got = _first_step(case, res)
    return abs(case["lr"] - 1.0) > 1e-3 and abs(slope) > 1e-3 and close(got, x0 - slope, 1e-5, 1e-4)


def _grad_left_set(case: Case, res: Observation) -> bool:
    return any(c.get("out", {}).get("grad", None) is not None for c in calls(res) or [])


def _pairs_hold_tensors(case: Case, res: Observation) -> bool:
    value = res.get("value")
    return tag(value) == "list" and any(tag(item) == "torch.Tensor" for pair in value.get("items", [])
                                        for item in (pair.get("items", []) if isinstance(pair, dict) else []))


# The mistakes the visible checks name (checks.py), and how an observation shows each: the class's common mistakes.
DIAGNOSES = [
    Diagnosis("test_step", "the step went uphill", seen=_step_moved_by(+1.0)),
    Diagnosis("test_step", "x did not move", seen=_step_moved_by(0.0)),
    Diagnosis("test_step", "the learning rate is missing", seen=_learning_rate_missing),
    Diagnosis("test_step", "x.grad is still set", seen=_grad_left_set),
    Diagnosis("test_xypairs", "plain Python floats: `.item()` turns a one-number tensor into a float",
              seen=_pairs_hold_tensors),
    Diagnosis("test_xypairs", "the loop should record 10, one per iteration",
              seen=lambda case, res: tag(res.get("value")) == "list" and res["value"].get("len") != 10),
]

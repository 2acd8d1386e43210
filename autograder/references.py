"""Reference implementations and trusted checks for every autograded test cell of the source.

Each `Exercise` says, for one test cell (by its grade_id in the instructor source), which solution
cell it grades, how the sandboxed harness must exercise the student's code (`kind`, `params`), the
reference code put in place of the *other* exercises it depends on (as the hidden tests do, so each
exercise is graded on its own), how to draw randomized inputs, and how to judge the observations.

Everything here runs in the grader's process and never touches student code: the judges read
plain JSON observations (type tags and numbers as strings) and compare them with values computed
here from the correct formulas, which are those of the source's solution regions.
"""
from __future__ import annotations

import math
import random
import struct
from dataclasses import dataclass, field
from typing import Any, Callable

Case = dict[str, Any]
Observation = dict[str, Any]

# Type tags (from the harness) accepted where the docstring promises a float.
REAL_TAGS = frozenset({"int", "float", "numpy.float64", "numpy.float32", "numpy.float16",
                       "numpy.int64", "numpy.int32", "numpy.int16", "numpy.int8",
                       "numpy.uint64", "numpy.uint32", "numpy.uint16", "numpy.uint8"})


@dataclass(frozen=True)
class Exercise:
    assignment_id: str
    notebook: str
    test_id: str                 # grade_id of the test cell in the source
    cell_id: str                 # grade_id of the solution cell it grades
    kind: str                    # harness operation: call, cell, torch_step, mse_loss, train_step
    make_cases: Callable[[random.Random], list[Case]]
    judge: Callable[[Case, Observation], str | None]   # None: this case passed; else why not
    params: dict[str, Any] = field(default_factory=dict)
    overrides: str = ""          # reference code for the exercises this one depends on
    torch: bool = False
    defer_target: bool = False   # the target cell is top-level code, run once per case


# ----------------------------------------------------------------------------- helpers

def f32(v: float) -> float:
    """v rounded to the nearest float32, as torch.tensor(v) stores it."""
    return struct.unpack("f", struct.pack("f", v))[0]


def tag(o: Any) -> str:
    return o.get("t", "?") if isinstance(o, dict) else "?"


def real(o: Any) -> float | None:
    """The number an observation holds, if its exact type is an accepted real number type."""
    if isinstance(o, dict) and o.get("t") in REAL_TAGS and isinstance(o.get("v"), str):
        try:
            return float(o["v"])
        except ValueError:
            return None
    return None


def describe(o: Any) -> str:
    t = tag(o)
    if t == "other":
        return f"an object of type {o.get('name', '?')}"
    if t in REAL_TAGS:
        return f"{t} {o.get('v')}"
    return "a " + t


def close(got: float | None, want: float, rel: float, abs_: float) -> bool:
    return got is not None and math.isclose(got, want, rel_tol=rel, abs_tol=abs_)


def num(s: Any) -> float | None:
    if isinstance(s, (int, float)) and not isinstance(s, bool):
        return float(s)
    if isinstance(s, str):
        try:
            return float(s)
        except ValueError:
            return None
    return None


def flat(v: Any) -> list[float | None]:
    """A tolist() observation (nested lists of number strings) flattened to floats."""
    if isinstance(v, list):
        return [x for e in v for x in flat(e)]
    return [num(v)]


def tensor_scalar(o: Any) -> float | None:
    """The value of an exact torch.Tensor holding one number."""
    if tag(o) != "torch.Tensor" or o.get("numel") != 1 or "v" not in o:
        return None
    values = flat(o["v"])
    return values[0] if len(values) == 1 else None


def error_of(res: Any) -> str | None:
    if not isinstance(res, dict):
        return "no observation"
    if "error" in res:
        return f"raised {res['error']}"
    return None


def _column(rng: random.Random, n: int, scale: float) -> list[list[float]]:
    return [[f32(rng.gauss(0.0, 1.0) * scale)] for _ in range(n)]


# ----------------------------------------------------------------------------- ch1: the idea

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


def _judge_scalar(name: str, ref: Callable[..., float], rel: float, abs_: float):
    def judge(case: Case, res: Observation) -> str | None:
        call = f"{name}({', '.join(repr(a) for a in case['args'])})"
        err = error_of(res)
        if err:
            return f"{call} {err}"
        out = res.get("out")
        got = real(out)
        if got is None:
            return f"{call} returned {describe(out)}, not a number"
        if not close(got, ref(*case["args"]), rel, abs_):
            return f"{call} returned {got!r}: wrong value"
        return None
    return judge


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


# ----------------------------------------------------------------------------- ch2: implement

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
    cases += [[1.0, 0.2, 20], [1.0, 0.001, 20], [1.0, 10.0, 20], [-2.5, 0.2, 0], [0.0, 0.3, 7],
              [4.0, 0.0, 9], [1.0, 0.5, 1], [2, 0.25, 3]]
    rng.shuffle(cases)
    return [{"args": c} for c in cases]


# ----------------------------------------------------------------------------- ch3: pytorch slope

REFERENCE_STEP = '''
def step(x, f):
    y = f(x)
    y.backward()
    with torch.no_grad():
        x -= learning_rate * x.grad
    x.grad = None
    return x
'''


def ref_f3(x: float) -> float:
    """The source's f (chapter 3)."""
    return 1.2 * x ** 2 + 4


def _cases_torch_step(rng: random.Random) -> list[Case]:
    cases = []
    for _ in range(40):
        a, c, d = rng.uniform(0.1, 5.0), rng.uniform(-5.0, 5.0), rng.uniform(-5.0, 5.0)
        lr = rng.choice([0.0, 0.05, 0.2, rng.uniform(0.0, 1.0)])
        cases.append({"lr": lr, "a": a, "c": c, "d": d, "x0": rng.uniform(-10.0, 10.0), "steps": 3})
    return cases


def _judge_torch_step(case: Case, res: Observation) -> str | None:
    where = f"step from {case['x0']:.6g} with learning_rate {case['lr']:.6g}"
    err = error_of(res)
    if err:
        return f"{where} {err}"
    steps = res.get("steps")
    if not isinstance(steps, list):
        return f"{where}: no observation"
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
    return [{"globals": {"learning_rate": 0.2}},
            {"globals": {"learning_rate": rng.uniform(0.05, 0.35)}}]


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


# ----------------------------------------------------------------------------- ch4: fitting a line

REFERENCE_MSE = "mse_loss = lambda y_pred, target: ((y_pred - target) ** 2).mean()\n"


def ref_mse(a: list[list[float]], t: list[list[float]]) -> float:
    return sum((p[0] - q[0]) ** 2 for p, q in zip(a, t)) / len(a)


def _cases_mse(rng: random.Random) -> list[Case]:
    cases: list[Case] = []
    for _ in range(20):
        n = rng.randint(1, 12)
        cases.append({"a": _column(rng, n, 5.0), "t": _column(rng, n, 5.0)})
    cases.append({"grad_check": True, "a": [[1.0], [2.0]]})
    return cases


def _judge_mse(case: Case, res: Observation) -> str | None:
    err = error_of(res)
    if err:
        return f"mse_loss {err}"
    out = res.get("out")
    if tag(out) != "torch.Tensor" or out.get("dim") != 0:
        return f"mse_loss returns a 0-dimensional torch.Tensor, not {describe(out)}"
    got = tensor_scalar(out)
    if case.get("grad_check"):
        grad = res.get("grad")
        want = [v[0] for v in case["a"]]
        values = flat(grad) if isinstance(grad, list) else []
        if len(values) != len(want) or not all(close(g, w, 1e-5, 1e-8) for g, w in zip(values, want)):
            return "the gradient must flow through mse_loss"
        return None
    if not close(got, ref_mse(case["a"], case["t"]), 1e-5, 1e-6):
        return f"mse_loss on {len(case['a'])} points returned {got!r}: wrong value"
    if flat(res.get("a_after")) != flat(case["a"]) or flat(res.get("t_after")) != flat(case["t"]):
        return "mse_loss must not change its inputs"
    return None


def _cases_train(rng: random.Random) -> list[Case]:
    cases = []
    for _ in range(15):
        n = rng.randint(2, 10)
        cases.append({"xs": _column(rng, n, 3.0), "ys": _column(rng, n, 3.0),
                      "w0": f32(rng.uniform(-3, 3)), "b0": f32(rng.uniform(-3, 3)),
                      "lr": rng.choice([0.0, 0.01, rng.uniform(0.0, 0.05)]), "epochs": 3})
    return cases


def ref_train(case: Case) -> list[tuple[float, float, float]]:
    """(loss before the update, w after, b after) for each epoch, in double precision."""
    xs, ys = [v[0] for v in case["xs"]], [v[0] for v in case["ys"]]
    w, b, lr, out = case["w0"], case["b0"], case["lr"], []
    for _ in range(case["epochs"]):
        err = [x * w + b - y for x, y in zip(xs, ys)]
        loss = sum(e * e for e in err) / len(err)
        gw = 2 * sum(e * x for e, x in zip(err, xs)) / len(err)
        gb = 2 * sum(err) / len(err)
        w, b = w - lr * gw, b - lr * gb
        out.append((loss, w, b))
    return out


def _judge_train(case: Case, res: Observation) -> str | None:
    where = f"train_step (learning_rate {case['lr']:.6g}, {len(case['xs'])} points)"
    err = error_of(res)
    if err:
        return f"{where} {err}"
    epochs = res.get("epochs")
    if not isinstance(epochs, list):
        return f"{where}: no observation"
    for k, (want_loss, want_w, want_b) in enumerate(ref_train(case)):
        if k >= len(epochs):
            return f"{where}: stopped after {k} epochs"
        e = epochs[k]
        if "error" in e:
            return f"{where}: epoch {k + 1} raised {e['error']}"
        got = real(e.get("out"))
        if got is None:
            return f"{where} returned {describe(e.get('out'))}; it returns the loss as a float"
        if not close(got, want_loss, 1e-4, 1e-5):
            return f"{where}: epoch {k + 1}: the returned loss is not the loss before the update"
        for name, want in (("w", want_w), ("b", want_b)):
            o = e.get(name)
            if tag(o) != "torch.Tensor" or not (o.get("is_leaf") is True and o.get("requires_grad") is True):
                return f"{where}: update {name} in place (a leaf tensor that requires grad)"
            if not close(tensor_scalar(o), want, 1e-4, 1e-4):
                return f"{where}: epoch {k + 1}: {name} after the update is wrong"
            g = o.get("grad", "?")
            if g is not None and (not isinstance(g, list) or any(v != 0.0 for v in flat(g))):
                return f"{where}: zero the gradients after the update"
    if flat(res.get("xs_after")) != flat(case["xs"]) or flat(res.get("ys_after")) != flat(case["ys"]):
        return f"{where}: train_step must not change x or y"
    return None


# ----------------------------------------------------------------------------- the table

def _ex(aid: str, nb: str, test_id: str, cell_id: str, kind: str, make_cases, judge, **kw) -> Exercise:
    return Exercise(aid, nb, test_id, cell_id, kind, make_cases, judge, **kw)


EXERCISES: dict[tuple[str, str, str], Exercise] = {
    (e.assignment_id, e.notebook, e.test_id): e for e in [
        _ex("ch1_the_idea", "the_idea", "test_loss", "loss_and_grad", "call", _cases_w,
            _judge_scalar("loss", ref_loss, 1e-9, 1e-12), params={"function": "loss"}),
        _ex("ch1_the_idea", "the_idea", "test_grad", "loss_and_grad", "call", _cases_w,
            _judge_scalar("grad", ref_grad, 1e-9, 1e-12), params={"function": "grad"}),
        _ex("ch1_the_idea", "the_idea", "test_gradient_steps", "gradient_steps", "call", _cases_steps,
            _judge_steps, params={"function": "gradient_steps"},
            overrides="grad = lambda w: 2 * (w - 3)\nloss = lambda w: (w - 3) ** 2\n"),
        _ex("ch2_implement", "gradient_descent", "test_single_step_gradient_descent",
            "single_step_gradient_descent", "call", _cases_single,
            _judge_scalar("single_step_gradient_descent", ref_single_step, 1e-9, 1e-12),
            params={"function": "single_step_gradient_descent"}),
        _ex("ch2_implement", "gradient_descent", "test_gradient_descent", "gradient_descent", "call",
            _cases_gd, _judge_scalar("gradient_descent", ref_gradient_descent, 1e-9, 1e-12),
            params={"function": "gradient_descent"},
            overrides="single_step_gradient_descent = lambda theta, learning_rate: theta - learning_rate * 2 * theta\n"),
        _ex("ch3_pytorch_slope", "pytorch_slope", "test_step", "step", "torch_step", _cases_torch_step,
            _judge_torch_step, params={"function": "step"}, torch=True),
        _ex("ch3_pytorch_slope", "pytorch_slope", "test_xypairs", "xypairs_loop", "cell", _cases_xypairs,
            _judge_xypairs, params={"variable": "xypairs"}, overrides=REFERENCE_STEP, torch=True,
            defer_target=True),
        _ex("ch4_fitting_a_line", "fitting_a_line", "test_mse_loss", "mse_loss", "mse_loss", _cases_mse,
            _judge_mse, params={"function": "mse_loss"}, torch=True),
        _ex("ch4_fitting_a_line", "fitting_a_line", "test_train_step", "train_step", "train_step",
            _cases_train, _judge_train, params={"function": "train_step"}, overrides=REFERENCE_MSE,
            torch=True),
    ]
}


def exercises(assignment_id: str, notebook: str) -> dict[str, Exercise]:
    """The trusted checks of one notebook, by test grade_id."""
    return {e.test_id: e for (aid, nb, _), e in EXERCISES.items() if (aid, nb) == (assignment_id, notebook)}

"""Chapter 4 · Fitting a line: trusted checks, wrong answers, documented outputs.

The checks run in the grader and judge plain observations of the student's code (see
autograder/verdict/observations.py); the wrong answers are mistakes students make, each losing
exactly the tests it names in a real nbgrader run (tests/grading/test_hidden_tests_bite.py), and the
honest answers correct ones that clear the gradients elsewhere, keeping every point; the documented
outputs are what the source text prints, reproduced by solutions/.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from autograder.verdict.diagnosis import Diagnosis, first_call, returned
from autograder.verdict.exercises import Documented, Exercise, HonestAnswer, WrongAnswer
from autograder.verdict.observations import (
    Case,
    Observation,
    calls,
    close,
    column,
    describe,
    error_of,
    f32,
    flat,
    real,
    tag,
    tensor,
    tensor_scalar,
    zeros,
)

ASSIGNMENT = "ch4_fitting_a_line"
NOTEBOOK = "fitting_a_line"

REFERENCE_MSE = "mse_loss = lambda y_pred, target: ((y_pred - target) ** 2).mean()\n"


def ref_mse(a: list[list[float]], t: list[list[float]]) -> float:
    return sum((p[0] - q[0]) ** 2 for p, q in zip(a, t)) / len(a)


def _cases_mse(rng: random.Random) -> list[Case]:
    cases: list[Case] = []
    for _ in range(20):
        n = rng.randint(1, 12)
        a, t = column(rng, n, 5.0), column(rng, n, 5.0)
        cases.append({"a": a, "t": t, "args": [tensor(a), tensor(t)], "after": [0, 1]})
    a = [[1.0], [2.0]]  # against zeros: the gradient of the mean squared error is a itself
    cases.append({"grad_check": True, "a": a, "args": [tensor(a, requires_grad=True), zeros(len(a), 1)],
                  "backward": [0]})
    return cases


def _judge_mse(case: Case, res: Observation) -> str | None:
    err = error_of(res)
    if err:
        return f"mse_loss {err}"
    observed = calls(res)
    if not observed:
        return "mse_loss: no observation"
    if "error" in observed[0]:
        return f"mse_loss raised {observed[0]['error']}"
    out = observed[0].get("out")
    if tag(out) != "torch.Tensor" or out.get("dim") != 0:
        return f"mse_loss returns a 0-dimensional (scalar) torch.Tensor, not {describe(out)}"
    got = tensor_scalar(out)
    if case.get("grad_check"):
        grads = res.get("grads")
        grad = grads[0] if isinstance(grads, list) and grads else None
        want = [v[0] for v in case["a"]]
        values = flat(grad) if isinstance(grad, list) else []
        if len(values) != len(want) or not all(close(g, w, 1e-5, 1e-8) for g, w in zip(values, want)):
            return "the gradient must flow through mse_loss"
        return None
    if not close(got, ref_mse(case["a"], case["t"]), 1e-5, 1e-6):
        return f"mse_loss on {len(case['a'])} points returned {got!r}: wrong value"
    after = res.get("after")
    if not isinstance(after, list) or len(after) != 2 or flat(after[0]) != flat(case["a"]) \
            or flat(after[1]) != flat(case["t"]):
        return "mse_loss must not change its inputs"
    return None


def _cases_train(rng: random.Random) -> list[Case]:
    cases = []
    for _ in range(15):
        n = rng.randint(2, 10)
        cases.append(
            {
                "xs": column(rng, n, 3.0),
                "ys": column(rng, n, 3.0),
                "w0": f32(rng.uniform(-3, 3)),
                "b0": f32(rng.uniform(-3, 3)),
                "lr": rng.choice([0.0, 0.01, rng.uniform(0.0, 0.05)]),
                "epochs": 3,
            }
        )
        case = cases[-1]
        # train_step(w, b, x, y, lr) three times; w and b observed after each, x and y at the end
        case.update(args=[tensor([case["w0"]], requires_grad=True), tensor([case["b0"]], requires_grad=True),
                          tensor(case["xs"]), tensor(case["ys"]), case["lr"]],
                    repeat=case["epochs"], watch=[0, 1], after=[2, 3])
    return cases


def ref_train(case: Case, zero_grad: bool = True) -> list[tuple[float, float, float]]:
    """(loss before the update, w after, b after) for each epoch, in double precision.

    zero_grad=False: the gradients are never cleared, so each epoch adds its gradient to the old ones.
    Clearing them at the start of the step or after the update is the same path."""
    xs, ys = [v[0] for v in case["xs"]], [v[0] for v in case["ys"]]
    w, b, lr, out = case["w0"], case["b0"], case["lr"], []
    piled_w = piled_b = 0.0
    for _ in range(case["epochs"]):
        err = [x * w + b - y for x, y in zip(xs, ys)]
        loss = sum(e * e for e in err) / len(err)
        gw = 2 * sum(e * x for e, x in zip(err, xs)) / len(err)
        gb = 2 * sum(err) / len(err)
        if not zero_grad:
            piled_w, piled_b = piled_w + gw, piled_b + gb
            gw, gb = piled_w, piled_b
        w, b = w - lr * gw, b - lr * gb
        out.append((loss, w, b))
    return out


def _judge_train(case: Case, res: Observation) -> str | None:
    where = f"train_step (learning_rate {case['lr']:.6g}, {len(case['xs'])} points)"
    err = error_of(res)
    if err:
        return f"{where} {err}"
    epochs = calls(res)
    if epochs is None:
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
        watched = e.get("args") if isinstance(e.get("args"), list) else []
        for index, (name, want) in enumerate((("w", want_w), ("b", want_b))):
            o = watched[index] if index < len(watched) else None
            if tag(o) != "torch.Tensor" or not (o.get("is_leaf") is True and o.get("requires_grad") is True):
                return f"{where}: update {name} in place (a leaf tensor that requires grad)"
            if not close(tensor_scalar(o), want, 1e-4, 1e-4):
                return f"{where}: epoch {k + 1}: {name} after the update is wrong"
    after = res.get("after")
    if not isinstance(after, list) or len(after) != 2 or flat(after[0]) != flat(case["xs"]) \
            or flat(after[1]) != flat(case["ys"]):
        return f"{where}: train_step must not change x or y"
    return None


EXERCISES = [
    Exercise(ASSIGNMENT, NOTEBOOK, "test_mse_loss", "mse_loss", "torch_call", _cases_mse, _judge_mse,
             params={"function": "mse_loss"}, torch=True),
    Exercise(ASSIGNMENT, NOTEBOOK, "test_train_step", "train_step", "torch_call", _cases_train, _judge_train,
             params={"function": "train_step"}, overrides=REFERENCE_MSE, torch=True),
]

WRONG_ANSWERS = [
    WrongAnswer(
        ASSIGNMENT,
        "mse_loss",
        "sum instead of mean",
        ("test_mse_loss",),
        """
def mse_loss(y_pred, y):
    return ((y_pred - y) ** 2).sum()
""",
        says="sum of the squared errors",
    ),
    WrongAnswer(
        ASSIGNMENT,
        "mse_loss",
        "absolute instead of squared error",
        ("test_mse_loss",),
        """
def mse_loss(y_pred, y):
    return (y_pred - y).abs().mean()
""",
        says="not squared",
    ),
    WrongAnswer(
        ASSIGNMENT,
        "train_step",
        "gradients never zeroed",
        ("test_train_step",),
        """
def train_step(w, b, x, y, learning_rate):
    loss = mse_loss(x * w + b, y)
    loss.backward()
    with torch.no_grad():
        w -= learning_rate * w.grad
        b -= learning_rate * b.grad
    return loss.item()
""",
        says="never zeroed",
    ),
    WrongAnswer(
        ASSIGNMENT,
        "train_step",
        "sign error",
        ("test_train_step",),
        """
def train_step(w, b, x, y, learning_rate):
    loss = mse_loss(x * w + b, y)
    loss.backward()
    with torch.no_grad():
        w += learning_rate * w.grad
        b += learning_rate * b.grad
    w.grad.zero_()
    b.grad.zero_()
    return loss.item()
""",
        says="uphill",
    ),
    WrongAnswer(
        ASSIGNMENT,
        "train_step",
        "tensor where a float is promised",
        ("test_train_step",),
        """
def train_step(w, b, x, y, learning_rate):
    loss = mse_loss(x * w + b, y)
    loss.backward()
    with torch.no_grad():
        w -= learning_rate * w.grad
        b -= learning_rate * b.grad
    w.grad.zero_()
    b.grad.zero_()
    return loss.detach()
""",
        says="float",
    ),
    WrongAnswer(
        ASSIGNMENT,
        "train_step",
        "zero_() before the first backward pass",
        ("test_train_step",),
        """
def train_step(w, b, x, y, learning_rate):
    w.grad.zero_()
    b.grad.zero_()
    loss = mse_loss(x * w + b, y)
    loss.backward()
    with torch.no_grad():
        w -= learning_rate * w.grad
        b -= learning_rate * b.grad
    return loss.item()
""",
        says="w.grad is None until loss.backward()",
    ),
    WrongAnswer(
        ASSIGNMENT,
        "train_step",
        "gradients zeroed before the update",
        ("test_train_step",),
        """
def train_step(w, b, x, y, learning_rate):
    loss = mse_loss(x * w + b, y)
    loss.backward()
    w.grad.zero_()
    b.grad.zero_()
    with torch.no_grad():
        w -= learning_rate * w.grad
        b -= learning_rate * b.grad
    return loss.item()
""",
        says="zeroed before the update",
    ),
    WrongAnswer(
        ASSIGNMENT,
        "train_step",
        "loss returned after the update",
        ("test_train_step",),
        """
def train_step(w, b, x, y, learning_rate):
    loss = mse_loss(x * w + b, y)
    loss.backward()
    with torch.no_grad():
        w -= learning_rate * w.grad
        b -= learning_rate * b.grad
    w.grad.zero_()
    b.grad.zero_()
    return mse_loss(x * w + b, y).item()
""",
        says="loss after the update",
    ),
]

# Clearing the gradients at the start of the step, before the backward pass (as optimizer.zero_grad() does
# in chapter 7), is as right as zeroing them after the update: each epoch's step uses its own gradient only.
HONEST_ANSWERS = [
    HonestAnswer(ASSIGNMENT, "train_step", "gradients set to None at the start", """
def train_step(w, b, x, y, learning_rate):
    w.grad = None
    b.grad = None
    loss = mse_loss(x * w + b, y)
    loss.backward()
    with torch.no_grad():
        w -= learning_rate * w.grad
        b -= learning_rate * b.grad
    return loss.item()
"""),
    HonestAnswer(ASSIGNMENT, "train_step", "gradients zeroed at the start once they exist", """
def train_step(w, b, x, y, learning_rate):
    for parameter in (w, b):
        if parameter.grad is not None:
            parameter.grad.zero_()
    loss = mse_loss(x * w + b, y)
    loss.backward()
    with torch.no_grad():
        w -= learning_rate * w.grad
        b -= learning_rate * b.grad
    return loss.item()
"""),
]

DOCUMENTED_OUTPUTS = [
    Documented("002_6806358a14ac8be5.txt", NOTEBOOK, ["Learned weight: 2.0000", "Learned bias: 1.0000"]),
    # the chapter's own claim in its text: the limit is 0.1198, not 0.12
    Documented(None, NOTEBOOK, ["largest learning rate that does not diverge: 2 / 16.70 = 0.1198"]),
]


def _loss_is(value: Callable[[Case], float]) -> Callable[[Case, Observation], bool]:
    """Whether mse_loss returned `value(case)` where the mean squared error is something else."""
    def seen(case: Case, res: Observation) -> bool:
        want, wrong = ref_mse(case["a"], case["t"]), value(case)
        return not close(wrong, want, 1e-4, 1e-5) and close(tensor_scalar(returned(res)), wrong, 1e-5, 1e-6)
    return seen


def _mean_absolute_error(case: Case) -> float:
    return sum(abs(p[0] - q[0]) for p, q in zip(case["a"], case["t"])) / len(case["a"])


def _watched(call: dict, index: int) -> float | None:
    watched = call.get("args")
    return tensor_scalar(watched[index]) if isinstance(watched, list) and index < len(watched) else None


def _w_moved_by(factor: float) -> Callable[[Case, Observation], bool]:
    """Whether the first epoch moved w by `factor` × the right step (the right one is 1)."""
    def seen(case: Case, res: Observation) -> bool:
        step = ref_train(case)[0][1] - case["w0"]
        return abs(step) > 1e-4 and close(_watched(first_call(res), 0), case["w0"] + factor * step, 1e-4, 1e-5)
    return seen


def _loss_after_update(case: Case, res: Observation) -> bool:
    """The first epoch returned the loss after its update: the reference's loss before the second epoch."""
    before, after = (loss for loss, _, _ in ref_train(case)[:2])
    return not close(after, before, 1e-3, 1e-4) and close(real(first_call(res).get("out")), after, 1e-4, 1e-5)


def _gradients_piled_up(case: Case, res: Observation) -> bool:
    """The second epoch moved w with the sum of both epochs' gradients: they were never cleared."""
    observed = calls(res) or []
    piled, right = ref_train(case, zero_grad=False)[1][1], ref_train(case)[1][1]
    return (len(observed) > 1 and not close(piled, right, 1e-3, 1e-4)
            and close(_watched(observed[1], 0), piled, 1e-4, 1e-5))


def _used_before_backward(case: Case, res: Observation) -> bool:
    """The first epoch, on fresh w and b whose .grad is None, raised what None.zero_() or None * lr raise."""
    return first_call(res).get("error") in ("AttributeError", "TypeError")


# The mistakes the visible checks name (checks.py), and how an observation shows each: the class's common mistakes.
DIAGNOSES = [
    Diagnosis("test_mse_loss", "that is the sum of the squared errors",
              seen=_loss_is(lambda case: ref_mse(case["a"], case["t"]) * len(case["a"]))),
    Diagnosis("test_mse_loss", "the errors are not squared", seen=_loss_is(_mean_absolute_error)),
    Diagnosis("test_train_step", "w.grad is None until loss.backward() has computed it",
              seen=_used_before_backward),
    Diagnosis("test_train_step", "that is the loss after the update", seen=_loss_after_update),
    Diagnosis("test_train_step", "the step went uphill", seen=_w_moved_by(-1.0)),
    Diagnosis("test_train_step", "w did not move: were the gradients zeroed before the update?",
              seen=_w_moved_by(0.0)),
    Diagnosis("test_train_step", "the gradients were never zeroed", seen=_gradients_piled_up),
]

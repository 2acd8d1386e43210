"""Chapter 7 · Mini-batch SGD with torch.optim: trusted checks, wrong answers, documented outputs.

The checks run in the grader and judge plain observations of the student's code (see
autograder/verdict/observations.py); the wrong answers are mistakes students make, each losing
exactly the tests it names in a real nbgrader run (tests/grading/test_hidden_tests_bite.py); the
documented outputs are what the chapter prints, reproduced by solutions/.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from autograder.verdict.diagnosis import Diagnosis, first_call, returned
from autograder.verdict.exercises import Documented, Exercise, WrongAnswer
from autograder.verdict.observations import (
    FLOAT_TAGS,
    Case,
    Observation,
    calls,
    close,
    column,
    describe,
    error_of,
    f32,
    judge_scalar,
    loader,
    real,
    sgd,
    tag,
    tensor,
    tensor_scalar,
)

ASSIGNMENT = "ch7_minibatch_sgd"
NOTEBOOK = "minibatch_sgd"


def _cases_epoch(rng: random.Random) -> list[Case]:
    cases = []
    for _ in range(12):
        n, batch_size = rng.randint(1, 12), rng.randint(1, 5)
        xs, ys = column(rng, n, 2.0), column(rng, n, 2.0)
        w0, b0 = f32(rng.uniform(-2, 2)), f32(rng.uniform(-2, 2))
        lr, momentum = rng.choice([0.0, rng.uniform(0.0, 0.2)]), rng.choice([0.0, 0.9])
        # train_epoch(w, b, loader, SGD([w, b])) once; w and b observed after it
        cases.append({"xs": xs, "ys": ys, "w0": w0, "b0": b0, "lr": lr, "momentum": momentum, "batch_size": batch_size,
                      "args": [tensor([w0], requires_grad=True), tensor([b0], requires_grad=True),
                               loader(xs, ys, batch_size), sgd([0, 1], lr, momentum)], "watch": [0, 1]})
    return cases


def ref_epoch(case: Case, zero_grad: bool = True) -> tuple[list[float], float, float]:
    """(the batch losses, w after, b after), in double precision, batches in order.

    zero_grad=False: the gradients are never cleared, so each batch adds its gradient to the old ones."""
    xs, ys = [v[0] for v in case["xs"]], [v[0] for v in case["ys"]]
    w, b, vw, vb, gw, gb, losses, size = case["w0"], case["b0"], 0.0, 0.0, 0.0, 0.0, [], case["batch_size"]
    for i in range(0, len(xs), size):
        bx, by = xs[i:i + size], ys[i:i + size]
        err = [x * w + b - y for x, y in zip(bx, by)]
        losses.append(sum(e * e for e in err) / len(err))
        if zero_grad:
            gw, gb = 0.0, 0.0
        gw, gb = gw + 2 * sum(e * x for e, x in zip(err, bx)) / len(err), gb + 2 * sum(err) / len(err)
        vw, vb = case["momentum"] * vw + gw, case["momentum"] * vb + gb
        w, b = w - case["lr"] * vw, b - case["lr"] * vb
    return losses, w, b


def _judge_epoch(case: Case, res: Observation) -> str | None:
    where = (f"train_epoch ({len(case['xs'])} points in batches of {case['batch_size']}, "
             f"lr {case['lr']:.6g}, momentum {case['momentum']})")
    err = error_of(res)
    if err:
        return f"{where} {err}"
    observed = calls(res)
    if not observed:
        return f"{where}: no observation"
    if "error" in observed[0]:
        return f"{where} raised {observed[0]['error']}"
    out = observed[0].get("out")
    want_losses, want_w, want_b = ref_epoch(case)
    if tag(out) != "list" or out.get("len") != len(want_losses):
        return f"{where} returned {describe(out)}; it returns a list of {len(want_losses)} batch losses"
    for k, (item, want) in enumerate(zip(out.get("items", []), want_losses)):
        if tag(item) not in FLOAT_TAGS:
            return f"{where}: batch loss {k + 1} is {describe(item)}, not a float"
        if not close(real(item), want, 1e-4, 1e-5):
            return f"{where}: batch loss {k + 1} is wrong"
    watched = observed[0].get("args") if isinstance(observed[0].get("args"), list) else []
    for index, (name, want) in enumerate((("w", want_w), ("b", want_b))):
        o = watched[index] if index < len(watched) else None
        if not close(tensor_scalar(o), want, 1e-4, 1e-4):
            return f"{where}: {name} after the epoch is wrong"
    return None


def ref_step_decay(epoch: int, rate: float, drop: float, every: int) -> float:
    return rate * drop ** (epoch // every)


def _cases_decay(rng: random.Random) -> list[Case]:
    cases = [[rng.randint(0, 100), rng.uniform(0.001, 1.0), rng.uniform(0.1, 0.9), rng.randint(1, 12)]
             for _ in range(100)]
    cases += [[0, 0.1, 0.5, 10], [9, 0.1, 0.5, 10], [10, 0.1, 0.5, 10], [3, 1.0, 0.5, 1], [7, 0.2, 1.0, 3],
              [5, 2, 0.5, 5]]
    rng.shuffle(cases)
    return [{"args": c} for c in cases]


RATIO = (200 - 50) / (50 * (200 - 1))  # Var[g_50] / Var[g_1] over 200 points: (N - B) / (B (N - 1))


def _predicted_ratio(res: Observation) -> float | None:
    value = res.get("value") if isinstance(res, dict) else None
    return real(value) if tag(value) in FLOAT_TAGS | {"int"} else None


def _judge_predicted_ratio(case: Case, res: Observation) -> str | None:
    if not isinstance(res, dict) or res.get("error") == "missing":
        return "predicted_ratio: the cell is missing"
    got = _predicted_ratio(res)
    if got is None:
        raised = f" (the cell raised {res['error']})" if res.get("error") else ""
        return f"predicted_ratio is {describe(res.get('value'))}, not a number{raised}"
    if not close(got, RATIO, 0.02, 0.0):
        return f"predicted_ratio = {got:.4g}: more than 2% from {RATIO:.4f}"
    return None


def _ratio_near(value: float) -> Callable[[Case, Observation], bool]:
    def seen(case: Case, res: Observation) -> bool:
        got = _predicted_ratio(res)
        return got is not None and close(got, value, 0.02, 0.0)
    return seen


EXERCISES = [
    Exercise(ASSIGNMENT, NOTEBOOK, "test_train_epoch", "train_epoch", "torch_call", _cases_epoch, _judge_epoch,
             params={"function": "train_epoch"}, torch=True),
    Exercise(ASSIGNMENT, NOTEBOOK, "test_step_decay", "step_decay", "call", _cases_decay,
             judge_scalar("step_decay", ref_step_decay, 1e-9, 1e-12), params={"function": "step_decay"}),
    Exercise(ASSIGNMENT, NOTEBOOK, "test_predicted_ratio", "predicted_ratio", "cell", lambda rng: [{}],
             _judge_predicted_ratio, params={"variable": "predicted_ratio"}, defer_target=True),
]

WRONG_ANSWERS = [
    WrongAnswer(ASSIGNMENT, "train_epoch", "gradients never cleared", ("test_train_epoch",), """
def train_epoch(w, b, loader, optimizer):
    losses = []
    for x_batch, y_batch in loader:
        loss = ((x_batch * w + b - y_batch) ** 2).mean()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
""", says="optimizer.zero_grad()"),
    WrongAnswer(ASSIGNMENT, "train_epoch", "tensors where floats are promised", ("test_train_epoch",), """
def train_epoch(w, b, loader, optimizer):
    losses = []
    for x_batch, y_batch in loader:
        optimizer.zero_grad()
        loss = ((x_batch * w + b - y_batch) ** 2).mean()
        loss.backward()
        optimizer.step()
        losses.append(loss)
    return losses
""", says="float"),
    WrongAnswer(ASSIGNMENT, "step_decay", "fractional periods", ("test_step_decay",), """
def step_decay(epoch, initial_rate, drop, every):
    return initial_rate * drop ** (epoch / every)
""", says="epoch // every"),
    WrongAnswer(ASSIGNMENT, "step_decay", "first drop one epoch early", ("test_step_decay",), """
def step_decay(epoch, initial_rate, drop, every):
    return initial_rate * drop ** ((epoch + 1) // every)
""", says="one epoch early"),
    WrongAnswer(ASSIGNMENT, "predicted_ratio", "finite-population correction forgotten", ("test_predicted_ratio",),
                "predicted_ratio = 1 / 50", says="the correction (N − B)/(N − 1) applies"),
    WrongAnswer(ASSIGNMENT, "predicted_ratio", "standard deviations instead of variances", ("test_predicted_ratio",),
                "predicted_ratio = 1 / 50 ** 0.5", says="the question asks for the variances"),
    WrongAnswer(ASSIGNMENT, "predicted_ratio", "ratio upside down", ("test_predicted_ratio",),
                "predicted_ratio = 50 * 199 / 150", says="upside down"),
]

DOCUMENTED_OUTPUTS = [
    Documented(None, NOTEBOOK, [
        "by hand:         w = 2.017290, b = 0.949166",
        "torch.optim.SGD: w = 2.017290, b = 0.949166",
        "the same to the last bit: True",
        "Hessian eigenvalues 1.94 and 2.75: the full batch is stable below 2/λ_max = 0.73; at rate 0.3 a full "
        "step multiplies the error along the two eigenvectors by 0.42 and 0.18",
        "after 8 epochs: best rate 0.3   loss above the lowest 1.8e-06 (over the 5 orders 1.8e-06 to 1.8e-06)",
        "after 8 epochs: best rate 0.003 loss above the lowest 5.8e-05 (over the 5 orders 1.6e-05 to 9.0e-05)",
        "200              0.0000             0.0000       -    0.1432",
        "a batch of 50 against a single point: measured variance ratio 0.0149, predicted 0.0151",
        "the schedule ends closer to the best line in 8 of 8 orders",
        "RMSProp:  by hand w = 2.052541, b = 0.849176; largest difference from torch.optim.RMSprop: 0.0e+00",
        "Adam:     by hand w = 2.155255, b = 0.555188; largest difference from torch.optim.Adam: 0.0e+00",
        "tilted valley (chapter 6's): condition number 55.78; after the best rescaling (s = 0.365) 21.95",
        "aligned valley:              condition number 55.78; after the best rescaling (s = 0.134) 1.00",
        "SGD, momentum 0.9:  best learning rate 0.1: median 122 steps (from 122 to 161); "
        "median by rate 0.01: 146, 0.03: 150, 0.1: 122, 0.3: -, 1: -",
    ]),
]


def _w_after_is(value: Callable[[Case], float]) -> Callable[[Case, Observation], bool]:
    """Whether w after the epoch is `value(case)`, where the right w is something else."""
    def seen(case: Case, res: Observation) -> bool:
        want, wrong = ref_epoch(case)[1], value(case)
        watched = first_call(res).get("args")
        return not close(wrong, want, 1e-3, 1e-3) and close(tensor_scalar(watched[0]), wrong, 1e-4, 1e-4)
    return seen


def _summed_losses(case: Case, res: Observation) -> bool:
    out = returned(res)
    first, size = ref_epoch(case)[0][0], min(case["batch_size"], len(case["xs"]))
    return size > 1 and tag(out) == "list" and close(real(out["items"][0]), size * first, 1e-4, 1e-5)


def _tensor_losses(case: Case, res: Observation) -> bool:
    out = returned(res)
    return tag(out) == "list" and any(tag(item) == "torch.Tensor" for item in out.get("items", []))


def _decay_with(power: Callable[[int, int], float], rate: Callable[[float], float] = lambda drop: drop):
    """What step_decay returns with `rate(drop) ** power(epoch, every)`, where that differs from the right one."""
    def wrong(epoch: int, initial: float, drop: float, every: int) -> float | None:
        value = initial * rate(drop) ** power(epoch, every)
        return None if close(value, ref_step_decay(epoch, initial, drop, every), 1e-9, 1e-12) else value
    return wrong


# The mistakes the visible checks name (checks.py), and how an observation shows each: the class's common mistakes.
DIAGNOSES = [
    Diagnosis("test_predicted_ratio", "the correction (N − B)/(N − 1) applies", seen=_ratio_near(1 / 50)),
    Diagnosis("test_predicted_ratio", "the question asks for the variances", seen=_ratio_near(50 ** -0.5)),
    Diagnosis("test_predicted_ratio", "upside down", seen=_ratio_near(1 / RATIO)),
    Diagnosis("test_train_epoch", "the docstring promises a float", seen=_tensor_losses),
    Diagnosis("test_train_epoch", "that is the sum over the batch: take the mean", seen=_summed_losses),
    Diagnosis("test_train_epoch", "the gradients piled up from batch to batch: call optimizer.zero_grad()",
              seen=_w_after_is(lambda case: ref_epoch(case, zero_grad=False)[1])),
    Diagnosis("test_train_epoch", "w never moved: call optimizer.step()", seen=_w_after_is(lambda case: case["w0"])),
    Diagnosis("test_step_decay", "the rate fell a little every epoch: count whole periods, epoch // every",
              _decay_with(lambda epoch, every: epoch / every)),
    Diagnosis("test_step_decay", "the drop came one epoch early",
              _decay_with(lambda epoch, every: (epoch + 1) // every)),
    Diagnosis("test_step_decay", "the rate should be multiplied by drop once per period, not divided",
              _decay_with(lambda epoch, every: epoch // every, rate=lambda drop: 1 / drop)),
]

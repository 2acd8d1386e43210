"""The class's common mistakes: the trusted verdict names a failed test's likely mistake in the
words of the chapter's visible check, from its own observations (autograder/verdict/diagnosis.py)."""
from __future__ import annotations

from pathlib import Path

import pytest

from autograder.limits import VERDICT_TEST
from autograder.paths import SOURCE_DIR, assignments, notebooks
from autograder.sandbox.run import mode
from autograder.verdict.exercises import chapter
from autograder.verdict.program import trusted_verdict
from autograder.verdict.server import VerdictServer
from support import synthetic

pytestmark = pytest.mark.skipif(mode() == "none", reason="no sandbox on this machine (bubblewrap missing)")

SEED = 31337
DIAGNOSED = [w for w in synthetic.WRONG_ANSWERS
             if w.says and any(w.says in d.says for d in getattr(chapter(w.assignment_id), "DIAGNOSES", []))]


@pytest.fixture(scope="module")
def server():
    with VerdictServer(VERDICT_TEST) as running:
        running.start()
        yield running


@pytest.mark.parametrize("aid", assignments())
def test_each_diagnosis_uses_the_visible_checks_words(aid: str) -> None:
    checks = (SOURCE_DIR / aid / "checks.py").read_text()
    for diagnosis in getattr(chapter(aid), "DIAGNOSES", []):
        assert diagnosis.says in checks, f"{aid}: {diagnosis.says!r} is not what its visible check says"


def test_wrong_answers_are_diagnosed_by_their_own_words(server: VerdictServer, tmp_path: Path) -> None:
    assert len(DIAGNOSED) >= 30, "most plausible mistakes have a diagnosis"
    for wrong in DIAGNOSED:
        nb = notebooks(wrong.assignment_id)[0]
        path = synthetic.write(synthetic.solved(wrong.assignment_id, nb, **{wrong.cell_id: wrong.source}),
                               tmp_path / wrong.label.replace(" ", "_") / f"{nb}.ipynb")
        verdicts = trusted_verdict(path, wrong.assignment_id, nb, seed=SEED, jobs=1, runner=server.run)
        for test_id in wrong.loses:
            assert verdicts[test_id].points == 0
            assert wrong.says in verdicts[test_id].diagnosis, (wrong.label, test_id, verdicts[test_id])


def test_a_correct_answer_has_no_diagnosis(server: VerdictServer, tmp_path: Path) -> None:
    for aid in assignments():
        nb = notebooks(aid)[0]
        path = synthetic.write(synthetic.solved(aid, nb), tmp_path / aid / f"{nb}.ipynb")
        verdicts = trusted_verdict(path, aid, nb, seed=SEED, jobs=1, runner=server.run)
        assert all(v.points == v.max_points and not v.diagnosis for v in verdicts.values())


# Mistakes no wrong answer of the course makes, so that every diagnosis is seen to fire:
# (chapter, solution cell, test, the diagnosis it must get, the mistaken code)
_GRAD = "def grad(w):\n    return 2 * (w - 3)\n"
MORE_MISTAKES = [
    ("ch1_the_idea", "loss_and_grad", "test_loss", "the difference should be squared, not doubled",
     "def loss(w):\n    return 2 * (w - 3)\n" + _GRAD),
    ("ch1_the_idea", "gradient_steps", "test_gradient_steps", "the loop ran number_steps + 1 times",
     "def gradient_steps(w, eta, n):\n    out = []\n    for _ in range(n + 1):\n        w = w - eta * grad(w)\n"
     "        out.append(w)\n    return out\n"),
    ("ch1_the_idea", "gradient_steps", "test_gradient_steps", "the step went uphill",
     "def gradient_steps(w, eta, n):\n    out = []\n    for _ in range(n):\n        w = w + eta * grad(w)\n"
     "        out.append(w)\n    return out\n"),
    ("ch2_implement", "single_step_gradient_descent", "test_single_step_gradient_descent",
     "the learning rate is missing from the update", "def single_step_gradient_descent(theta, lr):\n"
     "    return theta - 2 * theta\n"),
    ("ch2_implement", "gradient_descent", "test_gradient_descent", "the loop ran number_steps + 1 times",
     "def gradient_descent(theta, lr, n):\n    for _ in range(n + 1):\n"
     "        theta = single_step_gradient_descent(theta, lr)\n    return theta\n"),
    ("ch2_implement", "gradient_descent", "test_gradient_descent", "theta was never updated",
     "def gradient_descent(theta, lr, n):\n    for _ in range(n):\n"
     "        single_step_gradient_descent(theta, lr)\n    return theta\n"),
    ("ch3_pytorch_slope", "step", "test_step", "x did not move",
     "def step(x, f):\n    f(x).backward()\n    x.grad = None\n    return x\n"),
    ("ch3_pytorch_slope", "xypairs_loop", "test_xypairs", "the loop should record 10, one per iteration",
     "x = torch.tensor(-3.).requires_grad_()\nxypairs = []\nfor i in range(11):\n"
     "    xypairs.append([x.item(), f(x).item()])\n    x = step(x, f)\n"),
    ("ch5_convergence", "learning_rate_limit", "test_learning_rate_limit", "the factor 2 is missing",
     "def learning_rate_limit(a, b, c):\n    return 2 / a if a > 0 else 0.0\n"),
    ("ch5_convergence", "learning_rate_limit", "test_learning_rate_limit",
     "that is 2/a²: the limit is 2/L'' with L'' = 2a",
     "def learning_rate_limit(a, b, c):\n    return 2 / a ** 2 if a > 0 else 0.0\n"),
    ("ch5_convergence", "learning_rate_limit", "test_learning_rate_limit",
     "divided by zero: with a = 0 the loss is a straight line without",
     "def learning_rate_limit(a, b, c):\n    return 1 / a if a >= 0 else 0.0\n"),
    ("ch5_convergence", "descend_until_flat", "test_descend_until_flat", "it ran all max_steps steps",
     "def descend_until_flat(grad, w, lr, tol, n):\n    path = [w]\n    for _ in range(n):\n"
     "        w = w - lr * grad(w)\n        path.append(w)\n    return path\n"),
    ("ch5_convergence", "descend_until_flat", "test_descend_until_flat", "the step went uphill",
     "def descend_until_flat(grad, w, lr, tol, n):\n    path = [w]\n    for _ in range(n):\n"
     "        if abs(grad(w)) < tol:\n            break\n        w = w + lr * grad(w)\n        path.append(w)\n"
     "    return path\n"),
    *[("ch5_convergence", "find_minimum", "test_find_minimum", says,
       "def find_minimum(f, w, lr, n):\n    w = torch.tensor(float(w), requires_grad=True)\n"
       f"    for _ in range({steps}):\n        f(w).backward()\n        with torch.no_grad():\n"
       f"            w {move} lr * w.grad\n        w.grad = None\n    return w.item()\n")
      for says, steps, move in [("the steps went uphill", "n", "+="), ("w never moved", "0", "-="),
                                ("that is one step: is the return statement inside the loop?", "min(n, 1)", "-=")]],
    ("ch6_valleys", "condition_number", "test_condition_number", "its Hessian is 2x2",
     "def condition_number(x):\n    return float((2 * x.T @ x / len(x)).item() / (2 * x.T @ x / len(x)).item())\n"),
    ("ch6_valleys", "centre", "test_centre", "that is centred and scaled",
     "def centre(x):\n    return (x - x.mean()) / (x.std() if len(x) > 1 else 1)\n"),
    ("ch6_valleys", "centre", "test_centre", "changed x itself: return a new tensor",
     "def centre(x):\n    return x.sub_(x.mean())\n"),
    ("ch6_valleys", "centre", "test_centre", "the sign is flipped", "def centre(x):\n    return x.mean() - x\n"),
    *[("ch6_valleys", "momentum_step", "test_momentum_step", says,
       f"def momentum_step(w, v, g, lr, beta):\n    velocity = {velocity}\n    return {w}, velocity\n")
      for says, velocity, w in [("the velocity forgot the old one", "g", "w - lr * velocity"),
                                ("the gradient is missing from the new velocity", "beta * v", "w - lr * velocity"),
                                ("the step went uphill", "beta * v + g", "w + lr * velocity"),
                                ("the learning rate is missing from the step of w", "beta * v + g", "w - velocity")]],
    ("ch7_minibatch_sgd", "train_epoch", "test_train_epoch", "that is the sum over the batch: take the mean",
     "def train_epoch(w, b, loader, optimizer):\n    losses = []\n    for x, y in loader:\n"
     "        optimizer.zero_grad()\n        loss = ((x * w + b - y) ** 2).sum()\n        loss.backward()\n"
     "        optimizer.step()\n        losses.append(loss.item())\n    return losses\n"),
    ("ch7_minibatch_sgd", "train_epoch", "test_train_epoch", "w never moved: call optimizer.step()",
     "def train_epoch(w, b, loader, optimizer):\n    losses = []\n    for x, y in loader:\n"
     "        loss = ((x * w + b - y) ** 2).mean()\n        losses.append(loss.item())\n    return losses\n"),
    ("ch7_minibatch_sgd", "step_decay", "test_step_decay",
     "the rate should be multiplied by drop once per period, not divided",
     "def step_decay(epoch, rate, drop, every):\n    return rate / drop ** (epoch // every)\n"),
    ("ch8_digits", "softmax_regression_gradient", "test_softmax_regression_gradient",
     "the one-hot labels were not subtracted",
     "def softmax_regression_gradient(W, b, X, y):\n    dlogits = torch.softmax(X @ W + b, dim=1) / len(X)\n"
     "    return X.T @ dlogits, dlogits.sum(dim=0)\n"),
]


def test_every_diagnosis_fires_on_its_mistake(server: VerdictServer, tmp_path: Path) -> None:
    covered = {(w.assignment_id, d.says) for w in DIAGNOSED for d in getattr(chapter(w.assignment_id), "DIAGNOSES", [])
               if w.says in d.says}
    covered |= {(aid, says) for aid, _, _, says, _ in MORE_MISTAKES}
    every = {(aid, d.says) for aid in assignments() for d in getattr(chapter(aid), "DIAGNOSES", [])}
    assert every - covered == set(), "a diagnosis no mistake here makes"
    for k, (aid, cell_id, test_id, says, source) in enumerate(MORE_MISTAKES):
        nb = notebooks(aid)[0]
        path = synthetic.write(synthetic.solved(aid, nb, **{cell_id: source}), tmp_path / str(k) / f"{nb}.ipynb")
        verdict = trusted_verdict(path, aid, nb, seed=SEED, jobs=1, runner=server.run)[test_id]
        assert verdict.points == 0 and verdict.diagnosis == says, (says, verdict)

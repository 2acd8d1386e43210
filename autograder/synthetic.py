"""Synthetic submissions, made from the release and the source: for the tests and the benchmark.

`reference_answers` fills every solution cell with the source's solution; `WRONG_ANSWERS` holds
plausible mistakes, each for one solution cell, with the test cells it must lose.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nbformat

from .paths import COURSE_DIR, SOURCE_DIR
from .solutions import SOLUTION_MARKERS


@dataclass(frozen=True)
class WrongAnswer:
    assignment_id: str
    cell_id: str            # the solution cell's grade_id
    label: str
    source: str
    loses: tuple[str, ...]  # test grade_ids that must score zero; every other test keeps its points


def _cells_by_id(nb: nbformat.NotebookNode) -> dict[str, nbformat.NotebookNode]:
    return {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells if "grade_id" in c.metadata.get("nbgrader", {})}


def reference_answers(assignment_id: str, notebook: str) -> dict[str, str]:
    """Solution cell sources from the instructor source, markers removed."""
    nb = nbformat.read(SOURCE_DIR / assignment_id / f"{notebook}.ipynb", as_version=4)
    return {gid: "\n".join(l for l in c.source.split("\n") if l.strip() not in SOLUTION_MARKERS)
            for gid, c in _cells_by_id(nb).items() if c.metadata["nbgrader"].get("solution")}


def release_notebook(assignment_id: str, notebook: str) -> nbformat.NotebookNode:
    return nbformat.read(COURSE_DIR / assignment_id / f"{notebook}.ipynb", as_version=4)


def fill(assignment_id: str, notebook: str, answers: dict[str, str]) -> nbformat.NotebookNode:
    """The release notebook with the given solution cells replaced (others left as stubs)."""
    nb = release_notebook(assignment_id, notebook)
    cells = _cells_by_id(nb)
    for gid, source in answers.items():
        cells[gid].source = source
    return nb


def solved(assignment_id: str, notebook: str, **overrides: str) -> nbformat.NotebookNode:
    """A fully correct submission, with some solution cells replaced by `overrides`."""
    return fill(assignment_id, notebook, {**reference_answers(assignment_id, notebook), **overrides})


def write(nb: nbformat.NotebookNode, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def _w(aid: str, cell: str, label: str, loses: tuple[str, ...], source: str) -> WrongAnswer:
    return WrongAnswer(aid, cell, label, source.strip("\n"), loses)


WRONG_ANSWERS: list[WrongAnswer] = [
    _w("ch1_the_idea", "loss_and_grad", "grad sign error", ("test_grad",), """
def loss(w):
    return (w - 3) ** 2

def grad(w):
    return 2 * (3 - w)
"""),
    _w("ch1_the_idea", "loss_and_grad", "grad missing factor 2", ("test_grad",), """
def loss(w):
    return (w - 3) ** 2

def grad(w):
    return w - 3
"""),
    _w("ch1_the_idea", "loss_and_grad", "loss with the wrong minimum", ("test_loss",), """
def loss(w):
    return (w + 3) ** 2

def grad(w):
    return 2 * (w - 3)
"""),
    _w("ch1_the_idea", "gradient_steps", "off-by-one step count", ("test_gradient_steps",), """
def gradient_steps(w, eta, number_steps):
    weights = []
    for _ in range(number_steps - 1):
        w = w - eta * grad(w)
        weights.append(w)
    return weights
"""),
    _w("ch1_the_idea", "gradient_steps", "returns inside the loop", ("test_gradient_steps",), """
def gradient_steps(w, eta, number_steps):
    weights = []
    for _ in range(number_steps):
        w = w - eta * grad(w)
        weights.append(w)
        return weights
    return weights
"""),
    _w("ch1_the_idea", "gradient_steps", "hard-coded documented output", ("test_gradient_steps",), """
def gradient_steps(w, eta, number_steps):
    return [0.6, 1.08, 1.464, 1.7712, 2.01696]
"""),
    _w("ch2_implement", "single_step_gradient_descent", "sign error", ("test_single_step_gradient_descent",), """
def single_step_gradient_descent(theta, learning_rate):
    return theta + learning_rate * 2 * theta
"""),
    _w("ch2_implement", "single_step_gradient_descent", "missing factor 2", ("test_single_step_gradient_descent",), """
def single_step_gradient_descent(theta, learning_rate):
    return theta - learning_rate * theta
"""),
    _w("ch2_implement", "single_step_gradient_descent", "tensor where a float is promised",
       ("test_single_step_gradient_descent",), """
import torch

def single_step_gradient_descent(theta, learning_rate):
    theta = torch.tensor(float(theta))
    return theta - learning_rate * 2 * theta
"""),
    _w("ch2_implement", "gradient_descent", "off-by-one step count", ("test_gradient_descent",), """
def gradient_descent(initial_theta, learning_rate, number_steps):
    theta = initial_theta
    for _ in range(1, number_steps):
        theta = single_step_gradient_descent(theta, learning_rate)
    return theta
"""),
    _w("ch2_implement", "gradient_descent", "returns before the loop ends", ("test_gradient_descent",), """
def gradient_descent(initial_theta, learning_rate, number_steps):
    theta = initial_theta
    for _ in range(number_steps):
        theta = single_step_gradient_descent(theta, learning_rate)
        return theta
    return theta
"""),
    _w("ch2_implement", "gradient_descent", "hard-coded documented case", ("test_gradient_descent",), """
def gradient_descent(initial_theta, learning_rate, number_steps):
    if number_steps == 0:
        return initial_theta
    return 0.6 ** 20
"""),
    _w("ch3_pytorch_slope", "step", "sign error", ("test_step",), """
def step(x, f):
    y = f(x)
    y.backward()
    with torch.no_grad():
        x += learning_rate * x.grad
    x.grad = None
    return x
"""),
    _w("ch3_pytorch_slope", "step", "gradient never reset", ("test_step",), """
def step(x, f):
    y = f(x)
    y.backward()
    with torch.no_grad():
        x -= learning_rate * x.grad
    return x
"""),
    _w("ch3_pytorch_slope", "step", "missing learning rate", ("test_step",), """
def step(x, f):
    y = f(x)
    y.backward()
    with torch.no_grad():
        x -= x.grad
    x.grad = None
    return x
"""),
    _w("ch3_pytorch_slope", "xypairs_loop", "tensors where floats are promised", ("test_xypairs",), """
x = torch.tensor(-3.).requires_grad_()
xypairs = []
for i in range(10):
    xypairs.append([x.detach().clone(), f(x).detach()])
    print(f"f({x:.2}) = {f(x):.2}")
    x = step(x, f)
"""),
    _w("ch3_pytorch_slope", "xypairs_loop", "off-by-one: nine pairs", ("test_xypairs",), """
x = torch.tensor(-3.).requires_grad_()
xypairs = []
for i in range(9):
    xypairs.append([x.item(), f(x).item()])
    print(f"f({x:.2}) = {f(x):.2}")
    x = step(x, f)
"""),
    _w("ch4_fitting_a_line", "mse_loss", "sum instead of mean", ("test_mse_loss",), """
def mse_loss(y_pred, y):
    return ((y_pred - y) ** 2).sum()
"""),
    _w("ch4_fitting_a_line", "mse_loss", "absolute instead of squared error", ("test_mse_loss",), """
def mse_loss(y_pred, y):
    return (y_pred - y).abs().mean()
"""),
    _w("ch4_fitting_a_line", "train_step", "gradients never zeroed", ("test_train_step",), """
def train_step(w, b, x, y, learning_rate):
    loss = mse_loss(x * w + b, y)
    loss.backward()
    with torch.no_grad():
        w -= learning_rate * w.grad
        b -= learning_rate * b.grad
    return loss.item()
"""),
    _w("ch4_fitting_a_line", "train_step", "sign error", ("test_train_step",), """
def train_step(w, b, x, y, learning_rate):
    loss = mse_loss(x * w + b, y)
    loss.backward()
    with torch.no_grad():
        w += learning_rate * w.grad
        b += learning_rate * b.grad
    w.grad.zero_()
    b.grad.zero_()
    return loss.item()
"""),
    _w("ch4_fitting_a_line", "train_step", "tensor where a float is promised", ("test_train_step",), """
def train_step(w, b, x, y, learning_rate):
    loss = mse_loss(x * w + b, y)
    loss.backward()
    with torch.no_grad():
        w -= learning_rate * w.grad
        b -= learning_rate * b.grad
    w.grad.zero_()
    b.grad.zero_()
    return loss.detach()
"""),
]

"""Synthetic submissions, made from the release and the source: for the tests and the benchmark.

`reference_answers` fills every solution cell with the source's solution; `WRONG_ANSWERS` are the
chapters' plausible mistakes, each for one solution cell, with the test cells it must lose;
`HONEST_ANSWERS` correct answers in another accepted form, which lose nothing.
"""
from __future__ import annotations

from pathlib import Path

import nbformat

from autograder.course.solutions import SOLUTION_MARKERS
from autograder.paths import COURSE_DIR, SOURCE_DIR
from autograder.verdict.exercises import HonestAnswer, WrongAnswer, honest_answers, wrong_answers

# Plausible mistakes of every chapter (autograder/verdict/exercises/<chapter>.py).
WRONG_ANSWERS: list[WrongAnswer] = wrong_answers()
# Correct answers in another convention or form than the source's: full marks everywhere.
HONEST_ANSWERS: list[HonestAnswer] = honest_answers()


def _cells_by_id(nb: nbformat.NotebookNode) -> dict[str, nbformat.NotebookNode]:
    return {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells if "grade_id" in c.metadata.get("nbgrader", {})}


def reference_answers(assignment_id: str, notebook: str) -> dict[str, str]:
    """Solution cell sources from the instructor source, markers removed."""
    nb = nbformat.read(SOURCE_DIR / assignment_id / f"{notebook}.ipynb", as_version=4)
    return {gid: "\n".join(line for line in c.source.split("\n") if line.strip() not in SOLUTION_MARKERS)
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

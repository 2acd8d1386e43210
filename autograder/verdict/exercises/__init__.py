"""Each chapter's instructor-side facts, one module per chapter: `exercises/<assignment_id>.py`.

A chapter module defines ASSIGNMENT, NOTEBOOK and these lists:
- EXERCISES: for every autograded test cell of the source (by grade_id), the trusted check: which
  solution cell it grades, how the sandboxed harness exercises the student's code (`kind`, one of
  the harness's generic operations, and `params`), the reference code put in place of the *other*
  exercises it depends on (as the hidden tests do, so each exercise is graded on its own), how to
  draw randomized inputs, and how to judge the observations;
- WRONG_ANSWERS: plausible mistakes, each for one solution cell, with the test cells it must lose;
- HONEST_ANSWERS (optional): correct answers in another accepted form than the source's (another
  convention, another place for a step), each for one solution cell: they must lose no point;
- DOCUMENTED_OUTPUTS: the lines the source text prints, which solutions/ must print in order.

Everything here runs in the grader's process and never touches student code: the judges read
plain JSON observations and compare them with values computed from the correct formulas.
"""

from __future__ import annotations

import functools
import importlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from autograder.paths import assignments

Case = dict[str, Any]
Observation = dict[str, Any]


@dataclass(frozen=True)
class Exercise:
    assignment_id: str
    notebook: str
    test_id: str  # grade_id of the test cell in the source
    cell_id: str  # grade_id of the solution cell it grades
    kind: str  # the harness's generic operation: "call" (plain arguments), "cell" (top-level code that
    #            sets a variable) or "torch_call" (built arguments: tensors, polynomials, a DataLoader,
    #            an SGD optimizer; see observations.tensor, polynomial, loader, sgd)
    make_cases: Callable[[random.Random], list[Case]]
    judge: Callable[[Case, Observation], str | None]  # None: this case passed; else why not
    params: dict[str, Any] = field(default_factory=dict)
    overrides: str = ""  # reference code for the exercises this one depends on
    torch: bool = False
    defer_target: bool = False  # the target cell is top-level code, run once per case


@dataclass(frozen=True)
class WrongAnswer:
    assignment_id: str
    cell_id: str  # the solution cell's grade_id
    label: str
    loses: tuple[str, ...]  # test grade_ids that must score zero; every other test keeps its points
    source: str
    says: str = ""  # words the visible check (and `check`) must name this mistake by

    def __post_init__(self) -> None:
        object.__setattr__(self, "source", self.source.strip("\n"))


@dataclass(frozen=True)
class HonestAnswer:
    assignment_id: str
    cell_id: str  # the solution cell's grade_id
    label: str
    source: str  # keeps every point: nbgrader's hidden tests, the trusted verdict and the visible check

    def __post_init__(self) -> None:
        object.__setattr__(self, "source", self.source.strip("\n"))


@dataclass(frozen=True)
class Documented:
    seed_file: str | None  # the source text that documents it (in ../shared/seeds when that folder
    # is present); None for the course's own claims, printed by its own code
    notebook: str
    lines: list[str]  # what it prints, in order


@functools.cache
def chapter(assignment_id: str) -> ModuleType:
    """The chapter's module; an assignment without one has no trusted checks (check_coverage says so)."""
    try:
        return importlib.import_module(f"{__name__}.{assignment_id}")
    except ModuleNotFoundError as missing:
        if missing.name != f"{__name__}.{assignment_id}":
            raise
        return ModuleType(assignment_id)


def _all(name: str) -> list:
    return [item for aid in assignments() for item in getattr(chapter(aid), name, [])]


def exercises(assignment_id: str, notebook: str) -> dict[str, Exercise]:
    """The trusted checks of one notebook, by test grade_id."""
    return {e.test_id: e for e in getattr(chapter(assignment_id), "EXERCISES", []) if e.notebook == notebook}


def all_exercises() -> dict[tuple[str, str, str], Exercise]:
    return {(e.assignment_id, e.notebook, e.test_id): e for e in _all("EXERCISES")}


def wrong_answers() -> list[WrongAnswer]:
    return _all("WRONG_ANSWERS")


def honest_answers() -> list[HonestAnswer]:
    return _all("HONEST_ANSWERS")


def documented_outputs() -> list[tuple[str, Documented]]:
    """(assignment_id, documented output) for every chapter."""
    return [(aid, d) for aid in assignments() for d in getattr(chapter(aid), "DOCUMENTED_OUTPUTS", [])]

"""Release audit by behaviour: no helper module shipped next to a notebook solves an exercise.

A text search misses a solution rewritten with other names, so every function that a shipped
helper module (checks.py, figures.py, course_kit.py, ...) defines is *run* on the inputs of every
exercise of its chapter, the way the trusted verdict calls a student's function (the sandbox
harness's own operations, here in-process: the helpers are the course's own code), and judged by
the chapter's trusted judge. A function that passes every case reproduces the reference answer: it
is a solution, and the audit names it. Also tried: the exercise's reference dependencies (the
correct `grad`, say) passed as an extra first or last argument, and the last item of a returned
list (a path that ends at the answer).
"""
from __future__ import annotations

import importlib.util
import inspect
import random
import shutil
import sys
import types
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from autograder.paths import COURSE_DIR, SOURCE_DIR, assignments, notebooks
from autograder.verdict.exercises import Exercise, exercises
from autograder.verdict.source import source_program
from support import synthetic

HARNESS = Path(__file__).resolve().parents[2] / "autograder" / "verdict" / "inside" / "harness.py"
SEED = 20261123


def load_harness() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("_audit_harness", HARNESS)
    harness = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(harness)
    harness.load_torch()
    return harness


def helper_functions(folder: Path) -> dict[str, Callable]:
    """'module.function' -> every function defined by a .py file of `folder` (private ones too)."""
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    found: dict[str, Callable] = {}
    for path in sorted(folder.glob("*.py")):
        name = f"_audit_{abs(hash(str(path)))}_{path.stem}"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for attr, value in vars(module).items():
            if inspect.isfunction(value) and value.__module__ == name:
                found[f"{path.name}:{attr}"] = value
    sys.path.remove(str(folder))
    return found


def dependencies(exercise: Exercise) -> list[Callable]:
    """The reference code the exercise is graded with in place of the others (e.g. the correct grad)."""
    namespace: dict = {"torch": torch}
    exec(exercise.overrides, namespace)
    return [v for k, v in namespace.items() if callable(v) and k != "torch" and not k.startswith("__")]


def variants(fn: Callable, deps: list[Callable]) -> list[tuple[str, Callable]]:
    shapes = [("f(*args)", fn)]
    for dep in deps:
        shapes += [("f(reference, *args)", lambda *a, d=dep: fn(d, *a)),
                   ("f(*args, reference)", lambda *a, d=dep: fn(*a, d))]

    def last(call: Callable) -> Callable:
        def wrapped(*a):
            out = call(*a)
            return out[-1] if isinstance(out, list) and out else out
        return wrapped
    return shapes + [(f"{shape}[-1]", last(call)) for shape, call in shapes]


def solves(harness: types.ModuleType, fn: Callable, owner: Callable, exercise: Exercise,
           cases: list[dict]) -> bool:
    """True if `fn` passes every case of the exercise's trusted judge."""
    operation = {"call": harness.case_call, "torch_call": harness.case_torch_call}[exercise.kind]
    harness.PARAMS = {"function": "candidate"}
    harness.NS["candidate"] = fn
    for case in cases:
        for name, value in case.get("globals", {}).items():
            harness.NS[name] = value
            owner.__globals__[name] = value  # a helper reads its own module's globals
        try:
            observation = operation(case)
        except BaseException as error:  # noqa: BLE001 - any failure is a failed case
            observation = {"error": harness._exc(error)}
        if exercise.judge(case, observation) is not None:
            return False
    return True


def audit_helpers(course_dir: Path) -> tuple[list[str], int]:
    """(every helper function that solves an exercise, as 'chapter/file:function solves test (shape)';
    how many function-exercise pairs were tried)."""
    harness = load_harness()
    findings, tried = [], 0
    for aid in assignments():
        functions = helper_functions(course_dir / aid)
        for nb in notebooks(aid):
            for exercise in exercises(aid, nb).values():
                if exercise.kind not in ("call", "torch_call"):
                    continue  # a cell exercise (top-level code) has no function to call
                cases = exercise.make_cases(random.Random(SEED))
                deps = dependencies(exercise)
                for where, fn in functions.items():
                    tried += 1
                    for shape, candidate in variants(fn, deps):
                        if solves(harness, candidate, fn, exercise, cases):
                            findings.append(f"{aid}/{where} solves {exercise.test_id} as {shape}")
                            break
    return findings, tried


def test_no_shipped_helper_solves_an_exercise() -> None:
    findings, tried = audit_helpers(COURSE_DIR)
    assert tried > 0
    assert findings == []


# What helper modules once held, and what a solution in a helper looks like: the audit must catch them.
HISTORIC_DESCENT_PATH = '''

def descent_path(single_step, theta, learning_rate, number_steps):
    path = [theta]
    for _ in range(number_steps):
        path.append(single_step(path[-1], learning_rate))
    return path
'''


def planted_solution(aid: str, exercise: Exercise) -> str:
    """The source's solution of `exercise`, renamed, with the imports of the notebook and the reference
    code it is graded with."""
    (nb,) = notebooks(aid)
    code = synthetic.reference_answers(aid, nb)[exercise.cell_id]
    name = exercise.params["function"]
    imports = "\n".join(line for line in source_program(aid, nb).setup.splitlines()
                        if line.startswith(("import ", "from ")))
    return f"\n\n{imports}\n{exercise.overrides}\n" + code.replace(f"def {name}(", f"def _planted_{name}(") + "\n"


PLANTED = [(aid, e) for aid in assignments() for nb in notebooks(aid) for e in exercises(aid, nb).values()
           if e.kind in ("call", "torch_call")]


@pytest.mark.parametrize("aid,exercise", PLANTED, ids=[f"{aid}-{e.test_id}" for aid, e in PLANTED])
def test_the_audit_catches_a_planted_solution(tmp_path: Path, aid: str, exercise: Exercise) -> None:
    course = shutil.copytree(COURSE_DIR, tmp_path / "course")
    checks = course / aid / "checks.py"
    checks.write_text(checks.read_text() + planted_solution(aid, exercise))
    findings, _ = audit_helpers(course)
    assert any(f.startswith(f"{aid}/checks.py:_planted_") and exercise.test_id in f for f in findings), findings


def test_the_audit_catches_a_path_helper_that_takes_the_step_function(tmp_path: Path) -> None:
    course = shutil.copytree(COURSE_DIR, tmp_path / "course")
    figures = course / "ch2_implement" / "figures.py"
    figures.write_text(figures.read_text() + HISTORIC_DESCENT_PATH)
    findings, _ = audit_helpers(course)
    assert "ch2_implement/figures.py:descent_path solves test_gradient_descent as f(reference, *args)[-1]" \
        in findings, findings


def test_source_helpers_are_the_shipped_ones() -> None:
    """The audit reads course/; the build copies the source's helpers there unchanged."""
    for aid in assignments():
        for path in (SOURCE_DIR / aid).glob("*.py"):
            assert (COURSE_DIR / aid / path.name).read_bytes() == path.read_bytes(), path

"""The visible checks in chapters 1 and 2 name each plausible mistake in plain words.

Each wrong answer from `synthetic.WRONG_ANSWERS` replaces one exercise of the reference solution;
the chapter's visible check for that exercise must fail with a message that says what went wrong.
Runs in-process (no kernel), so it is quick.
"""
from __future__ import annotations

import importlib.util
import sys
import types

import nbformat
import pytest

from support import synthetic
from autograder.paths import SOURCE_DIR, STUDENT_KIT_DIR, notebooks


# which visible check (in checks.py) covers which test cell, and the names it is called with
CHECK_CALLS = {
    "test_loss": "check_loss(loss)",
    "test_grad": "check_grad(grad)",
    "test_gradient_steps": "check_gradient_steps(gradient_steps, grad)",
    "test_single_step_gradient_descent": "check_single_step(single_step_gradient_descent)",
    "test_gradient_descent": "check_gradient_descent(gradient_descent, single_step_gradient_descent)",
}

CASES = [w for w in synthetic.WRONG_ANSWERS if w.assignment_id in ("ch1_the_idea", "ch2_implement")]


def load_checks(aid: str) -> types.ModuleType:
    """The chapter's checks.py as its own module (every chapter names it `checks`)."""
    if str(STUDENT_KIT_DIR) not in sys.path:
        sys.path.insert(0, str(STUDENT_KIT_DIR))
    spec = importlib.util.spec_from_file_location(f"_visible_checks_{aid}", SOURCE_DIR / aid / "checks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_answers(aid: str, overrides: dict[str, str]) -> dict:
    """Run the reference solution cells, some replaced, in one namespace (as a notebook would)."""
    (nb,) = notebooks(aid)
    source_nb = nbformat.read(SOURCE_DIR / aid / f"{nb}.ipynb", as_version=4)
    code = {c.metadata["nbgrader"]["grade_id"] for c in source_nb.cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")}
    namespace: dict = {}
    for gid, source in {**synthetic.reference_answers(aid, nb), **overrides}.items():
        if gid in code:  # written answers are markdown
            exec(compile(source, f"<{aid} {gid}>", "exec"), namespace)
    return namespace


def check_messages(aid: str, overrides: dict[str, str], tests: tuple[str, ...]) -> dict[str, str | None]:
    checks = load_checks(aid)
    namespace = {**run_answers(aid, overrides), **vars(checks)}
    messages: dict[str, str | None] = {}
    for test in tests:
        try:
            exec(CHECK_CALLS[test], namespace)
        except sys.modules["course_kit"].CheckFailed as failure:
            messages[test] = str(failure)
        else:
            messages[test] = None
    return messages


def test_every_case_has_expected_words() -> None:
    assert {(w.assignment_id, w.label) for w in CASES} <= {(w.assignment_id, w.label) for w in synthetic.WRONG_ANSWERS if w.says}


@pytest.mark.parametrize("aid", ["ch1_the_idea", "ch2_implement"])
def test_reference_passes_every_visible_check(aid: str, capsys: pytest.CaptureFixture) -> None:
    tests = tuple(t for t in CHECK_CALLS if t in {l for w in CASES if w.assignment_id == aid for l in w.loses})
    assert check_messages(aid, {}, tests) == {t: None for t in tests}
    assert capsys.readouterr().out.count(": passed") == len(tests)


@pytest.mark.parametrize("wrong", CASES, ids=[f"{w.assignment_id}-{w.label}" for w in CASES])
def test_visible_check_names_the_mistake(wrong: synthetic.WrongAnswer) -> None:
    messages = check_messages(wrong.assignment_id, {wrong.cell_id: wrong.source}, wrong.loses)
    words = wrong.says
    for test in wrong.loses:
        assert messages[test] is not None, f"{test} passed a wrong answer ({wrong.label})"
        assert words in messages[test], f"{test}: {messages[test]!r} does not say {words!r}"

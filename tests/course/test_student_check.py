"""`python -m autograder check NOTEBOOK`: one line per exercise, in plain words; and nbgrader's Validate.

Notebooks are made from the release with tests/support/synthetic.py: solved, half done, and with
each plausible wrong answer from `synthetic.WRONG_ANSWERS`.
"""
from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from autograder.course import check
from autograder.paths import COURSE_DIR, assignments, notebooks
from support import synthetic

CLI = [sys.executable, "-m", "autograder", "check"]
LINE = re.compile(r"^(\w+) \((\d+(?:\.\d+)?) points?\): (passed|failed: .+|not attempted|not run: .+|"
                  r"written answer: to be graded by hand|not answered)$")

# (chapter, label of the wrong answer) -> words the failing line (and the visible check) must contain
EXPECTED_WORDS = {(w.assignment_id, w.label): w.says for w in synthetic.WRONG_ANSWERS}


def student_copy(tmp: Path, aid: str, nb) -> Path:
    """The chapter folder as a student has it, with `nb` as the notebook."""
    folder = shutil.copytree(COURSE_DIR / aid, tmp / aid)
    (name,) = notebooks(aid)
    return synthetic.write(nb, Path(folder) / f"{name}.ipynb")


def parse(stdout: str) -> dict[str, str]:
    """{grade_id: status text} from the check's lines (the notes above them and the summary line are skipped)."""
    result = {}
    for line in stdout.strip().split("\n\n")[-1].splitlines()[:-1]:
        match = LINE.match(line)
        assert match, f"unexpected line: {line!r}"
        result[match.group(1)] = match.group(3)
    return result


def run_cli(path: Path, *options: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run(CLI + [*options, str(path)], capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("aid", assignments())
def test_solved_notebook_passes_and_is_left_alone(aid: str, tmp_path: Path) -> None:
    (name,) = notebooks(aid)
    path = student_copy(tmp_path, aid, synthetic.solved(aid, name))
    before = {p: p.read_bytes() for p in path.parent.rglob("*")}
    result = run_cli(path)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = parse(result.stdout)
    tests = [gid for gid, status in lines.items() if status != "written answer: to be graded by hand"]
    assert tests and all(lines[gid] == "passed" for gid in tests), result.stdout
    assert re.search(r"(\d+) of \1 autograded tests passed", result.stdout.splitlines()[-1])
    assert {p: p.read_bytes() for p in path.parent.rglob("*")} == before, "check changed the student's folder"


def test_lines_follow_the_notebook_order(tmp_path: Path) -> None:
    path = student_copy(tmp_path, "ch1_the_idea", synthetic.release_notebook("ch1_the_idea", "the_idea"))
    result = run_cli(path)
    assert result.returncode == 1
    assert list(parse(result.stdout)) == ["test_loss", "test_grad", "test_gradient_steps"]
    assert set(parse(result.stdout).values()) == {"not attempted"}


def test_half_done_notebook(tmp_path: Path) -> None:
    aid, name = "ch2_implement", "gradient_descent"
    answers = synthetic.reference_answers(aid, name)
    nb = synthetic.fill(aid, name, {"single_step_gradient_descent": answers["single_step_gradient_descent"]})
    result = run_cli(student_copy(tmp_path, aid, nb))
    assert result.returncode == 1
    assert parse(result.stdout) == {"test_single_step_gradient_descent": "passed",
                                    "test_gradient_descent": "not attempted",
                                    "what_do_you_notice": "not answered"}


def test_half_done_loop_is_not_attempted(tmp_path: Path) -> None:
    """A stub that stops a loop half way counts as not attempted, not as a wrong answer."""
    aid, name = "ch3_pytorch_slope", "pytorch_slope"
    nb = synthetic.fill(aid, name, {"step": synthetic.reference_answers(aid, name)["step"]})
    result = run_cli(student_copy(tmp_path, aid, nb))
    assert result.returncode == 1
    assert parse(result.stdout) == {"test_step": "passed", "test_xypairs": "not attempted"}


@pytest.mark.parametrize("content", ['{"cells": [', "not a notebook at all", '{"nbformat": 4, "cells": 3}'])
def test_malformed_notebook_is_one_clear_line(tmp_path: Path, content: str) -> None:
    path = tmp_path / "broken.ipynb"
    path.write_text(content)
    result = run_cli(path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("error: "), result.stderr
    assert "broken.ipynb" in result.stderr


def test_missing_file_and_ungraded_notebook(tmp_path: Path) -> None:
    result = run_cli(tmp_path / "nowhere.ipynb")
    assert result.returncode == 2 and "no such file" in result.stderr
    plain = tmp_path / "plain.ipynb"
    plain.write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    result = run_cli(plain)
    assert result.returncode == 2 and "no graded cells" in result.stderr


@pytest.fixture(scope="module")
def wrong_results(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], tuple[int, list]]:
    """check() on every wrong answer (two kernels at a time)."""
    root = tmp_path_factory.mktemp("wrong")

    def one(index: int):
        wrong = synthetic.WRONG_ANSWERS[index]
        (name,) = notebooks(wrong.assignment_id)
        nb = synthetic.solved(wrong.assignment_id, name, **{wrong.cell_id: wrong.source})
        path = student_copy(root / str(index), wrong.assignment_id, nb)
        return (wrong.assignment_id, wrong.label), check.check(path, timeout=60)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(one, range(len(synthetic.WRONG_ANSWERS))))


def test_every_wrong_answer_has_expected_words() -> None:
    assert {(w.assignment_id, w.label) for w in synthetic.WRONG_ANSWERS} == set(EXPECTED_WORDS)


@pytest.mark.parametrize("wrong", synthetic.WRONG_ANSWERS,
                         ids=[f"{w.assignment_id}-{w.label}" for w in synthetic.WRONG_ANSWERS])
def test_wrong_answer_is_named_in_plain_words(wrong_results: dict, wrong: synthetic.WrongAnswer) -> None:
    status, lines = wrong_results[(wrong.assignment_id, wrong.label)]
    assert status == 1
    by_id = {line.grade_id: line for line in lines}
    words = EXPECTED_WORDS[(wrong.assignment_id, wrong.label)]
    for gid, line in by_id.items():
        if gid in wrong.loses:
            assert line.status == "failed", str(line)
            assert words in line.reason, f"{line} does not say {words!r}"
            assert "Traceback" not in line.reason and "\n" not in line.reason
        elif line.autograded:
            assert line.status == "passed", f"{line} (only {wrong.loses} should fail)"


@pytest.mark.parametrize("honest", synthetic.HONEST_ANSWERS,
                         ids=[f"{h.assignment_id}-{h.label}" for h in synthetic.HONEST_ANSWERS])
def test_honest_answer_in_another_form_passes(tmp_path: Path, honest: synthetic.HonestAnswer) -> None:
    """Another accepted convention (momentum's velocity with the learning rate inside it, gradients cleared
    at the start of the step) passes every visible check."""
    (name,) = notebooks(honest.assignment_id)
    nb = synthetic.solved(honest.assignment_id, name, **{honest.cell_id: honest.source})
    status, lines = check.check(student_copy(tmp_path, honest.assignment_id, nb), timeout=60)
    autograded = [line for line in lines if line.autograded]
    assert status == 0 and autograded and all(line.status == "passed" for line in autograded), \
        [str(line) for line in lines]


# nbgrader's own Validate (the JupyterLab Validate button runs the same code)
def nbgrader_validate(path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")}
    return subprocess.run([sys.executable, "-m", "nbgrader", "validate", str(path)], cwd=path.parent,
                          capture_output=True, text=True, timeout=240, env=env)


def test_nbgrader_validate_passes_a_solved_notebook(tmp_path: Path) -> None:
    aid, name = "ch2_implement", "gradient_descent"
    result = nbgrader_validate(student_copy(tmp_path, aid, synthetic.solved(aid, name)))
    assert "Success! Your notebook passes all the tests." in result.stdout, result.stdout + result.stderr


def test_nbgrader_validate_reports_a_half_done_notebook(tmp_path: Path) -> None:
    aid, name = "ch1_the_idea", "the_idea"
    nb = synthetic.fill(aid, name, {"loss_and_grad": synthetic.reference_answers(aid, name)["loss_and_grad"]})
    result = nbgrader_validate(student_copy(tmp_path, aid, nb))
    assert "VALIDATION FAILED ON 1 CELL(S)!" in result.stdout, result.stdout + result.stderr
    assert "check_gradient_steps(gradient_steps, grad)" in result.stdout
    assert "not attempted yet" in result.stdout


@pytest.mark.parametrize("aid", assignments())
def test_a_notebook_moved_away_from_its_helpers_says_so(aid: str, tmp_path: Path) -> None:
    """Downloaded alone, the notebook stops at its import cell with the reason, not a NameError later."""
    (name,) = notebooks(aid)
    moved = tmp_path / "Downloads" / f"{name}.ipynb"
    moved.parent.mkdir()
    shutil.copy(COURSE_DIR / aid / f"{name}.ipynb", moved)
    nb = nbformat.read(moved, as_version=4)
    with pytest.raises(CellExecutionError) as failed:
        NotebookClient(nb, timeout=120, kernel_name="python3",
                       resources={"metadata": {"path": str(moved.parent)}}).execute()
    first_error = next(c for c in nb.cells if c.cell_type == "code"
                       and any(o.get("output_type") == "error" for o in c.get("outputs", [])))
    assert "from checks import" in first_error.source, "the import cell is where it stops"
    (error,) = [o for o in first_error.outputs if o.output_type == "error"]
    assert error.ename == "ModuleNotFoundError"
    assert error.evalue == ("the helper file checks.py is missing next to the notebook: "
                            "keep the notebook in its chapter folder"), failed.value


# What a stuck student sees: a syntax error, an endless loop, a wrong first exercise.
SYNTAX_ERROR_STEP = """
def single_step_gradient_descent(theta, learning_rate):
    gradient = 2 * theta
    return theta - learning_rate * * gradient
"""
ENDLESS_STEP = """
def single_step_gradient_descent(theta, learning_rate):
    while True:
        theta = theta - learning_rate * 2 * theta
"""


def cell_number(nb, grade_id: str) -> int:
    """The cell's place from the top of the notebook, as the check names it."""
    return next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id) + 1


def test_a_syntax_error_is_shown_with_its_line_and_a_caret(tmp_path: Path) -> None:
    aid, name = "ch2_implement", "gradient_descent"
    nb = synthetic.solved(aid, name, single_step_gradient_descent=SYNTAX_ERROR_STEP)
    cell = cell_number(nb, "single_step_gradient_descent")
    result = run_cli(student_copy(tmp_path, aid, nb))
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout.splitlines()
    bad = "    return theta - learning_rate * * gradient"
    assert bad in out, result.stdout  # the offending line, as Python shows it
    caret = out[out.index(bad) + 1]
    assert caret.strip().startswith("^") and caret.index("^") in (bad.index("* *"), bad.index("* gradient")), caret
    assert "SyntaxError: invalid syntax" in out
    assert f"cell {cell} (exercise single_step_gradient_descent), line 3" in result.stdout
    lines = parse(result.stdout)
    assert lines["test_single_step_gradient_descent"].startswith("failed: SyntaxError in cell"), lines
    assert "line 3" in lines["test_single_step_gradient_descent"]
    # the test that only calls it names the cause, not just the NameError
    assert "NameError" in lines["test_gradient_descent"] and "SyntaxError" in lines["test_gradient_descent"]


def test_an_endless_loop_costs_one_timeout(tmp_path: Path) -> None:
    """Stopped once, after one --timeout: the cells after it are reported as not run, not each timed out."""
    aid, name = "ch2_implement", "gradient_descent"
    nb = synthetic.solved(aid, name, single_step_gradient_descent=ENDLESS_STEP)
    exercise = cell_number(nb, "single_step_gradient_descent")
    stopped = cell_number(nb, "test_single_step_gradient_descent")
    path = student_copy(tmp_path, aid, nb)
    started = time.monotonic()
    # each of its six later code cells would wait its own 5 s: the bound is well above one timeout
    result = run_cli(path, "--timeout", "5", timeout=150)
    print(f"checked an endless loop with --timeout 5 in {time.monotonic() - started:.1f} s")
    assert result.returncode == 1, result.stdout + result.stderr
    lines = parse(result.stdout)
    assert lines["test_single_step_gradient_descent"].startswith(
        "failed: the cell ran longer than 5 s and was stopped (an endless loop?)"), lines
    assert lines["test_gradient_descent"].startswith(
        f"not run: cell {stopped} (test_single_step_gradient_descent) ran longer than 5 s and was stopped"), lines
    # where the loop was when it was stopped: its line, either of the loop's two
    assert re.search(rf"It was at cell {exercise} \(exercise single_step_gradient_descent\), line [23], in "
                     r"single_step_gradient_descent:\n    (while True:|theta = theta - learning_rate \* 2 \* theta)\n",
                     result.stdout), result.stdout
    assert re.search(r"The \d+ code cells after it were not run", result.stdout), result.stdout
    # the progress line named the cell it was running
    assert f"running cell {stopped} (test_single_step_gradient_descent)" in result.stderr, result.stderr
    assert f"running cell {cell_number(nb, 'test_gradient_descent')}" not in result.stderr, "a later cell ran"


def test_check_timeout_reaches_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """`check --timeout S` (and `python check.py --timeout S` in the zip) is the run's per-cell limit; the
    course's cell timeout when not given."""
    from autograder import cli
    from autograder.limits import CELL_TIMEOUT, CHECK_CELL_TIMEOUT

    seen: list[int] = []
    monkeypatch.setattr(check, "main", lambda *, notebook, timeout: seen.append(timeout) or 0)
    for run in (lambda *argv: cli.main(["check", *argv]), lambda *argv: check.command_line(list(argv))):
        assert run("nb.ipynb", "--timeout", "7") == 0
        assert run("nb.ipynb") == 0
    assert seen == [7, CHECK_CELL_TIMEOUT] * 2 and CHECK_CELL_TIMEOUT == CELL_TIMEOUT


def test_check_timeout_stops_an_endless_solution_cell_after_that_long(tmp_path: Path) -> None:
    """A solution cell that never ends is stopped after --timeout seconds, long before the default."""
    from autograder.limits import CHECK_CELL_TIMEOUT

    aid, name = "ch1_the_idea", "the_idea"
    nb = synthetic.solved(aid, name, gradient_steps="while True:\n    pass\n")
    endless = f"cell {cell_number(nb, 'gradient_steps')} (exercise gradient_steps)"
    path = student_copy(tmp_path, aid, nb)
    started = time.monotonic()
    result = run_cli(path, "--timeout", "3", timeout=150)
    elapsed = time.monotonic() - started
    print(f"checked an endless solution cell with --timeout 3 in {elapsed:.1f} s")
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{endless} ran longer than 3 s and was stopped (an endless loop?)" in result.stdout, result.stdout
    lines = parse(result.stdout)
    assert lines["test_loss"] == "passed", "the cells above it ran"
    assert lines["test_gradient_steps"].startswith(f"not run: {endless} ran longer than 3 s"), lines
    # at least the given timeout (the cell was let run that long), and nowhere near the default: the
    # kernel's start and the cells above it take a few seconds
    assert 3 <= elapsed < CHECK_CELL_TIMEOUT, f"{elapsed:.1f} s"


def _expected_in(reason: str) -> float:
    found = re.search(r"expected (-?[0-9.]+(?:e-?\d+)?)", reason)
    assert found, reason
    return float(found.group(1))


WRONG_FIRST_AND_SECOND = [
    # (chapter, exercise overrides, test, the right value of the first value the check compares, words)
    ("ch2_implement", {
        "single_step_gradient_descent": "def single_step_gradient_descent(theta, learning_rate):\n"
                                        "    return theta + learning_rate * 2 * theta\n",
        "gradient_descent": "def gradient_descent(initial_theta, learning_rate, number_steps):\n"
                            "    theta = initial_theta\n"
                            "    for _ in range(1, number_steps):\n"
                            "        theta = single_step_gradient_descent(theta, learning_rate)\n"
                            "    return theta\n"},
     "test_gradient_descent", (1 - 2 * 0.2) ** 20, "number_steps - 1"),
    ("ch1_the_idea", {
        "loss_and_grad": "def loss(w):\n    return (w - 3) ** 2\n\ndef grad(w):\n    return w - 3\n",
        "gradient_steps": "def gradient_steps(w, eta, number_steps):\n"
                          "    weights = []\n"
                          "    for _ in range(number_steps):\n"
                          "        weights.append(w)\n"
                          "        w = w - eta * grad(w)\n"
                          "    return weights\n"},
     "test_gradient_steps", 0.0 - 0.1 * 2 * (0.0 - 3), "before the step"),
]


@pytest.mark.parametrize("aid, overrides, test, right, words", WRONG_FIRST_AND_SECOND,
                         ids=[case[0] for case in WRONG_FIRST_AND_SECOND])
def test_expected_values_never_come_from_the_students_own_code(tmp_path: Path, aid: str, overrides: dict,
                                                               test: str, right: float, words: str) -> None:
    """With the first exercise wrong too, the second's check still expects the right value."""
    (name,) = notebooks(aid)
    status, lines = check.check(student_copy(tmp_path, aid, synthetic.solved(aid, name, **overrides)), timeout=60)
    line = {each.grade_id: each for each in lines}[test]
    assert status == 1 and line.status == "failed", str(line)
    assert math.isclose(_expected_in(line.reason), right, rel_tol=1e-9), str(line)
    assert words in line.reason, str(line)

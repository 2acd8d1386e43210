"""`python -m autograder check NOTEBOOK`: run a student notebook and say, per exercise, how it went.

The notebook runs in a fresh kernel inside a temporary copy of its folder, so nothing of the
student's changes. One line per graded cell, in notebook order:

    test_loss (1 point): passed
    test_grad (1 point): failed: grad(0.0) returned -3.0, expected -6.0: the factor 2 is missing
    test_gradient_steps (2 points): not attempted
    what_do_you_notice (2 points): written answer: to be graded by hand

Exit status: 0 when every autograded test passes, 1 otherwise, 2 when the file is not a notebook
that can be checked.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader import utils as nbgrader_utils

from autograder.limits import CHECK_CELL_TIMEOUT

STUB_TEXT = "YOUR ANSWER HERE"
NOT_ATTEMPTED_MARK = "not attempted yet"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class NotCheckable(Exception):
    """The file cannot be checked; the message is one line for the student."""


@dataclass
class Line:
    grade_id: str
    points: float
    status: str            # "passed", "failed", "not attempted", "written answer", "not answered"
    reason: str = ""

    @property
    def autograded(self) -> bool:
        return self.status in ("passed", "failed", "not attempted")

    def __str__(self) -> str:
        pts = f"{self.points:g} point{'' if self.points == 1 else 's'}"
        text = {"written answer": "written answer: to be graded by hand"}.get(self.status, self.status)
        if self.reason:
            text += f": {self.reason}"
        return f"{self.grade_id} ({pts}): {text}"


def _grading(cell: nbformat.NotebookNode) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def is_test(cell: nbformat.NotebookNode) -> bool:
    return cell.cell_type == "code" and bool(nbgrader_utils.is_grade(cell)) and not nbgrader_utils.is_solution(cell)


def is_written(cell: nbformat.NotebookNode) -> bool:
    return cell.cell_type == "markdown" and bool(nbgrader_utils.is_grade(cell) or nbgrader_utils.is_task(cell))


def is_solution(cell: nbformat.NotebookNode) -> bool:
    return cell.cell_type == "code" and bool(nbgrader_utils.is_solution(cell))


def load(path: Path) -> nbformat.NotebookNode:
    if not path.is_file():
        raise NotCheckable(f"{path}: no such file")
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as exc:  # not JSON, not a notebook, unknown format version
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise NotCheckable(f"{path} is not a readable notebook ({reason})") from None
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as exc:
        raise NotCheckable(f"{path} is a damaged notebook ({exc.message})") from None
    if not any(is_test(c) or is_written(c) for c in nb.cells):
        raise NotCheckable(f"{path} has no graded cells: open the chapter notebook from the course folder")
    return nb


def _error(cell: nbformat.NotebookNode) -> nbformat.NotebookNode | None:
    return next((o for o in cell.get("outputs", []) if o.get("output_type") == "error"), None)


def _one_line(text: str) -> str:
    lines = [l.strip() for l in ANSI.sub("", text).strip().splitlines() if l.strip()]
    return " ".join(lines)


def reason_of(error: nbformat.NotebookNode) -> str:
    """The last line of the error, as the student would read it."""
    ename, evalue = error.get("ename", "Error"), _one_line(error.get("evalue", ""))
    if ename == "CheckFailed":
        return evalue
    if ename == "KeyboardInterrupt":
        return "the cell ran too long and was stopped (an endless loop?)"
    if ename == "AssertionError" and not evalue:
        traceback = [_one_line(l) for l in error.get("traceback", []) if _one_line(l)]
        return traceback[-1] if traceback else "AssertionError"
    return f"{ename}: {evalue}" if evalue else ename


def _not_attempted(error: nbformat.NotebookNode) -> bool:
    return error.get("ename") == "NotImplementedError" or NOT_ATTEMPTED_MARK in error.get("evalue", "")


def judge(nb: nbformat.NotebookNode) -> list[Line]:
    """One line per graded cell of an executed notebook."""
    lines: list[Line] = []
    exercise: list[nbformat.NotebookNode] = []   # the solution cells the next tests belong to
    after_test = False
    for cell in nb.cells:
        meta = _grading(cell)
        points = float(meta.get("points", 0) or 0)
        if is_solution(cell):
            if after_test:
                exercise, after_test = [], False
            exercise.append(cell)
        elif is_test(cell):
            after_test = True
            error = _error(cell)
            stubbed = any((e := _error(c)) is not None and e.get("ename") == "NotImplementedError"
                          for c in exercise)
            if error is None:
                lines.append(Line(meta["grade_id"], points, "passed"))
            elif _not_attempted(error) or stubbed:
                lines.append(Line(meta["grade_id"], points, "not attempted"))
            else:
                lines.append(Line(meta["grade_id"], points, "failed", reason_of(error)))
        elif is_written(cell):
            answered = cell.source.strip() not in ("", STUB_TEXT)
            lines.append(Line(meta.get("grade_id", "answer"), points,
                              "written answer" if answered else "not answered"))
    return lines


def execute(nb: nbformat.NotebookNode, folder: Path, timeout: int) -> nbformat.NotebookNode:
    """Run every cell (errors do not stop the run) in a temporary copy of `folder`."""
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    from autograder.kernel_client import use_prompt_client

    with tempfile.TemporaryDirectory(prefix="gd-check-") as tmp:
        workdir = Path(tmp) / folder.name
        shutil.copytree(folder, workdir, ignore=shutil.ignore_patterns(
            ".ipynb_checkpoints", "__pycache__", "*.ipynb"))
        client = NotebookClient(nb, timeout=timeout, interrupt_on_timeout=True, allow_errors=True,
                                kernel_name="python3", record_timing=False, config=use_prompt_client(),
                                resources={"metadata": {"path": str(workdir)}})
        try:
            client.execute(stderr=subprocess.DEVNULL)  # kernel start-up chatter is not the student's
        except DeadKernelError:
            raise NotCheckable("the kernel died while running the notebook (out of memory?)") from None
    return nb


HELPER_IMPORT = re.compile(r"^\s*(?:from\s+(\w+)\s+import|import\s+(\w+))", re.M)


def missing_helpers(nb: nbformat.NotebookNode, folder: Path) -> list[str]:
    """The chapter's helper files (checks.py, figures.py, course_kit.py) the notebook imports but
    that are not next to it (a notebook moved away from its folder)."""
    from autograder.paths import STUDENT_KIT_DIR

    helpers = {"checks", "figures", *(p.stem for p in STUDENT_KIT_DIR.glob("*.py"))}
    wanted = {a or b for c in nb.cells if c.cell_type == "code" for a, b in HELPER_IMPORT.findall(c.source)}
    return sorted(f"{name}.py" for name in wanted & helpers if not (folder / f"{name}.py").is_file())


def check(path: Path, timeout: int = CHECK_CELL_TIMEOUT) -> tuple[int, list[Line]]:
    nb = load(path)
    missing = missing_helpers(nb, path.resolve().parent)
    if missing:
        raise NotCheckable(f"the helper file{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                           f"{'are' if len(missing) > 1 else 'is'} missing next to the notebook: keep the "
                           "notebook in its chapter folder, with checks.py, figures.py and course_kit.py")
    lines = judge(execute(nb, path.resolve().parent, timeout))
    auto = [l for l in lines if l.autograded]
    return (0 if all(l.status == "passed" for l in auto) else 1), lines


def main(*, notebook: Path, timeout: int = CHECK_CELL_TIMEOUT) -> int:
    try:
        status, lines = check(notebook, timeout)
    except NotCheckable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for line in lines:
        print(line)
    auto = [l for l in lines if l.autograded]
    got = sum(l.points for l in auto if l.status == "passed")
    total = sum(l.points for l in auto)
    written = sum(1 for l in lines if not l.autograded)
    summary = f"{sum(l.status == 'passed' for l in auto)} of {len(auto)} autograded tests passed ({got:g} of {total:g} points)"
    if written:
        summary += f"; {written} written answer{'s' if written > 1 else ''} graded by hand"
    print(summary)
    return status

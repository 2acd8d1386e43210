"""`python -m autograder check NOTEBOOK`: run a student notebook and say, per exercise, how it went.

The notebook runs in a fresh kernel inside a temporary copy of its folder, so nothing of the
student's changes. While it runs, one progress line (on stderr) names the cell that is running.
Then one line per graded cell, in notebook order:

    test_loss (1 point): passed
    test_grad (1 point): failed: grad(0.0) returned -3.0, expected -6.0: the factor 2 is missing
    test_gradient_steps (2 points): not attempted
    what_do_you_notice (2 points): written answer: to be graded by hand

A cell with a syntax error is shown above those lines as Python shows it (its line, a caret under
the column). A cell that runs longer than the timeout (an endless loop?) is stopped once: the
cells after it are not run, and their tests say so, instead of each waiting its own timeout.

Exit status: 0 when every autograded test passes, 1 otherwise, 2 when the file is not a notebook
that can be checked.

The student zip (`python -m autograder bundle`) holds this file as check.py, next to copies of
notebook_run.py (how the notebook runs) and kernel_client.py: `python check.py
course/<chapter>/<notebook>.ipynb` runs it there, without the autograder package.
"""
from __future__ import annotations

import argparse
import re
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat

try:
    from autograder.course.notebook_run import (
        NotCheckable,
        Progress,
        Run,
        describe,
        execute,
        grading,
        is_solution,
        is_test,
        is_written,
    )
    from autograder.limits import CHECK_CELL_TIMEOUT
except ModuleNotFoundError as missing:  # the student zip: check.py, notebook_run.py, kernel_client.py side by side
    if not (missing.name or "").startswith("autograder"):
        raise
    from notebook_run import NotCheckable, Progress, Run, describe, execute, grading, is_solution, is_test, is_written  # type: ignore[no-redef]

    CHECK_CELL_TIMEOUT = int("<CHECK_TIMEOUT>")  # autograder/limits.py's, written in by bundle.py

STUB_TEXT = "YOUR ANSWER HERE"
NOT_ATTEMPTED_MARK = "not attempted yet"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
SYNTAX_ERRORS = ("SyntaxError", "IndentationError", "TabError")
CHAPTER_MODULES = ("checks", "figures", "course_kit")   # the .py files next to every chapter notebook


@dataclass
class Line:
    grade_id: str
    points: float
    status: str            # "passed", "failed", "not attempted", "not run", "written answer", "not answered"
    reason: str = ""

    @property
    def autograded(self) -> bool:
        return self.status in ("passed", "failed", "not attempted", "not run")

    def __str__(self) -> str:
        pts = f"{self.points:g} point{'' if self.points == 1 else 's'}"
        text = {"written answer": "written answer: to be graded by hand"}.get(self.status, self.status)
        if self.reason:
            text += f": {self.reason}"
        return f"{self.grade_id} ({pts}): {text}"


def load(path: Path) -> nbformat.NotebookNode:
    if not path.is_file():
        raise NotCheckable(f"{path}: no such file")
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as exc:  # noqa: BLE001 - not JSON, not a notebook, unknown format version
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
    lines = [line.strip() for line in ANSI.sub("", text).strip().splitlines() if line.strip()]
    return " ".join(lines)


def reason_of(error: nbformat.NotebookNode) -> str:
    """The last line of the error, as the student would read it."""
    ename, evalue = error.get("ename", "Error"), _one_line(error.get("evalue", ""))
    if ename == "CheckFailed":
        return evalue
    if ename == "KeyboardInterrupt":
        return "the cell ran too long and was stopped (an endless loop?)"
    if ename == "AssertionError" and not evalue:
        shown = [_one_line(line) for line in error.get("traceback", []) if _one_line(line)]
        return shown[-1] if shown else "AssertionError"
    return f"{ename}: {evalue}" if evalue else ename


def _not_attempted(error: nbformat.NotebookNode) -> bool:
    return error.get("ename") == "NotImplementedError" or NOT_ATTEMPTED_MARK in error.get("evalue", "")


def syntax_error(cell: nbformat.NotebookNode) -> tuple[int | None, list[str]] | None:
    """(line number, the error as Python shows it: the line, a caret under the column, the message) of a
    cell the kernel refused with a syntax error; None for a cell that ran."""
    error = _error(cell)
    if error is None or error.get("ename") not in SYNTAX_ERRORS:
        return None
    source = cell.source
    try:  # as the kernel compiles it: IPython turns `%magic` and `!command` lines into calls first
        from IPython.core.inputtransformer2 import TransformerManager

        source = TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 - compiled as written, then
        pass
    try:
        compile(source, "<cell>", "exec")
    except SyntaxError as exc:
        shown = "".join(traceback.format_exception_only(exc)).rstrip("\n").splitlines()
        return exc.lineno, [line for line in shown if not line.lstrip().startswith('File "<cell>"')]
    # not reproduced here (another Python?): the kernel's own words
    shown = [ANSI.sub("", line) for line in "\n".join(error.get("traceback", [])).splitlines()]
    header = next((line for line in shown if re.search(r"\bline \d+", line)), "")
    lineno = re.search(r"\bline (\d+)", header)
    return (int(lineno.group(1)) if lineno else None), [line for line in shown if line.strip() and line != header]


def _defines(cell: nbformat.NotebookNode, name: str) -> bool:
    return bool(re.search(rf"\b{re.escape(name)}\b", cell.source))


def where_stopped(nb: nbformat.NotebookNode, run: Run) -> str:
    """Where the stopped cell was when it was stopped: the last line of a notebook cell in its traceback."""
    error = _error(nb.cells[run.stopped]) if run.stopped is not None else None
    if error is None or error.get("ename") != "KeyboardInterrupt":
        return ""
    frames = [ANSI.sub("", block).splitlines() for block in error.get("traceback", [])]
    found = ""
    for frame in frames:
        head = re.match(r"\s*Cell In\[(\d+)\], line (\d+)(?:, in (\w+))?", frame[0]) if frame else None
        if head and int(head.group(1)) in run.counts:
            code = next((re.sub(r"^\s*\d+\s", "", line.split("---->", 1)[1]).strip()
                         for line in frame if "---->" in line), "")
            function = f", in {head.group(3)}" if head.group(3) else ""
            found = (f"{describe(nb, run.counts[int(head.group(1))])}, line {head.group(2)}{function}"
                     + (f":\n    {code}" if code else ""))
    return found


def judge(nb: nbformat.NotebookNode, run: Run | None = None) -> list[Line]:
    """One line per graded cell of an executed notebook."""
    lines: list[Line] = []
    exercise: list[int] = []   # the solution cells the next tests belong to
    after_test = False
    broken: dict[int, int | None] = {}   # cells refused with a syntax error -> the line
    for index, cell in enumerate(nb.cells):
        meta = grading(cell)
        points = float(meta.get("points", 0) or 0)
        shown = syntax_error(cell) if cell.cell_type == "code" else None
        if shown is not None:
            broken[index] = shown[0]
        if is_solution(cell):
            if after_test:
                exercise, after_test = [], False
            exercise.append(index)
        elif is_test(cell):
            after_test = True
            lines.append(Line(meta["grade_id"], points, *_test_status(nb, index, exercise, broken, run)))
        elif is_written(cell):
            answered = cell.source.strip() not in ("", STUB_TEXT)
            lines.append(Line(meta.get("grade_id", "answer"), points,
                              "written answer" if answered else "not answered"))
    return lines


def _at(line: int | None) -> str:
    return f", line {line}" if line else ""


def _test_status(nb: nbformat.NotebookNode, index: int, exercise: list[int], broken: dict[int, int | None],
                 run: Run | None) -> tuple[str, str]:
    if run is not None and run.stopped is not None:
        if index == run.stopped:
            return "failed", f"the cell ran longer than {run.timeout} s and was stopped (an endless loop?): see above"
        if index > run.stopped:
            return "not run", (f"{describe(nb, run.stopped)} ran longer than {run.timeout} s and was stopped, "
                               "so the cells after it were not run")
    own = [i for i in exercise if i in broken]
    if own:
        return "failed", f"SyntaxError in {describe(nb, own[0])}{_at(broken[own[0]])} (shown above)"
    error = _error(nb.cells[index])
    stubbed = any((e := _error(nb.cells[i])) is not None and e.get("ename") == "NotImplementedError"
                  for i in exercise)
    if error is None:
        return "passed", ""
    if _not_attempted(error) or stubbed:
        return "not attempted", ""
    missing = re.search(r"name '(\w+)' is not defined", error.get("evalue", ""))
    earlier = [i for i in broken if i < index]
    if error.get("ename") == "NameError" and missing and earlier:
        cause = next((i for i in reversed(earlier) if _defines(nb.cells[i], missing.group(1))), earlier[-1])
        return "failed", (f"{reason_of(error)}: {describe(nb, cause)} did not run, it has a SyntaxError"
                          f"{_at(broken[cause])} (shown above)")
    return "failed", reason_of(error)


def notes(nb: nbformat.NotebookNode, run: Run | None = None) -> list[str]:
    """What is shown above the lines: each syntax error as Python shows it, and the cell that was stopped."""
    out: list[str] = []
    for index, cell in enumerate(nb.cells):
        shown = syntax_error(cell) if cell.cell_type == "code" else None
        if shown is not None:
            line, text = shown
            out.append(f"{describe(nb, index)}{_at(line)}: this cell did not run\n" + "\n".join(text))
    if run is not None and run.stopped is not None:
        where = where_stopped(nb, run)
        later = sum(1 for c in nb.cells[run.stopped + 1:] if c.cell_type == "code" and c.source.strip())
        out.append(f"{describe(nb, run.stopped)} ran longer than {run.timeout} s and was stopped (an endless loop?)."
                   + (f"\nIt was at {where}" if where else "")
                   + (f"\nThe {later} code cell{'s' if later != 1 else ''} after it were not run." if later else ""))
    return out


HELPER_IMPORT = re.compile(r"^\s*(?:from\s+(\w+)\s+import|import\s+(\w+))", re.M)


def missing_helpers(nb: nbformat.NotebookNode, folder: Path) -> list[str]:
    """The chapter's helper files (checks.py, figures.py, course_kit.py) the notebook imports but
    that are not next to it (a notebook moved away from its folder)."""
    helpers = set(CHAPTER_MODULES)
    try:
        from autograder.paths import STUDENT_KIT_DIR
    except ModuleNotFoundError:  # the student zip
        pass
    else:
        helpers |= {p.stem for p in STUDENT_KIT_DIR.glob("*.py")}
    wanted = {a or b for c in nb.cells if c.cell_type == "code" for a, b in HELPER_IMPORT.findall(c.source)}
    return sorted(f"{name}.py" for name in wanted & helpers if not (folder / f"{name}.py").is_file())


def report(path: Path, timeout: int = CHECK_CELL_TIMEOUT,
           progress: Callable[[str], None] | None = None) -> tuple[int, list[Line], list[str]]:
    """(exit status, one line per graded cell, the notes shown above them)."""
    nb = load(path)
    missing = missing_helpers(nb, path.resolve().parent)
    if missing:
        raise NotCheckable(f"the helper file{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                           f"{'are' if len(missing) > 1 else 'is'} missing next to the notebook: keep the "
                           "notebook in its chapter folder, with checks.py, figures.py and course_kit.py")
    run = execute(nb, path.resolve().parent, timeout, progress)
    lines = judge(nb, run)
    auto = [each for each in lines if each.autograded]
    return (0 if all(each.status == "passed" for each in auto) else 1), lines, notes(nb, run)


def check(path: Path, timeout: int = CHECK_CELL_TIMEOUT) -> tuple[int, list[Line]]:
    status, lines, _ = report(path, timeout)
    return status, lines


def main(*, notebook: Path, timeout: int = CHECK_CELL_TIMEOUT) -> int:
    progress = Progress()
    try:
        status, lines, shown = report(notebook, timeout, progress)
    except NotCheckable as exc:
        progress.done()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    progress.done()
    for note in shown:
        print(note + "\n")
    for line in lines:
        print(line)
    auto = [each for each in lines if each.autograded]
    got = sum(each.points for each in auto if each.status == "passed")
    total = sum(each.points for each in auto)
    written = sum(1 for each in lines if not each.autograded)
    summary = (f"{sum(each.status == 'passed' for each in auto)} of {len(auto)} autograded tests passed "
               f"({got:g} of {total:g} points)")
    if written:
        summary += f"; {written} written answer{'s' if written > 1 else ''} graded by hand"
    print(summary)
    return status


def command_line(argv: list[str] | None = None) -> int:
    """`python check.py NOTEBOOK [--timeout SECONDS]` in the student zip."""
    parser = argparse.ArgumentParser(prog="check.py", description="check a chapter notebook: one line per exercise")
    parser.add_argument("notebook", type=Path, help="the chapter notebook to check (.ipynb)")
    parser.add_argument("--timeout", type=int, default=CHECK_CELL_TIMEOUT, metavar="SECONDS",
                        help="stop a cell that runs longer than this (default: %(default)s)")
    args = parser.parse_args(argv)
    return main(notebook=args.notebook, timeout=args.timeout)


if __name__ == "__main__":
    sys.exit(command_line())

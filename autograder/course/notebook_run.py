"""How `check` runs a student notebook: cell by cell in a fresh kernel, in a temporary copy of its folder,
a progress line while it runs, and a cell that runs past the timeout stopped once (nothing after it runs).

In the student zip this file sits beside check.py and kernel_client.py (autograder/course/bundle.py).
"""
from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader import utils as nbgrader_utils

try:
    from autograder.kernel_client import use_prompt_client
except ModuleNotFoundError as missing:  # the student zip
    if not (missing.name or "").startswith("autograder"):
        raise
    from kernel_client import use_prompt_client  # type: ignore[no-redef]

IOPUB_GRACE = 3      # seconds a stopped cell gets to report where it was


class NotCheckable(Exception):
    """The file cannot be checked; the message is one line for the student."""


@dataclass
class Run:
    """How the run of a notebook went, beyond the cells' own outputs."""
    timeout: int
    stopped: int | None = None                   # the cell stopped after `timeout` seconds; later ones did not run
    counts: dict[int, int] = field(default_factory=dict)  # the kernel's execution count -> cell index


def grading(cell: nbformat.NotebookNode) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def is_test(cell: nbformat.NotebookNode) -> bool:
    return cell.cell_type == "code" and bool(nbgrader_utils.is_grade(cell)) and not nbgrader_utils.is_solution(cell)


def is_written(cell: nbformat.NotebookNode) -> bool:
    return cell.cell_type == "markdown" and bool(nbgrader_utils.is_grade(cell) or nbgrader_utils.is_task(cell))


def is_solution(cell: nbformat.NotebookNode) -> bool:
    return cell.cell_type == "code" and bool(nbgrader_utils.is_solution(cell))


def describe(nb: nbformat.NotebookNode, index: int) -> str:
    """A cell as the student finds it: its place from the top, and its exercise or first line."""
    cell = nb.cells[index]
    grade_id = grading(cell).get("grade_id")
    if is_solution(cell) and grade_id:
        return f"cell {index + 1} (exercise {grade_id})"
    if is_test(cell) and grade_id:
        return f"cell {index + 1} ({grade_id})"
    first = next((line.strip() for line in cell.source.splitlines() if line.strip()), "")
    return f"cell {index + 1} (`{first if len(first) <= 40 else first[:37] + '...'}`)"


class Progress:
    """One line on a terminal, rewritten in place; elsewhere (a log, a pipe), one line per step."""

    def __init__(self, stream=None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty()
        self.shown = False

    def __call__(self, text: str) -> None:
        if self.tty:
            self.stream.write(f"\r\x1b[K{text}")
            self.shown = True
        else:
            self.stream.write(f"{text}\n")
        self.stream.flush()

    def done(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.shown = False


def _quiet_log() -> logging.Logger:
    log = logging.getLogger("gd-check")   # nbclient's own warnings are not the student's
    log.addHandler(logging.NullHandler())
    log.propagate = False
    return log


def execute(nb: nbformat.NotebookNode, folder: Path, timeout: int,
            progress: Callable[[str], None] | None = None) -> Run:
    """Run the cells in order (errors do not stop the run) in a temporary copy of `folder`; a cell that
    runs longer than `timeout` seconds is stopped and no cell after it runs."""
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError
    from nbclient.util import ensure_async

    run = Run(timeout)

    class StopOnTimeout(NotebookClient):
        async def _async_handle_timeout(self, timeout: int, cell: nbformat.NotebookNode | None = None) -> dict:
            # interrupted, the cell reports where it was (KeyboardInterrupt) within IOPUB_GRACE seconds
            self.timed_out = True
            await ensure_async(self.km.interrupt_kernel())
            return {"content": {"status": "error", "ename": "TimeoutError", "evalue": "", "traceback": []}}

    say = progress or (lambda text: None)
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.source.strip()]
    for cell in nb.cells:
        if cell.cell_type == "code":  # what the student's own runs left is not this run's
            cell.outputs, cell.execution_count = [], None
    with tempfile.TemporaryDirectory(prefix="gd-check-") as tmp:
        workdir = Path(tmp) / folder.name
        shutil.copytree(folder, workdir, ignore=shutil.ignore_patterns(
            ".ipynb_checkpoints", "__pycache__", "*.ipynb"))
        client = StopOnTimeout(nb, timeout=timeout, allow_errors=True, iopub_timeout=IOPUB_GRACE,
                               kernel_name="python3", record_timing=False, config=use_prompt_client(),
                               log=_quiet_log(), resources={"metadata": {"path": str(workdir)}})
        client.timed_out = False
        index = None
        try:
            say("starting Python for the notebook...")
            with client.setup_kernel(stderr=subprocess.DEVNULL):  # kernel start-up chatter is not the student's
                for count, index in enumerate(code, start=1):
                    say(f"running {describe(nb, index)}, {count} of {len(code)} code cells...")
                    run.counts[count] = index
                    client.execute_cell(nb.cells[index], index, execution_count=count)
                    if client.timed_out:
                        run.stopped = index
                        client.shutdown_kernel = "immediate"  # no cell after it runs
                        break
        except DeadKernelError:
            where = f" ({describe(nb, index)})" if index is not None else ""
            raise NotCheckable(f"the kernel died while running the notebook{where} (out of memory?)") from None
    return run

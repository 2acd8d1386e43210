"""nbgrader's autograde, as the grader runs it: nbgrader's own preprocessors, two of them adjusted.

`autograde_api` gives an NbGraderAPI on one submission's work folder with nbgrader's sanitize and
autograde passes, DeduplicateIds fixed and the kernel shut down in the background; the rest reads
what nbgrader left (cells stopped at the time limit, why a run failed).
"""
from __future__ import annotations

import functools
import re
import time
from pathlib import Path

from autograder.limits import MAX_CELL_OUTPUT_CHARS
from autograder.status import AUTOGRADE_FAILED, KERNEL_DIED, TIMED_OUT


@functools.cache
def _deduplicate_ids_class():
    from nbgrader.preprocessors import DeduplicateIds

    class DeduplicateIdsDroppingMetadata(DeduplicateIds):
        """nbgrader's DeduplicateIds, but a duplicate loses its nbgrader metadata altogether.

        nbgrader 0.9 leaves `metadata.nbgrader = {}` on the duplicate, and OverwriteCells (with
        add_missing_cells) then fails on the missing grade_id: a student who copied a cell would
        not be graded at all.
        """

        def preprocess_cell(self, cell, resources, cell_index):
            cell, resources = super().preprocess_cell(cell, resources, cell_index)
            if cell.metadata.get("nbgrader", None) == {}:
                del cell.metadata["nbgrader"]
            return cell, resources

    return DeduplicateIdsDroppingMetadata


_SHUTTING_DOWN: list = []  # threads that finish the graceful shutdown of used kernels


def finish_kernel_shutdowns(timeout: float = 10) -> None:
    """Wait for the kernels still shutting down (before the worker exits)."""
    deadline = time.monotonic() + timeout
    for thread in list(_SHUTTING_DOWN):
        thread.join(max(0.0, deadline - time.monotonic()))


@functools.cache
def _execute_class():
    import asyncio
    import threading

    import nbformat
    from jupyter_core.utils import ensure_async, run_sync
    from nbgrader.preprocessors import Execute

    class ExecuteShutdownInBackground(Execute):
        """nbgrader's Execute, with two changes.

        Once the last cell has run, the kernel's ordinary graceful shutdown (interrupt, shutdown
        request, wait for it to exit, kill if it does not) goes on in a background thread instead
        of holding up the feedback and the next submission. Every submission still gets a fresh
        kernel, and every kernel gets the same shutdown.

        A cell's output is kept up to MAX_CELL_OUTPUT characters while it runs (LimitOutput trims
        further afterwards): a kernel that floods its output cannot fill the grader's memory.
        """

        MAX_CELL_OUTPUT = MAX_CELL_OUTPUT_CHARS

        def preprocess(self, *args, **kwargs):
            self._output_used: dict[int, int] = {}
            return super().preprocess(*args, **kwargs)

        def output(self, outs, msg, display_id, cell_index):
            content = msg.get("content") or {}
            size = len(str(content.get("text", ""))) + sum(len(str(v)) for v in (content.get("data") or {}).values())
            used = getattr(self, "_output_used", {})
            before = used.get(cell_index, 0)
            used[cell_index] = before + size
            if before + size <= self.MAX_CELL_OUTPUT:
                return super().output(outs, msg, display_id, cell_index)
            if before <= self.MAX_CELL_OUTPUT:
                outs.append(nbformat.v4.new_output(
                    "stream", name="stderr",
                    text=f"\n[the grader kept the first {self.MAX_CELL_OUTPUT} characters of this cell's output]\n"))
            return None

        async def _async_cleanup_kernel(self) -> None:
            km, kc = self.km, getattr(self, "kc", None)
            if km is None or self.shutdown_kernel == "immediate":
                return await Execute._async_cleanup_kernel(self)
            if kc is not None:
                kc.stop_channels()  # this client is done; the manager alone talks to the kernel now
            self.kc = None
            self.km = None

            def shut_down() -> None:
                async def graceful() -> None:
                    try:
                        await ensure_async(km.shutdown_kernel(now=False))
                    except Exception:  # noqa: BLE001 - already dead, or never started
                        await ensure_async(km.cleanup_resources())

                try:
                    asyncio.run(graceful())
                except Exception:  # noqa: BLE001 - nothing left to clean
                    pass

            thread = threading.Thread(target=shut_down, name="kernel-shutdown", daemon=True)
            _SHUTTING_DOWN[:] = [t for t in _SHUTTING_DOWN if t.is_alive()] + [thread]
            thread.start()

        _cleanup_kernel = run_sync(_async_cleanup_kernel)

    return ExecuteShutdownInBackground


def autograde_api(work: Path, cell_timeout: int, sandboxed: bool = False, zygote: bool = False):
    """nbgrader's API on one submission's folder; `sandboxed`: the kernel in the sandbox, `zygote`:
    forked from the worker's warm kernel sandbox (sandbox/kernel_zygote.py) instead of started afresh."""
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.preprocessors import (
        AssignLatePenalties,
        CheckCellMetadata,
        ClearOutput,
        IgnorePattern,
        LimitOutput,
        OverwriteCells,
        OverwriteKernelspec,
        SaveAutoGrades,
    )

    from autograder.course.coursedir import nbgrader_config
    from autograder.grading.feedback_page import FeedbackExporter
    from autograder.grading.gradebook_statements import worker_gradebook_url
    from autograder.grading.student_html import SanitizeStudentHTML
    from autograder.kernel_client import use_prompt_client

    config = nbgrader_config(work, worker_gradebook_url(work / "gradebook.db"))
    # nbgrader's own sanitize pass (Autograde.sanitize_preprocessors), with DeduplicateIds fixed
    config.Autograde.sanitize_preprocessors = [ClearOutput, _deduplicate_ids_class(), OverwriteKernelspec,
                                               OverwriteCells, CheckCellMetadata]
    # and its autograde pass (Autograde.autograde_preprocessors), the kernel shut down in the background
    # and the student's HTML made safe before the autograded copy is written (formgrader shows it)
    config.Autograde.autograde_preprocessors = [_execute_class(), IgnorePattern, ClearMetadataPreprocessor,
                                                LimitOutput, SanitizeStudentHTML, SaveAutoGrades,
                                                AssignLatePenalties, CheckCellMetadata]
    config.Execute.timeout = int(cell_timeout)
    if sandboxed:
        from autograder.sandbox.kernel import SandboxedKernelManager

        config.Execute.kernel_manager_class = SandboxedKernelManager
        if zygote:
            from autograder.sandbox.kernel_zygote import ZygoteKernelManager

            config.Execute.kernel_manager_class = ZygoteKernelManager
        config.SandboxedKernelManager.cell_timeout = int(cell_timeout)
    use_prompt_client(config)   # no message left unread until the cell's timeout
    config.GenerateFeedback.exporter_class = FeedbackExporter   # its templates compiled once per worker
    # A kernel that died once dies again: report it instead of running the notebook twice.
    config.Execute.execute_retries = 0
    return NbGraderAPI(CourseDirectory(config=config), config=config)


def timed_out_cells(path: Path) -> list[str]:
    """Cells that nbgrader stopped at the time limit (interrupted, or no reply before the timeout)."""
    import nbformat

    return _timed_out_cells_of(nbformat.read(path, as_version=4))


def _timed_out_cells_of(nb) -> list[str]:
    stopped = []
    for index, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error" and out.get("ename") in ("CellTimeoutError", "KeyboardInterrupt"):
                grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
                stopped.append(grade_id or f"cell {index + 1}")
                break
    return stopped


def failure(log: str) -> tuple[str, str]:
    text = log or ""
    if "DeadKernelError" in text or "Kernel died" in text or "kernel died" in text:
        return KERNEL_DIED, "the kernel died while running the notebook (e.g. os._exit or a crash)"
    if "CellTimeoutError" in text or "Timeout waiting for" in text:
        return TIMED_OUT, "a cell did not finish before the time limit and could not be stopped"
    causes = [line.strip() for line in text.splitlines()
              if re.match(r"\s*[\w.]+(Error|Exception)\b", line) and "NbGraderException" not in line]
    return AUTOGRADE_FAILED, ("nbgrader autograde failed: " + causes[-1])[:300] if causes else \
        "nbgrader autograde failed (see the log)"

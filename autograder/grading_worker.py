"""Grading one submission: nbgrader autograde + feedback in a throwaway course directory.

`grade_submission` is the whole per-submission step. It touches nothing but its own work folder
(a copy of the pristine gradebook, the submitted notebooks, nbgrader's autograded/ and feedback/
output) and returns everything the batch needs as plain data. It runs in a worker process
(`python -m autograder.grading_worker`, see `grading_pool`) that has imported nbgrader once.
Where the machine can sandbox, the student's code runs only in sandboxes: the notebook's kernel
(`sandboxed_kernel`) and the trusted verdict's children (`verdict_server`, one warm server per worker).

Worker protocol: one JSON job per line on stdin, one JSON outcome per line on stdout.
"""
from __future__ import annotations

import functools
import json
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

# Statuses of one graded submission (the batch adds its own: missing_notebook, unreadable_notebook...).
OK = "ok"
KERNEL_DIED = "kernel_died"
TIMED_OUT = "timed_out"
AUTOGRADE_FAILED = "autograde_failed"


@dataclass
class Job:
    student_id: str
    assignment_id: str
    notebooks: dict[str, str]     # notebook name (no .ipynb) -> path of the submitted file
    template: str                 # folder holding source/ and the pristine gradebook.db
    workdir: str                  # throwaway folder for this submission (created here)
    cell_timeout: int | None = None
    feedback: bool = True
    seed: int | None = None       # the trusted verdict's random inputs (logged, so a grade can be reproduced)


@dataclass
class NotebookResult:
    name: str
    grades: list[dict] = field(default_factory=list)    # grade_id, auto_score, max_score, cell_type
    comments: list[dict] = field(default_factory=list)  # comment_id, auto_comment
    timed_out_cells: list[str] = field(default_factory=list)


@dataclass
class Outcome:
    student_id: str
    assignment_id: str
    status: str
    reason: str = ""
    notebooks: list[NotebookResult] = field(default_factory=list)
    autograded_dir: str = ""      # workdir/autograded/<student>/<assignment>
    feedback_dir: str = ""        # workdir/feedback/<student>/<assignment>
    seconds: float = 0.0
    log_tail: str = ""
    seed: int | None = None
    protections: str = ""         # "sandboxed" (kernel and verdict) or "in-process" (no isolation here)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_dict(cls, data: dict) -> "Outcome":
        data = dict(data)
        data["notebooks"] = [NotebookResult(**nb) for nb in data.get("notebooks", [])]
        return cls(**data)


def prepare_workdir(job: Job) -> Path:
    work = Path(job.workdir)
    work.mkdir(parents=True, exist_ok=True)
    template = Path(job.template)
    source = work / "source"
    if not source.exists():
        source.symlink_to(template / "source", target_is_directory=True)
    shutil.copyfile(template / "gradebook.db", work / "gradebook.db")
    submitted = work / "submitted" / job.student_id / job.assignment_id
    submitted.mkdir(parents=True, exist_ok=True)
    for name, path in job.notebooks.items():
        shutil.copyfile(path, submitted / f"{name}.ipynb")
    return work


@functools.lru_cache(maxsize=None)
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


@functools.lru_cache(maxsize=None)
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

        MAX_CELL_OUTPUT = 4 * 2**20

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


def _api(work: Path, cell_timeout: int | None, sandboxed: bool = False):
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, ClearOutput, IgnorePattern,
                                        LimitOutput, OverwriteCells, OverwriteKernelspec, SaveAutoGrades)

    from .coursedir import nbgrader_config

    config = nbgrader_config(work, f"sqlite:///{work / 'gradebook.db'}")
    # nbgrader's own sanitize pass (Autograde.sanitize_preprocessors), with DeduplicateIds fixed
    config.Autograde.sanitize_preprocessors = [ClearOutput, _deduplicate_ids_class(), OverwriteKernelspec,
                                               OverwriteCells, CheckCellMetadata]
    # and its autograde pass (Autograde.autograde_preprocessors), the kernel shut down in the background
    config.Autograde.autograde_preprocessors = [_execute_class(), IgnorePattern, ClearMetadataPreprocessor,
                                                LimitOutput, SaveAutoGrades, AssignLatePenalties,
                                                CheckCellMetadata]
    if cell_timeout:
        config.Execute.timeout = int(cell_timeout)
    if sandboxed:
        from .sandboxed_kernel import SandboxedKernelManager

        config.Execute.kernel_manager_class = SandboxedKernelManager
        config.SandboxedKernelManager.cell_timeout = int(config.Execute.timeout)
    # A kernel that died once dies again: report it instead of running the notebook twice.
    config.Execute.execute_retries = 0
    return NbGraderAPI(CourseDirectory(config=config), config=config)


def _timed_out_cells(path: Path) -> list[str]:
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


def _failure(log: str) -> tuple[str, str]:
    text = log or ""
    if "DeadKernelError" in text or "Kernel died" in text or "kernel died" in text:
        return KERNEL_DIED, "the kernel died while running the notebook (e.g. os._exit or a crash)"
    if "CellTimeoutError" in text or "Timeout waiting for" in text:
        return TIMED_OUT, "a cell did not finish before the time limit and could not be stopped"
    import re

    causes = [line.strip() for line in text.splitlines()
              if re.match(r"\s*[\w.]+(Error|Exception)\b", line) and "NbGraderException" not in line]
    return AUTOGRADE_FAILED, ("nbgrader autograde failed: " + causes[-1])[:300] if causes else \
        "nbgrader autograde failed (see the log)"


def grade_submission(job: Job) -> Outcome:
    """Grade one submission: isolated (the kernel in the sandbox + the trusted verdict) where this
    machine can sandbox, else nbgrader with a plain kernel, as plain nbgrader does (the batch says so)."""
    from . import sandbox

    if sandbox.mode() != "none":
        return grade_isolated(job)
    outcome = grade_with_nbgrader(job, sandboxed=False)
    outcome.protections = "in-process"
    return outcome


def _source_grade_cells(template: Path, assignment_id: str, notebook: str) -> list[tuple[str, float, str]]:
    """(grade_id, max points, cell type) of the notebook's graded cells, from the instructor's gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{template / 'gradebook.db'}") as gb:
        nb = gb.find_notebook(notebook, assignment_id)
        return [(c.name, float(c.max_score), c.cell_type) for c in nb.grade_cells]


_SERVER: list = []  # this process's warm verdict server (one per worker process)


def verdict_server():
    """The worker's warm verdict server, started on first use (never one inherited through fork)."""
    from .verdict import DEFAULT_LIMITS
    from .verdict_server import VerdictServer

    if not _SERVER or _SERVER[0][0] != os.getpid():
        _SERVER[:] = [(os.getpid(), VerdictServer(DEFAULT_LIMITS))]
    return _SERVER[0][1]


def stop_verdict_server() -> None:
    if _SERVER and _SERVER[0][0] == os.getpid():
        _SERVER[0][1].close()
    _SERVER.clear()


def grade_isolated(job: Job) -> Outcome:
    """nbgrader autograde + feedback with the kernel in the sandbox, then the trusted verdict.

    Scores of autograded test cells come from the trusted verdict; where nbgrader's in-kernel
    tests gave points the verdict does not confirm, the submission is flagged. Points and ids come from the instructor's
    gradebook, never from the submission."""
    import secrets

    from .isolation import FLAGGED, reconcile
    from .verdict import trusted_verdict

    started = time.monotonic()
    template = Path(job.template).resolve()
    seed = job.seed if job.seed is not None else secrets.randbits(48)
    outcome = grade_with_nbgrader(job, sandboxed=True)
    outcome.seed, outcome.protections = seed, "sandboxed"
    nbgrader_finished = outcome.status in (OK, TIMED_OUT)
    by_name = {nb.name: nb for nb in outcome.notebooks}

    flags: list[str] = []
    notes: list[str] = []
    notebooks = []
    for name, path in job.notebooks.items():
        cells = _source_grade_cells(template, job.assignment_id, name)
        max_points = {gid: points for gid, points, _ in cells}
        verdicts = trusted_verdict(path, job.assignment_id, name, seed=seed, jobs=1, runner=verdict_server().run)
        graded = by_name.get(name, NotebookResult(name))
        in_kernel = {g["grade_id"]: g["auto_score"] for g in graded.grades}
        scores, suspicious, lenient = reconcile(in_kernel, verdicts, max_points)
        if nbgrader_finished:
            flags += suspicious
            notes += lenient
        result = NotebookResult(name, comments=graded.comments, timed_out_cells=graded.timed_out_cells)
        for gid, points, cell_type in cells:
            score = scores.get(gid) if cell_type == "code" else None
            result.grades.append({"grade_id": gid, "auto_score": score, "max_score": points,
                                  "cell_type": cell_type})
        notebooks.append(result)
    outcome.notebooks = notebooks

    if not nbgrader_finished:
        outcome.reason += "; scored by the trusted verdict"
    elif outcome.status == OK and flags:
        outcome.status = FLAGGED
        outcome.reason = ("nbgrader's in-kernel tests gave points the trusted verdict does not confirm; "
                          "the trusted verdict is used: " + "; ".join(flags))[:600]
    elif outcome.status == OK and notes:
        outcome.reason = ("note: the trusted verdict judges each exercise on its own and gives points "
                          "nbgrader's in-kernel tests did not (another cell may have broken them): "
                          + "; ".join(notes))[:600]
    outcome.seconds = time.monotonic() - started
    return outcome


def grade_with_nbgrader(job: Job, sandboxed: bool) -> Outcome:
    """nbgrader autograde (sanitize + execute in a fresh kernel) and generate_feedback, for one
    student's one assignment, in `job.workdir`. Never raises for anything the student handed in.
    `sandboxed`: the kernel runs in the sandbox (autograder/sandboxed_kernel.py).

    The used kernel may still be shutting down when this returns: a process that grades and then
    exits calls `finish_kernel_shutdowns()` first (the worker loop does)."""
    from nbgrader.api import Gradebook

    started = time.monotonic()
    work = prepare_workdir(job)
    api = _api(work, job.cell_timeout, sandboxed)
    outcome = Outcome(job.student_id, job.assignment_id, OK)
    result = api.autograde(job.assignment_id, job.student_id, force=True, create=True)
    log = result.get("log", "") or ""
    autograded = work / "autograded" / job.student_id / job.assignment_id
    if not result["success"]:
        outcome.status, outcome.reason = _failure(log + "\n" + str(result.get("error", "")))
        outcome.log_tail = log[-3000:]
        outcome.seconds = time.monotonic() - started
        return outcome

    with Gradebook(f"sqlite:///{work / 'gradebook.db'}") as gb:
        for name in job.notebooks:
            sub = gb.find_submission_notebook(name, job.assignment_id, job.student_id)
            nb_result = NotebookResult(name)
            for grade in sub.grades:
                nb_result.grades.append({"grade_id": grade.name, "auto_score": grade.auto_score,
                                         "max_score": grade.max_score, "cell_type": grade.cell.cell_type})
            for comment in sub.comments:
                nb_result.comments.append({"comment_id": comment.name, "auto_comment": comment.auto_comment})
            if (autograded / f"{name}.ipynb").exists():
                nb_result.timed_out_cells = _timed_out_cells(autograded / f"{name}.ipynb")
            outcome.notebooks.append(nb_result)
    outcome.autograded_dir = str(autograded)
    stopped = [cell for nb in outcome.notebooks for cell in nb.timed_out_cells]
    if stopped:
        outcome.status = TIMED_OUT
        limit = job.cell_timeout or api.config.Execute.timeout
        outcome.reason = f"stopped after {limit} s in {', '.join(stopped)}; the other cells were graded"

    if job.feedback:
        feedback = api.generate_feedback(job.assignment_id, job.student_id, force=True)
        if feedback["success"]:
            outcome.feedback_dir = str(work / "feedback" / job.student_id / job.assignment_id)
        else:
            outcome.log_tail = (feedback.get("log", "") or "")[-3000:]
    outcome.seconds = time.monotonic() - started
    return outcome


def _die_with_parent() -> None:
    """If the batch is killed, its workers go too (Linux)."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() == 1:
            os._exit(1)
    except Exception:  # noqa: BLE001 - best effort, non-Linux systems
        pass


def serve(jobs=None, protocol=None) -> int:
    """Worker loop: one JSON job per line in, one JSON outcome per line out.

    Run as `python -m autograder.grading_worker` it uses stdin and the original stdout (anything
    else printed goes to stderr, the worker's log); a forked worker passes its own pipes.
    """
    import warnings

    _die_with_parent()
    if protocol is None:
        protocol = os.fdopen(os.dup(1), "w", buffering=1)
        os.dup2(2, 1)  # anything else printed goes to the log, not into the protocol
        sys.stdout = sys.stderr
    jobs = jobs if jobs is not None else sys.stdin
    warnings.filterwarnings("ignore")  # the worker's own (SQLAlchemy...) warnings; kernels are unaffected
    import nbgrader.apps  # noqa: F401 - import once, before the first job
    from nbgrader.api import Gradebook  # noqa: F401
    from . import sandbox

    if sandbox.mode() != "none":
        try:
            verdict_server().start()  # torch imported once, while the batch gets ready
        except Exception as error:  # noqa: BLE001 - started again on first use, else tests run one-shot
            print(f"verdict server not started: {error}", file=sys.stderr)

    for line in jobs:
        if not line.strip():
            continue
        job = Job(**json.loads(line))
        try:
            outcome = grade_submission(job)
        except Exception as error:  # noqa: BLE001 - report, keep serving
            import traceback

            outcome = Outcome(job.student_id, job.assignment_id, AUTOGRADE_FAILED,
                              f"{type(error).__name__}: {error}"[:300], log_tail=traceback.format_exc()[-3000:])
        protocol.write(outcome.to_json() + "\n")
        protocol.flush()
    finish_kernel_shutdowns()
    stop_verdict_server()
    return 0


if __name__ == "__main__":
    sys.exit(serve())

"""Grading one submission: nbgrader autograde + feedback in a throwaway course directory.

`grade_submission` is the whole per-submission step. It touches nothing but its own work folder
(a copy of the pristine gradebook, the submitted notebooks, nbgrader's autograded/ and feedback/
output) and returns everything the batch needs as plain data. It runs in a worker process
(`python -m autograder.grading.worker`, see `Pool` in pool.py) that has imported nbgrader once.
Where the machine can sandbox, the student's code runs only in sandboxes: the notebook's kernel and
the trusted verdict's tests, both forked from the worker's kernel zygote (sandbox/kernel_zygote.py), or
else a fresh sandboxed kernel and the worker's warm verdict server (verdict/server.py).

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
from typing import TYPE_CHECKING

from autograder.grading.nbgrader_steps import autograde_api, failure, finish_kernel_shutdowns, timed_out_cells
from autograder.limits import CELL_TIMEOUT, SUBMISSION_WALL_SECONDS
from autograder.status import AUTOGRADE_FAILED, FLAGGED, NBGRADER_FINISHED, OK, TIMED_OUT, UNCONFIRMED

if TYPE_CHECKING:
    from nbgrader.api import Gradebook


@dataclass
class Job:
    student_id: str
    assignment_id: str
    notebooks: dict[str, str]     # notebook name (no .ipynb) -> path of the submitted file
    template: str                 # folder holding source/ and the pristine gradebook.db
    workdir: str                  # throwaway folder for this submission (created here)
    cell_timeout: int = CELL_TIMEOUT   # `grade --cell-timeout`, resolved by the command line
    feedback: bool = True
    seed: int | None = None       # the trusted verdict's random inputs (logged, so a grade can be reproduced)
    slimmed: str = ""             # set by prepare_workdir: what the graded copy left out
    zygote: bool = False          # fork the kernel from the worker's warm kernel sandbox where it can be had
    time_limit: float = SUBMISSION_WALL_SECONDS   # `grade --time-limit`: the verdict's cells get as long


@dataclass
class NotebookResult:
    name: str
    grades: list[dict] = field(default_factory=list)    # grade_id, auto_score, max_score, cell_type
    comments: list[dict] = field(default_factory=list)  # comment_id, auto_comment
    timed_out_cells: list[str] = field(default_factory=list)
    flags: dict[str, str] = field(default_factory=dict)  # solution cell grade_id -> why it is flagged
    diagnoses: dict[str, str] = field(default_factory=dict)  # test grade_id -> the likely mistake


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
    protections: str = ""         # "sandboxed (zygote kernel)" or "sandboxed (fresh kernel)" (kernel and
                                  # verdict in the sandbox) or "in-process" (no isolation here)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_dict(cls, data: dict) -> Outcome:
        data = dict(data)
        data["notebooks"] = [NotebookResult(**nb) for nb in data.get("notebooks", [])]
        return cls(**data)


def prepare_workdir(job: Job) -> Path:
    from autograder.grading.slim import slim_copy

    work = Path(job.workdir)
    work.mkdir(parents=True, exist_ok=True)
    template = Path(job.template)
    source = work / "source"
    if not source.exists():
        source.symlink_to(template / "source", target_is_directory=True)
    shutil.copyfile(template / "gradebook.db", work / "gradebook.db")
    submitted = work / "submitted" / job.student_id / job.assignment_id
    submitted.mkdir(parents=True, exist_ok=True)
    notes = [slim_copy(Path(path), submitted / f"{name}.ipynb") for name, path in job.notebooks.items()]
    job.slimmed = "; ".join(note for note in notes if note)
    return work


def grade_submission(job: Job) -> Outcome:
    """Grade one submission: isolated (the kernel in the sandbox + the trusted verdict) where this
    machine can sandbox, else nbgrader with a plain kernel, as plain nbgrader does (the batch says so)."""
    from autograder.grading.feedback_steps import share_rendered_math
    from autograder.grading.recover import recover_notebooks
    from autograder.sandbox import run as sandbox
    from autograder.status import UNREADABLE_NOTEBOOK

    # nbgrader and the trusted verdict both grade the copy whose lost nbgrader metadata was restored
    recovered = recover_notebooks(Path(job.template), job.assignment_id, job.notebooks, Path(job.workdir) / "recovered")
    if recovered.problem:
        return Outcome(job.student_id, job.assignment_id, UNREADABLE_NOTEBOOK, recovered.problem)
    job.notebooks = recovered.notebooks
    share_rendered_math(Path(job.template) / "rendered-math")   # the batch's workers draw each formula once
    if sandbox.mode() != "none":
        outcome = grade_isolated(job)
    else:
        outcome = grade_with_nbgrader(job, sandboxed=False)
        outcome.protections = "in-process"
    outcome.reason = "; ".join(part for part in (outcome.reason, recovered.note, job.slimmed) if part)
    return outcome


def _gradebook(folder: Path) -> Gradebook:
    """The sqlite gradebook in `folder` (a submission's work folder, or the template), as nbgrader's
    Gradebook, its compiled SQL shared by the worker's other gradebooks."""
    from nbgrader.api import Gradebook

    from autograder.grading.gradebook_statements import worker_gradebook_url

    return Gradebook(worker_gradebook_url(folder / "gradebook.db"))


def _source_grade_cells(template: Path, assignment_id: str, notebook: str) -> tuple[tuple[str, float, str], ...]:
    """(grade_id, max points, cell type) of the notebook's graded cells, from the instructor's gradebook."""
    return _grade_cells_of(template, (template / "gradebook.db").stat().st_mtime_ns, assignment_id, notebook)


@functools.lru_cache(maxsize=64)   # read once per version of the template's gradebook
def _grade_cells_of(template: Path, _version: int, assignment_id: str,
                    notebook: str) -> tuple[tuple[str, float, str], ...]:
    with _gradebook(template) as gb:
        nb = gb.find_notebook(notebook, assignment_id)
        return tuple((c.name, float(c.max_score), c.cell_type) for c in nb.grade_cells)


def grade_isolated(job: Job) -> Outcome:
    """nbgrader autograde + feedback with the kernel in the sandbox, then the trusted verdict.

    Scores of autograded test cells come from the trusted verdict; where nbgrader's in-kernel
    tests gave points the verdict does not confirm, the submission is flagged. Points and ids come from the instructor's
    gradebook, never from the submission."""
    from autograder.verdict.exercises import exercises
    from autograder.verdict.program import fresh_seed, trusted_verdict
    from autograder.verdict.reconcile import reconcile

    started = time.monotonic()
    template = Path(job.template).resolve()
    seed = job.seed if job.seed is not None else fresh_seed()
    from autograder.sandbox import kernel_zygote

    zygote = job.zygote and kernel_zygote.ready()

    def verdicts(runner) -> dict:
        return {name: trusted_verdict(path, job.assignment_id, name, seed=seed, jobs=1, runner=runner,
                                      cell_timeout=job.cell_timeout, time_limit=job.time_limit)
                for name, path in job.notebooks.items()}

    # With a kernel zygote its sandbox runs the tests too, first: the kernel it forks next is then not
    # waited for (it shuts down while the feedback is made), and no second warm sandbox is kept.
    verdicts_of = verdicts(kernel_zygote.kernel_zygote().run) if zygote else None
    outcome = grade_with_nbgrader(job, sandboxed=True, feedback=False, zygote=zygote)
    if verdicts_of is None:
        from autograder.verdict.server import started_server

        verdicts_of = verdicts(started_server().run)
    outcome.seed = seed
    outcome.protections = "sandboxed (zygote kernel)" if zygote else "sandboxed (fresh kernel)"
    nbgrader_finished = outcome.status in NBGRADER_FINISHED
    by_name = {nb.name: nb for nb in outcome.notebooks}

    flags: list[str] = []
    unconfirmed: list[str] = []
    notes: list[str] = []
    notebooks = []
    for name in job.notebooks:
        cells = _source_grade_cells(template, job.assignment_id, name)
        max_points = {gid: points for gid, points, _ in cells}
        verdicts = verdicts_of[name]
        graded = by_name.get(name, NotebookResult(name))
        in_kernel = {g["grade_id"]: g["auto_score"] for g in graded.grades}
        scores, suspicious, unchecked, lenient = reconcile(in_kernel, verdicts, max_points)
        if nbgrader_finished:
            flags += suspicious
            unconfirmed += unchecked
            notes += lenient
        result = NotebookResult(name, comments=graded.comments, timed_out_cells=graded.timed_out_cells,
                                diagnoses={gid: v.diagnosis for gid, v in verdicts.items() if v.diagnosis})
        if nbgrader_finished and suspicious:
            checks = exercises(job.assignment_id, name)
            for gid, verdict in verdicts.items():
                if (in_kernel.get(gid) or 0) > scores.get(gid, 0) and gid in checks:
                    result.flags[checks[gid].cell_id] = f"{gid}: {verdict.reason}"
        for gid, points, cell_type in cells:
            # a written answer left as released scores 0 (nbgrader's own rule); any other waits for a grader
            score = scores.get(gid) if cell_type == "code" else (0 if in_kernel.get(gid) == 0 else None)
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
    elif outcome.status == OK and unconfirmed:
        outcome.status = UNCONFIRMED
        outcome.reason = ("not an accusation: nbgrader's in-kernel tests passed, but the trusted verdict could "
                          "not check the answer (it raised or was stopped there), so its score is used until "
                          "you confirm: look at nbgrader's run in formgrader (Manual Grading) and give the "
                          "points by hand if the answer is right: " + "; ".join(unconfirmed))[:600]
    elif outcome.status == OK and notes:
        outcome.reason = ("note: the trusted verdict judges each exercise on its own and gives points "
                          "nbgrader's in-kernel tests did not (another cell may have broken them): "
                          + "; ".join(notes))[:600]
    if outcome.autograded_dir and job.feedback:
        feedback_with_final_scores(job, outcome)
    outcome.seconds = time.monotonic() - started
    return outcome


def feedback_with_final_scores(job: Job, outcome: Outcome) -> None:
    """nbgrader's feedback, made after the trusted verdict's scores replace the in-kernel ones."""
    from nbgrader.api import MissingEntry

    work = Path(job.workdir)
    with _gradebook(work) as gb:
        for result in outcome.notebooks:
            try:
                submitted = gb.find_submission_notebook(result.name, job.assignment_id, job.student_id)
            except MissingEntry:
                continue
            final = {g["grade_id"]: g["auto_score"] for g in result.grades if g["cell_type"] == "code"}
            for grade in submitted.grades:
                if grade.name in final and final[grade.name] is not None:
                    grade.auto_score = final[grade.name]
        gb.db.commit()
    api = autograde_api(work, job.cell_timeout, sandboxed=True)
    feedback = api.generate_feedback(job.assignment_id, job.student_id, force=True)
    if feedback["success"]:
        outcome.feedback_dir = str(work / "feedback" / job.student_id / job.assignment_id)
    else:
        outcome.log_tail = (feedback.get("log", "") or "")[-3000:]


def grade_with_nbgrader(job: Job, sandboxed: bool, feedback: bool = True, zygote: bool = False) -> Outcome:
    """nbgrader autograde (sanitize + execute in a fresh kernel) and generate_feedback, for one
    student's one assignment, in `job.workdir`. Never raises for anything the student handed in.
    `sandboxed`: the kernel runs in the sandbox (autograder/sandbox/kernel.py). `feedback`: make
    the feedback now (the trusted verdict makes it itself, once its scores are in).

    The used kernel may still be shutting down when this returns: a process that grades and then
    exits calls `finish_kernel_shutdowns()` first (the worker loop does)."""
    started = time.monotonic()
    work = prepare_workdir(job)
    api = autograde_api(work, job.cell_timeout, sandboxed, zygote)
    outcome = Outcome(job.student_id, job.assignment_id, OK)
    result = api.autograde(job.assignment_id, job.student_id, force=True, create=True)
    log = result.get("log", "") or ""
    autograded = work / "autograded" / job.student_id / job.assignment_id
    if not result["success"]:
        outcome.status, outcome.reason = failure(log + "\n" + str(result.get("error", "")))
        outcome.log_tail = log[-3000:]
        outcome.seconds = time.monotonic() - started
        return outcome

    with _gradebook(work) as gb:
        for name in job.notebooks:
            sub = gb.find_submission_notebook(name, job.assignment_id, job.student_id)
            nb_result = NotebookResult(name)
            for grade in sub.grades:
                nb_result.grades.append({"grade_id": grade.name, "auto_score": grade.auto_score,
                                         "max_score": grade.max_score, "cell_type": grade.cell.cell_type})
            for comment in sub.comments:
                nb_result.comments.append({"comment_id": comment.name, "auto_comment": comment.auto_comment})
            if (autograded / f"{name}.ipynb").exists():
                nb_result.timed_out_cells = timed_out_cells(autograded / f"{name}.ipynb")
            outcome.notebooks.append(nb_result)
    outcome.autograded_dir = str(autograded)
    stopped = [cell for nb in outcome.notebooks for cell in nb.timed_out_cells]
    if stopped:
        outcome.status = TIMED_OUT
        outcome.reason = f"stopped after {job.cell_timeout} s in {', '.join(stopped)}; the other cells were graded"

    if job.feedback and feedback:
        made = api.generate_feedback(job.assignment_id, job.student_id, force=True)
        if made["success"]:
            outcome.feedback_dir = str(work / "feedback" / job.student_id / job.assignment_id)
        else:
            outcome.log_tail = (made.get("log", "") or "")[-3000:]
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


def serve(jobs=None, protocol=None, zygote: bool = False) -> int:
    """Worker loop: one JSON job per line in, one JSON outcome per line out.

    Run as `python -m autograder.grading.worker` it uses stdin and the original stdout (anything
    else printed goes to stderr, the worker's log); a forked worker passes its own pipes.
    """
    import warnings

    _die_with_parent()
    from autograder.sandbox import storage

    storage.private_mounts()  # the sandboxes' capped folders go with this worker, also when it is killed
    if protocol is None:
        protocol = os.fdopen(os.dup(1), "w", buffering=1)
        os.dup2(2, 1)  # anything else printed goes to the log, not into the protocol
        sys.stdout = sys.stderr
    jobs = jobs if jobs is not None else sys.stdin
    warnings.filterwarnings("ignore")  # the worker's own (SQLAlchemy...) warnings; kernels are unaffected
    import nbgrader.apps  # noqa: F401 - import once, before the first job
    from nbgrader.api import Gradebook  # noqa: F401 - import once, before the first job

    from autograder.sandbox import run as sandbox

    if sandbox.mode() != "none":
        # The kernel zygote (its sandbox runs the verdict's tests too); without one, the verdict server,
        # in the background while the first notebook runs: a job waits for it before its verdict.
        from autograder.sandbox import kernel_zygote
        from autograder.verdict.server import warm_up

        if not (zygote and kernel_zygote.ready()):   # the kernels' imports, once, while the batch gets ready
            warm_up()

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
    # The warm sandboxes hold nothing to keep: ended at once (a zygote's last kernel with it), not
    # the orderly way; then the fresh kernels still shutting down are waited for
    from autograder.sandbox.kernel_zygote import stop_kernel_zygote
    from autograder.verdict.server import stop_worker_server

    stop_worker_server(orderly=False)
    stop_kernel_zygote(orderly=False)
    finish_kernel_shutdowns()
    return 0


if __name__ == "__main__":
    sys.exit(serve(zygote="--zygote" in sys.argv))

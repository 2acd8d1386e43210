"""`python -m autograder grade SUBMISSIONS --out OUT`: grade a class, write grades, feedback and a report.

OUT is an nbgrader course folder (open it with `nbgrader formgrader` to grade the written answers):
OUT/gradebook.db (or the --db gradebook), OUT/submitted, OUT/autograded, OUT/feedback/<student>/<assignment>,
plus OUT/grades.csv, OUT/tests.csv and OUT/report.html, rewritten from the gradebook on every run.

Each submission is graded by `worker.grade_submission` in a throwaway course folder with its
own SQLite gradebook, in worker processes; this process alone writes the results into the gradebook,
one submission at a time, right after it finishes. A run that is stopped keeps what it finished, and
the next run grades only what is new or changed (--force regrades everything, --student ID that
student's submissions).
"""
from __future__ import annotations

import functools
import json
import os
import shlex
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from autograder import limits
from autograder.grading.export import GRADE_COLUMNS, TEST_COLUMNS, export, write_csv
from autograder.grading.handgrades import refresh_feedback
from autograder.grading.intake import InstructorError, Submission, collect
from autograder.grading.lms import write_lms_exports
from autograder.grading.outdir import (
    Course,
    add_students,
    database_problem,
    finished,
    normalize_db_url,
    open_gradebook,
    record,
    source_fingerprint,
    sqlite_file,
    submission_key,
)
from autograder.grading.repair import remember_hand_grades, repair
from autograder.grading.unmatched import Unmatched
from autograder.grading.worker import Job
from autograder.paths import SOURCE_DIR, assignments, notebooks
from autograder.status import OK


@dataclass(frozen=True)
class GradeOptions:
    """Everything `grade` is told (the command line's options, typed)."""
    submissions: Path                 # nbgrader's submitted layout, or an LMS .zip
    out: Path
    workers: int = os.cpu_count() or 1
    db: str | None = None             # gradebook URL (default: sqlite OUT/gradebook.db)
    force: bool = False               # regrade what is already graded
    students: tuple[str, ...] = ()    # regrade what these students handed in (the rest as it is)
    cell_timeout: int = limits.CELL_TIMEOUT   # per cell: nbgrader's Execute.timeout and the verdict's
    seed: int | None = None           # the trusted verdict's random inputs (default: a fresh one per run)
    time_limit: float = limits.SUBMISSION_WALL_SECONDS
    zygote: bool = True               # kernels forked from a warm sandboxed zygote where it can be had
    scheduler: str | None = None      # a Dask scheduler (tcp://host:8786): grade on its workers
    allow_unsandboxed_workers: bool = False   # cluster workers without bubblewrap grade too (no isolation)


def _quiet_warnings() -> None:
    """Third-party warnings that say nothing to an instructor: SQLAlchemy's about nbgrader's models,
    and nbformat's about a notebook without cell ids (an older Jupyter's; nbformat adds the ids)."""
    import warnings

    from nbformat.warnings import MissingIDFieldWarning
    from sqlalchemy.exc import SAWarning

    warnings.filterwarnings("ignore", category=SAWarning)
    warnings.filterwarnings("ignore", category=MissingIDFieldWarning)


def _regrade(options: GradeOptions, student_id: str) -> bool:
    """Graded again whatever was graded before: --force, or --student naming this student."""
    return options.force or student_id in options.students


def commands(options: GradeOptions, out: Path) -> dict[str, str]:
    """The commands the report tells the instructor to run next, with this batch's own paths."""
    grade_again = ["python", "-m", "autograder", "grade", str(options.submissions.resolve()), "--out", str(out)]
    if options.db and options.db != os.environ.get("GRADEBOOK_URL"):
        from sqlalchemy.engine import make_url

        if not make_url(options.db).password:  # a password stays out of the page: set GRADEBOOK_URL
            grade_again += ["--db", normalize_db_url(options.db)]
    return {"formgrade": shlex.join(["python", "-m", "autograder", "formgrade", str(out)]),
            "grade": shlex.join(grade_again)}


def fail(message: str) -> int:
    print(f"grade: error: {message}", file=sys.stderr)
    return 2


@functools.cache
def _code_length(assignment_id: str) -> int:
    """Characters of code in the assignment's source notebooks: how long its notebook runs, roughly."""
    total = 0
    for name in notebooks(assignment_id):
        cells = json.loads((SOURCE_DIR / assignment_id / f"{name}.ipynb").read_text(encoding="utf-8")).get("cells", [])
        total += sum(len("".join(cell.get("source", ""))) for cell in cells if cell.get("cell_type") == "code")
    return total


def heaviest_first(jobs: list[Job]) -> list[Job]:
    """The order to hand the jobs out in: the chapters with the most code first (stable within one),
    so that a batch ends on short submissions instead of idling cores while a long one finishes."""
    known = set(assignments())
    return sorted(jobs, key=lambda job: -_code_length(job.assignment_id) if job.assignment_id in known else 0)


def _progress(total: int):
    from tqdm import tqdm

    return tqdm(total=total, unit="submission", desc="grading", disable=not sys.stderr.isatty(),
                file=sys.stderr, dynamic_ncols=True)


def grade(options: GradeOptions) -> int:
    """Grade a class; the exit status (2: the instructor's input is wrong, nothing was graded)."""
    if options.workers < 1:
        return fail("--workers must be at least 1")
    _quiet_warnings()
    out: Path = options.out
    if out.exists() and not out.is_dir():
        return fail(f"--out {out} is a file; give a folder for the results")
    if options.db and not options.db.startswith(("postgresql", "postgres://", "sqlite", "mysql")):
        return fail(f"--db {options.db!r} is not a database URL (e.g. postgresql://user:pass@host:5432/grades)")
    if not options.submissions.exists():
        return fail(f"{options.submissions}: no such file or folder; give the submissions folder "
                    "(<student_id>/<assignment_id>/<notebook>.ipynb) or the .zip downloaded from the LMS")
    db_file = sqlite_file(options.db)
    inside = db_file is not None and db_file.is_relative_to(out.resolve())
    if options.db and not inside:  # before anything is made: a bad gradebook URL leaves no half-built OUT
        problem = database_problem(normalize_db_url(options.db))
        if problem:
            return fail(f"cannot use the gradebook at --db: {problem}")
    made_out = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    out = out.resolve()
    if inside:  # a SQLite gradebook inside OUT: its folder is made with OUT
        db_file.parent.mkdir(parents=True, exist_ok=True)
    course = Course(out, options.db)
    made_grading = not course.grading.exists()
    course.grading.mkdir(parents=True, exist_ok=True)
    lock = open(course.grading / "lock", "w")

    def undo(message: str) -> int:
        """Stop on the instructor's input, leaving nothing this run made."""
        lock.close()
        if made_out:
            shutil.rmtree(out, ignore_errors=True)
        elif made_grading:
            shutil.rmtree(course.grading, ignore_errors=True)
        return fail(message) if message else 2

    try:
        import fcntl

        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except ImportError:
        pass
    except OSError:
        lock.close()
        return fail(f"another grade run is writing to {out}; wait for it to finish or give another --out")
    unmatched: list[Unmatched] = []
    try:
        submissions = collect(options.submissions.resolve(), course.grading / "input", unmatched)
    except InstructorError as error:
        shutil.rmtree(course.grading / "input", ignore_errors=True)
        return undo(str(error))
    unknown = sorted(set(options.students) - {sub.student_id for sub in submissions})
    if unknown:
        shutil.rmtree(course.grading / "input", ignore_errors=True)
        return undo(f"--student {', '.join(unknown)}: no submission of "
                    f"{'that student' if len(unknown) == 1 else 'these students'} in {options.submissions}")
    for stale in course.grading.glob("run-*"):  # left by a run that was killed
        shutil.rmtree(stale, ignore_errors=True)
    scratch = Path(tempfile.mkdtemp(prefix="run-", dir=course.grading))
    try:
        status = _grade(options, course, submissions, unmatched, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.rmtree(course.grading / "input", ignore_errors=True)  # the unpacked LMS export
    if status == 2:
        return undo("")
    lock.close()
    return status


def _warm_report_imports() -> None:
    """matplotlib is only needed at the end: import it while the workers grade."""
    import threading

    def work() -> None:
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot  # noqa: F401 - imported now, used by the report later
        except Exception:  # noqa: BLE001 - the report will say so itself
            pass

    threading.Thread(target=work, daemon=True).start()


def _say_protections(seed: int, zygote: bool) -> None:
    """Which protections this machine gives the batch: never claim one that is not in force."""
    from autograder.sandbox import kernel_zygote
    from autograder.sandbox import run as sandbox

    print(f"grade: trusted-verdict seed {seed}; protections:", file=sys.stderr)
    for line in sandbox.describe_protections():
        print(f"  - {line}", file=sys.stderr)
    if sandbox.mode() != "none":
        kernels = ("kernels: forked from a warm sandboxed zygote per worker, each with a fresh uid, its own "
                   "folder and /tmp and its caps" if zygote and kernel_zygote.available() else
                   "kernels: a fresh sandboxed Python per submission" + (" (no zygote here)" if zygote else ""))
        print(f"  - {kernels}", file=sys.stderr)
    if sandbox.mode() == "none":
        print("grade: WARNING: no sandbox here: student code runs in nbgrader's kernel with this "
              "user's rights, as in plain nbgrader (install bubblewrap)", file=sys.stderr)


def _pool(options: GradeOptions, course: Course, size: int):
    """The local worker processes, or the Dask cluster at --scheduler (the same interface)."""
    if options.scheduler:
        from autograder.grading.cluster import ClusterPool

        return ClusterPool(options.scheduler, course.template, options.allow_unsandboxed_workers, options.zygote)
    from autograder.grading.pool import Pool

    return Pool(min(options.workers, size), course.grading / "logs", options.zygote)


def _note(course: Course, state: dict, sid: str, aid: str, lines: list[str]) -> None:
    """Add what was repaired to the row's reason (kept in its state)."""
    said = state.get("reason", "").split("; ")
    state["reason"] = "; ".join(x for x in (state.get("reason", ""), *(x for x in lines if x not in said)) if x)
    course.save_state(sid, aid, state)


def _printable(text: str) -> str:
    """A name from the upload as terminal text: control characters shown as escapes, never obeyed."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _say_unmatched(unmatched: list[Unmatched], report: Path, at_most: int = 20) -> None:
    """The files of the upload that are not graded, nobody's first (all of them are in the report)."""
    if not unmatched:
        return
    print(f"{len(unmatched)} file(s) of the upload not graded (all listed in {report}):")
    for item in unmatched[:at_most]:
        whose = f"student {item.student_id}" if item.student_id else "nobody's"
        print(_printable(f"  {item.file} ({whose}): {item.reason}"))
    if len(unmatched) > at_most:
        print(f"  and {len(unmatched) - at_most} more")


def _grade(options: GradeOptions, course: Course, submissions: list[Submission], unmatched: list[Unmatched],
           scratch: Path) -> int:
    from autograder.verdict.program import fresh_seed

    started = time.monotonic()
    keys, candidates = {}, []
    fingerprints = {aid: source_fingerprint(aid) for aid in assignments()}
    for sub in submissions:
        if sub.gradable:
            key = submission_key(sub, fingerprints[sub.assignment_id])
            keys[(sub.student_id, sub.assignment_id)] = key
            state = course.load_state(sub.student_id, sub.assignment_id)
            if _regrade(options, sub.student_id) or not finished(state, key, options.cell_timeout,
                                                                  options.time_limit):
                candidates.append(sub)
    # Start the workers now: they import nbgrader while this process sets up the gradebook.
    try:
        pool = _pool(options, course, len(candidates)) if candidates else None
    except (OSError, TimeoutError) as error:
        return fail(f"cannot reach the Dask scheduler at {options.scheduler}: {error}")
    try:
        try:
            course.prepare()
        except Exception as error:  # noqa: BLE001 - e.g. a PostgreSQL server that does not answer
            if options.db:
                return fail(f"cannot use the gradebook at --db: {type(error).__name__}: "
                            f"{str(error).strip().splitlines()[0]}")
            raise
        with open_gradebook(course) as gb:
            in_gradebook = {(s.student.id, s.assignment.name) for a in gb.assignments for s in a.submissions}
            add_students(gb, [sub.student_id for sub in submissions])
            states, todo, repaired, seeds = {}, [], {}, {}
            for sub in submissions:
                if not sub.gradable:
                    continue
                state = course.load_state(sub.student_id, sub.assignment_id)
                done = finished(state, keys[(sub.student_id, sub.assignment_id)], options.cell_timeout,
                                options.time_limit) and \
                    (not state.get("graded") or (sub.student_id, sub.assignment_id) in in_gradebook)
                if done and not _regrade(options, sub.student_id):
                    # what was written into the gradebook or OUT/autograded since, put back (repair.py)
                    lines, again = repair(gb, course.out, state, sub.assignment_id, sub.student_id)
                    if lines:
                        repaired[(sub.student_id, sub.assignment_id)] = lines
                    if again:  # graded again as it was: with the trusted verdict's recorded seed
                        if state.get("seed") is not None:
                            seeds[(sub.student_id, sub.assignment_id)] = state["seed"]
                        todo.append(sub)
                        continue
                    if lines:
                        state["feedback_scores"] = {}  # rebuilt below: it may show the scores put back
                        _note(course, state, sub.student_id, sub.assignment_id, lines)
                    states[(sub.student_id, sub.assignment_id)] = state
                else:
                    todo.append(sub)
            gb.db.commit()
            skipped = sum(1 for s in submissions if s.gradable) - len(todo)

            jobs, by_key, refreshed = [], {}, []
            run_seed = options.seed if options.seed is not None else fresh_seed()
            if todo:
                _say_protections(run_seed, options.zygote)
                if options.scheduler and pool is not None:
                    print(f"grade: on the Dask cluster at {options.scheduler} ({pool.describe()}); each row's "
                          "`protections` says what was in force on the worker that graded it", file=sys.stderr)
            for number, sub in enumerate(todo):
                job = Job(sub.student_id, sub.assignment_id, {n: str(p) for n, p in sub.notebooks.items()},
                          str(course.template), str(scratch / f"{number:05d}"), options.cell_timeout,
                          seed=seeds.get((sub.student_id, sub.assignment_id), run_seed),
                          zygote=options.zygote, time_limit=options.time_limit)
                jobs.append(job)
                by_key[(sub.student_id, sub.assignment_id)] = (sub, job)
            if jobs and pool is None:
                pool = _pool(options, course, len(jobs))
            if jobs:
                _warm_report_imports()
                with _progress(len(jobs)) as bar:
                    for outcome in pool.run(heaviest_first(jobs), options.time_limit):
                        sub, job = by_key[(outcome.student_id, outcome.assignment_id)]
                        states[(sub.student_id, sub.assignment_id)] = record(
                            gb, course, sub, outcome, keys[(sub.student_id, sub.assignment_id)], options.cell_timeout,
                            options.time_limit)
                        if (sub.student_id, sub.assignment_id) in repaired:
                            _note(course, states[(sub.student_id, sub.assignment_id)], sub.student_id,
                                  sub.assignment_id, repaired[(sub.student_id, sub.assignment_id)])
                        shutil.rmtree(job.workdir, ignore_errors=True)
                        bar.update(1)
            refreshed = [(sid, aid) for (sid, aid), state in states.items() if (sid, aid) not in by_key
                         and refresh_feedback(course, gb, state, aid, sid)]
            for (sid, aid), state in states.items():
                if (sid, aid) not in by_key:
                    remember_hand_grades(gb, course, state, aid, sid)
            grades, tests = export(gb, submissions, states)
    finally:
        if pool is not None:
            pool.close()
    write_csv(course.out / "grades.csv", GRADE_COLUMNS, grades)
    write_csv(course.out / "tests.csv", TEST_COLUMNS, tests)
    from autograder.grading.report import write_report

    write_report(course.out / "report.html", grades, tests, unmatched, commands(options, course.out))
    write_lms_exports(course.out, grades)
    if refreshed:
        print(f"feedback rebuilt with the hand grades of {len(refreshed)} submission(s): "
              + ", ".join(f"{sid}/{aid}" for sid, aid in refreshed))
    for (sid, aid), lines in sorted(repaired.items()):
        print(f"{sid}/{aid}: repaired: " + "; ".join(lines))
    for (sid, aid), state in sorted(states.items()):
        if (sid, aid) in by_key and state.get("resets"):
            print(f"{sid}/{aid}: " + "; ".join(state["resets"]))
    problems = sum(1 for g in grades if g["status"] != OK)
    _say_unmatched(unmatched, course.out / "report.html")
    print(f"graded {len(jobs)} submission(s) in {time.monotonic() - started:.1f} s, "
          f"skipped {skipped} already graded" + (" (--force regrades them)" if skipped else "")
          + f"; {problems} row(s) not ok" + (f", {len(unmatched)} file(s) not graded" if unmatched else "")
          + f"; see {course.out / 'grades.csv'} and {course.out / 'report.html'}")
    return 0

"""`python -m autograder grade SUBMISSIONS --out OUT`: grade a class, write grades, feedback and a report.

OUT is an nbgrader course folder (open it with `nbgrader formgrader` to grade the written answers):
OUT/gradebook.db (or the --db gradebook), OUT/submitted, OUT/autograded, OUT/feedback/<student>/<assignment>,
plus OUT/grades.csv, OUT/tests.csv and OUT/report.html, rewritten from the gradebook on every run.

Each submission is graded by `grading_worker.grade_submission` in a throwaway course folder with its
own SQLite gradebook, in worker processes; this process alone writes the results into the gradebook,
one submission at a time, right after it finishes. A run that is stopped keeps what it finished, and
the next run grades only what is new or changed (--force regrades everything).
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

from .collect import InstructorError, Submission, collect
from .coursedir import ensure_alembic_on_path, nbgrader_api, stage_source
from .grading_worker import OK, TIMED_OUT, Job, Outcome
from .paths import NBGRADER_CONFIG, SOURCE_DIR, STUDENT_KIT_DIR, assignments

GRADE_COLUMNS = ["student_id", "name", "assignment_id", "score", "max_score", "status", "reason",
                 "needs_manual_grade", "graded_at", "seed"]
TEST_COLUMNS = ["student_id", "assignment_id", "notebook", "grade_id", "kind", "points", "max_points",
                "needs_manual_grade"]


def add_arguments(parser) -> None:
    parser.add_argument("submissions", metavar="SUBMISSIONS", type=Path,
                        help="folder laid out as <student_id>/<assignment_id>/<notebook>.ipynb, "
                             "or the .zip downloaded from Canvas or Moodle")
    parser.add_argument("--out", required=True, type=Path, metavar="OUT",
                        help="output folder: grades.csv, tests.csv, report.html, feedback/, gradebook")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, metavar="N",
                        help="submissions graded at the same time (default: number of cores, %(default)s)")
    parser.add_argument("--db", metavar="URL", default=None,
                        help="gradebook URL, e.g. postgresql://user:pass@host/db (default: sqlite OUT/gradebook.db)")
    parser.add_argument("--force", action="store_true", help="regrade submissions that are already graded")
    parser.add_argument("--cell-timeout", type=int, default=None, metavar="SECONDS",
                        help="stop a cell after this long (default: Execute.timeout of the course config)")
    parser.add_argument("--seed", type=int, default=None,
                        help="seed of the trusted verdict's random inputs (default: a fresh one per run, "
                             "recorded in grades.csv so a grade can be reproduced)")
    parser.add_argument("--time-limit", type=float, default=600, metavar="SECONDS",
                        help="stop grading one submission after this long, wall clock (default: %(default)s)")


def alembic_head() -> str:
    """nbgrader's gradebook schema version, read from its migration scripts.

    Same answer as `nbgrader.api.get_alembic_version`, which runs the `alembic heads` command
    (several seconds) every time a new gradebook is created.
    """
    import re

    import nbgrader.api

    revisions, parents = set(), set()
    for script in (Path(nbgrader.api.__file__).parent / "alembic" / "versions").glob("*.py"):
        text = script.read_text()
        revision = re.search(r"^revision\s*=\s*['\"](\w+)['\"]", text, re.M)
        parent = re.search(r"^down_revision\s*=\s*['\"](\w+)['\"]", text, re.M)
        if revision:
            revisions.add(revision.group(1))
        if parent:
            parents.add(parent.group(1))
    heads = revisions - parents
    if len(heads) != 1:
        return _slow_alembic_head()
    return heads.pop()


_slow_alembic_head = None


def use_fast_alembic_head() -> None:
    global _slow_alembic_head
    import nbgrader.api

    if _slow_alembic_head is None:
        _slow_alembic_head = nbgrader.api.get_alembic_version
        nbgrader.api.get_alembic_version = alembic_head


def normalize_db_url(url: str) -> str:
    """`postgresql://...` with the driver that is installed (SQLAlchemy may default to one that is not)."""
    import importlib.util

    if url.startswith(("postgresql://", "postgres://")):
        rest = url.split("://", 1)[1]
        if importlib.util.find_spec("psycopg") is None and importlib.util.find_spec("psycopg2") is not None:
            return f"postgresql+psycopg2://{rest}"
        return f"postgresql://{rest}"
    return url


def fail(message: str) -> int:
    print(f"grade: error: {message}", file=sys.stderr)
    return 2


def source_fingerprint(assignment_id: str | None = None) -> str:
    """Hash of the course source (one assignment's, if given), the student kit and the nbgrader config."""
    digest = hashlib.sha256()
    source = SOURCE_DIR / assignment_id if assignment_id else SOURCE_DIR
    files = sorted([*source.rglob("*"), *STUDENT_KIT_DIR.rglob("*.py"), NBGRADER_CONFIG])
    for path in files:
        if path.is_file() and "__pycache__" not in path.parts and ".ipynb_checkpoints" not in path.parts:
            digest.update(str(path.relative_to(SOURCE_DIR.parent)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def submission_key(submission: Submission, fingerprint: str) -> str:
    """Changes when the student's notebooks or the course source (tests, config) change."""
    digest = hashlib.sha256(fingerprint.encode())
    for name, path in sorted(submission.notebooks.items()):
        digest.update(name.encode())
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()


class Course:
    """OUT as an nbgrader course folder, and the pristine gradebook template the workers copy."""

    def __init__(self, out: Path, db_url: str | None):
        self.out = out
        self.grading = out / ".grading"
        self.db_url = normalize_db_url(db_url) if db_url else f"sqlite:///{(out / 'gradebook.db').resolve()}"
        self.fingerprint = source_fingerprint()
        self.template = self.grading / f"template-{self.fingerprint}"
        self.state_dir = self.grading / "state"

    def prepare(self) -> None:
        ensure_alembic_on_path()
        use_fast_alembic_head()
        self.grading.mkdir(parents=True, exist_ok=True)
        stamp = self.grading / "source-fingerprint"
        if not (self.out / "source").is_dir() or not stamp.exists() or stamp.read_text() != self.fingerprint:
            shutil.rmtree(self.out / "source", ignore_errors=True)
            stage_source(self.out)
            stamp.write_text(self.fingerprint)
        if not (self.template / "gradebook.db").exists():
            for old in self.grading.glob("template-*"):
                shutil.rmtree(old, ignore_errors=True)
            building = self.grading / f"building-{os.getpid()}"
            shutil.rmtree(building, ignore_errors=True)
            building.mkdir()
            self._generate(f"sqlite:///{(building / 'gradebook.db').resolve()}")
            # relative, so that OUT can be moved or copied as a whole
            (building / "source").symlink_to(Path("..") / ".." / "source", target_is_directory=True)
            os.replace(building, self.template)
        self._prepare_gradebook()
        self._write_config()

    def _generate(self, db_url: str) -> None:
        from .build import BuildError

        api = nbgrader_api(self.out, db_url)
        for assignment_id in assignments():
            result = api.generate_assignment(assignment_id, force=True, create=True)
            if not result["success"]:
                log = result.get("log") or ""
                causes = [line.strip() for line in log.splitlines()
                          if re.match(r"\s*[\w.]+(Error|Exception|Exit)\b.*", line)]
                raise BuildError(f"nbgrader generate_assignment {assignment_id} failed: "
                                 f"{causes[-1] if causes else 'see the log below'}\n{log}")

    def _prepare_gradebook(self) -> None:
        stamp = self.grading / ("gradebook-" + hashlib.sha256(self.db_url.encode()).hexdigest()[:12])
        if stamp.exists() and stamp.read_text() == self.fingerprint:
            return
        sqlite_file = self.out / "gradebook.db"
        if self.db_url == f"sqlite:///{sqlite_file.resolve()}" and not sqlite_file.exists():
            shutil.copyfile(self.template / "gradebook.db", sqlite_file)
        else:
            self._generate(self.db_url)  # creates or updates nbgrader's tables and the assignments
        stamp.write_text(self.fingerprint)

    def _write_config(self) -> None:
        from sqlalchemy.engine import make_url

        url = make_url(self.db_url)
        db_line = f"c.CourseDirectory.db_url = {self.db_url!r}"
        if url.password:
            db_line = ("# The gradebook is on a server with a password: set it here, e.g.\n"
                       f"# c.CourseDirectory.db_url = {url.render_as_string(hide_password=True)!r}")
        (self.out / "nbgrader_config.py").write_text(
            '"""nbgrader config for this graded batch: `nbgrader formgrader` here to grade written answers."""\n'
            "c = get_config()  # noqa: F821\n"
            f"load_subconfig({str(NBGRADER_CONFIG)!r})  # noqa: F821\n"
            f"c.CourseDirectory.root = {str(self.out.resolve())!r}\n"
            f"{db_line}\n")

    # ------------------------------------------------------------------ state of finished submissions

    def state_path(self, student_id: str, assignment_id: str) -> Path:
        return self.state_dir / student_id / f"{assignment_id}.json"

    def load_state(self, student_id: str, assignment_id: str) -> dict | None:
        try:
            return json.loads(self.state_path(student_id, assignment_id).read_text())
        except (OSError, ValueError):
            return None

    def save_state(self, student_id: str, assignment_id: str, state: dict) -> None:
        path = self.state_path(student_id, assignment_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=1))
        os.replace(tmp, path)  # atomic: a state file is either complete or absent


def record(gb, course: Course, submission: Submission, outcome: Outcome, key: str,
           cell_timeout: int | None = None) -> dict:
    """Write one finished submission into the gradebook and OUT; return its state."""
    sid, aid = submission.student_id, submission.assignment_id
    out = course.out
    student = gb.update_or_create_student(sid)
    if submission.name and not (student.first_name or student.last_name):
        student.last_name = submission.name
    for kind in ("submitted", "autograded", "feedback"):
        shutil.rmtree(out / kind / sid / aid, ignore_errors=True)
    submitted = out / "submitted" / sid / aid
    submitted.mkdir(parents=True, exist_ok=True)
    for name, path in submission.notebooks.items():
        shutil.copyfile(path, submitted / f"{name}.ipynb")
    manual = False
    graded = bool(outcome.notebooks)  # nbgrader finished: there are scores (perhaps with cells stopped)
    if graded:
        if outcome.autograded_dir:
            shutil.copytree(outcome.autograded_dir, out / "autograded" / sid / aid,
                            ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
        gb.update_or_create_submission(aid, sid)
        results = {nb.name: nb for nb in outcome.notebooks}
        for notebook in gb.find_assignment(aid).notebooks:
            result = results.get(notebook.name)
            scores = {g["grade_id"]: g["auto_score"] for g in result.grades} if result else {}
            for grade in gb.find_submission_notebook(notebook.name, aid, sid).grades:
                # nbgrader's own rules (SaveAutoGrades; a missing notebook scores zero)
                grade.auto_score = scores.get(grade.name) if result else 0
                manual = manual or grade.manual_score is not None
                grade.needs_manual_grade = grade.manual_score is not None or grade.auto_score is None \
                    if result else False
            if result:
                for comment_data in result.comments:
                    comment = gb.find_comment(comment_data["comment_id"], notebook.name, aid, sid)
                    comment.auto_comment = comment_data["auto_comment"]
    gb.db.commit()
    if graded and outcome.feedback_dir:
        if manual:  # a grader already scored the written answers: feedback shows their scores
            api = nbgrader_api(out, course.db_url)
            result = api.generate_feedback(aid, sid, force=True)
            if not result["success"]:
                shutil.copytree(outcome.feedback_dir, out / "feedback" / sid / aid, dirs_exist_ok=True)
        else:
            shutil.copytree(outcome.feedback_dir, out / "feedback" / sid / aid, dirs_exist_ok=True)
    if outcome.log_tail:
        logs = course.grading / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        (logs / f"{sid}__{aid}.log").write_text(outcome.log_tail)
    state = {"key": key, "status": outcome.status, "reason": outcome.reason, "graded": graded,
             "seed": outcome.seed, "protections": outcome.protections,
             "cell_timeout": cell_timeout,
             "seconds": round(outcome.seconds, 2),
             "graded_at": time.strftime("%Y-%m-%dT%H:%M:%S")}
    course.save_state(sid, aid, state)
    return state


def export(gb, course: Course, submissions: list[Submission], states: dict) -> tuple[list[dict], list[dict]]:
    """grades.csv and tests.csv rows, scores read from the gradebook."""
    grades, tests = [], []
    max_scores = {a.name: a.max_score for a in gb.assignments}
    for sub in submissions:
        sid, aid = sub.student_id, sub.assignment_id
        state = states.get((sid, aid)) or {}
        status = sub.status or state.get("status", "not_graded")
        reason = sub.reason or state.get("reason", "")
        notes = "; ".join(sub.notes)
        row = {"student_id": sid, "name": sub.name, "assignment_id": aid, "score": "",
               "max_score": max_scores.get(aid, ""), "status": status,
               "reason": "; ".join(x for x in (reason, notes) if x), "needs_manual_grade": "",
               "graded_at": state.get("graded_at", ""), "seed": state.get("seed", "")}
        if not sub.status and state.get("graded"):
            try:
                submitted = gb.find_submission(aid, sid)
            except Exception:  # noqa: BLE001 - MissingEntry: gradebook changed behind our back
                row["status"], row["reason"] = "not_graded", "not in the gradebook; grade again with --force"
            else:
                score, max_score = float(submitted.score), float(submitted.max_score)
                row["score"] = round(min(score, max_score), 4)
                row["max_score"] = max_score
                row["needs_manual_grade"] = bool(submitted.needs_manual_grade)
                for notebook in submitted.notebooks:
                    for grade in notebook.grades:
                        tests.append({"student_id": sid, "assignment_id": aid, "notebook": notebook.name,
                                      "grade_id": grade.name,
                                      "kind": "autograded" if grade.cell.cell_type == "code" else "manual",
                                      "points": round(float(grade.score), 4),
                                      "max_points": float(grade.max_score),
                                      "needs_manual_grade": bool(grade.needs_manual_grade)})
        grades.append(row)
    return grades, tests


def write_csv(path: Path, columns: list[str], rows: list[dict]) -> None:
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, path)


def _progress(total: int):
    from tqdm import tqdm

    return tqdm(total=total, unit="submission", desc="grading", disable=not sys.stderr.isatty(),
                file=sys.stderr, dynamic_ncols=True)


def run(args) -> int:
    if args.workers < 1:
        return fail("--workers must be at least 1")
    out: Path = args.out
    if out.exists() and not out.is_dir():
        return fail(f"--out {out} is a file; give a folder for the results")
    if args.db and not args.db.startswith(("postgresql", "postgres://", "sqlite", "mysql")):
        return fail(f"--db {args.db!r} is not a database URL (e.g. postgresql://user:pass@host:5432/grades)")
    if not args.submissions.exists():
        return fail(f"{args.submissions}: no such file or folder; give the submissions folder "
                    "(<student_id>/<assignment_id>/<notebook>.ipynb) or the .zip downloaded from the LMS")
    out.mkdir(parents=True, exist_ok=True)
    out = out.resolve()
    course = Course(out, args.db)
    course.grading.mkdir(parents=True, exist_ok=True)
    lock = open(course.grading / "lock", "w")
    try:
        import fcntl

        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except ImportError:
        pass
    except OSError:
        lock.close()
        return fail(f"another grade run is writing to {out}; wait for it to finish or give another --out")
    try:
        submissions = collect(args.submissions.resolve(), course.grading / "input")
    except InstructorError as error:
        lock.close()
        return fail(str(error))
    for stale in course.grading.glob("run-*"):  # left by a run that was killed
        shutil.rmtree(stale, ignore_errors=True)
    scratch = Path(tempfile.mkdtemp(prefix="run-", dir=course.grading))
    try:
        return _grade(args, course, submissions, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        lock.close()


def _open_gradebook(course: Course):
    from nbgrader.api import Gradebook

    return Gradebook(course.db_url, course_id())


def course_id() -> str:
    from .coursedir import nbgrader_config

    return nbgrader_config(Path(".")).CourseDirectory.course_id or "default_course"


def _warm_report_imports() -> None:
    """matplotlib is only needed at the end: import it while the workers grade."""
    import threading

    def work() -> None:
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot  # noqa: F401
        except Exception:  # noqa: BLE001 - the report will say so itself
            pass

    threading.Thread(target=work, daemon=True).start()


def _finished(state: dict | None, key: str, cell_timeout: int | None) -> bool:
    """Graded before, from the same notebooks and course source (a time-out only under the same limit)."""
    if not state or state.get("key") != key:
        return False
    return state.get("status") != TIMED_OUT or state.get("cell_timeout") == cell_timeout


def _say_protections(seed: int) -> None:
    """Which protections this machine gives the batch: never claim one that is not in force."""
    from . import sandbox

    print(f"grade: trusted-verdict seed {seed}; protections:", file=sys.stderr)
    for line in sandbox.describe_protections():
        print(f"  - {line}", file=sys.stderr)
    if sandbox.mode() == "none":
        print("grade: WARNING: no sandbox here: student code runs in nbgrader's kernel with this "
              "user's rights, as in plain nbgrader (install bubblewrap)", file=sys.stderr)


def _grade(args, course: Course, submissions: list[Submission], scratch: Path) -> int:
    import warnings

    from sqlalchemy.exc import SAWarning

    from .grading_pool import Pool

    warnings.filterwarnings("ignore", category=SAWarning)
    started = time.monotonic()
    keys, candidates = {}, []
    fingerprints = {aid: source_fingerprint(aid) for aid in assignments()}
    for sub in submissions:
        if sub.gradable:
            key = submission_key(sub, fingerprints[sub.assignment_id])
            keys[(sub.student_id, sub.assignment_id)] = key
            state = course.load_state(sub.student_id, sub.assignment_id)
            if args.force or not _finished(state, key, args.cell_timeout):
                candidates.append(sub)
    # Start the workers now: they import nbgrader while this process sets up the gradebook.
    pool = Pool(min(args.workers, len(candidates)), course.grading / "logs") if candidates else None
    try:
        try:
            course.prepare()
        except Exception as error:  # noqa: BLE001 - e.g. a PostgreSQL server that does not answer
            if args.db:
                return fail(f"cannot use the gradebook at --db: {type(error).__name__}: "
                            f"{str(error).strip().splitlines()[0]}")
            raise
        with _open_gradebook(course) as gb:
            in_gradebook = {(s.student.id, s.assignment.name) for a in gb.assignments for s in a.submissions}
            states, todo = {}, []
            for sub in submissions:
                gb.update_or_create_student(sub.student_id)
                if not sub.gradable:
                    continue
                state = course.load_state(sub.student_id, sub.assignment_id)
                done = _finished(state, keys[(sub.student_id, sub.assignment_id)], args.cell_timeout) and \
                    (not state.get("graded") or (sub.student_id, sub.assignment_id) in in_gradebook)
                if done and not args.force:
                    states[(sub.student_id, sub.assignment_id)] = state
                else:
                    todo.append(sub)
            gb.db.commit()
            skipped = sum(1 for s in submissions if s.gradable) - len(todo)

            jobs, by_key = [], {}
            run_seed = args.seed if args.seed is not None else secrets.randbits(48)
            if todo:
                _say_protections(run_seed)
            for number, sub in enumerate(todo):
                job = Job(sub.student_id, sub.assignment_id, {n: str(p) for n, p in sub.notebooks.items()},
                          str(course.template), str(scratch / f"{number:05d}"), args.cell_timeout,
                          seed=run_seed)
                jobs.append(job)
                by_key[(sub.student_id, sub.assignment_id)] = (sub, job)
            if jobs and pool is None:
                pool = Pool(min(args.workers, len(jobs)), course.grading / "logs")
            if jobs:
                _warm_report_imports()
                with _progress(len(jobs)) as bar:
                    for outcome in pool.run(jobs, args.time_limit):
                        sub, job = by_key[(outcome.student_id, outcome.assignment_id)]
                        states[(sub.student_id, sub.assignment_id)] = record(
                            gb, course, sub, outcome, keys[(sub.student_id, sub.assignment_id)], args.cell_timeout)
                        shutil.rmtree(job.workdir, ignore_errors=True)
                        bar.update(1)
            grades, tests = export(gb, course, submissions, states)
    finally:
        if pool is not None:
            pool.close()
    write_csv(course.out / "grades.csv", GRADE_COLUMNS, grades)
    write_csv(course.out / "tests.csv", TEST_COLUMNS, tests)
    from .report import write_report

    write_report(course.out / "report.html", grades, tests)
    problems = sum(1 for g in grades if g["status"] != OK)
    print(f"graded {len(jobs)} submission(s) in {time.monotonic() - started:.1f} s, "
          f"skipped {skipped} already graded" + (" (--force regrades them)" if skipped else "")
          + f"; {problems} row(s) not ok; see {course.out / 'grades.csv'} and {course.out / 'report.html'}")
    return 0

"""OUT as an nbgrader course folder: its source, gradebook, config and the state of finished submissions.

`Course.prepare` makes OUT ready (the source staged, a pristine gradebook template the workers
copy, the gradebook at --db, an nbgrader_config.py for formgrader); `record` writes one finished
submission into the gradebook and OUT; the state store remembers what was graded from what, so a
re-run grades only what is new or changed.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
from pathlib import Path

from autograder.course.coursedir import ensure_alembic_on_path, nbgrader_api, nbgrader_config, stage_source
from autograder.grading.handgrades import answer_checksums, flag, keep_or_reset, scores_of
from autograder.grading.intake import Submission
from autograder.grading.repair import snapshot
from autograder.grading.worker import Outcome
from autograder.limits import CELL_TIMEOUT
from autograder.paths import NBGRADER_CONFIG, SOURCE_DIR, STUDENT_KIT_DIR, assignments
from autograder.status import TIMED_OUT

NBGRADER_EXPORT = "nbgrader_grades.csv"  # where `nbgrader export` in OUT writes (grades.csv is ours)


def database_problem(url: str) -> str:
    """'' if the gradebook server at `url` answers, else why not (one line)."""
    from sqlalchemy import create_engine

    try:
        connect_args = {"connect_timeout": 10} if url.startswith("postgres") else {}
        engine = create_engine(url, connect_args=connect_args)
        try:
            with engine.connect():
                pass
        finally:
            engine.dispose()
    except Exception as error:  # noqa: BLE001 - any driver's error is the same answer
        lines = str(error).strip().splitlines()
        return f"{type(error).__name__}: {lines[0] if lines else ''}"
    return ""


def alembic_head() -> str:
    """nbgrader's gradebook schema version, read from its migration scripts.

    Same answer as `nbgrader.api.get_alembic_version`, which runs the `alembic heads` command
    (several seconds) every time a new gradebook is created.
    """
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


def sqlite_file(url: str | None) -> Path | None:
    """The file of a SQLite gradebook URL (absolute), None for another database or an in-memory one."""
    if not url or not url.startswith("sqlite"):
        return None
    from sqlalchemy.engine import make_url

    try:
        database = make_url(url).database
    except Exception:  # noqa: BLE001 - not a URL: said by the check of the gradebook
        return None
    return Path(database).resolve() if database and database != ":memory:" else None


def normalize_db_url(url: str) -> str:
    """`postgresql://...` with the driver that is installed (SQLAlchemy may default to one that is not);
    a SQLite file given relative to the current folder, absolute (formgrader runs in OUT)."""
    import importlib.util

    path = sqlite_file(url)
    if path is not None:
        from sqlalchemy.engine import make_url

        return make_url(url).set(database=str(path)).render_as_string(hide_password=False)
    if url.startswith(("postgresql://", "postgres://")):
        rest = url.split("://", 1)[1]
        if importlib.util.find_spec("psycopg") is None and importlib.util.find_spec("psycopg2") is not None:
            return f"postgresql+psycopg2://{rest}"
        return f"postgresql://{rest}"
    return url


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
        from autograder.grading import template_cache

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
            if not template_cache.restore(self.fingerprint, building, self.out / "release"):
                self._build_template(building)
                template_cache.store(self.fingerprint, building, self.out / "release")
            # relative, so that OUT can be moved or copied as a whole
            (building / "source").symlink_to(Path("..") / ".." / "source", target_is_directory=True)
            os.replace(building, self.template)
        self._prepare_gradebook()
        self._write_config()

    def _build_template(self, building: Path) -> None:
        """nbgrader's release of every chapter and its gradebook, and the course's formulas drawn
        (the release's and the reference answers' markdown) for the feedback pages."""
        from autograder.grading.feedback_steps import draw_formulas
        from autograder.grading.gradebook_statements import scratch_gradebook_url

        self._generate(scratch_gradebook_url((building / "gradebook.db").resolve()))
        with open(building / "gradebook.db", "rb+") as built:   # committed without waiting: flushed once
            os.fsync(built.fileno())
        draw_formulas([path for aid in assignments() for kind in ("release", "source")
                       for path in sorted((self.out / kind / aid).glob("*.ipynb"))], building / "rendered-math")

    def _generate(self, db_url: str) -> None:
        from autograder.course.build import generate_release

        generate_release(self.out, db_url)

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
        """OUT/nbgrader_config.py, for formgrader and nbgrader's own commands run in OUT.

        A gradebook URL with a password is not written into it: the config reads the URL from the
        environment variable GRADEBOOK_URL or, failing that, from OUT/.grading/gradebook-url, a file
        only its owner can read. `nbgrader export` writes nbgrader_grades.csv, never our grades.csv.
        """
        from sqlalchemy.engine import make_url

        url = make_url(self.db_url)
        db_line = f"c.CourseDirectory.db_url = {self.db_url!r}"
        if url.password:
            secret = self.grading / "gradebook-url"
            secret.unlink(missing_ok=True)
            with os.fdopen(os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as handle:
                handle.write(self.db_url + "\n")
            db_line = ("# The gradebook's URL holds a password: read from $GRADEBOOK_URL, else from a file\n"
                       "# only its owner can read.\n"
                       f"c.CourseDirectory.db_url = (os.environ.get('GRADEBOOK_URL')\n"
                       f"                            or open({str(secret)!r}).read().strip())")
        (self.out / "nbgrader_config.py").write_text(
            '"""nbgrader config for this graded batch.\n\n'
            "Grade the written answers here: `python -m autograder formgrade .` (or `jupyter lab` here,\n"
            'then Nbgrader > Formgrader). `nbgrader export` here writes nbgrader_grades.csv."""\n'
            "import os\n\n"
            "c = get_config()  # noqa: F821\n"
            f"load_subconfig({str(NBGRADER_CONFIG)!r})  # noqa: F821\n"
            f"c.CourseDirectory.root = {str(self.out.resolve())!r}\n"
            f"{db_line}\n"
            f"c.ExportPlugin.to = {NBGRADER_EXPORT!r}\n")

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
           cell_timeout: int = CELL_TIMEOUT, time_limit: float | None = None) -> dict:
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
    graded = bool(outcome.notebooks)  # nbgrader finished: there are scores (perhaps with cells stopped)
    before = (course.load_state(sid, aid) or {}).get("answers")
    answers = answer_checksums(submission.notebooks)
    resets: list[str] = []
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
                # nbgrader's own rules (SaveAutoGrades; a missing notebook scores zero), except that a
                # hand grade of an unchanged answer stands and is not marked for grading again
                grade.auto_score = scores.get(grade.name) if result else 0
                resets += [line for line in [keep_or_reset(grade, notebook.name, before, answers)] if line]
                grade.needs_manual_grade = grade.manual_score is None and grade.auto_score is None
            if result:
                for comment_data in result.comments:
                    comment = gb.find_comment(comment_data["comment_id"], notebook.name, aid, sid)
                    comment.auto_comment = comment_data["auto_comment"]
                if result.flags:
                    flag(gb, aid, sid, notebook.name, result.flags)
    gb.db.commit()
    manual = graded and _has_hand_grades(gb, aid, sid)
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
    reason = "; ".join(x for x in (outcome.reason, *resets) if x)
    state = {"key": key, "status": outcome.status, "reason": reason, "graded": graded, "answers": answers,
             "feedback_scores": scores_of(gb, aid, sid) if graded else {}, "resets": resets,
             "mistakes": sorted({d for nb in outcome.notebooks for d in nb.diagnoses.values()}),
             "seed": outcome.seed, "protections": outcome.protections,
             "cell_timeout": cell_timeout, "time_limit": time_limit,
             "seconds": round(outcome.seconds, 2),
             "graded_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
             # compared by the next run, which puts back what was changed outside grade (repair.py)
             **(snapshot(gb, out, aid, sid) if graded else {})}
    course.save_state(sid, aid, state)
    return state


def _has_hand_grades(gb, aid: str, sid: str) -> bool:
    submission = gb.find_submission(aid, sid)
    return any(g.manual_score is not None for nb in submission.notebooks for g in nb.grades)


def open_gradebook(course: Course):
    from nbgrader.api import Gradebook

    from autograder.grading.gradebook_indexes import add_indexes

    gb = Gradebook(course.db_url, course_id())
    add_indexes(gb)   # one submission's rows found without reading the class's
    return gb


def add_students(gb, student_ids: list[str]) -> None:
    """The class's students the gradebook does not know yet, added in one transaction (nbgrader's
    `update_or_create_student` commits once per student, and each commit waits for the disk)."""
    from nbgrader.api import Student

    known = {student.id for student in gb.students}
    for student_id in dict.fromkeys(student_ids):
        if student_id not in known:
            gb.db.add(Student(id=student_id))
    gb.db.commit()


def course_id() -> str:
    return nbgrader_config(Path(".")).CourseDirectory.course_id or "default_course"


def finished(state: dict | None, key: str, cell_timeout: int, time_limit: float | None = None) -> bool:
    """Graded before, from the same notebooks and course source (a time-out only under the same limits:
    --cell-timeout and --time-limit, recorded with the row as its seed is). A row recorded without a
    cell timeout (as rows graded without --cell-timeout once were) was graded with the default."""
    if not state or state.get("key") != key:
        return False
    recorded = state.get("cell_timeout")
    return state.get("status") != TIMED_OUT or ((CELL_TIMEOUT if recorded is None else recorded) == cell_timeout
                                                 and state.get("time_limit") == time_limit)

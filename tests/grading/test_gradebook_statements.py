"""A worker's sqlite gradebooks share nbgrader's compiled SQL, and nothing else."""
from __future__ import annotations

import shutil

from nbgrader.api import Gradebook
from sqlalchemy.sql.compiler import SQLCompiler

from autograder.grading.gradebook_statements import STATEMENTS, worker_gradebook_url


def _one_submission(url: str, student: str) -> list[str]:
    """What the worker does with a submission's gradebook, in short: add, find, list."""
    with Gradebook(url) as gb:
        gb.add_assignment("ps1")
        gb.add_student(student, first_name=student.title())
        gb.add_submission("ps1", student)
        gb.db.commit()
        gb.find_submission("ps1", student)
        return sorted(s.id for s in gb.students)


def test_the_second_gradebook_compiles_nbgraders_queries_no_more_and_sees_only_its_own_rows(tmp_path, monkeypatch):
    with Gradebook(f"sqlite:///{tmp_path / 'empty.db'}"):
        pass   # an empty gradebook (nbgrader asks alembic for its version once), copied for each below
    for name in ("plain-1", "plain-2", "shared-1", "shared-2"):
        shutil.copyfile(tmp_path / "empty.db", tmp_path / f"{name}.db")
    compiled: list[int] = []
    real_init = SQLCompiler.__init__

    def counting(self, *args, **kwargs):
        compiled.append(1)
        return real_init(self, *args, **kwargs)

    monkeypatch.setattr(SQLCompiler, "__init__", counting)

    def compiles(url: str, student: str) -> int:
        compiled.clear()
        assert _one_submission(url, student) == [student], "each gradebook holds its own student only"
        return len(compiled)

    plain = [compiles(f"sqlite:///{tmp_path / f'plain-{i}.db'}", f"student{i}") for i in (1, 2)]
    assert plain[1] == plain[0] > 5, "nbgrader's own gradebooks compile every query at every opening"
    STATEMENTS.compiled.clear()
    shared = [compiles(worker_gradebook_url(tmp_path / f"shared-{i}.db"), f"learner{i}") for i in (1, 2)]
    assert shared[0] == plain[0] and len(STATEMENTS) > 0
    assert shared[1] < plain[1] / 2, "the second opening reuses what the first compiled"
    with Gradebook(worker_gradebook_url(tmp_path / "shared-1.db")) as gb:
        assert [(s.id, s.first_name) for s in gb.students] == [("learner1", "Learner1")]
        assert [s.student.id for s in gb.find_assignment("ps1").submissions] == ["learner1"]


def _pragmas(gb: Gradebook) -> tuple[int, str]:
    with gb.engine.connect() as connection:
        return (connection.exec_driver_sql("PRAGMA synchronous").scalar(),
                connection.exec_driver_sql("PRAGMA journal_mode").scalar())


def test_scratch_gradebooks_commit_without_waiting_for_the_disk_and_the_class_gradebook_waits(tmp_path):
    """A submission's copy and the template being built are scratch; the instructor's gradebook is not."""
    from autograder.grading.gradebook_statements import scratch_gradebook_url
    from autograder.grading.outdir import Course, add_students, open_gradebook

    with Gradebook(worker_gradebook_url(tmp_path / "submission.db")) as gb:
        assert _pragmas(gb) == (0, "memory")
        gb.add_student("learner")   # and it still keeps what it is given
    with Gradebook(scratch_gradebook_url(tmp_path / "submission.db")) as gb:
        assert _pragmas(gb) == (0, "memory")
        assert [s.id for s in gb.students] == ["learner"]
    course = Course(tmp_path / "out", None)
    (tmp_path / "out").mkdir()
    with open_gradebook(course) as gb:
        assert _pragmas(gb) == (2, "delete"), "the class's gradebook: every commit reaches the disk"
        add_students(gb, ["b", "a", "b"])
        add_students(gb, ["a", "c"])
        assert sorted(s.id for s in gb.students) == ["a", "b", "c"]

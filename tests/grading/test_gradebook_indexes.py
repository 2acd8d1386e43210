"""The gradebook's added indexes: one submission's rows are found without reading the class's."""
from __future__ import annotations

from sqlalchemy import text

from autograder.course.coursedir import ensure_alembic_on_path
from autograder.grading.gradebook_indexes import INDEXES, add_indexes
from autograder.grading.outdir import use_fast_alembic_head


def _gradebook(path):
    ensure_alembic_on_path()
    use_fast_alembic_head()
    from nbgrader.api import Gradebook

    return Gradebook(f"sqlite:///{path}")


def _plan(gb, sql: str) -> str:
    return " ".join(str(row) for row in gb.db.execute(text("EXPLAIN QUERY PLAN " + sql)).fetchall())


def test_lookups_by_notebook_use_an_index_and_adding_them_twice_is_harmless(tmp_path):
    gb = _gradebook(tmp_path / "gradebook.db")
    try:
        assert "SCAN grade" in _plan(gb, "SELECT id FROM grade WHERE notebook_id = 'y'")   # nbgrader's own
        add_indexes(gb)
        add_indexes(gb)   # every run opens the gradebook so: nothing is added twice
        names = {row[0] for row in gb.db.execute(text("SELECT name FROM sqlite_master WHERE type = 'index'"))}
        assert set(INDEXES) <= names
        for name, (table, column) in INDEXES.items():
            assert name in _plan(gb, f"SELECT * FROM {table} WHERE {column} = 'x'"), name
        gb.add_student("alice")   # nbgrader writes and reads as before
        assert [s.id for s in gb.students] == ["alice"]
    finally:
        gb.close()

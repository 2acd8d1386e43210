"""Indexes nbgrader's gradebook lacks: each submission's rows found without reading the whole class's.

nbgrader's tables have a unique constraint, hence an index, on (cell_id, notebook_id) for grades and
comments and on (notebook_id, assignment_id) for submitted notebooks, but none that starts with the
column the gradebook looks rows up by: a submitted notebook's grades (`notebook.grades`, and every
score nbgrader computes, a subquery over them), its comments, a submission's notebooks. SQLite then
reads the whole table, and a class's grading time grows with the square of its size; nbgrader's
`find_comment` and `find_grade` read the comments and grades of one cell across the class.

`add_indexes` adds one index per such column to the instructor's gradebook (SQLite or PostgreSQL),
once; it changes no table and no answer, only how rows are found. nbgrader, formgrader and
`nbgrader db upgrade` ignore indexes they did not make.
"""
from __future__ import annotations

INDEXES = {                                   # name -> (table, column)
    "ix_autograder_grade_notebook": ("grade", "notebook_id"),
    "ix_autograder_comment_notebook": ("comment", "notebook_id"),
    "ix_autograder_submitted_notebook_assignment": ("submitted_notebook", "assignment_id"),
    "ix_autograder_submitted_assignment_student": ("submitted_assignment", "student_id"),
}


def add_indexes(gb) -> None:
    """The indexes above, where the gradebook does not have them yet (one transaction)."""
    from sqlalchemy import inspect, text

    engine = gb.db.get_bind()
    inspector = inspect(engine)
    tables = set(inspector.get_table_names())
    have = {index["name"] for table in tables & {t for t, _ in INDEXES.values()}
            for index in inspector.get_indexes(table)}
    missing = {name: where for name, where in INDEXES.items() if name not in have and where[0] in tables}
    if not missing:
        return
    with engine.begin() as connection:
        for name, (table, column) in missing.items():
            connection.execute(text(f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({column})"))

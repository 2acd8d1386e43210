"""grades.csv and tests.csv: one table of columns each, every value read from the gradebook and OUT's state.

A column is one entry below: its name and how its value is read. Adding a column to a CSV (and to
the rows the report reads) is that one entry.
"""
from __future__ import annotations

import csv
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder.grading.intake import Submission
from autograder.status import NOT_GRADED


@dataclass
class Row:
    """What is known of one student's one assignment when the CSVs are written."""
    sub: Submission
    state: dict                      # OUT's record of the last grading (empty if never graded)
    status: str
    reason: str
    max_score: Any = ""              # the assignment's, from the gradebook
    result: Any = None               # nbgrader's SubmittedAssignment, where it has scores
    notebook: Any = None             # for tests.csv: nbgrader's SubmittedNotebook ...
    grade: Any = field(default=None)  # ... and one of its Grades


def _score(r: Row) -> Any:
    return round(min(float(r.result.score), float(r.result.max_score)), 4) if r.result else ""


GRADE_COLUMNS: dict[str, Callable[[Row], Any]] = {
    "student_id": lambda r: r.sub.student_id,
    "name": lambda r: r.sub.name,
    "assignment_id": lambda r: r.sub.assignment_id,
    "score": _score,
    "max_score": lambda r: float(r.result.max_score) if r.result else r.max_score,
    "status": lambda r: r.status,
    "reason": lambda r: r.reason,
    "needs_manual_grade": lambda r: bool(r.result.needs_manual_grade) if r.result else "",
    "to_grade_by_hand": lambda r: sum(1 for nb in r.result.notebooks for g in nb.grades if g.needs_manual_grade)
    if r.result else "",
    "late": lambda r: r.sub.late,
    "mistakes": lambda r: " | ".join(r.state.get("mistakes", [])),  # the trusted verdict's diagnoses
    "graded_at": lambda r: r.state.get("graded_at", ""),
    "seed": lambda r: r.state.get("seed", ""),
    "protections": lambda r: r.state.get("protections", ""),   # in force where it was graded (which worker)
}

TEST_COLUMNS: dict[str, Callable[[Row], Any]] = {
    "student_id": lambda r: r.sub.student_id,
    "assignment_id": lambda r: r.sub.assignment_id,
    "notebook": lambda r: r.notebook.name,
    "grade_id": lambda r: r.grade.name,
    "kind": lambda r: "autograded" if r.grade.cell.cell_type == "code" else "manual",
    "points": lambda r: round(float(r.grade.score), 4),
    "max_points": lambda r: float(r.grade.max_score),
    "needs_manual_grade": lambda r: bool(r.grade.needs_manual_grade),
}


def _values(columns: dict[str, Callable[[Row], Any]], row: Row) -> dict[str, Any]:
    return {name: value(row) for name, value in columns.items()}


def export(gb, submissions: list[Submission], states: dict) -> tuple[list[dict], list[dict]]:
    """grades.csv and tests.csv rows (column name -> value), scores read from the gradebook."""
    grades, tests = [], []
    max_scores = {a.name: a.max_score for a in gb.assignments}
    for sub in submissions:
        sid, aid = sub.student_id, sub.assignment_id
        state = states.get((sid, aid)) or {}
        reason = "; ".join(x for x in (sub.reason or state.get("reason", ""), "; ".join(sub.notes)) if x)
        row = Row(sub, state, sub.status or state.get("status", NOT_GRADED), reason, max_scores.get(aid, ""))
        if not sub.status and state.get("graded"):
            try:
                row.result = gb.find_submission(aid, sid)
            except Exception:  # noqa: BLE001 - MissingEntry: gradebook changed behind our back
                row.status, row.reason = NOT_GRADED, "not in the gradebook; grade again with --force"
        grades.append(_values(GRADE_COLUMNS, row))
        if row.result is not None:
            for notebook in row.result.notebooks:
                for grade in notebook.grades:
                    tests.append(_values(TEST_COLUMNS, Row(sub, state, row.status, row.reason,
                                                           notebook=notebook, grade=grade)))
    return grades, tests


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> Any:
    """A CSV cell a spreadsheet shows as text: a string that would start a formula gets a leading '.

    Names and ids come from the LMS export and are the students' own; numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def write_csv(path: Path, columns: dict[str, Callable[[Row], Any]] | list[str], rows: list[dict]) -> None:
    """Write atomically: a reader sees the old file or the new one, never half of one."""
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns))
        writer.writeheader()
        writer.writerows({k: cell(v) for k, v in row.items()} for row in rows)
    os.replace(tmp, path)

"""What an LMS imports: OUT/canvas_grades.csv, OUT/moodle_grades.csv and OUT/moodle_<assignment>.csv,
final scores only.

A score is final when the row has one and nothing in it waits for a grader (`needs_manual_grade`
false); otherwise the cell is left blank, so an import never overwrites a grade with a partial one.

- Canvas: Grades > Import takes a CSV with the columns of its own gradebook export: Student, ID,
  SIS User ID, SIS Login ID, Section, then one column per assignment. Rows are matched by ID (the
  Canvas user id, the number in the names of the files of Canvas's submissions zip).
- Moodle's gradebook (Grades > Import > CSV file) takes one table: a column it maps to a user field
  (username, ID number or email), then one column per grade item: `moodle_grades.csv` has Student ID
  (the student's id here: their folder's name, so name the folders by Moodle username or ID number),
  Full name, then one column per assignment.
- Moodle's own download names a student by a participant number of that assignment, not by a user
  field; for those, the assignment's "Upload grading worksheet" takes its offline grading worksheet:
  Identifier ("Participant <id>"), Full name, Grade, Maximum Grade; one file per assignment.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from autograder.grading.export import write_csv
from autograder.status import has_score

CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
MOODLE_COLUMNS = ["Identifier", "Full name", "Grade", "Maximum Grade"]
MOODLE_GRADEBOOK_COLUMNS = ["Student ID", "Full name"]


def final_score(row: dict) -> str:
    """The score to hand to the LMS, or '' while grading is pending (or there is no score)."""
    if not has_score(row) or str(row.get("needs_manual_grade")) in ("True", "true", "1"):
        return ""
    return f"{float(row['score']):g}"


def _one_row_per_student(grades: list[dict], who: Callable[[dict], dict]) -> tuple[list[str], list[dict]]:
    """(assignment ids, rows): `who(row)`'s identity columns, then each assignment's final score."""
    assignment_ids = sorted({r["assignment_id"] for r in grades if r["assignment_id"]})
    students: dict[str, dict] = {}
    for row in grades:
        entry = students.setdefault(row["student_id"], {**who(row), **{a: "" for a in assignment_ids}})
        if row["assignment_id"] in assignment_ids:
            entry[row["assignment_id"]] = final_score(row)
    return assignment_ids, [students[s] for s in sorted(students)]


def canvas_rows(grades: list[dict]) -> tuple[list[str], list[dict]]:
    assignment_ids, rows = _one_row_per_student(grades, lambda row: {
        "Student": row.get("name") or row["student_id"], "ID": row["student_id"],
        "SIS User ID": "", "SIS Login ID": "", "Section": ""})
    return CANVAS_COLUMNS + assignment_ids, rows


def moodle_gradebook_rows(grades: list[dict]) -> tuple[list[str], list[dict]]:
    """One row per student, one column per assignment: Moodle's gradebook import."""
    assignment_ids, rows = _one_row_per_student(grades, lambda row: {
        "Student ID": row["student_id"], "Full name": row.get("name") or row["student_id"]})
    return MOODLE_GRADEBOOK_COLUMNS + assignment_ids, rows


def moodle_rows(grades: list[dict], assignment_id: str) -> list[dict]:
    return [{"Identifier": f"Participant {r['student_id']}", "Full name": r.get("name") or r["student_id"],
             "Grade": final_score(r), "Maximum Grade": r.get("max_score", "")}
            for r in sorted(grades, key=lambda r: r["student_id"]) if r["assignment_id"] == assignment_id]


def write_lms_exports(out: Path, grades: list[dict]) -> list[Path]:
    columns, rows = canvas_rows(grades)
    written = [out / "canvas_grades.csv", out / "moodle_grades.csv"]
    write_csv(written[0], columns, rows)
    write_csv(written[1], *moodle_gradebook_rows(grades))
    for assignment_id in sorted({r["assignment_id"] for r in grades if r["assignment_id"]}):
        path = out / f"moodle_{assignment_id}.csv"
        write_csv(path, MOODLE_COLUMNS, moodle_rows(grades, assignment_id))
        written.append(path)
    return written

"""Hand grades across runs: kept while the answer they judge is unchanged, reset (and said) when not.

nbgrader keys a hand grade to the cell it judges; so does the grader. A written answer's hand grade
is kept while the answer cell's checksum (nbgrader's `compute_checksum`) is the same; a hand
override of an autograded test is kept while none of the notebook's solution cells changed. The
feedback of a submission is rebuilt whenever its scores in the gradebook differ from the scores its
feedback was made with (a grader scored it in formgrader since).
"""
from __future__ import annotations

import hashlib
from pathlib import Path

SOLUTIONS = "__solutions__"   # the key under which all of a notebook's solution cells are checksummed


def answer_checksums(notebooks: dict[str, Path]) -> dict[str, dict[str, str]]:
    """notebook -> {grade_id of each graded/solution cell -> checksum; SOLUTIONS -> all solution cells}."""
    import nbformat
    from nbgrader import utils

    found: dict[str, dict[str, str]] = {}
    for name, path in notebooks.items():
        sums: dict[str, str] = {}
        solutions = hashlib.sha256()
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception:  # noqa: BLE001 - an unreadable notebook has no answers to keep
            continue
        for cell in nb.cells:
            meta = cell.get("metadata", {}).get("nbgrader", {}) or {}
            grade_id = meta.get("grade_id")
            if not isinstance(grade_id, str) or not (utils.is_grade(cell) or utils.is_solution(cell)):
                continue
            try:
                checksum = utils.compute_checksum(cell)
            except Exception:  # noqa: BLE001 - malformed cell: counts as changed
                checksum = ""
            sums.setdefault(grade_id, checksum)
            if utils.is_solution(cell):
                solutions.update(grade_id.encode() + checksum.encode())
        sums[SOLUTIONS] = solutions.hexdigest()
        found[name] = sums
    return found


def keep_or_reset(grade, notebook: str, before: dict | None, now: dict) -> str:
    """Keep `grade`'s hand score if what it judges is unchanged; '' or a line saying it was reset."""
    if grade.manual_score is None:
        return ""
    key = grade.name if grade.cell.cell_type == "markdown" else SOLUTIONS
    old = (before or {}).get(notebook, {}).get(key) if before is not None else None
    if before is None or old == now.get(notebook, {}).get(key):
        return ""  # unchanged (or graded before checksums were recorded): the grader's score stands
    grade.manual_score = None
    grade.extra_credit = None
    return f"hand grade of {grade.name} reset: the answer changed"


def scores_of(gb, assignment_id: str, student_id: str) -> dict[str, float | None]:
    """grade_id -> the score formgrader shows (hand score over auto score), of one submission."""
    try:
        submission = gb.find_submission(assignment_id, student_id)
    except Exception:  # noqa: BLE001 - MissingEntry: not in the gradebook
        return {}
    return {f"{nb.name}/{g.name}": (None if g.manual_score is None and g.auto_score is None else float(g.score))
            for nb in submission.notebooks for g in nb.grades}


def flag(gb, assignment_id: str, student_id: str, notebook: str, flags: dict[str, str]) -> None:
    """Set nbgrader's own `flagged` on the notebook; each flagged exercise's comment says why."""
    submitted = gb.find_submission_notebook(notebook, assignment_id, student_id)
    submitted.flagged = True
    for cell_id, why in flags.items():
        try:
            comment = gb.find_comment(cell_id, notebook, assignment_id, student_id)
        except Exception:  # noqa: BLE001 - no comment for that cell
            continue
        comment.auto_comment = ("Flagged: nbgrader's in-kernel test gave points that the trusted check "
                                f"does not confirm ({why}). The trusted check's score is used.")


def refresh_feedback(course, gb, state: dict, assignment_id: str, student_id: str) -> bool:
    """Rebuild the feedback if the submission's scores changed since it was made; True if rebuilt."""
    from autograder.course.coursedir import nbgrader_api

    now = scores_of(gb, assignment_id, student_id)
    if not now or state.get("feedback_scores") == now or not state.get("graded"):
        return False
    api = nbgrader_api(course.out, course.db_url)
    result = api.generate_feedback(assignment_id, student_id, force=True)
    if result["success"]:
        state["feedback_scores"] = now
        course.save_state(student_id, assignment_id, state)
    return bool(result["success"])

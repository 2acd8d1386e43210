"""Gradebook writes made outside `grade`, undone by the next run (and said).

`grade` alone writes the autograded scores (the trusted verdict's); formgrader writes hand grades
and comments. Anything else that writes the gradebook (formgrader's Autograde in a server started
without `formgrade`, `nbgrader autograde` run in OUT) puts nbgrader's in-kernel scores over the
trusted ones, marks hand-graded answers for grading again and rewrites OUT/autograded. Each run
records, per submission, the trusted scores, the hand grades and the autograded notebooks'
checksums; the next run compares: scores and marks are put back in place, a rewritten autograded
copy gets the submission graded again (with its recorded seed).
"""
from __future__ import annotations

import hashlib
from pathlib import Path


def _key(notebook, grade) -> str:
    return f"{notebook.name}/{grade.name}"


def _grades(gb, assignment_id: str, student_id: str):
    try:
        submission = gb.find_submission(assignment_id, student_id)
    except Exception:  # noqa: BLE001 - MissingEntry: not in the gradebook
        return []
    return [(nb, g) for nb in submission.notebooks for g in nb.grades]


def autograded_checksums(folder: Path) -> dict[str, str]:
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest()[:16]
            for path in sorted(folder.glob("*.ipynb"))}


def snapshot(gb, out: Path, assignment_id: str, student_id: str) -> dict:
    """What the state records of a graded submission, to compare with on the next run."""
    grades = _grades(gb, assignment_id, student_id)
    return {"trusted_scores": {_key(nb, g): g.auto_score for nb, g in grades},
            "hand_scores": {_key(nb, g): [g.manual_score, g.extra_credit] for nb, g in grades
                            if g.manual_score is not None or g.extra_credit is not None},
            "autograded": autograded_checksums(out / "autograded" / student_id / assignment_id)}


def remember_hand_grades(gb, course, state: dict, assignment_id: str, student_id: str) -> None:
    """Record the hand grades given since the last run (formgrader's, legitimately)."""
    if not state.get("graded") or "hand_scores" not in state:
        return
    now = snapshot(gb, course.out, assignment_id, student_id)["hand_scores"]
    if now != state["hand_scores"]:
        state["hand_scores"] = now
        course.save_state(student_id, assignment_id, state)


def repair(gb, out: Path, state: dict, assignment_id: str, student_id: str) -> tuple[list[str], bool]:
    """Put back what was changed since the last run: the trusted scores, the marks of what waits for
    a grader and, when either was touched, the hand grades lost with them. (What was repaired, one
    line each; True if OUT/autograded was rewritten: the submission is to be graded again.)

    A state written before these records were kept has nothing to compare with: ([], False)."""
    trusted = state.get("trusted_scores")
    if not state.get("graded") or trusted is None:
        return [], False
    lines: list[str] = []
    rewritten = autograded_checksums(out / "autograded" / student_id / assignment_id) != state.get("autograded")
    if rewritten:
        lines.append(f"autograded/{student_id}/{assignment_id} was rewritten outside grade: graded again")
    grades = _grades(gb, assignment_id, student_id)
    for nb, g in grades:
        if _key(nb, g) in trusted and g.auto_score != trusted[_key(nb, g)]:
            lines.append(f"the autograded score of {_key(nb, g)} was changed outside grade to {g.auto_score}: "
                         f"the trusted {trusted[_key(nb, g)]} is put back")
            g.auto_score = trusted[_key(nb, g)]
    marked = [g for _, g in grades if bool(g.needs_manual_grade) != (g.manual_score is None and g.auto_score is None)]
    if lines or marked:  # written outside grade and formgrader's Save: the hand grades it lost come back
        for nb, g in grades:
            if g.manual_score is None and g.extra_credit is None and _key(nb, g) in state.get("hand_scores", {}):
                g.manual_score, g.extra_credit = state["hand_scores"][_key(nb, g)]
                lines.append(f"the hand grade of {_key(nb, g)} ({g.manual_score}) was wiped outside grade: put back")
    for nb, g in grades:
        should = g.manual_score is None and g.auto_score is None
        if bool(g.needs_manual_grade) != should:
            g.needs_manual_grade = should
            lines.append(f"{_key(nb, g)} was {'un' if should else ''}marked as waiting for a grader outside "
                         "grade: mark put back")
    if lines:
        gb.db.commit()
    return lines, rewritten

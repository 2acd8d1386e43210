"""Two results for every isolated submission, and what to record when they disagree.

1. nbgrader's own autograde, with the kernel in the sandbox (autograder/sandbox/kernel.py): the
   student's code runs there and can only change its own, *in-kernel* result (a test cell that
   prints nothing passes, whatever the cell really checked).
2. The trusted verdict (autograder/verdict/program.py): the student's solution cells called on
   randomized inputs in a sandboxed child that returns plain data, judged in the grader's process.

`reconcile` records the trusted verdict for every autograded test and sorts the disagreements:
nbgrader gave points the verdict does not confirm (the in-kernel test was fooled, or is weaker):
the submission is flagged; the verdict gives points nbgrader did not (each exercise is judged on
its own, so a broken cell elsewhere in the notebook does not sink it): a note, not a flag.
"""
from __future__ import annotations


def reconcile(nbgrader_scores: dict[str, float | None], verdicts: dict, max_points: dict[str, float]
              ) -> tuple[dict[str, float | None], list[str], list[str], list[str]]:
    """Scores to record (trusted verdict for every autograded test), what to flag, what the verdict could
    not check, and what to note.

    Flagged: the verdict saw a wrong answer where nbgrader's tests passed. Unconfirmed: the verdict could not
    observe an answer (the code raised or was stopped there, the run failed): its score stands, but nobody is
    accused. Noted: the verdict gives more than nbgrader did."""
    scores = dict(nbgrader_scores)
    suspicious, unconfirmed, notes = [], [], []
    for grade_id, verdict in verdicts.items():
        most = max_points.get(grade_id, verdict.max_points)
        trusted = min(float(verdict.points), most)
        in_kernel = nbgrader_scores.get(grade_id)
        scores[grade_id] = trusted
        if in_kernel is not None and abs(float(in_kernel) - trusted) <= 1e-9:
            continue
        said = f"{grade_id}: nbgrader {in_kernel if in_kernel is not None else '-'} vs trusted {trusted:g}/{most:g}"
        if in_kernel is not None and float(in_kernel) > trusted:
            (suspicious if getattr(verdict, "checked", True) else unconfirmed).append(f"{said} ({verdict.reason})")
        else:
            notes.append(said)
    return scores, suspicious, unconfirmed, notes

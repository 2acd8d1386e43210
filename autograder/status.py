"""The statuses a row of grades.csv can have, and the one rule for "this row has a score".

A submission nbgrader finished (perhaps with a cell stopped) or that the trusted verdict scored has
a score; the status then says how it went. The other statuses say why a row has no score.
"""
from __future__ import annotations

# nbgrader graded it
OK = "ok"                                  # graded; the trusted verdict agrees (or confirms more)
FLAGGED = "flagged"                        # nbgrader's in-kernel tests passed an answer the verdict saw was wrong
UNCONFIRMED = "unconfirmed"                # nbgrader's tests passed; the verdict could not check the answer
TIMED_OUT = "timed_out"                    # a cell was stopped at the cell time limit, or the whole submission
KERNEL_DIED = "kernel_died"                # the kernel died; the trusted verdict still scores each exercise
AUTOGRADE_FAILED = "autograde_failed"      # nbgrader could not run the notebook at all
# the intake could not hand it to nbgrader
MISSING_NOTEBOOK = "missing_notebook"
UNREADABLE_NOTEBOOK = "unreadable_notebook"
NO_ASSIGNMENT = "no_assignment"
UNKNOWN_ASSIGNMENT = "unknown_assignment"
UNKNOWN_NOTEBOOK = "unknown_notebook"
# the gradebook has no result for it (e.g. changed behind the grader's back)
NOT_GRADED = "not_graded"

ALL = (OK, FLAGGED, UNCONFIRMED, TIMED_OUT, KERNEL_DIED, AUTOGRADE_FAILED, MISSING_NOTEBOOK, UNREADABLE_NOTEBOOK,
       NO_ASSIGNMENT, UNKNOWN_ASSIGNMENT, UNKNOWN_NOTEBOOK, NOT_GRADED)

NBGRADER_FINISHED = (OK, TIMED_OUT)        # nbgrader's own scores exist for every test cell


def has_score(row: dict) -> bool:
    """A row of grades.csv that carries a score (whatever its status says about how it was reached)."""
    return row.get("score", "") not in ("", None)

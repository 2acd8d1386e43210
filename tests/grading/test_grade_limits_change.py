"""A row stopped at a time limit is graded again when the limits change, as a row graded from another seed is.

One submission, three real `grade` runs into the same OUT: under a --time-limit too small to
finish (timed_out, the limit recorded with the row), under the default limit without --force
(graded again, now ok), and once more under the same limits (kept: nothing to regrade).
"""
from __future__ import annotations

import json

from support import synthetic
from support.grade_fixtures import CH1, NB1, by_student, grade, put


def test_timed_out_row_is_regraded_when_the_limits_change(tmp_path) -> None:
    subs, out = tmp_path / "subs", tmp_path / "out"
    put(subs, "s1", CH1, NB1, synthetic.solved(CH1, NB1))

    first = grade(str(subs), "--out", str(out), "--workers", "1", "--time-limit", "1", tmpdir=tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    row = by_student(out / "grades.csv")[("s1", CH1)]
    assert row["status"] == "timed_out", row
    state = json.loads((out / ".grading" / "state" / "s1" / f"{CH1}.json").read_text())
    assert state["time_limit"] == 1.0

    second = grade(str(subs), "--out", str(out), "--workers", "1", tmpdir=tmp_path)
    assert second.returncode == 0, second.stderr[-2000:]
    row = by_student(out / "grades.csv")[("s1", CH1)]
    assert (row["status"], float(row["score"])) == ("ok", 4.0), row
    assert "graded 1 submission" in second.stdout + second.stderr

    third = grade(str(subs), "--out", str(out), "--workers", "1", tmpdir=tmp_path)
    assert "graded 0 submission(s)" in third.stdout + third.stderr and "skipped 1" in third.stdout + third.stderr

"""No lost work: a batch killed with SIGKILL keeps every grade it finished; the next run does the rest."""
from __future__ import annotations

import os
import signal
import subprocess
import time

from support import synthetic
from support.grade_fixtures import CH1, NB1, PYTHON, REPO, by_student, env, grade, put, solved_with_wrong

STUDENTS = [f"s{n}" for n in range(6)]


def _finished(out):
    return sorted(p.parent.name for p in (out / ".grading" / "state").glob(f"*/{CH1}.json"))


def _processes_under(path) -> list[str]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
            cmdline = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if cwd.startswith(str(path)):
            found.append(f"{pid}: {cmdline}")
    return found


def test_killed_batch_keeps_finished_grades_and_resumes(tmp_path):
    from nbgrader.api import Gradebook

    subs, out = tmp_path / "subs", tmp_path / "out"
    for n, student in enumerate(STUDENTS):
        nb = synthetic.solved(CH1, NB1) if n % 2 == 0 else solved_with_wrong(CH1, NB1, 0)
        put(subs, student, CH1, NB1, nb)
    log = open(tmp_path / "first-run.log", "w")
    proc = subprocess.Popen([PYTHON, "-m", "autograder", "grade", str(subs), "--out", str(out), "--workers", "1"],
                            cwd=REPO, env=env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 300
    while len(_finished(out)) < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert proc.poll() is None, "the batch ended before it could be killed: " + (tmp_path / "first-run.log").read_text()
    os.killpg(proc.pid, signal.SIGKILL)  # the whole process group, as a closed terminal or OOM killer would
    proc.wait()
    finished = _finished(out)
    assert 2 <= len(finished) < len(STUDENTS), finished

    with Gradebook(f"sqlite:///{out / 'gradebook.db'}", "gradient-descent") as gb:
        for student in finished:
            assert gb.find_submission(CH1, student).score in (3.0, 4.0)

    time.sleep(3)  # orphaned kernels notice their parent is gone within a second or two
    assert not _processes_under(out), "no worker or kernel outlives a killed batch"

    again = grade(subs, "--out", out, "--workers", "2", check=True)
    assert f"skipped {len(finished)} already graded" in again.stdout, again.stdout
    assert f"graded {len(STUDENTS) - len(finished)} submission(s)" in again.stdout, again.stdout
    grades = by_student(out / "grades.csv")
    assert {sid for sid, _ in grades} == set(STUDENTS)
    for n, student in enumerate(STUDENTS):
        row = grades[(student, CH1)]
        assert row["status"] == "ok", row
        assert float(row["score"]) == (4.0 if n % 2 == 0 else 3.0), row

"""Whatever students hand in, the batch runs to the end (exit 0) with one row each, saying why.

One real run over a class of broken submissions: a kernel that dies, cells that never end (one of them
deaf to interrupts), a wall-clock limit that kills the grading, a flood of output, a flood of output, empty and misnamed
folders, truncated and non-notebook files.
"""
from __future__ import annotations

import json

import nbformat
import pytest

from autograder.sandbox import run as sandbox
from support import synthetic
from support.grade_fixtures import CH1, NB1, by_student, grade, put, rows

# Sandboxed, the trusted verdict still scores the honest part of a submission whose kernel died;
# in-process (no sandbox on this machine) nbgrader's result is all there is.
HONEST_PART = 2.0 if sandbox.mode() != "none" else None

ANSWERS = synthetic.reference_answers(CH1, NB1)
TIME_LIMIT = 90
CELL_TIMEOUT = 10  # generous: the flood must finish printing in time on a busy machine


def _with(cell_id: str, source: str):
    return synthetic.solved(CH1, NB1, **{cell_id: source})


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    subs = tmp_path_factory.mktemp("bad") / "subs"
    out = subs.parent / "out"
    put(subs, "ok_student", CH1, NB1, synthetic.solved(CH1, NB1))
    put(subs, "kernel_dies", CH1, NB1, _with("gradient_steps", "import os\nos._exit(1)"))
    put(subs, "never_ends", CH1, NB1, _with("gradient_steps", "while True:\n    pass"))
    put(subs, "deaf_loop", CH1, NB1, _with("gradient_steps",
                                            "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                                            "while True:\n    pass"))
    put(subs, "flood", CH1, NB1, _with("gradient_steps", ANSWERS["gradient_steps"] +
                                       "\nfor i in range(100000):\n    print('spam', i)"))
    (subs / "empty_student").mkdir(parents=True)
    (subs / "empty_assignment" / CH1).mkdir(parents=True)
    synthetic.write(synthetic.solved(CH1, NB1), subs / "wrong_name" / CH1 / "Untitled.ipynb")
    full = nbformat.writes(synthetic.solved(CH1, NB1))
    (subs / "truncated" / CH1).mkdir(parents=True)
    (subs / "truncated" / CH1 / f"{NB1}.ipynb").write_text(full[: len(full) // 2])
    (subs / "not_a_notebook" / CH1).mkdir(parents=True)
    (subs / "not_a_notebook" / CH1 / f"{NB1}.ipynb").write_text(json.dumps({"hello": "world"}))
    (subs / "zero_bytes" / CH1).mkdir(parents=True)
    (subs / "zero_bytes" / CH1 / f"{NB1}.ipynb").write_bytes(b"")
    put(subs, "unknown_folder", "ch9_homework", NB1, synthetic.solved(CH1, NB1))
    result = grade(subs, "--out", out, "--workers", "2", "--cell-timeout", CELL_TIMEOUT,
                   "--time-limit", TIME_LIMIT, timeout=600)
    return out, result


def test_batch_finishes_with_exit_zero(graded):
    out, result = graded
    assert result.returncode == 0, result.stderr[-3000:]
    assert (out / "report.html").exists()


@pytest.mark.parametrize("student, status, scored", [
    ("ok_student", "ok", 4.0),
    ("kernel_dies", "kernel_died", HONEST_PART),
    ("never_ends", "timed_out", 2.0),   # interrupted; test_loss and test_grad still pass
    ("deaf_loop", "timed_out", HONEST_PART),  # ignores the interrupt: nbgrader gives up on the notebook
    ("flood", "ok", 4.0),
    ("empty_assignment", "missing_notebook", None),
    ("wrong_name", "missing_notebook", None),
    ("truncated", "unreadable_notebook", None),
    ("not_a_notebook", "unreadable_notebook", None),
    ("zero_bytes", "unreadable_notebook", None),
])
def test_each_bad_input_has_its_row(graded, student, status, scored):
    out, _ = graded
    row = by_student(out / "grades.csv")[(student, CH1)]
    assert row["status"] == status, row
    assert float(row["max_score"]) == 4.0
    if scored is None:
        assert row["score"] == "" and row["reason"], row
    elif status != "ok":
        assert float(row["score"]) == scored and row["reason"], row
    else:
        assert float(row["score"]) == scored, row
        assert float(row["score"]) <= float(row["max_score"])


def test_reasons_say_what_to_fix(graded):
    out, _ = graded
    grades = by_student(out / "grades.csv")
    assert "Untitled.ipynb" in grades[("wrong_name", CH1)]["reason"]
    assert "gradient_steps" in grades[("never_ends", CH1)]["reason"]
    assert "could not be stopped" in grades[("deaf_loop", CH1)]["reason"]
    assert grades[("empty_student", "")]["status"] == "no_assignment"
    assert grades[("unknown_folder", "ch9_homework")]["status"] == "unknown_assignment"


def test_every_student_has_a_row_and_scores_stay_in_range(graded):
    out, _ = graded
    table = rows(out / "grades.csv")
    students = {r["student_id"] for r in table}
    assert students == {"ok_student", "kernel_dies", "never_ends", "deaf_loop", "flood", "empty_student",
                        "empty_assignment", "wrong_name", "truncated", "not_a_notebook", "zero_bytes",
                        "unknown_folder"}
    for row in table:
        if row["score"] != "":
            assert 0 <= float(row["score"]) <= float(row["max_score"])
    page = (out / "report.html").read_text()
    for student in ("kernel_dies", "deaf_loop", "truncated", "empty_student"):
        assert student in page, "the report lists who could not be graded"


def test_flood_of_output_is_cut(graded):
    out, _ = graded
    nb = nbformat.read(out / "autograded" / "flood" / CH1 / f"{NB1}.ipynb", as_version=4)
    lines = sum(out.get("text", "").count("\n") for cell in nb.cells for out in cell.get("outputs", [])
                if out.get("output_type") == "stream")
    assert lines <= 5000, lines


def test_no_kernel_left_running(graded):
    import os
    import time

    out, _ = graded
    time.sleep(3)  # an orphaned kernel notices its parent is gone within a second or two
    leftovers = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue
        if "ipykernel" in cmdline and cwd.startswith(str(out)):
            leftovers.append(cmdline)
    assert not leftovers


def test_wall_clock_limit_kills_a_grading_that_takes_too_long(tmp_path):
    subs, out = tmp_path / "subs", tmp_path / "out"
    put(subs, "slow", CH1, NB1, synthetic.solved(CH1, NB1))
    put(subs, "slower", CH1, NB1, _with("gradient_steps", "while True:\n    pass"))
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    result = grade(subs, "--out", out, "--workers", "1", "--time-limit", "1", timeout=300, tmpdir=tmp)
    assert result.returncode == 0, result.stderr[-3000:]
    grades = by_student(out / "grades.csv")
    for student in ("slow", "slower"):  # one second is too short for any notebook
        row = grades[(student, CH1)]
        assert row["status"] == "timed_out" and row["score"] == "", row
        assert "longer than 1 s" in row["reason"]
    # the killed workers' scratch folders (kernel sockets, the verdict server) are gone with the batch
    assert not list(tmp.iterdir())

"""The adversarial corpus, graded in one batch by the real command: `python -m autograder grade`.

Every hostile submission scores exactly what its honest part earns (the corpus's expected points),
every honest one keeps its points, the batch ends in bounded time, nothing reaches the network,
and nothing outside OUT changes.
"""
from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.paths import COURSE_DIR, REPO_ROOT, SOLUTIONS_DIR, SOURCE_DIR
from autograder.sandbox.run import mode
from support import synthetic
from support.corpus import CASES, SECRET_ENV, Listener, corpus, tree_digest

pytestmark = pytest.mark.skipif(mode() == "none", reason="no sandbox on this machine (bubblewrap missing)")


def sid(case_name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", case_name.lower())


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory):
    work = tmp_path_factory.mktemp("adversarial-batch")
    subs, out = work / "submissions", work / "out"
    listener = Listener()
    marker = work / "outside" / "marker.txt"
    marker.parent.mkdir()
    fake_gradebook = work / "outside" / "gradebook.db"
    fake_gradebook.write_text("SQLite format 3 -- fake gradebook: alice 100, bob 100\n")
    other = synthetic.write(synthetic.solved("ch1_the_idea", "the_idea"),
                            subs / "honest-reference" / "ch1_the_idea" / "the_idea.ipynb")
    placeholders = {"REPO": str(REPO_ROOT), "PORT": str(listener.port), "MARKER": str(marker),
                    "OTHER": str(other), "GRADEBOOK": str(fake_gradebook)}
    for case in CASES.values():
        built = corpus.build(case, work / "built", placeholders)
        corpus.place(case, built, subs / sid(case.name), placeholders)
    watched = (COURSE_DIR, SOLUTIONS_DIR, SOURCE_DIR, subs, fake_gradebook.parent)
    before = tree_digest(*watched)
    env = {**os.environ, SECRET_ENV: "the grader's secret"}
    try:
        result = subprocess.run([sys.executable, "-m", "autograder", "grade", str(subs), "--out", str(out),
                                 "--workers", "2", "--seed", "20261122", "--cell-timeout", "5",
                                 "--time-limit", "240"],
                                capture_output=True, text=True, timeout=1500, env=env, cwd=REPO_ROOT)
    finally:
        listener.close()
    after = tree_digest(*watched)
    yield {"result": result, "out": out, "listener": listener, "marker": marker,
           "before": before, "after": after}


def rows(path: Path) -> list[dict]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_batch_runs_to_the_end(batch) -> None:
    assert batch["result"].returncode == 0, batch["result"].stderr[-3000:]
    assert "protections:" in batch["result"].stderr


@pytest.mark.parametrize("name", sorted(CASES))
def test_case_scores_exactly_its_honest_part(batch, name: str) -> None:
    case = CASES[name]
    tests = {r["grade_id"]: float(r["points"]) for r in rows(batch["out"] / "tests.csv")
             if r["student_id"] == sid(name) and r["kind"] == "autograded"}
    (grade,) = [r for r in rows(batch["out"] / "grades.csv")
                if r["student_id"] == sid(name) and r["assignment_id"] == case.assignment]
    assert tests == case.expected, f"{name} ({case.threat}): {grade['status']}: {grade['reason']}"
    assert float(grade["score"]) <= float(grade["max_score"])
    if case.threat == "honest":
        assert grade["status"] == "ok", grade


def test_each_student_folder_gives_its_own_rows_only(batch) -> None:
    found = rows(batch["out"] / "grades.csv")
    assert {r["student_id"] for r in found} == {sid(name) for name in CASES} | {"honest-reference"}
    for name, case in CASES.items():
        mine = {r["assignment_id"]: r for r in found if r["student_id"] == sid(name)}
        assert set(mine) == {case.assignment, *case.upload.get("rows", {})}, (name, mine)
        for assignment, status in case.upload.get("rows", {}).items():
            assert mine[assignment]["status"] == status and mine[assignment]["reason"], mine[assignment]
    assert not (batch["out"] / ".grading" / "input").exists()


def test_the_other_students_grade_is_untouched(batch) -> None:
    (grade,) = [r for r in rows(batch["out"] / "grades.csv") if r["student_id"] == "honest-reference"]
    assert (grade["status"], float(grade["score"]), float(grade["max_score"])) == ("ok", 4.0, 4.0)


def test_nothing_outside_out_changed(batch) -> None:
    assert batch["listener"].accepted == 0
    assert not batch["marker"].exists()
    assert batch["before"] == batch["after"]
    assert not (REPO_ROOT / "course" / "pwned.txt").exists() and not (SOURCE_DIR / "pwned.txt").exists()
    assert not list(batch["out"].parent.rglob("pwned.ipynb")), "no archive a student uploaded is unpacked"


def test_flagged_submissions_name_the_disagreement(batch) -> None:
    flagged = [r for r in rows(batch["out"] / "grades.csv") if r["status"] == "flagged"]
    assert flagged, "hostile submissions that fool nbgrader's in-kernel tests are flagged"
    assert all("trusted verdict" in r["reason"] for r in flagged)

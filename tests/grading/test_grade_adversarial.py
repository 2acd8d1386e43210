"""The adversarial corpus, graded in one batch by the real command: `python -m autograder grade`.

Every hostile submission scores exactly what its honest part earns (the corpus's expected points),
every honest one keeps its points, the batch ends in bounded time, nothing reaches the network,
and nothing outside OUT changes. The feedback shows the final score and no hidden test; no reason
quotes reference code; and what the instructor opens afterwards (formgrader's page of a submission,
its feedback) runs no student script and sends no request anywhere the student chose, in Chromium.
"""
from __future__ import annotations

import csv
import html
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.paths import COURSE_DIR, REPO_ROOT, SOLUTIONS_DIR, SOURCE_DIR
from autograder.sandbox.run import mode
from support.corpus import CASES, SECRET_ENV, stage, tree_digest
from support.corpus import student_id as sid
from support.instructor_browser import CHROMIUM, CHROMIUM_ARGS, formgrader, visit

pytestmark = pytest.mark.skipif(mode() == "none", reason="no sandbox on this machine (bubblewrap missing)")


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory):
    work = tmp_path_factory.mktemp("adversarial-batch")
    out = work / "out"
    staged = stage(work, CASES, "SQLite format 3 -- fake gradebook: alice 100, bob 100\n")
    subs, listener, marker, fake_gradebook = staged.subs, staged.listener, staged.marker, staged.fake_gradebook
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
    if case.threat == "honest":  # full marks, no flag, and nbgrader's own run gave the same (no disagreement noted)
        assert grade["status"] == "ok" and "vs trusted" not in grade["reason"], grade
    if case.recovered or case.threat == "honest":  # (tampered metadata may be restored too, and said)
        assert ("recovered nbgrader metadata" in grade["reason"]) == case.recovered, grade


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


# ----------------------------------------------------------------------------- feedback and reasons

def page_text(path: Path) -> str:
    """What a reader of an HTML page sees as text (tags dropped, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text(encoding="utf-8")))


def reference_lines(region: str) -> set[str]:
    """Lines of the instructor's code in every source notebook's `### BEGIN <region>` regions."""
    import nbformat

    lines = set()
    for path in SOURCE_DIR.glob("*/*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            inside = False
            for line in cell.source.splitlines():
                if f"### BEGIN {region}" in line:
                    inside = True
                elif f"### END {region}" in line:
                    inside = False
                elif inside and len(line.strip()) >= 20:
                    lines.add(line.strip())
    return lines


def test_feedback_shows_the_final_score(batch) -> None:
    shown = set()
    for row in [r for r in rows(batch["out"] / "grades.csv") if r["score"]]:
        student = row["student_id"]
        autograded = sorted(p.stem for p in (batch["out"] / "autograded" / student).glob("*/*.ipynb"))
        pages = sorted((batch["out"] / "feedback" / student).glob("*/*.html"))
        assert [p.stem for p in pages] == autograded, f"{student}: feedback for every notebook nbgrader ran"
        for page in pages:
            total = re.search(r"Score: ([0-9.]+) (?:/|of) ([0-9.]+)", page_text(page))
            assert total, page
            assert float(total.group(1)) == float(row["score"]), (student, row["status"], row["reason"])
            shown.add((student, row["status"]))
    assert any(status == "flagged" for _, status in shown), "a flagged row's feedback shows the trusted score"


def test_no_hidden_test_or_reference_code_reaches_students_or_reasons(batch) -> None:
    hidden = reference_lines("HIDDEN TESTS")
    assert len(hidden) > 20
    for page in (batch["out"] / "feedback").glob("*/*/*.html"):
        text = page_text(page)
        assert "BEGIN HIDDEN TESTS" not in text, page
        assert not [line for line in hidden if line in text], page
    reference = hidden | reference_lines("SOLUTION")
    for row in rows(batch["out"] / "grades.csv"):
        assert not [line for line in reference if line in row["reason"]], row


def test_big_content_is_left_out_and_said(batch) -> None:
    for name in ("honest_big_attachments", "big_content_wrong_answer"):
        (grade,) = [r for r in rows(batch["out"] / "grades.csv") if r["student_id"] == sid(name)]
        assert "left out" in grade["reason"] and "MB" in grade["reason"], grade
    kept = batch["out"] / "submitted" / sid("honest_big_attachments") / "ch2_implement" / "gradient_descent.ipynb"
    assert kept.stat().st_size > 8 * 2**20, "OUT/submitted keeps the notebook as handed in"


# ----------------------------------------------------------------------------- the instructor's browser

@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: install the Debian package chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def server(batch, tmp_path_factory: pytest.TempPathFactory):
    with formgrader(batch["out"], tmp_path_factory.mktemp("formgrader")) as running:
        yield running


HOSTILE_HTML = {"html_in_markdown": ("ch2_implement", "gradient_descent"),
                "html_in_outputs": ("ch1_the_idea", "the_idea")}


@pytest.mark.parametrize("name", sorted(HOSTILE_HTML))
def test_instructor_pages_run_no_student_script(batch, browser, server, name: str) -> None:
    from nbgrader.api import Gradebook

    assignment, notebook = HOSTILE_HTML[name]
    base, token = server
    with Gradebook(f"sqlite:///{batch['out'] / 'gradebook.db'}") as gb:
        submission_id = gb.find_submission_notebook(notebook, assignment, sid(name)).id
    shots = REPO_ROOT / "test-artifacts" / "screenshots"
    pages = {"formgrader": (f"{base}/formgrader/submissions/{submission_id}/?token={token}", base),
             "feedback": ((batch["out"] / "feedback" / sid(name) / assignment / f"{notebook}.html").as_uri(), "file:")}
    port = str(batch["listener"].port)
    for kind, (url, origin) in pages.items():
        seen = visit(browser, url, shots / f"instructor-{kind}-{sid(name)}.png")
        assert seen.script_mark is None, f"{kind}: a student script ran ({seen.script_mark!r})"
        assert not seen.dialogs, seen.dialogs
        assert not [u for u in seen.requests if port in u or "/api/contents" in u], seen.requests
        assert not seen.foreign_requests(origin), seen.foreign_requests(origin)
        if name == "html_in_markdown":  # the answer is still readable: text, table, math source
            assert "Pick 0.2." in seen.text and seen.tables >= 1, kind

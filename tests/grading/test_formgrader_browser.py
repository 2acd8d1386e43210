"""The hand-grading route, in a real browser: `python -m autograder formgrade OUT`, formgrader, re-run.

Grades a small class, starts the README's formgrade command on OUT (127.0.0.1, a free port, a
token), and drives headless Chromium with Playwright: the flagged submission shows nbgrader's flag
and the reason in the exercise's comment; a written answer gets its points in formgrader's score
box; then `grade` runs again and grades.csv and the feedback carry the hand grade. formgrader's
Autograde button answers with a message and runs nothing; a gradebook changed behind grade's back
(as plain `nbgrader autograde` would change it) is put back by the next run, which says so.

Needs the Debian package `chromium` (/usr/bin/chromium); installs nothing itself.
"""
from __future__ import annotations

import contextlib
import re
import secrets
import sys
from pathlib import Path

import pytest

from autograder.paths import REPO_ROOT
from autograder.sandbox.run import mode
from support import synthetic
from support.grade_fixtures import CH2, NB2, by_student, env, grade, put, rows
from support.instructor_browser import free_port, serving

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions"]
WRITTEN = "what_do_you_notice"
TWO_FACED = """import sys


def single_step_gradient_descent(theta, learning_rate):
    if "ipykernel" in sys.modules:
        return theta - learning_rate * 2 * theta
    return theta + learning_rate * 2 * theta
"""

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is absent: apt-get install chromium"),
    pytest.mark.skipif(mode() == "none", reason="no sandbox on this machine (bubblewrap missing)"),
    pytest.mark.timeout(900),
]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    work = tmp_path_factory.mktemp("formgrader")
    subs, out = work / "subs", work / "out"
    put(subs, "ada", CH2, NB2, synthetic.solved(CH2, NB2))
    put(subs, "grace", CH2, NB2, synthetic.solved(CH2, NB2, single_step_gradient_descent=TWO_FACED))
    grade(subs, "--out", out, "--workers", "2", check=True)
    return subs, out


@pytest.fixture(scope="module")
def formgrader(graded):
    """The README's command, started on OUT; yields (base URL, token)."""
    _, out = graded
    tmp = out.parent
    port, token = free_port(), secrets.token_hex(16)
    environment = {**env(), "JUPYTER_CONFIG_DIR": str(tmp / "config"), "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"),
                   "JUPYTERLAB_WORKSPACES_DIR": str(tmp / "workspaces")}
    argv = [sys.executable, "-m", "autograder", "formgrade", str(out), "--no-browser", "--ip=127.0.0.1",
            f"--port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}"]
    base = f"http://127.0.0.1:{port}"
    with serving(argv, f"{base}/formgrader?token={token}", REPO_ROOT, environment, tmp / "formgrade.log"):
        yield base, token


@pytest.fixture(scope="module")
def page(formgrader):
    from playwright.sync_api import sync_playwright

    base, token = formgrader
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            page.set_default_timeout(60_000)
            page.goto(f"{base}/formgrader?token={token}")  # the token becomes a cookie
            yield page
        finally:
            browser.close()


def _open_submission(page, base: str, student: str) -> None:
    page.goto(f"{base}/formgrader/manage_students/{student}/{CH2}")
    page.get_by_role("link", name=NB2).click()
    page.wait_for_selector(f"input.score#{WRITTEN}")


def test_flagged_submission_is_flagged_in_formgrader_with_its_reason(formgrader, page):
    base, _ = formgrader
    page.goto(f"{base}/formgrader/manage_students/grace/{CH2}")
    row = page.locator("tr", has=page.get_by_role("link", name=NB2))
    row.wait_for()
    assert row.locator("td.flagged span").count() == 1, row.inner_html()
    page.get_by_role("link", name=NB2).click()
    comment = page.locator("#single_step_gradient_descent-comment, textarea.comment").first
    comment.wait_for()
    # formgrader shows nbgrader's auto_comment in the exercise's comment box (as its placeholder text),
    # filled in by its script after the page has loaded: wait for it
    with contextlib.suppress(Exception):
        page.wait_for_function("() => [...document.querySelectorAll('textarea.comment')]"
                               ".some(e => (e.value || e.placeholder).includes('Flagged'))", timeout=30_000)
    texts = page.locator("textarea.comment").evaluate_all("els => els.map(e => e.value || e.placeholder)")
    assert any("Flagged" in t and "trusted check" in t for t in texts), texts
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "formgrader-flagged.png"), full_page=True)


def test_hand_grade_in_formgrader_then_rerun(formgrader, page, graded):
    base, _ = formgrader
    subs, out = graded
    before = by_student(out / "grades.csv")[("ada", CH2)]
    assert before["needs_manual_grade"] == "True"
    _open_submission(page, base, "ada")
    score = page.locator(f"input.score#{WRITTEN}")
    with page.expect_response(lambda r: "/api/grade/" in r.url and r.request.method == "PUT") as saved:
        score.fill("2")
        score.press("Enter")
        score.blur()
    assert saved.value.ok
    page.screenshot(path=str(SCREENSHOTS / "formgrader-hand-grade.png"), full_page=True)

    again = grade(subs, "--out", out, check=True)
    assert "graded 0 submission(s)" in again.stdout and "feedback rebuilt" in again.stdout, again.stdout
    after = by_student(out / "grades.csv")[("ada", CH2)]
    assert float(after["score"]) == float(before["score"]) + 2.0
    assert after["needs_manual_grade"] == "False"
    feedback = re.sub(r"<[^>]+>", " ", (out / "feedback" / "ada" / CH2 / f"{NB2}.html").read_text())
    assert re.search(rf"Score:\s*{float(after['score']):g}(\.0+)?\s*/", feedback), "the feedback shows the hand grade"


def _gradebook(out: Path):
    from nbgrader.api import Gradebook

    return Gradebook(f"sqlite:///{out / 'gradebook.db'}", "gradient-descent")


def _scores(out: Path, student: str) -> dict:
    with _gradebook(out) as gb:
        return {(g.name, g.auto_score, g.manual_score, g.needs_manual_grade)
                for g in gb.find_submission_notebook(NB2, CH2, student).grades}


def test_autograde_button_is_switched_off(formgrader, page, graded):
    base, _ = formgrader
    subs, out = graded
    trusted = by_student(out / "grades.csv")[("grace", CH2)]
    assert trusted["status"] == "flagged", trusted
    autograded = out / "autograded" / "grace" / CH2
    files = {path: path.stat().st_mtime_ns for path in autograded.rglob("*")}
    scores = _scores(out, "grace")

    page.goto(f"{base}/formgrader/manage_submissions/{CH2}")
    row = page.locator("tr", has=page.locator("td.student-id", has_text="grace"))
    with page.expect_response(lambda r: r.url.endswith(f"/{CH2}/grace/autograde")) as answered:
        row.locator("td.autograde a").click()
    assert answered.value.ok
    dialog = page.locator("#error-modal.in")  # shown (bootstrap's fade-in done)
    dialog.wait_for(state="visible")
    page.wait_for_timeout(300)
    text = " ".join(dialog.inner_text().split())
    assert "switched off" in text and "python -m autograder grade" in text, text
    page.screenshot(path=str(SCREENSHOTS / "formgrader-autograde-off.png"), full_page=True)
    dialog.get_by_role("button", name="OK").click()

    # nothing ran: nbgrader's autograde rewrites the autograded copy and the gradebook's scores
    assert {path: path.stat().st_mtime_ns for path in autograded.rglob("*")} == files
    assert _scores(out, "grace") == scores
    again = grade(subs, "--out", out, check=True)
    assert "graded 0 submission(s)" in again.stdout and "repaired" not in again.stdout, again.stdout
    after = by_student(out / "grades.csv")[("grace", CH2)]
    assert (after["score"], after["status"]) == (trusted["score"], trusted["status"])


def test_gradebook_changed_behind_grades_back_is_put_back(graded):
    subs, out = graded
    before = by_student(out / "grades.csv")
    canvas = {r["ID"]: r[CH2] for r in rows(out / "canvas_grades.csv")}
    with _gradebook(out) as gb:
        # what plain `nbgrader autograde` writes: the in-kernel full marks over the trusted zero ...
        cheated = [g for g in gb.find_submission_notebook(NB2, CH2, "grace").grades
                   if g.cell.cell_type == "code" and (g.auto_score or 0) < g.max_score]
        assert cheated
        for g in cheated:
            g.auto_score = g.max_score
        # ... and, for an honest student, a test's score changed and the hand grade wiped
        tested = next(g for g in gb.find_submission_notebook(NB2, CH2, "ada").grades if g.auto_score)
        tested.auto_score = 0.0
        written = gb.find_grade(WRITTEN, NB2, CH2, "ada")
        hand = written.manual_score  # given by test_hand_grade_in_formgrader_then_rerun
        written.manual_score, written.needs_manual_grade = None, True
        gb.db.commit()
    notebook = out / "autograded" / "grace" / CH2 / f"{NB2}.ipynb"  # rewritten, as nbgrader autograde does
    notebook.write_text(notebook.read_text() + "\n")

    again = grade(subs, "--out", out, check=True)
    assert "graded 1 submission(s)" in again.stdout, again.stdout  # grace's autograded copy: rebuilt
    said = {line.split(": repaired: ")[0]: line for line in again.stdout.splitlines() if ": repaired: " in line}
    assert {f"ada/{CH2}", f"grace/{CH2}"} <= set(said), again.stdout
    assert "changed outside grade" in said[f"grace/{CH2}"] and "rewritten outside grade" in said[f"grace/{CH2}"]
    assert hand is None or f"{WRITTEN} ({hand})" in said[f"ada/{CH2}"], said[f"ada/{CH2}"]
    after = by_student(out / "grades.csv")
    for student in ("ada", "grace"):
        old, new = before[(student, CH2)], after[(student, CH2)]
        assert (new["score"], new["status"], new["needs_manual_grade"]) == \
            (old["score"], old["status"], old["needs_manual_grade"]), (old, new)
        assert "outside grade" in new["reason"], new["reason"]
    assert {r["ID"]: r[CH2] for r in rows(out / "canvas_grades.csv")} == canvas

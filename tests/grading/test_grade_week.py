"""An instructor's week on one Canvas zip: grade, hand-grade, re-run, regrade, export to the LMS.

One class of ch2 submissions in a Canvas-shaped zip (one of them late, one with its written answer
left blank, one that fools nbgrader's in-kernel tests), graded by the real command; hand grades are
written into the gradebook as formgrader writes them (the browser route is tests/grading/
test_formgrader_browser.py); then a plain re-run, and a --force regrade of a new upload.
"""
from __future__ import annotations

import csv
import html
import re
import subprocess

import pytest
from nbgrader.api import Gradebook

from autograder.grading.feedback_steps import WIDTH
from autograder.grading.intake import collect_folder
from autograder.sandbox.run import mode
from support import synthetic
from support.grade_fixtures import (
    CH2,
    NB2,
    PYTHON,
    by_student,
    env,
    grade,
    make_zip,
    notebook_bytes,
    rows,
    solved_with_wrong,
)

pytestmark = pytest.mark.skipif(mode() == "none", reason="no sandbox on this machine (bubblewrap missing)")

WRITTEN = "what_do_you_notice"
ADA, ALAN, GRACE, MARIE = "11111", "22222", "33333", "44444"
# Canvas's gradebook export/import columns (Canvas Guides: "How do I import grades in the Gradebook?")
CANVAS_HEADERS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]


def _with_answer(nb, text: str):
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == WRITTEN:
            cell.source = text
    return nb


def _blank_answer():
    """The wrong answer with the written answer left exactly as released."""
    nb = solved_with_wrong(CH2, NB2, 0)
    release = {c.metadata["nbgrader"]["grade_id"]: c.source for c in synthetic.release_notebook(CH2, NB2).cells
               if "grade_id" in c.metadata.get("nbgrader", {})}
    return _with_answer(nb, release[WRITTEN])


# Right where nbgrader's in-kernel tests run, wrong everywhere else: the trusted verdict flags it.
TWO_FACED = """import sys


def single_step_gradient_descent(theta, learning_rate):
    if "ipykernel" in sys.modules:
        return theta - learning_rate * 2 * theta
    return theta + learning_rate * 2 * theta
"""


def _canvas_zip(path, marie_answer: str):
    two_faced = synthetic.solved(CH2, NB2, single_step_gradient_descent=TWO_FACED)
    return make_zip(path, {
        f"lovelaceada_{ADA}_900_{NB2}.ipynb": notebook_bytes(synthetic.solved(CH2, NB2)),
        f"turingalan_late_{ALAN}_901_{NB2}.ipynb": notebook_bytes(_blank_answer()),
        f"hoppergrace_{GRACE}_902_{NB2}.ipynb": notebook_bytes(two_faced),
        f"curiemarie_{MARIE}_903_{NB2}.ipynb": notebook_bytes(_with_answer(synthetic.solved(CH2, NB2),
                                                                            marie_answer)),
    })


def _hand_grade(out, scores: dict[str, float]) -> None:
    """What formgrader's Save does: a manual score, and the answer no longer needs grading."""
    with Gradebook(f"sqlite:///{out / 'gradebook.db'}", "gradient-descent") as gb:
        for student, score in scores.items():
            written = gb.find_grade(WRITTEN, NB2, CH2, student)
            written.manual_score = score
            written.needs_manual_grade = False
        gb.db.commit()


def _feedback_score(out, student: str) -> str:
    text = (out / "feedback" / student / CH2 / f"{NB2}.html").read_text()
    match = re.search(r"Score:\s*([\d.]+)\s*/\s*([\d.]+)", re.sub(r"<[^>]+>", " ", text))
    assert match, "the feedback shows a total score"
    return match.group(1)


@pytest.fixture(scope="module")
def week(tmp_path_factory):
    work = tmp_path_factory.mktemp("week")
    out = work / "out"
    runs = {"first": grade(_canvas_zip(work / "monday.zip", "Small steps crawl, big steps overshoot."),
                           "--out", out, "--workers", "2", check=True)}
    runs["grades_first"] = by_student(out / "grades.csv")
    runs["tests_first"] = rows(out / "tests.csv")
    runs["report_first"] = (out / "report.html").read_text()
    runs["canvas_first"] = list(csv.reader(open(out / "canvas_grades.csv", newline="")))
    runs["moodle_first"] = list(csv.reader(open(out / "moodle_grades.csv", newline="")))
    runs["feedback_first"] = _feedback_score(out, ADA)
    runs["feedback_alan"] = (out / "feedback" / ALAN / CH2 / f"{NB2}.html").read_text()
    before_export = (out / "grades.csv").read_bytes()
    runs["nbgrader_export"] = subprocess.run([PYTHON, "-m", "nbgrader", "export"], cwd=out, env=env(),
                                             capture_output=True, text=True, timeout=300)
    runs["grades_untouched"] = (out / "grades.csv").read_bytes() == before_export

    _hand_grade(out, {ADA: 2.0, MARIE: 1.5, GRACE: 1.0})
    runs["rerun"] = grade(_canvas_zip(work / "monday-again.zip", "Small steps crawl, big steps overshoot."),
                          "--out", out, check=True)
    runs["grades_rerun"] = by_student(out / "grades.csv")
    runs["feedback_rerun"] = _feedback_score(out, ADA)
    runs["canvas_rerun"] = list(csv.reader(open(out / "canvas_grades.csv", newline="")))

    runs["regrade"] = grade(_canvas_zip(work / "tuesday.zip", "I changed my mind: it depends on the rate."),
                            "--out", out, "--force", check=True)
    runs["grades_regrade"] = by_student(out / "grades.csv")
    runs["tests_regrade"] = rows(out / "tests.csv")
    return out, runs


def test_blank_written_answer_scores_zero_without_a_grader(week):
    _, runs = week
    written = {r["student_id"]: r for r in runs["tests_first"] if r["grade_id"] == WRITTEN}
    assert written[ALAN]["points"] in ("0", "0.0") and written[ALAN]["needs_manual_grade"] == "False"
    assert written[ADA]["needs_manual_grade"] == "True"
    assert runs["grades_first"][(ALAN, CH2)]["needs_manual_grade"] == "False"


def test_flagged_submission_is_flagged_in_the_gradebook_with_its_reason(week):
    out, runs = week
    assert runs["grades_first"][(GRACE, CH2)]["status"] == "flagged"
    with Gradebook(f"sqlite:///{out / 'gradebook.db'}", "gradient-descent") as gb:
        notebook = gb.find_submission_notebook(NB2, CH2, GRACE)
        assert notebook.flagged
        comments = [c.comment for c in notebook.comments if c.comment]
        assert any("Flagged" in c and "trusted check" in c for c in comments), comments
        assert not gb.find_submission_notebook(NB2, CH2, ADA).flagged


def test_report_has_a_sortable_student_table_with_pending_answers_and_late_files(week):
    _, runs = week
    page = runs["report_first"]
    assert 'id="students"' in page and "<script>" in page
    # Ada, Grace and Marie answered in words (Alan left it blank): three answers wait for a grader
    assert re.search(r'id="to-grade"><strong>3</strong>', page)
    row = re.search(rf"<tr><td>{ALAN}</td>.*?</tr>", page, re.S).group(0)
    assert re.search(rf"<td>{CH2}</td>", row), "Alan's late assignment is named in the late column"
    assert not re.search(rf"<td>{CH2}</td>", re.search(rf"<tr><td>{ADA}</td>.*?</tr>", page, re.S).group(0))
    assert f'href="feedback/{ADA}/{CH2}/{NB2}.html"' in page
    assert runs["grades_first"][(ALAN, CH2)]["late"] == "True"
    # the class's common mistakes, from the trusted verdict's observations, with the students concerned
    assert runs["grades_first"][(ALAN, CH2)]["mistakes"] == "the step went uphill"
    # Grace's code steps uphill wherever nbgrader's own tests do not run: the verdict saw it too
    assert re.search(rf'id="mistakes".*?<td>{CH2}</td><td>the step went uphill</td><td>2</td>'
                     rf'<td>{ALAN}, {GRACE}</td>', page, re.S), "the uphill step, with the students concerned"
    assert ADA not in re.search(r'id="mistakes".*?</table>', page, re.S).group(0)
    assert runs["grades_first"][(ADA, CH2)]["late"] == "False"


def test_canvas_export_has_canvas_headers_and_only_final_scores(week):
    _, runs = week
    header, *body = runs["canvas_first"]
    assert header[:5] == CANVAS_HEADERS and header[5:] == [CH2]
    scores = {r[1]: r[5] for r in body}
    assert set(scores) == {ADA, ALAN, GRACE, MARIE}, "Canvas user ids from the zip's file names"
    assert scores[ADA] == "" and scores[MARIE] == "", "a written answer still to grade: no score yet"
    assert float(scores[ALAN]) == float(runs["grades_first"][(ALAN, CH2)]["score"]) == 3.0
    header, *body = runs["canvas_rerun"]
    scores = {r[1]: r[5] for r in body}
    assert float(scores[ADA]) == float(runs["grades_rerun"][(ADA, CH2)]["score"]) == 7.0


def test_moodle_gradebook_import_has_a_row_per_student_and_only_final_scores(week):
    _, runs = week
    header, *body = runs["moodle_first"]
    assert header == ["Student ID", "Full name", CH2]
    assert sorted(r[0] for r in body) == sorted({ADA, ALAN, GRACE, MARIE}), "one row per student"
    scores = {r[0]: r[2] for r in body}
    assert scores[ADA] == "" and scores[MARIE] == "", "a written answer still to grade: no score yet"
    assert float(scores[ALAN]) == float(runs["grades_first"][(ALAN, CH2)]["score"])


def test_moodle_worksheet(week):
    out, runs = week
    sheet = rows(out / f"moodle_{CH2}.csv")
    assert list(sheet[0]) == ["Identifier", "Full name", "Grade", "Maximum Grade"]
    by_id = {r["Identifier"]: r for r in sheet}
    assert float(by_id[f"Participant {ALAN}"]["Grade"]) == float(runs["grades_regrade"][(ALAN, CH2)]["score"])


def test_nbgrader_export_does_not_overwrite_grades_csv(week):
    out, runs = week
    assert runs["nbgrader_export"].returncode == 0, runs["nbgrader_export"].stderr[-2000:]
    assert runs["grades_untouched"]
    assert (out / "nbgrader_grades.csv").exists()


def test_feedback_puts_plain_words_first_wrapped_and_math_needs_no_internet(week):
    _, runs = week
    page = runs["feedback_alan"]
    body = re.sub(r"<(style|script)\b.*?</\1>", "", page, flags=re.S)
    text = html.unescape(re.sub(r"<[^>]+>", "", body))
    mark = text.index("✘")
    block = text[mark:].split("\n\n")[0]
    assert "uphill" in block and "returned" in block and "expected" in block, block
    assert "Traceback" not in text[:mark], "the result comes before any traceback"
    assert all(len(line) <= WIDTH for line in block.splitlines()), block
    assert page.count('class="math"') >= 3, "the chapter's formulas are pre-rendered images"
    assert not re.search(r"\$\\theta|\\frac\{", text), "no TeX left for MathJax to typeset"


def test_rerun_picks_up_hand_grades_and_rebuilds_their_feedback(week):
    _, runs = week
    assert "graded 0 submission(s)" in runs["rerun"].stdout, runs["rerun"].stdout
    assert "feedback rebuilt" in runs["rerun"].stdout and ADA in runs["rerun"].stdout
    assert float(runs["feedback_first"]) + 2.0 == float(runs["feedback_rerun"])
    assert float(runs["grades_rerun"][(ADA, CH2)]["score"]) == 7.0


def test_regrade_keeps_hand_grades_of_unchanged_answers_and_says_which_were_reset(week):
    _, runs = week
    written = {r["student_id"]: r for r in runs["tests_regrade"] if r["grade_id"] == WRITTEN}
    assert float(written[ADA]["points"]) == 2.0 and written[ADA]["needs_manual_grade"] == "False"
    assert written[MARIE]["needs_manual_grade"] == "True", "Marie changed her answer: graded again"
    assert f"{MARIE}/{CH2}: hand grade of {WRITTEN} reset" in runs["regrade"].stdout, runs["regrade"].stdout
    assert f"{ADA}/{CH2}: hand grade" not in runs["regrade"].stdout
    assert "reset" in runs["grades_regrade"][(MARIE, CH2)]["reason"]


def test_reason_never_names_nbgraders_own_files(tmp_path):
    for student in ("ada", "alan"):
        synthetic.write(synthetic.solved(CH2, NB2), tmp_path / student / CH2 / f"{NB2}.ipynb")
        (tmp_path / student / CH2 / "timestamp.txt").write_text("2026-11-23 10:00:00.000000 UTC")
    (tmp_path / "alan" / CH2 / "notes.txt").write_text("mine")
    found = {s.student_id: s for s in collect_folder(tmp_path)}
    assert found["ada"].notes == []
    assert found["alan"].notes == ["ignored notes.txt"]


def test_bad_database_leaves_nothing(tmp_path):
    subs = tmp_path / "subs"
    synthetic.write(synthetic.solved(CH2, NB2), subs / "ada" / CH2 / f"{NB2}.ipynb")
    result = grade(subs, "--out", tmp_path / "out", "--db", f"sqlite:///{tmp_path}/no/such/folder/gb.db",
                   timeout=120)
    assert result.returncode == 2 and "--db" in result.stderr, result.stderr
    assert not (tmp_path / "out").exists()
    existing = tmp_path / "existing"
    existing.mkdir()
    result = grade(subs, "--out", existing, "--db", "postgresql://nobody@127.0.0.1:1/none", timeout=120)
    assert result.returncode == 2
    assert list(existing.iterdir()) == []


def test_empty_submissions_leave_no_lock(tmp_path):
    (tmp_path / "empty").mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("the instructor's")
    result = grade(tmp_path / "empty", "--out", out, timeout=120)
    assert result.returncode == 2 and "no submissions" in result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]


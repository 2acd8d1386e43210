"""An instructor's week on one Canvas zip: grade, hand-grade, re-run, regrade, export to the LMS.

One class of ch2 submissions in a Canvas-shaped zip (one of them late, one with its written answer
left blank, one that fools nbgrader's in-kernel tests), graded by the real command; hand grades are
written into the gradebook as formgrader writes them (the browser route is tests/grading/
test_formgrader_browser.py); then a plain re-run, a regrade of one student (--student), and a
--force regrade of a new upload.
"""
from __future__ import annotations

import csv
import html
import json
import os
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
    REPO,
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


def _without_cell_ids(nb) -> bytes:
    """The notebook as an older Jupyter saves it: format 4.5, but no cell ids (nbformat warns of it)."""
    data = json.loads(notebook_bytes(nb))
    for cell in data["cells"]:
        cell.pop("id", None)
    return json.dumps(data).encode()


def _canvas_zip(path, marie_answer: str):
    two_faced = synthetic.solved(CH2, NB2, single_step_gradient_descent=TWO_FACED)
    return make_zip(path, {
        f"lovelaceada_{ADA}_900_{NB2}.ipynb": notebook_bytes(synthetic.solved(CH2, NB2)),
        f"turingalan_late_{ALAN}_901_{NB2}.ipynb": notebook_bytes(_blank_answer()),
        f"hoppergrace_{GRACE}_902_{NB2}.ipynb": _without_cell_ids(two_faced),
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
    """The total of the feedback page's heading: 'Score: 7.0 / 7.0', or 'Score: 5 of 5 autograded, 2 pending'."""
    text = (out / "feedback" / student / CH2 / f"{NB2}.html").read_text()
    match = re.search(r"<h4>[^<]*\(Score:\s*([\d.]+)\s*(?:/|of)\s*([\d.]+)", text)
    assert match, "the feedback shows a total score"
    return match.group(1)


@pytest.fixture(scope="module")
def week(tmp_path_factory):
    work = tmp_path_factory.mktemp("week")
    out = work / "out"
    # a SQLite gradebook inside an OUT that does not exist yet, given relative to the current folder
    database = f"sqlite:///{os.path.relpath(out / 'gradebook.db', REPO)}"
    runs = {"first": grade(_canvas_zip(work / "monday.zip", "Small steps crawl, big steps overshoot."),
                           "--out", out, "--workers", "2", "--db", database, check=True)}
    runs["grades_first"] = by_student(out / "grades.csv")
    runs["tests_first"] = rows(out / "tests.csv")
    runs["report_first"] = (out / "report.html").read_text()
    runs["canvas_first"] = list(csv.reader(open(out / "canvas_grades.csv", newline="")))
    runs["moodle_first"] = list(csv.reader(open(out / "moodle_grades.csv", newline="")))
    runs["feedback_first"] = _feedback_score(out, ADA)
    runs["feedback_alan"] = (out / "feedback" / ALAN / CH2 / f"{NB2}.html").read_text()
    runs["feedback_ada"] = (out / "feedback" / ADA / CH2 / f"{NB2}.html").read_text()
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

    # Ada's notebook is unchanged: only --student makes it graded again; the others stay as they are
    runs["one_student"] = grade(_canvas_zip(work / "monday-third.zip", "Small steps crawl, big steps overshoot."),
                                "--out", out, "--student", ADA, check=True)
    runs["grades_one_student"] = by_student(out / "grades.csv")
    runs["tests_one_student"] = rows(out / "tests.csv")

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



def test_grading_prints_no_third_party_warnings(week):
    _, runs = week
    # Grace's notebook has no cell ids, as an older Jupyter saves it: nbformat's warning is not passed on
    for run in ("first", "rerun", "one_student", "regrade"):
        assert not re.search(r"\w+Warning\b", runs[run].stderr), runs[run].stderr


def test_sqlite_gradebook_inside_a_new_out_is_made_and_given_to_formgrader_absolute(week):
    out, _ = week
    assert (out / "gradebook.db").is_file()
    assert f"c.CourseDirectory.db_url = 'sqlite:///{out / 'gradebook.db'}'" in (out / "nbgrader_config.py").read_text()


def test_report_tells_the_real_commands(week):
    out, runs = week
    page = html.unescape(runs["report_first"])
    assert f"<code>python -m autograder formgrade {out}</code>" in page
    assert re.search(rf"<code>python -m autograder grade \S+monday\.zip --out {re.escape(str(out))} --db "
                     rf"sqlite:///{re.escape(str(out / 'gradebook.db'))}</code>", page), page[:3000]
    assert "formgrade OUT" not in page


def test_written_answer_waiting_for_a_grader_is_pending_not_zero(week):
    _, runs = week
    text = html.unescape(re.sub(r"<[^>]+>", " ", runs["feedback_ada"]))
    assert re.search(r"Score:\s*5 of 5 autograded, 2 pending", text), "the total says what is pending"
    assert re.search(r"Written response\s*\(waiting for a grader: 2 points\)", text)
    assert "Waiting for a grader: 2 points" in text
    assert not re.search(r"Written response\s*\(Score: 0", text)
    # Alan left the answer exactly as released: 0 by nbgrader's own rule, nothing pending
    alan = html.unescape(re.sub(r"<[^>]+>", " ", runs["feedback_alan"]))
    assert re.search(r"Written response\s*\(Score: 0\.0 / 2\.0\)", alan) and "pending" not in alan
    row = re.search(rf"<tr><td>{ADA}</td>.*?</tr>", runs["report_first"], re.S).group(0)
    assert "<td>5 of 5 autograded, 2 pending</td>" in row, row
    row = re.search(rf"<tr><td>{ALAN}</td>.*?</tr>", runs["report_first"], re.S).group(0)
    assert "pending" not in row and "<td>3.0</td>" in row, row


def test_student_option_regrades_only_that_student(week):
    _, runs = week
    assert "graded 1 submission(s)" in runs["one_student"].stdout, runs["one_student"].stdout
    before, after = runs["grades_rerun"], runs["grades_one_student"]
    assert after[(ADA, CH2)]["graded_at"] >= before[(ADA, CH2)]["graded_at"]
    assert after[(ADA, CH2)]["seed"] != before[(ADA, CH2)]["seed"], "graded again, with this run's seed"
    assert float(after[(ADA, CH2)]["score"]) == 7.0, "the hand grade of an unchanged answer stands"
    assert {k: r for k, r in after.items() if k[0] != ADA} == {k: r for k, r in before.items() if k[0] != ADA}
    written = {r["student_id"]: float(r["points"]) for r in runs["tests_one_student"] if r["grade_id"] == WRITTEN}
    assert written[MARIE] == 1.5 and written[GRACE] == 1.0 and written[ADA] == 2.0

"""`python -m autograder grade`: grades, tests, feedback, report, gradebook, re-runs and exit codes.

Real nbgrader runs on a small synthetic class (no mocks).
"""
from __future__ import annotations

import base64
import re

import nbformat
import pytest

from autograder.grading.export import GRADE_COLUMNS, TEST_COLUMNS
from support import synthetic
from support.grade_fixtures import (
    CELL_TIMEOUT,
    CH1,
    CH2,
    CH4,
    NB1,
    NB2,
    NB4,
    by_student,
    grade,
    put,
    rows,
    solved_with_wrong,
)


def _duplicated_solution(aid, nb_name):
    nb = synthetic.solved(aid, nb_name)
    first = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("solution"))
    copy = nbformat.from_dict(dict(nb.cells[first]))
    copy["id"] = "copied-cell"
    nb.cells.insert(first + 1, copy)
    return nb


def _deleted_test(aid, nb_name):
    nb = synthetic.solved(aid, nb_name)
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "test_grad"]
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    subs = tmp_path_factory.mktemp("submissions")
    out = tmp_path_factory.mktemp("graded") / "out"
    put(subs, "alice", CH1, NB1, synthetic.solved(CH1, NB1))
    put(subs, "alice", CH2, NB2, synthetic.solved(CH2, NB2))
    (subs / "alice" / CH2 / "scratch.txt").write_text("notes to self")           # an extra file
    (subs / "alice" / CH2 / ".ipynb_checkpoints").mkdir()
    put(subs, "bob", CH2, NB2, solved_with_wrong(CH2, NB2, 0))                    # loses test_single_step
    put(subs, "carl", CH1, NB1, _duplicated_solution(CH1, NB1))                   # DeduplicateIds
    put(subs, "dora", CH1, NB1, _deleted_test(CH1, NB1))                          # add_missing_cells
    put(subs, "ivy", CH4, NB4, synthetic.release_notebook(CH4, NB4))              # handed in blank
    result = grade(subs, "--out", out, "--workers", "2", "--cell-timeout", CELL_TIMEOUT * 3, "--no-zygote",
                   check=True)
    return subs, out, result


def test_grades_csv_has_a_row_per_student_and_assignment(graded):
    _, out, result = graded
    assert result.returncode == 0
    table = rows(out / "grades.csv")
    assert list(table[0]) == list(GRADE_COLUMNS)
    grades = by_student(out / "grades.csv")
    assert set(grades) == {("alice", CH1), ("alice", CH2), ("bob", CH2), ("carl", CH1), ("dora", CH1), ("ivy", CH4)}
    for row in table:
        assert row["status"] == "ok", row
        assert 0 <= float(row["score"]) <= float(row["max_score"])
    assert float(grades[("alice", CH1)]["score"]) == 4.0
    assert float(grades[("alice", CH2)]["score"]) == 5.0  # the written answer waits for a grader
    assert grades[("alice", CH2)]["needs_manual_grade"] == "True"
    assert "scratch.txt" in grades[("alice", CH2)]["reason"]
    assert float(grades[("bob", CH2)]["score"]) == 3.0
    assert float(grades[("carl", CH1)]["score"]) == 4.0
    assert float(grades[("dora", CH1)]["score"]) == 4.0, "the deleted test cell is put back and graded"
    assert float(grades[("ivy", CH4)]["score"]) == 0.0


def test_tests_csv_has_a_row_per_test_cell(graded):
    _, out, _ = graded
    table = rows(out / "tests.csv")
    assert list(table[0]) == list(TEST_COLUMNS)
    for row in table:
        assert 0 <= float(row["points"]) <= float(row["max_points"])
    bob = {r["grade_id"]: r for r in table if r["student_id"] == "bob"}
    assert set(bob) == {"test_single_step_gradient_descent", "test_gradient_descent", "what_do_you_notice"}
    assert float(bob["test_single_step_gradient_descent"]["points"]) == 0.0
    assert float(bob["test_gradient_descent"]["points"]) == 3.0
    assert bob["what_do_you_notice"]["kind"] == "manual"
    dora = {r["grade_id"] for r in table if r["student_id"] == "dora"}
    assert "test_grad" in dora


def test_feedback_gradebook_and_formgrader_folder(graded):
    _, out, _ = graded
    for sid, aid, nb in [("alice", CH1, NB1), ("alice", CH2, NB2), ("bob", CH2, NB2), ("ivy", CH4, NB4)]:
        html = out / "feedback" / sid / aid / f"{nb}.html"
        assert html.exists() and html.stat().st_size > 1000
        assert (out / "autograded" / sid / aid / f"{nb}.ipynb").exists()
        assert (out / "submitted" / sid / aid / f"{nb}.ipynb").exists()
    assert (out / "gradebook.db").exists()
    assert "load_subconfig" in (out / "nbgrader_config.py").read_text()


def test_report_is_self_contained_with_alt_text(graded):
    _, out, _ = graded
    page = (out / "report.html").read_text()
    images = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)" alt="([^"]+)"', page)
    assert len(images) >= 2
    for data, alt in images:
        assert base64.b64decode(data)[:8] == b"\x89PNG\r\n\x1a\n"
        assert len(alt) > 20
    assert "Pass rate per test cell" in page and "Score distribution" in page
    assert "Scores per question" in page
    assert any(alt.startswith("Histograms of the points per question") and f"{CH2} / what_do_you_notice" in alt
               for _, alt in images), "written answers have their histogram too"
    assert "http://" not in page and "https://" not in page
    assert page.count("<script") == 1 and "<script src" not in page, "one inline script: the table sorting"
    hardest = page.index("test_single_step_gradient_descent")
    assert hardest < page.index("test_gradient_steps"), "hardest test first"


def test_rerun_skips_then_picks_up_manual_scores_and_force_regrades(graded):
    from nbgrader.api import Gradebook

    subs, out, _ = graded
    with Gradebook(f"sqlite:///{out / 'gradebook.db'}", "gradient-descent") as gb:
        written = gb.find_grade("what_do_you_notice", NB2, CH2, "alice")  # as formgrader does
        written.manual_score = 1.5
        written.needs_manual_grade = False
        gb.db.commit()
    again = grade(subs, "--out", out, check=True)
    assert "graded 0 submission(s)" in again.stdout and "skipped 6" in again.stdout, again.stdout
    assert float(by_student(out / "grades.csv")[("alice", CH2)]["score"]) == 6.5

    first = by_student(out / "grades.csv")
    before = first[("bob", CH2)]["graded_at"]
    # regraded with kernels forked from the warm zygote (the default): the same grades as fresh kernels
    forced = grade(subs, "--out", out, "--force", "--workers", "2", "--cell-timeout", CELL_TIMEOUT * 3,
                   check=True)
    assert "graded 6 submission(s)" in forced.stdout, forced.stdout
    grades = by_student(out / "grades.csv")
    from autograder.sandbox import kernel_zygote

    if kernel_zygote.available():
        assert "kernels: a fresh sandboxed Python per submission" in graded[2].stderr
        assert all(r["protections"] == "sandboxed (fresh kernel)" for r in first.values()), first
        assert all(r["protections"] == "sandboxed (zygote kernel)" for r in grades.values()), grades
        assert "kernels: forked from a warm sandboxed zygote" in forced.stderr
    assert {k: (r["score"], r["status"]) for k, r in grades.items()} == \
        {k: (r["score"], r["status"]) for k, r in first.items()}
    assert float(grades[("alice", CH2)]["score"]) == 6.5, "nbgrader keeps the manual score on a regrade"
    assert grades[("bob", CH2)]["graded_at"] >= before
    feedback = (out / "feedback" / "alice" / CH2 / f"{NB2}.html").read_text()
    assert "6.5" in feedback, "feedback regenerated with the grader's score"


@pytest.mark.parametrize("layout", ["missing", "one_student", "unknown_assignments", "empty", "not_zip",
                                    "bad_zip", "workers", "unknown_student"])
def test_instructor_mistakes_exit_non_zero_with_one_line(tmp_path, layout):
    subs = tmp_path / "subs"
    extra = []
    if layout == "missing":
        subs = tmp_path / "no-such-folder"
    elif layout == "one_student":
        put(tmp_path, "alice", CH1, NB1, synthetic.solved(CH1, NB1))
        put(tmp_path, "alice", CH2, NB2, synthetic.solved(CH2, NB2))
        subs = tmp_path / "alice"  # pointed at one student's folder instead of the class folder
    elif layout == "unknown_assignments":
        put(subs, "alice", "homework1", NB1, synthetic.solved(CH1, NB1))
        put(subs, "bob", "homework1", NB1, synthetic.solved(CH1, NB1))
    elif layout == "empty":
        subs.mkdir()
    elif layout == "not_zip":
        subs.mkdir()
        subs = subs / "grades.xlsx"
        subs.write_text("not a zip")
    elif layout == "bad_zip":
        subs.mkdir()
        subs = subs / "download.zip"
        subs.write_bytes(b"PK\x03\x04 truncated")
    elif layout == "workers":
        put(subs, "alice", CH1, NB1, synthetic.solved(CH1, NB1))
        extra = ["--workers", "0"]
    elif layout == "unknown_student":
        put(subs, "alice", CH1, NB1, synthetic.solved(CH1, NB1))
        extra = ["--student", "alice", "--student", "alcie"]  # a typo: nothing is graded
    result = grade(subs, "--out", tmp_path / "out", *extra, timeout=120)
    assert result.returncode != 0, (layout, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("grade: error:"), result.stderr
    assert "Traceback" not in result.stderr


def test_a_second_run_on_the_same_out_is_refused_while_the_first_runs(tmp_path):
    import fcntl

    subs, out = tmp_path / "subs", tmp_path / "out"
    put(subs, "alice", CH1, NB1, synthetic.solved(CH1, NB1))
    (out / ".grading").mkdir(parents=True)
    with open(out / ".grading" / "lock", "w") as held:  # as a running batch holds it
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        result = grade(subs, "--out", out, timeout=120)
    assert result.returncode != 0
    assert len(result.stderr.strip().splitlines()) == 1 and "another grade run" in result.stderr


def test_a_failing_cells_traceback_is_pythons_plain_one(graded):
    """nbgrader's kernels start with the course's `Execute.extra_arguments` (nbgrader_config.py): plain
    tracebacks, which IPython makes without parsing the source file of every frame."""
    _, out, _ = graded
    nb = nbformat.read(out / "autograded" / "ivy" / CH4 / f"{NB4}.ipynb", as_version=4)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"
              and o.get("ename") == "NotImplementedError"]
    assert errors, "the blank chapter's stubs raise in the autograded notebook"
    for error in errors:
        lines = [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in error["traceback"]]
        assert lines[0].startswith("Traceback (most recent call last)"), lines[:2]
        assert lines[-1].startswith("NotImplementedError"), lines[-1]


def test_build_kernels_do_not_print_ipykernels_tcp_notice(tmp_path, capfd):
    """`build` runs the reference notebooks in kernels of its own: their stderr is the terminal's."""
    from autograder.course.build import quiet_kernels
    from autograder.course.solutions import execute

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('ran')")])
    with quiet_kernels():
        executed = execute(nb, tmp_path)
    err = capfd.readouterr().err
    assert "Kernel is running over TCP without encryption" not in err, err
    assert executed.cells[0].outputs[0].text == "ran\n"


def test_question_histogram_counts_written_answers_once_graded():
    from autograder.grading.report import question_figure, question_scores

    def row(student, grade_id, points, top, pending=False):
        return {"student_id": student, "assignment_id": CH2, "grade_id": grade_id, "points": points,
                "max_points": top, "needs_manual_grade": pending, "kind": "manual"}

    tests = [row("a", "test_x", 3.0, 3.0), row("a", "what_do_you_notice", 1.5, 2.0),
             row("b", "test_x", 0.0, 3.0), row("b", "what_do_you_notice", 0.0, 2.0, pending=True)]
    assert question_scores(tests) == {f"{CH2} / test_x": (3.0, [3.0, 0.0], 0),
                                      f"{CH2} / what_do_you_notice": (2.0, [1.5], 1)}
    figure = question_figure(tests)
    assert base64.b64decode(figure.png)[:4] == b"\x89PNG"
    assert "what_do_you_notice: 1 graded, 0 with all 2 points, 1 waiting for a grader" in figure.alt

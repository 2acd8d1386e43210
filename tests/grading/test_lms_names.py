"""LMS file names as the LMS writes them, and every file of an upload accounted for (no grading)."""
from __future__ import annotations

import pytest

from autograder.grading import unmatched as unmatched_module
from autograder.grading.batch import _say_unmatched
from autograder.grading.intake import collect
from autograder.grading.report import write_report
from support import synthetic
from support.grade_fixtures import CH1, CH2, NB1, NB2, make_zip, notebook_bytes, put

NOTEBOOK = notebook_bytes(synthetic.solved(CH2, NB2))


def _collect(tmp_path, files: dict[str, bytes], **links):
    unmatched: list[unmatched_module.Unmatched] = []
    found = collect(make_zip(tmp_path / "upload.zip", files, **links), tmp_path / "scratch", unmatched)
    return {(s.student_id, s.assignment_id): s for s in found}, {u.file: u for u in unmatched}


@pytest.mark.parametrize("file_name, late", [
    (f"wufrank_LATE_1239_5683_{NB2}.ipynb", True),
    (f"wufrank_Late_1239_5683_{NB2}-1.ipynb", True),            # Canvas: a resubmission
    (f"wufrank_late_1239_5683_{NB2} (1).ipynb", True),          # a browser: downloaded twice
    (f"wufrank_1239_5683_{NB2}-2 (1).IPYNB", False),
    (f"Frank Wu_1239_AssignSubmission_File_{NB2}.ipynb", False),  # Moodle, any case
])
def test_lms_names_in_any_case_and_with_reupload_suffixes_give_their_student_a_row(tmp_path, file_name, late):
    rows, unmatched = _collect(tmp_path, {f"lovelaceada_12345_67890_{NB2}.ipynb": NOTEBOOK, file_name: NOTEBOOK})
    assert set(rows) == {("12345", CH2), ("1239", CH2)}
    assert rows[("1239", CH2)].gradable and rows[("1239", CH2)].late == late
    assert unmatched == {}


def test_files_named_like_no_students_upload_are_listed_as_nobodys(tmp_path):
    rows, unmatched = _collect(tmp_path, {
        f"lovelaceada_12345_67890_{NB2}.ipynb": NOTEBOOK,
        f"{NB2} (1).ipynb": NOTEBOOK,                              # a browser's second download, no LMS name
        "wufrank_LATE_x_5683_notes.txt": b"no student id",
        "stray/readme.txt": b"a folder",
        "../escape.ipynb": NOTEBOOK,
    })
    assert set(rows) == {("12345", CH2)}
    assert set(unmatched) == {f"{NB2} (1).ipynb", "wufrank_LATE_x_5683_notes.txt", "stray/", "../escape.ipynb"}
    assert all(u.student_id == "" for u in unmatched.values())
    assert "named like no student's upload" in unmatched[f"{NB2} (1).ipynb"].reason
    assert "unsafe path" in unmatched["../escape.ipynb"].reason


def test_a_students_files_not_graded_are_listed_with_why(tmp_path):
    rows, unmatched = _collect(tmp_path, {
        f"lovelaceada_12345_100_{NB2}.ipynb": NOTEBOOK,             # the earlier attempt
        f"lovelaceada_12345_200_{NB2}-1.ipynb": NOTEBOOK,
        "lovelaceada_12345_201_notes.txt": b"mine",
        "lovelaceada_12345_202_work.zip": b"not unpacked",
    }, links={"lovelaceada_12345_203_link.ipynb": "/etc/passwd"})
    assert rows[("12345", CH2)].gradable
    assert {name: u.student_id for name, u in unmatched.items()} == {
        f"lovelaceada_12345_100_{NB2}.ipynb": "12345", "lovelaceada_12345_201_notes.txt": "12345",
        "lovelaceada_12345_202_work.zip": "12345", "lovelaceada_12345_203_link.ipynb": "12345"}
    assert unmatched[f"lovelaceada_12345_100_{NB2}.ipynb"].reason == unmatched_module.OTHER_COPY
    assert unmatched["lovelaceada_12345_201_notes.txt"].reason == unmatched_module.NOT_A_COURSE_NOTEBOOK
    assert unmatched["lovelaceada_12345_202_work.zip"].reason == unmatched_module.ARCHIVE_NOT_UNPACKED
    assert "link" in unmatched["lovelaceada_12345_203_link.ipynb"].reason


def test_names_inside_one_upload_never_decide_another_students_row(tmp_path):
    alan = "Alan Turing_1002_assignsubmission_file_"
    rows, unmatched = _collect(tmp_path, {
        f"{alan}/{NB2}.ipynb": NOTEBOOK,
        f"{alan}/wufrank_LATE_1239_5683_{NB2}.ipynb": NOTEBOOK,
        f"{alan}/Ada Lovelace_1001_assignsubmission_file_{NB2}.ipynb": NOTEBOOK,
    })
    assert set(rows) == {("1002", CH2)} and not rows[("1002", CH2)].late
    assert {u.student_id for u in unmatched.values()} == {"1002"}
    assert set(unmatched) == {f"{alan}/wufrank_LATE_1239_5683_{NB2}.ipynb",
                              f"{alan}/Ada Lovelace_1001_assignsubmission_file_{NB2}.ipynb"}


def test_nbgrader_layout_lists_what_is_in_no_assignment(tmp_path):
    subs = tmp_path / "subs"
    put(subs, "alice", CH1, NB1, synthetic.solved(CH1, NB1))
    (subs / "grades_by_hand.xlsx").write_bytes(b"beside the students")
    (subs / "alice" / "notes.txt").write_text("in alice's folder, in no assignment")
    synthetic.write(synthetic.solved(CH1, NB1), subs / "alice" / f"{NB1}.ipynb")  # a second copy
    unmatched: list[unmatched_module.Unmatched] = []
    found = collect(subs, tmp_path / "scratch", unmatched)
    assert [(s.student_id, s.assignment_id) for s in found] == [("alice", CH1)] and found[0].gradable
    assert [(u.file, u.student_id) for u in unmatched] == [
        ("grades_by_hand.xlsx", ""), ("alice/notes.txt", "alice"), (f"alice/{NB1}.ipynb", "alice")]
    assert "ignored" in " ".join(found[0].notes) and "notes.txt" in " ".join(found[0].notes)


def test_refused_members_of_a_zipped_nbgrader_layout_are_listed(tmp_path):
    solved = notebook_bytes(synthetic.solved(CH1, NB1))
    files = {f"submitted/{who}/{CH1}/{NB1}.ipynb": solved for who in ("alice", "bob")}
    rows, unmatched = _collect(tmp_path, files, links={f"submitted/alice/{CH1}/extra.ipynb": "/etc/passwd",
                                                       "submitted/readme": "/etc/passwd"})
    assert rows[("alice", CH1)].gradable and "refused" in " ".join(rows[("alice", CH1)].notes)
    assert unmatched[f"submitted/alice/{CH1}/extra.ipynb"].student_id == "alice"
    assert unmatched["submitted/readme"].student_id == ""


HOSTILE = "<img src=x onerror=alert(1)>\x1b[2J.ipynb"


def test_file_names_are_data_in_the_terminal_and_the_report(tmp_path, capsys):
    unmatched = [unmatched_module.Unmatched(HOSTILE, unmatched_module.NOT_LMS_NAMED)]
    _say_unmatched(unmatched, tmp_path / "report.html")
    printed = capsys.readouterr().out
    assert "\x1b" not in printed and "<img src=x onerror=alert(1)>\\x1b[2J.ipynb (nobody's)" in printed
    page = write_report(tmp_path / "report.html", [], [], unmatched).read_text()
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "nobody&#39;s" in page

"""LMS downloads: a .zip with one file per student, named by Canvas or Moodle, mapped by notebook name."""
from __future__ import annotations

import nbformat

from support import synthetic
from support.grade_fixtures import CH1, NB1, by_student, grade, make_zip, notebook_bytes, solved_with_wrong


def test_canvas_zip(tmp_path):
    right, wrong = synthetic.solved(CH1, NB1), solved_with_wrong(CH1, NB1, 0)
    archive = make_zip(tmp_path / "submissions.zip", {
        f"lovelaceada_12345_67890_{NB1}.ipynb": notebook_bytes(right),
        f"turingalan_late_23456_67891_{NB1}-1.ipynb": notebook_bytes(wrong),   # late, re-uploaded
        "hoppergrace_34567_67892_my_notes.ipynb": notebook_bytes(right),          # misnamed
        "hoppergrace_34567_67893_scratch.txt": b"extra file",
    })
    out = tmp_path / "out"
    grade(archive, "--out", out, check=True)
    grades = by_student(out / "grades.csv")
    assert set(grades) == {("12345", CH1), ("23456", CH1), ("34567", CH1)}
    assert grades[("12345", CH1)]["status"] == "ok" and float(grades[("12345", CH1)]["score"]) == 4.0
    assert grades[("12345", CH1)]["name"] == "lovelaceada"
    assert grades[("23456", CH1)]["status"] == "ok" and float(grades[("23456", CH1)]["score"]) == 3.0
    assert grades[("34567", CH1)]["status"] == "missing_notebook"
    assert "my_notes.ipynb" in grades[("34567", CH1)]["reason"]
    assert (out / "feedback" / "12345" / CH1 / f"{NB1}.html").exists()


def test_moodle_zip(tmp_path):
    right, wrong = synthetic.solved(CH1, NB1), solved_with_wrong(CH1, NB1, 3)
    text = nbformat.writes(right)
    archive = make_zip(tmp_path / "moodle.zip", {
        f"Ada Lovelace_12345_assignsubmission_file_{NB1}.ipynb": notebook_bytes(right),
        f"Alan Turing_23456_assignsubmission_file_/{NB1}.ipynb": notebook_bytes(wrong),  # folder per student
        f"Grace Hopper_34567_assignsubmission_file_{NB1}.ipynb": text[: len(text) // 3].encode(),
    })
    out = tmp_path / "out"
    grade(archive, "--out", out, check=True)
    grades = by_student(out / "grades.csv")
    assert grades[("12345", CH1)]["status"] == "ok" and float(grades[("12345", CH1)]["score"]) == 4.0
    assert grades[("12345", CH1)]["name"] == "Ada Lovelace"
    assert grades[("23456", CH1)]["status"] == "ok" and float(grades[("23456", CH1)]["score"]) == 2.0
    assert grades[("34567", CH1)]["status"] == "unreadable_notebook"


def test_zip_with_no_lms_names_is_an_instructor_error(tmp_path):
    archive = make_zip(tmp_path / "photos.zip", {"holiday.jpg": b"\xff\xd8", "notes.ipynb": b"{}"})
    result = grade(archive, "--out", tmp_path / "out", timeout=120)
    assert result.returncode != 0
    assert len(result.stderr.strip().splitlines()) == 1 and "LMS" in result.stderr

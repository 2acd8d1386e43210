"""LMS downloads: a .zip with one file per student, named by Canvas or Moodle, mapped by notebook name."""
from __future__ import annotations

import csv
import os
from pathlib import Path

import nbformat

from support import synthetic
from support.grade_fixtures import CH1, NB1, by_student, grade, make_zip, notebook_bytes, rows, solved_with_wrong


def test_canvas_zip(tmp_path):
    right, wrong = synthetic.solved(CH1, NB1), solved_with_wrong(CH1, NB1, 0)
    archive = make_zip(tmp_path / "submissions.zip", {
        f"lovelaceada_12345_67890_{NB1}.ipynb": notebook_bytes(right),
        f"turingalan_late_23456_67891_{NB1}-1.ipynb": notebook_bytes(wrong),   # late, re-uploaded
        "hoppergrace_34567_67892_my_notes.ipynb": notebook_bytes(right),          # misnamed
        "hoppergrace_34567_67893_scratch.txt": b"extra file",
        f"wufrank_LATE_45678_67894_{NB1} (1).ipynb": notebook_bytes(right),   # as Canvas writes it, downloaded twice
        f"{NB1} (1).ipynb": notebook_bytes(right),                            # nobody's: no LMS name
        "<img src=x onerror=alert(1)>.txt": b"nobody's either",
    })
    out = tmp_path / "out"
    result = grade(archive, "--out", out, check=True)
    grades = by_student(out / "grades.csv")
    assert set(grades) == {("12345", CH1), ("23456", CH1), ("34567", CH1), ("45678", CH1)}
    assert grades[("45678", CH1)]["status"] == "ok" and grades[("45678", CH1)]["late"] == "True"
    assert grades[("12345", CH1)]["status"] == "ok" and float(grades[("12345", CH1)]["score"]) == 4.0
    assert grades[("12345", CH1)]["name"] == "lovelaceada"
    assert grades[("23456", CH1)]["status"] == "ok" and float(grades[("23456", CH1)]["score"]) == 3.0
    assert grades[("34567", CH1)]["status"] == "missing_notebook"
    assert "my_notes.ipynb" in grades[("34567", CH1)]["reason"]
    assert (out / "feedback" / "12345" / CH1 / f"{NB1}.html").exists()
    # every file not graded is listed, in the terminal and in the report, with whose it is and why
    assert "4 file(s) of the upload not graded" in result.stdout, result.stdout
    for line in (f"{NB1} (1).ipynb (nobody's): named like no student's upload",
                 "<img src=x onerror=alert(1)>.txt (nobody's)",
                 "hoppergrace_34567_67892_my_notes.ipynb (student 34567)",
                 "hoppergrace_34567_67893_scratch.txt (student 34567)"):
        assert line in result.stdout, result.stdout
    report = (out / "report.html").read_text()
    assert f"<code>{NB1} (1).ipynb</code>" in report and "&lt;img src=x onerror=alert(1)&gt;.txt" in report
    assert "<img src=x" not in report


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


def _moodle(name: str, sid: int, file: str = "") -> str:
    return f"{name}_{sid}_assignsubmission_file_{file}"


def test_hostile_uploads_count_only_for_their_student_and_never_stop_the_class(tmp_path):
    """One Moodle export, graded once: each student's files are that student's data, whatever their names."""
    right, wrong = notebook_bytes(synthetic.solved(CH1, NB1)), notebook_bytes(solved_with_wrong(CH1, NB1, 0))
    zero = notebook_bytes(synthetic.release_notebook(CH1, NB1))
    inner = tmp_path / "inner.zip"
    make_zip(inner, {"../../escape.ipynb": right, _moodle("Ada Lovelace", 1001, f"{NB1}.ipynb"): zero})
    alan, knuth = _moodle("Alan Turing", 1002), _moodle("Donald Knuth", 1006)
    archive = make_zip(tmp_path / "moodle.zip", {
        _moodle("Ada Lovelace", 1001, f"{NB1}.ipynb"): right,
        # Alan's own notebook, and files named like Ada's and Grace's uploads, a class layout, an archive
        f"{alan}/{NB1}.ipynb": wrong,
        f"{alan}/{_moodle('Ada Lovelace', 1001, NB1 + '.ipynb')}": zero,
        f"{alan}/lovelaceada_1001_999_{NB1}.ipynb": zero,
        f"{alan}/{_moodle('Grace Hopper', 1003)}/{NB1}.ipynb": zero,
        f"{alan}/submitted/mallory/{CH1}/{NB1}.ipynb": right,
        f"{alan}/nested.zip": inner.read_bytes(),
        # Grace's notebook in a subfolder of her own upload
        f"{_moodle('Grace Hopper', 1003)}/work/final/{NB1}.ipynb": right,
        _moodle("Edsger Dijkstra", 1004, "notes.zip"): b"this is not a zip archive",
        _moodle("Barbara Liskov", 1005, f"{NB1}.ipynb"): b"[" * 200_000 + b"]" * 200_000,
        f"{knuth}/../../evil.ipynb": right,
        f"/tmp/{knuth}/{NB1}.ipynb": right,
        _moodle("Ken Thompson", 1007, f"{NB1}.ipynb"): b" " * (80 * 2**20),   # 80 MiB, a few kB packed
        _moodle("=1+2", 1008, f"{NB1}.ipynb"): right,
        _moodle("Frances Allen", 1009, f"{NB1}.ipynb"): right,
    }, links={f"{knuth}/{NB1}.ipynb": "/etc/passwd"}, modes={_moodle("Frances Allen", 1009, f"{NB1}.ipynb"): 0o4777})
    assert archive.stat().st_size < 4 * 2**20
    out, tmp = tmp_path / "out", tmp_path / "tmp"
    killed = tmp / "gd-grading-4999999-left" / "k-1"    # a pid above any pid_max: a batch that was killed
    killed.mkdir(parents=True)
    (killed / "kernel.json").write_text("{}")
    alive = tmp / f"gd-grading-{os.getpid()}-running"    # a batch still running
    alive.mkdir()
    grade(archive, "--out", out, "--workers", "2", check=True, tmpdir=tmp)
    assert not killed.parent.exists() and alive.exists()

    found = rows(out / "grades.csv")
    assert sorted(r["student_id"] for r in found) == [str(n) for n in range(1001, 1010)], found
    grades = {r["student_id"]: r for r in found}

    def scored(sid: str) -> float:
        assert grades[sid]["status"] == "ok", grades[sid]
        return float(grades[sid]["score"])

    assert scored("1001") == 4.0 and scored("1003") == 4.0 and scored("1008") == 4.0 and scored("1009") == 4.0
    assert scored("1002") == 3.0                       # Alan's own (wrong) notebook, nothing else of his
    assert "nested.zip" in grades["1002"]["reason"] and "not unpacked" in grades["1002"]["reason"]
    assert "work/final" in grades["1003"]["reason"]
    assert grades["1004"]["status"] == "missing_notebook" and "notes.zip" in grades["1004"]["reason"]
    assert grades["1005"]["status"] == "unreadable_notebook" and "nested" in grades["1005"]["reason"]
    knuth_row = grades["1006"]
    assert knuth_row["status"] == "missing_notebook" and "unsafe path" in knuth_row["reason"], knuth_row
    assert "link" in knuth_row["reason"]
    assert grades["1007"]["status"] == "missing_notebook" and "MiB per file" in grades["1007"]["reason"]
    assert grades["1008"]["name"] == "'=1+2"           # a formula in a spreadsheet no more
    assert all(not r["name"].startswith(("=", "+", "-", "@")) for r in found)
    for table in ("grades.csv", "canvas_grades.csv", "moodle_grades.csv", f"moodle_{CH1}.csv"):
        with open(out / table, newline="") as handle:
            cells = [cell for line in csv.reader(handle) for cell in line]
        assert "=1+2" not in cells and "'=1+2" in cells, table
    # nothing landed outside OUT; the unpacked export is gone; nothing kept the archive's modes
    assert not list(tmp_path.rglob("escape.ipynb")) and not list(tmp_path.rglob("evil.ipynb"))
    assert not Path(f"/tmp/{knuth}").exists()
    assert not (out / ".grading" / "input").exists()
    assert not any(p.stat().st_mode & 0o6000 for p in out.rglob("*") if p.is_file())

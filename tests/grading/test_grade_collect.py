"""Finding submissions (no grading): folder layouts, LMS file names, and the instructor's mistakes."""
from __future__ import annotations

import pytest

from autograder.grading.intake import InstructorError, collect
from support import synthetic
from support.grade_fixtures import CH1, CH2, NB1, NB2, make_zip, notebook_bytes, put


def _by_key(found):
    return {(s.student_id, s.assignment_id): s for s in found}


def test_nbgrader_course_folder_uses_its_submitted_folder(tmp_path):
    put(tmp_path / "course" / "submitted", "alice", CH1, NB1, synthetic.solved(CH1, NB1))
    (tmp_path / "course" / "source").mkdir()
    found = _by_key(collect(tmp_path / "course", tmp_path / "scratch"))
    assert found[("alice", CH1)].gradable


def test_notebook_left_in_the_student_folder_is_placed_by_name(tmp_path):
    subs = tmp_path / "subs"
    synthetic.write(synthetic.solved(CH2, NB2), subs / "alice" / f"{NB2}.ipynb")
    put(subs, "bob", CH1, NB1, synthetic.solved(CH1, NB1))
    found = _by_key(collect(subs, tmp_path / "scratch"))
    assert found[("alice", CH2)].gradable
    assert "student's folder" in found[("alice", CH2)].notes[0]


def test_canvas_reupload_keeps_the_latest_attempt(tmp_path):
    old, new = synthetic.release_notebook(CH1, NB1), synthetic.solved(CH1, NB1)
    archive = make_zip(tmp_path / "dl.zip", {
        f"lovelaceada_12345_100_{NB1}.ipynb": notebook_bytes(old),
        f"lovelaceada_12345_200_{NB1}-1.ipynb": notebook_bytes(new),
    })
    found = _by_key(collect(archive, tmp_path / "scratch"))
    submission = found[("12345", CH1)]
    assert submission.notebooks[NB1].name.endswith("-1.ipynb")


def test_zip_of_an_nbgrader_folder(tmp_path):
    archive = make_zip(tmp_path / "class.zip", {
        f"submitted/alice/{CH1}/{NB1}.ipynb": notebook_bytes(synthetic.solved(CH1, NB1)),
        f"submitted/bob/{CH1}/{NB1}.ipynb": notebook_bytes(synthetic.solved(CH1, NB1)),
    })
    found = _by_key(collect(archive, tmp_path / "scratch"))
    assert set(found) == {("alice", CH1), ("bob", CH1)}


@pytest.mark.parametrize("make, words", [
    (lambda p: p / "missing", "no such"),
    (lambda p: (p / "empty").mkdir() or p / "empty", "no submissions"),
    (lambda p: put(p, "alice", CH1, NB1, synthetic.solved(CH1, NB1)).parents[1], "one student's folder"),
])
def test_instructor_mistakes(tmp_path, make, words):
    with pytest.raises(InstructorError, match=words):
        collect(make(tmp_path), tmp_path / "scratch")

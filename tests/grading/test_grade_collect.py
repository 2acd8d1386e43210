"""Finding submissions (no grading): folder layouts, LMS file names, and the instructor's mistakes."""
from __future__ import annotations

import pytest

from autograder import limits
from autograder.grading import archive
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


def test_a_students_folder_is_only_that_students_data(tmp_path):
    subs = tmp_path / "subs"
    alice = synthetic.write(synthetic.solved(CH1, NB1), subs / "alice" / CH1 / "final" / f"{NB1}.ipynb")
    # bob's folder holds a class layout with another student's name, and a link to alice's notebook
    put(subs / "bob", "mallory", CH1, NB1, synthetic.solved(CH1, NB1))
    (subs / "bob" / CH1).mkdir(parents=True)
    (subs / "bob" / CH1 / f"{NB1}.ipynb").symlink_to(alice)
    put(subs, "carol", CH1, NB1, synthetic.solved(CH1, NB1))
    (subs / "carol" / "notes").mkdir()
    found = collect(subs, tmp_path / "scratch")
    assert sorted((s.student_id, s.assignment_id) for s in found) == [("alice", CH1), ("bob", CH1), ("carol", CH1)]
    rows = _by_key(found)
    assert rows[("alice", CH1)].gradable and "final/" in " ".join(rows[("alice", CH1)].notes)
    assert rows[("bob", CH1)].status == "missing_notebook"
    assert "links not followed" in " ".join(rows[("bob", CH1)].notes)
    assert rows[("carol", CH1)].gradable and "notes/" in " ".join(rows[("carol", CH1)].notes)


def test_unpacking_takes_only_plain_files_under_caps(tmp_path):
    dest = tmp_path / "dest"
    dest.mkdir()
    archive_path = make_zip(tmp_path / "export.zip", {
        "a/ok.txt": b"fine", "../up.txt": b"x", "/abs.txt": b"x", "a/../../up2.txt": b"x",
        "a/setuid.sh": b"#!/bin/sh\n", "big.bin": b"\0" * (limits.ARCHIVE_MAX_MEMBER_BYTES + 1),
    }, links={"a/link": "/etc/passwd"}, modes={"a/setuid.sh": 0o6777})
    refused = {r.member: r.reason for r in archive.extract(archive_path, dest)}
    assert set(refused) == {"../up.txt", "/abs.txt", "a/../../up2.txt", "a/link", "big.bin"}
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*")) == ["a", "a/ok.txt", "a/setuid.sh"]
    assert (dest / "a" / "setuid.sh").stat().st_mode & 0o7777 == 0o644
    assert not (tmp_path / "up.txt").exists() and not (tmp_path / "up2.txt").exists()


def test_a_pathological_notebook_costs_one_row(tmp_path):
    subs = tmp_path / "subs"
    for student, data in (("deep", b"[" * 100_000 + b"]" * 100_000),
                          ("deep_cells", b'{"cells": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")):
        (subs / student / CH1).mkdir(parents=True)
        (subs / student / CH1 / f"{NB1}.ipynb").write_bytes(data)
    put(subs, "fine", CH1, NB1, synthetic.solved(CH1, NB1))
    rows = _by_key(collect(subs, tmp_path / "scratch"))
    assert rows[("fine", CH1)].gradable
    for student in ("deep", "deep_cells"):
        assert rows[(student, CH1)].status == "unreadable_notebook", rows[(student, CH1)]

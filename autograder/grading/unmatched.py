"""The files of an upload that are not graded, each with why and whose: a note in the student's row, and
an `Unmatched` entry that `grade` prints and the report lists; a file at the top named like no
student's upload belongs to nobody and is listed as such. None is dropped without a word."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from autograder.grading.archive import Refused
from autograder.grading.lms_names import LAYOUT, LMS_NAMES, notebook_name

ARCHIVE_SUFFIXES = (".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar")

# Why a file of a student's own entry is not graded.
ARCHIVE_NOT_UNPACKED = "an archive: archives a student uploaded are not unpacked (hand in the notebook itself)"
LINK_NOT_FOLLOWED = "a link: links are not followed"
NOT_A_COURSE_NOTEBOOK = "no notebook of this course by that name"
OTHER_COPY = "another copy of a notebook graded from the same upload (the latest attempt, then the shallowest copy)"
# Why a file at the top of the upload belongs to nobody.
NOT_LMS_NAMED = (f"named like no student's upload ({LMS_NAMES}), so it is nobody's: "
                 "grade it by hand or rename it as the LMS names files")
BESIDE_STUDENTS = f"beside the student folders, so it is nobody's (expected {LAYOUT})"


@dataclass(frozen=True)
class Unmatched:
    """A file (or folder) of the upload that is not graded, and why, in words for the instructor."""
    file: str               # its path in the upload, as the student or the LMS named it
    reason: str
    student_id: str = ""    # whose upload it is in; "" when it is nobody's


class _Found(Protocol):
    shown: str              # its name in the student's entry
    in_upload: str          # its path in the upload


def is_archive(name: str) -> bool:
    return name.lower().endswith(ARCHIVE_SUFFIXES)


def listing(names: list[str], at_most: int = 10) -> str:
    """Names for a reason cell: a student's upload may hold thousands of files."""
    shown = ", ".join(names[:at_most])
    return shown + (f" and {len(names) - at_most} more" if len(names) > at_most else "")


def others_notes(rest: list[_Found], links: list[str]) -> list[str]:
    notes = []
    archives = [f.shown for f in rest if is_archive(f.shown)]
    plain = [f.shown for f in rest if f.shown not in archives]
    if archives:
        notes.append(f"not unpacked: {listing(archives)} (archives are not unpacked; hand in the notebook)")
    if plain:
        notes.append(f"ignored {listing(plain)}")
    if links:
        notes.append(f"links not followed: {listing(links)}")
    return notes


def others_unmatched(sid: str, rest: list[_Found], links: list[str], by_name: dict[str, str],
                     not_a_notebook: str = NOT_A_COURSE_NOTEBOOK) -> list[Unmatched]:
    """The files of a student's entry that are not graded (the copies not picked, and links), and why."""
    unmatched = []
    for item in rest:
        if is_archive(item.shown):
            why = ARCHIVE_NOT_UNPACKED
        elif notebook_name(item.shown.rsplit("/", 1)[-1]) in by_name:
            why = OTHER_COPY
        else:
            why = not_a_notebook
        unmatched.append(Unmatched(item.in_upload or item.shown, why, sid))
    return unmatched + [Unmatched(link, LINK_NOT_FOLLOWED, sid) for link in links]








def refused_member(item: Refused, sid: str = "") -> Unmatched:
    return Unmatched(item.member, f"not unpacked: {item.reason}", sid)


def nobodys(top: Path, in_upload: str) -> Unmatched:
    """A top-level entry named like no student's upload."""
    if top.is_symlink():
        return Unmatched(in_upload, LINK_NOT_FOLLOWED)
    return Unmatched(in_upload + ("/" if top.is_dir() else ""), NOT_LMS_NAMED)

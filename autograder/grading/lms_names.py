"""How a class's upload is named: nbgrader's folder layout, and the files of a Canvas or Moodle download,
matched as the LMS writes them.

Only top-level names are read this way (autograder/grading/intake.py); a name deeper in a student's
entry never identifies a student. A new LMS is one more pattern here.
"""
from __future__ import annotations

import re

LAYOUT = "<student_id>/<assignment_id>/<notebook>.ipynb"   # nbgrader's own

# Names the LMS gives the entries at the top of its download; matched against top-level names only.
MOODLE_FOLDER = re.compile(r"^(?P<name>[^/]+?)_(?P<student_id>\d+)_assignsubmission_(?:file|onlinetext)_$",
                           re.IGNORECASE)
LMS_FILES = {
    # Moodle: "Ada Lovelace_123456_assignsubmission_file_gradient_descent.ipynb"
    "moodle": re.compile(r"^(?P<name>[^/]+?)_(?P<student_id>\d+)_assignsubmission_(?:file|onlinetext)_"
                         r"(?P<file_id>[^/]+)$", re.IGNORECASE),
    # Canvas: "lovelaceada_12345_67890_gradient_descent.ipynb", late ones "lovelaceada_LATE_12345_..."
    # (any case); a re-upload gets "-1", "-2"... before the extension.
    "canvas": re.compile(r"^(?P<name>[^/_]+)_(?:(?P<late>late)_)?(?P<student_id>\d+)_(?P<attempt>\d+)_"
                         r"(?P<file_id>[^/]+)$", re.IGNORECASE),
}
LMS_NAMES = "Canvas name_id_attempt_notebook.ipynb, Moodle Full Name_id_assignsubmission_file_notebook.ipynb"
NOTEBOOK_FILE = re.compile(r"\.ipynb$", re.IGNORECASE)
DOWNLOADED_AGAIN = re.compile(r"(?:-\d+| \(\d+\))+$")  # Canvas "-1" / browser " (1)" on re-uploads


def notebook_name(file_name: str) -> str | None:
    """The course notebook a file's name stands for, re-upload suffixes dropped; None if no notebook."""
    if not NOTEBOOK_FILE.search(file_name):
        return None
    return DOWNLOADED_AGAIN.sub("", NOTEBOOK_FILE.sub("", file_name))


def lms_entry(name: str) -> bool:
    """A top-level name the LMS gave a student's file or folder."""
    return bool(MOODLE_FOLDER.match(name) or any(p.match(name) for p in LMS_FILES.values()))


def identify(name: str, is_dir: bool) -> tuple[str, str, int, str] | None:
    """(student id, student name, attempt, file name) of a top-level LMS entry, or None."""
    if is_dir:
        match = MOODLE_FOLDER.match(name)
        return (match["student_id"], match["name"], 0, "") if match else None
    for pattern in LMS_FILES.values():
        match = pattern.match(name)
        if match:
            groups = match.groupdict()
            return groups["student_id"], groups["name"], int(groups.get("attempt") or 0), groups["file_id"]
    return None

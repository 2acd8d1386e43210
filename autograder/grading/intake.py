"""Find the submissions to grade: an nbgrader `submitted` folder, or a .zip downloaded from an LMS.

Folder layout: SUBMISSIONS/<student_id>/<assignment_id>/<notebook>.ipynb (nbgrader's own).
LMS downloads: one file per student, named after the student (Canvas, Moodle); the file is mapped to
its assignment by the notebook's name. File names are parsed by nbgrader's zip_collect plugin
(`FileNameCollectorPlugin`) with one named-group regular expression per LMS.

Anything a student got wrong becomes a `Submission` with a status saying why it cannot be graded;
only the instructor's own mistakes (no such folder, not a submissions folder) raise `InstructorError`.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from autograder.paths import assignments, notebooks
from autograder.status import MISSING_NOTEBOOK, NO_ASSIGNMENT, UNKNOWN_ASSIGNMENT, UNKNOWN_NOTEBOOK, UNREADABLE_NOTEBOOK

LAYOUT = "<student_id>/<assignment_id>/<notebook>.ipynb"

# Named-group patterns for nbgrader's FileNameCollectorPlugin, tried in order on each file's path
# relative to the top of the download. `file_id` is the student's own file name.
LMS_PATTERNS = {
    # Moodle: "Ada Lovelace_123456_assignsubmission_file_gradient_descent.ipynb", or the same name as
    # a folder ("Ada Lovelace_123456_assignsubmission_file_/gradient_descent.ipynb").
    "moodle": r"^(?:.*/)?(?P<name>[^/]+?)_(?P<student_id>\d+)_assignsubmission_(?:file|onlinetext)_/?"
              r"(?P<file_id>[^/]+)$",
    # Canvas: "lovelaceada_12345_67890_gradient_descent.ipynb", late ones "lovelaceada_late_12345_...";
    # a re-upload gets "-1", "-2"... before the extension.
    "canvas": r"^(?:.*/)?(?P<name>[^/_]+)_(?:(?P<late>late)_)?(?P<student_id>\d+)_(?P<attempt>\d+)_"
              r"(?P<file_id>[^/]+)$",
}
IGNORED_NAMES = {"__MACOSX", ".ipynb_checkpoints", "__pycache__", ".DS_Store", "Thumbs.db"}


class InstructorError(Exception):
    """The command was pointed at the wrong thing; the message says what to fix (one line)."""


@dataclass
class Submission:
    student_id: str
    assignment_id: str                     # "" when no assignment could be told
    notebooks: dict[str, Path] = field(default_factory=dict)  # notebook name -> file to grade
    status: str = ""                       # "" = to be graded; otherwise why it cannot be
    reason: str = ""
    name: str = ""                         # the student's name, when the LMS gives it
    notes: list[str] = field(default_factory=list)  # harmless remarks (extra files ignored...)

    @property
    def gradable(self) -> bool:
        return not self.status


def notebook_index() -> dict[str, str]:
    """notebook name -> assignment id, for every notebook of the course."""
    index: dict[str, str] = {}
    for assignment_id in assignments():
        for name in notebooks(assignment_id):
            index[name] = assignment_id
    return index


def readable(path: Path) -> str:
    """'' if `path` is a notebook nbgrader can read, else why not."""
    import nbformat

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return f"{path.name} cannot be read: {error}"
    if not text.strip():
        return f"{path.name} is empty"
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        return f"{path.name} is not valid notebook JSON (truncated or edited by hand?): {error}"
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        return f"{path.name} is JSON but not a notebook (no list of cells)"
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as error:  # noqa: BLE001 - nbformat raises many kinds
        return f"{path.name} is not a readable notebook: {type(error).__name__}: {error}"[:300]
    for cell in nb.cells:
        if not isinstance(cell, dict) or "cell_type" not in cell or not isinstance(cell.get("source", ""), str):
            return f"{path.name} has a malformed cell"
    return ""


def _visible(path: Path) -> bool:
    return not path.name.startswith(".") and path.name not in IGNORED_NAMES


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and all(_visible(Path(part)) for part in
                                                                     p.relative_to(folder).parts))


def _check(submission: Submission, found: dict[str, Path], others: list[str]) -> Submission:
    """Fill in `submission` from the notebooks `found` for its assignment (name -> file)."""
    expected = notebooks(submission.assignment_id)
    present = {name: path for name, path in found.items() if name in expected}
    missing = [name for name in expected if name not in present]
    if not present:
        submission.status = MISSING_NOTEBOOK
        got = ", ".join(others) if others else "nothing"
        submission.reason = (f"expected {', '.join(n + '.ipynb' for n in expected)}; found {got}"
                             + (" (rename the file and grade again)" if others else ""))
        return submission
    for path in present.values():
        problem = readable(path)
        if problem:
            submission.status, submission.reason = UNREADABLE_NOTEBOOK, problem
            return submission
    submission.notebooks = dict(sorted(present.items()))
    if missing:
        submission.notes.append("missing " + ", ".join(n + ".ipynb" for n in missing) + " (scored zero)")
    if others:
        submission.notes.append("ignored " + ", ".join(others))
    return submission


# --------------------------------------------------------------------------- nbgrader folder layout

def collect_folder(root: Path) -> list[Submission]:
    known = set(assignments())
    # (a grade output folder inside the submissions folder is not a student)
    students = sorted(p for p in root.iterdir() if p.is_dir() and _visible(p) and not (p / ".grading").is_dir())
    loose = [p for p in root.iterdir() if p.is_file() and _visible(p)]
    if not students and loose:
        return collect_lms_files(root, f"{root}")
    if not students:
        raise InstructorError(f"{root} holds no submissions; expected {root}/{LAYOUT} or an LMS .zip")
    if all(s.name in known for s in students):
        raise InstructorError(f"{root} looks like one student's folder (it holds assignment folders); "
                              f"give the folder above it, laid out as {LAYOUT}")
    if not any((s / a).is_dir() for s in students for a in known) and \
            not any(p.suffix == ".ipynb" for s in students for p in s.iterdir() if p.is_file()):
        raise InstructorError(f"no folder in {root} holds a known assignment ({', '.join(sorted(known))}); "
                              f"expected {root}/{LAYOUT}")
    by_name = notebook_index()
    found: list[Submission] = []
    for student in students:
        sid = student.name
        folders = sorted(p for p in student.iterdir() if p.is_dir() and _visible(p))
        files = sorted(p for p in student.iterdir() if p.is_file() and _visible(p))
        rows = []
        for folder in folders:
            if folder.name not in known:
                reason = f"no assignment called {folder.name!r}; known: {', '.join(sorted(known))}"
                rows.append(Submission(sid, folder.name, status=UNKNOWN_ASSIGNMENT, reason=reason))
                continue
            nbs = {p.stem: p for p in sorted(folder.glob("*.ipynb")) if _visible(p)}
            others = [str(p.relative_to(folder)) for p in _files(folder)
                      if not (p.parent == folder and p.stem in notebooks(folder.name) and p.suffix == ".ipynb")]
            rows.append(_check(Submission(sid, folder.name), nbs, others))
        # Notebooks left directly in the student's folder: place them by name.
        loose_by_assignment: dict[str, dict[str, Path]] = {}
        for path in files:
            if path.suffix == ".ipynb" and path.stem in by_name:
                loose_by_assignment.setdefault(by_name[path.stem], {})[path.stem] = path
        for assignment_id, nbs in sorted(loose_by_assignment.items()):
            if any(r.assignment_id == assignment_id for r in rows):
                continue
            row = _check(Submission(sid, assignment_id), nbs, [])
            row.notes.append("notebook found directly in the student's folder")
            rows.append(row)
        if not rows:
            what = ", ".join(p.name for p in files) if files else "nothing"
            rows.append(Submission(sid, "", status=NO_ASSIGNMENT,
                                   reason=f"no assignment folder in {sid}/ (found {what}); expected {LAYOUT}"))
        found.extend(rows)
    return found


# --------------------------------------------------------------------------- LMS downloads

def _collector(pattern: str):
    from nbgrader.plugins.zipcollect import FileNameCollectorPlugin

    return FileNameCollectorPlugin(named_regexp=pattern, valid_ext=[".ipynb", ".py", ".txt", ".csv", ".zip",
                                                                     ".md", ".html", ".pdf", ".json", ""])


def _notebook_name(file_id: str) -> str:
    stem = Path(file_id).stem if file_id.endswith(".ipynb") else Path(file_id).name
    return re.sub(r"(-\d+| \(\d+\))$", "", stem)  # Canvas "-1" / browser " (1)" on re-uploads


def collect_lms_files(folder: Path, label: str) -> list[Submission]:
    """Files named by an LMS (Canvas or Moodle), found anywhere under `folder`."""
    collectors = [_collector(p) for p in LMS_PATTERNS.values()]
    by_name = notebook_index()
    students: dict[str, dict] = {}
    unmatched = []
    for path in _files(folder):
        rel = path.relative_to(folder).as_posix()
        info = None
        for collector in collectors:
            info = collector.collect(rel)
            if info:
                break
        if not info:
            unmatched.append(rel)
            continue
        entry = students.setdefault(info["student_id"], {"name": info.get("name") or "", "files": []})
        entry["files"].append((int(info.get("attempt") or 0), info["file_id"], path))
    if not students:
        raise InstructorError(f"no file in {label} is named like an LMS download (Canvas "
                              "name_id_attempt_notebook.ipynb, Moodle Full Name_id_assignsubmission_file_"
                              f"notebook.ipynb) nor laid out as {LAYOUT}")
    counts: dict[str, int] = {}
    for entry in students.values():
        for _, file_id, _ in entry["files"]:
            aid = by_name.get(_notebook_name(file_id)) if file_id.endswith(".ipynb") else None
            if aid:
                counts[aid] = counts.get(aid, 0) + 1
    dominant = max(counts, key=counts.get) if counts else ""
    found = []
    for sid, entry in sorted(students.items()):
        per_assignment: dict[str, dict[str, tuple[int, Path]]] = {}
        others = []
        for attempt, file_id, path in sorted(entry["files"], key=lambda f: (f[0], str(f[2]))):
            name = _notebook_name(file_id)
            aid = by_name.get(name) if file_id.endswith(".ipynb") else None
            if aid:
                per_assignment.setdefault(aid, {})[name] = (attempt, path)  # the latest attempt wins
            else:
                others.append(file_id)
        rows = []
        for aid, nbs in sorted(per_assignment.items()):
            row = _check(Submission(sid, aid, name=entry["name"]), {n: p for n, (_, p) in nbs.items()}, [])
            rows.append(row)
        if not rows:
            if dominant:
                row = _check(Submission(sid, dominant, name=entry["name"]), {}, others)
            else:
                row = Submission(sid, "", status=UNKNOWN_NOTEBOOK, name=entry["name"],
                                 reason=f"{', '.join(others)} is no notebook of this course "
                                        f"(expected one of {', '.join(n + '.ipynb' for n in sorted(by_name))})")
            rows.append(row)
        elif others:
            rows[0].notes.append("ignored " + ", ".join(others))
        found.extend(rows)
    return found


def collect_zip(archive: Path, extract_to: Path) -> list[Submission]:
    import shutil
    import zipfile

    from nbgrader.utils import unzip

    if not zipfile.is_zipfile(archive):
        raise InstructorError(f"{archive} is not a readable .zip file; download the submissions again")
    if extract_to.exists():
        shutil.rmtree(extract_to)
    extract_to.mkdir(parents=True)
    unzip(str(archive), str(extract_to), zip_ext=[".zip"], create_own_folder=False, tree=True)
    top = extract_to
    entries = [p for p in top.iterdir() if _visible(p)]
    while len(entries) == 1 and entries[0].is_dir() and entries[0].name not in notebook_index() \
            and not re.search(LMS_PATTERNS["moodle"], entries[0].name + "/x.ipynb"):
        top = entries[0]          # a zip of one folder: look inside it
        entries = [p for p in top.iterdir() if _visible(p)]
    known = set(assignments())
    nbgrader_layout = any(p.is_dir() and any((p / a).is_dir() for a in known) for p in entries)
    if nbgrader_layout:
        return collect_folder(top)
    return collect_lms_files(top, archive.name)


def collect(source: Path, scratch: Path) -> list[Submission]:
    """Every (student, assignment) in `source`, graded or not; `scratch` receives unpacked zips."""
    if not source.exists():
        raise InstructorError(f"{source}: no such file or folder; give the submissions folder ({LAYOUT}) "
                              "or the .zip downloaded from the LMS")
    if source.is_file():
        if source.suffix.lower() != ".zip":
            raise InstructorError(f"{source} is neither a folder nor a .zip; give the submissions folder "
                                  f"({LAYOUT}) or the LMS .zip")
        return collect_zip(source, scratch / "extracted")
    known = set(assignments())
    submitted = source / "submitted"
    if submitted.is_dir() and not any((source / a).is_dir() for a in known) and \
            not any((p / a).is_dir() for p in source.iterdir() if p.is_dir() and p.name != "submitted"
                    for a in known):
        source = submitted  # an nbgrader course folder: its submitted/ folder
    return collect_folder(source)

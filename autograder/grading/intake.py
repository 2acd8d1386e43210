"""Find the submissions to grade: an nbgrader `submitted` folder, or a .zip downloaded from an LMS.

Folder layout: nbgrader's own. LMS downloads: one file or folder per student at the top, named after
the student (autograder/grading/lms_names.py); a notebook is mapped to its assignment by its name.

Student identity comes only from the top level (the student folders of the nbgrader layout, the
names the LMS gave its files and folders). Everything inside one student's entry is that student's
data: a name found deeper, however it looks (another student's LMS name, a whole class layout), is
never read as a student; archives a student uploaded are never unpacked; links are not followed.
A notebook anywhere in the student's own entry is found (the shallowest copy wins).
Every file of the upload that is not graded gets a note in its student's row and an `Unmatched`
entry (autograder/grading/unmatched.py).

Anything a student got wrong becomes a `Submission` with a status saying why it cannot be graded;
only the instructor's own mistakes (no such folder, not a submissions folder) raise `InstructorError`.
Every notebook is parsed under limits in a child process (`notebook_check`) before it is graded.
"""
from __future__ import annotations

import os
import shutil
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from autograder.grading import archive, notebook_check
from autograder.grading.lms_names import LAYOUT, LMS_FILES, LMS_NAMES, identify, lms_entry, notebook_name
from autograder.grading.unmatched import (
    BESIDE_STUDENTS,
    LINK_NOT_FOLLOWED,
    Unmatched,
    listing,
    nobodys,
    others_notes,
    others_unmatched,
    refused_member,
)
from autograder.paths import assignments, notebooks
from autograder.status import MISSING_NOTEBOOK, NO_ASSIGNMENT, UNKNOWN_ASSIGNMENT, UNKNOWN_NOTEBOOK, UNREADABLE_NOTEBOOK

IGNORED_NAMES = {"__MACOSX", ".ipynb_checkpoints", "__pycache__", ".DS_Store", "Thumbs.db",
                 "timestamp.txt"}  # timestamp.txt: written by nbgrader's own submit and collect


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
    late: bool = False                     # the LMS export marked the file late (Canvas "_late_")

    @property
    def gradable(self) -> bool:
        return not self.status


@dataclass
class _Found:
    """One file of a student's entry: where it is and how it is named there."""
    path: Path
    shown: str          # its name as the student gave it (relative to the student's entry)
    depth: int = 0      # folders between the student's entry and the file
    attempt: int = 0    # Canvas's attempt number (the latest wins)
    late: bool = False  # Canvas named it "..._late_..." (any case)
    in_upload: str = ""  # its path in the upload, for the list of files not graded


def notebook_index() -> dict[str, str]:
    """notebook name -> assignment id, for every notebook of the course."""
    index: dict[str, str] = {}
    for assignment_id in assignments():
        for name in notebooks(assignment_id):
            index[name] = assignment_id
    return index


def _visible(name: str) -> bool:
    return not name.startswith(".") and name not in IGNORED_NAMES


def _walk(folder: Path) -> tuple[list[Path], list[str]]:
    """(plain files below `folder`, names of the links skipped); links are never followed."""
    files, links = [], []
    for root, dirs, names in os.walk(folder, followlinks=False):
        here = Path(root)
        links += [(here / d).relative_to(folder).as_posix() for d in dirs if _visible(d) and (here / d).is_symlink()]
        dirs[:] = sorted(d for d in dirs if _visible(d) and not (here / d).is_symlink())
        for name in sorted(names):
            path = here / name
            if not _visible(name):
                continue
            if path.is_symlink():
                links.append(path.relative_to(folder).as_posix())
            elif path.is_file():
                files.append(path)
    return files, links


def _entry_files(entry: Path, files: list[Path], in_upload: str) -> list[_Found]:
    """The files of one student's entry (`in_upload`: the entry's path in the upload)."""
    found = []
    for path in files:
        shown = path.relative_to(entry).as_posix()
        found.append(_Found(path, shown, shown.count("/"), in_upload=f"{in_upload}/{shown}"))
    return found


def _pick(found: list[_Found], by_name: dict[str, str]) -> tuple[dict[str, dict[str, _Found]], list[_Found]]:
    """assignment -> notebook -> the copy to grade (latest attempt, then shallowest), and the rest."""
    chosen: dict[str, dict[str, _Found]] = {}
    rest: list[_Found] = []
    for item in sorted(found, key=lambda f: (-f.attempt, f.depth, f.shown)):
        name = notebook_name(item.shown.rsplit("/", 1)[-1])
        aid = by_name.get(name) if name else None
        if aid and name not in chosen.get(aid, {}):
            chosen.setdefault(aid, {})[name] = item
        else:
            rest.append(item)
    return chosen, rest


def _not_a_notebook_of(assignment_id: str) -> str:
    expected = ", ".join(n + ".ipynb" for n in notebooks(assignment_id))
    return f"no notebook of {assignment_id} by that name (expected {expected})"


def _relative_parts(member: str, prefix: tuple[str, ...]) -> tuple[str, ...]:
    """The parts of an archive member's name below `prefix` (the folder graded), () if not below it."""
    parts = tuple(p for p in member.split("/") if p not in ("", "."))
    return parts[len(prefix):] if parts[: len(prefix)] == prefix and len(parts) > len(prefix) else ()


def _row(sid: str, aid: str, nbs: dict[str, _Found], name: str = "") -> Submission:
    """A row for `aid` from the notebooks found for it (by notebook name)."""
    expected = notebooks(aid)
    submission = Submission(sid, aid, name=name)
    submission.notebooks = {n: nbs[n].path for n in expected if n in nbs}
    missing = [n for n in expected if n not in nbs]
    if missing and submission.notebooks:
        submission.notes.append("missing " + ", ".join(n + ".ipynb" for n in missing) + " (scored zero)")
    deeper = [nbs[n].shown for n in expected if n in nbs and nbs[n].depth > 0]
    if deeper:
        submission.notes.append("found in a subfolder: " + ", ".join(deeper))
    return submission


def _missing(sid: str, aid: str, rest: list[_Found], notes: list[str], name: str = "") -> Submission:
    expected = ", ".join(n + ".ipynb" for n in notebooks(aid))
    got = listing([f.shown for f in rest]) or "nothing"
    hint = " (rename the file and grade again)" if rest else ""
    return Submission(sid, aid, status=MISSING_NOTEBOOK, name=name, notes=notes,
                      reason=f"expected {expected}; found {got}{hint}")


def _check_notebooks(found: list[Submission]) -> list[Submission]:
    """Parse every notebook to grade under limits; a row whose notebook cannot be read says why."""
    paths = [p for s in found if s.gradable for p in s.notebooks.values()]
    problems = notebook_check.problems(paths) if paths else {}
    for submission in found:
        for path in submission.notebooks.values():
            if problems.get(path):
                submission.status, submission.reason = UNREADABLE_NOTEBOOK, problems[path]
                submission.notebooks = {}
                break
    return found


# --------------------------------------------------------------------------- nbgrader folder layout

def _joined(prefix: tuple[str, ...], name: str) -> str:
    return "/".join((*prefix, name))


def _student_rows(student: Path, known: set[str], by_name: dict[str, str], in_upload: str,
                  unmatched: list[Unmatched]) -> list[Submission]:
    sid = student.name
    rows: list[Submission] = []
    unknown: list[str] = []
    for folder in sorted(p for p in student.iterdir() if p.is_dir() and not p.is_symlink() and _visible(p.name)):
        if folder.name not in known:
            unknown.append(folder.name)
            continue
        files, links = _walk(folder)
        expected = {n: folder.name for n in notebooks(folder.name)}
        chosen, rest = _pick(_entry_files(folder, files, f"{in_upload}/{folder.name}"), expected)
        notes = others_notes(rest, links)
        unmatched += others_unmatched(sid, rest, [f"{in_upload}/{folder.name}/{link}" for link in links], expected,
                                       _not_a_notebook_of(folder.name))
        if chosen:
            row = _row(sid, folder.name, chosen[folder.name])
            row.notes += notes
        else:
            row = _missing(sid, folder.name, rest, notes)
        rows.append(row)
    # Notebooks left directly in the student's folder: placed by name.
    here = [p for p in sorted(student.iterdir()) if _visible(p.name)]
    loose = [_Found(p, p.name, in_upload=f"{in_upload}/{p.name}") for p in here if p.is_file() and not p.is_symlink()]
    links = [p.name for p in here if p.is_symlink()]
    chosen, rest = _pick(loose, by_name)
    for aid, nbs in sorted(chosen.items()):
        if any(r.assignment_id == aid for r in rows):
            rest += nbs.values()   # the assignment's folder holds the copy that is graded
            continue
        row = _row(sid, aid, nbs)
        row.notes.append("notebook found directly in the student's folder")
        rows.append(row)
    unmatched += others_unmatched(sid, rest, [f"{in_upload}/{link}" for link in links], by_name)
    unmatched += [Unmatched(f"{in_upload}/{name}/", f"no assignment called {name!r}", sid) for name in unknown]
    extra = [f"{name}/" for name in unknown]
    if rows and extra:
        rows[0].notes.append("ignored " + ", ".join(extra) + " (no such assignment)")
    elif unknown:
        rows += [Submission(sid, name, status=UNKNOWN_ASSIGNMENT,
                            reason=f"no assignment called {name!r}; known: {', '.join(sorted(known))}")
                 for name in unknown]
    if rows:
        rows[0].notes += others_notes(rest, links)
    else:
        what = ", ".join(f.shown for f in loose) or "nothing"
        rows.append(Submission(sid, "", status=NO_ASSIGNMENT, notes=others_notes([], links),
                               reason=f"no assignment folder in {sid}/ (found {what}); expected {LAYOUT}"))
    return rows


def _note_refused_in_folders(rows: list[Submission], refused: Sequence[archive.Refused], prefix: tuple[str, ...],
                             unmatched: list[Unmatched]) -> None:
    """A refused member below a student's folder is named in that student's row; the others are nobody's."""
    first_rows: dict[str, Submission] = {}
    for row in rows:
        first_rows.setdefault(row.student_id, row)
    for item in refused:
        parts = _relative_parts(item.member, prefix)
        row = first_rows.get(parts[0]) if len(parts) > 1 else None
        if row is not None:
            row.notes.append(f"refused {'/'.join(parts)}: {item.reason}")
        unmatched.append(refused_member(item, row.student_id if row else ""))


def collect_folder(root: Path, refused: Sequence[archive.Refused] = (), prefix: tuple[str, ...] = (),
                   unmatched: list[Unmatched] | None = None) -> list[Submission]:
    """Every (student, assignment) in `root`; the files not graded are added to `unmatched` (refused:
    archive members not unpacked, named relative to the archive, whose top is `prefix`)."""
    unmatched = [] if unmatched is None else unmatched
    known = set(assignments())
    visible = [p for p in root.iterdir() if _visible(p.name)]
    entries = [p for p in visible if not p.is_symlink()]
    if any(lms_entry(p.name) for p in entries):
        return collect_lms_files(root, f"{root}", refused, prefix, unmatched)
    # (a grade output folder inside the submissions folder is not a student)
    students = sorted(p for p in entries if p.is_dir() and not (p / ".grading").is_dir())
    loose = [p for p in entries if p.is_file()]
    if not students and loose:
        return collect_lms_files(root, f"{root}", refused, prefix, unmatched)
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
        found.extend(_student_rows(student, known, by_name, _joined(prefix, student.name), unmatched))
    unmatched += [Unmatched(_joined(prefix, p.name), BESIDE_STUDENTS) for p in loose]
    unmatched += [Unmatched(_joined(prefix, p.name), LINK_NOT_FOLLOWED) for p in visible if p.is_symlink()]
    _note_refused_in_folders(found, refused, prefix, unmatched)
    return _check_notebooks(found)


# --------------------------------------------------------------------------- LMS downloads

def collect_lms_files(folder: Path, label: str, refused: Sequence[archive.Refused] = (),
                      prefix: tuple[str, ...] = (), unmatched: list[Unmatched] | None = None) -> list[Submission]:
    """One student per LMS-named entry at the top of `folder`; the files not graded are added to
    `unmatched` (refused: archive members not unpacked, named relative to the archive, whose top is `prefix`)."""
    unmatched = [] if unmatched is None else unmatched
    by_name = notebook_index()
    students: dict[str, dict] = {}

    def entry(sid: str, name: str) -> dict:
        return students.setdefault(sid, {"name": name, "found": [], "links": [], "notes": []})

    for top in sorted(p for p in folder.iterdir() if _visible(p.name)):
        in_upload = _joined(prefix, top.name)
        who = identify(top.name, top.is_dir() and not top.is_symlink())
        if who is None:
            unmatched.append(nobodys(top, in_upload))
            continue
        sid, name, attempt, file_id = who
        student = entry(sid, name)
        if top.is_symlink():
            student["links"].append(top.name)
        elif top.is_dir():
            files, links = _walk(top)
            student["links"] += [f"{top.name}/{link}" for link in links]
            student["found"] += _entry_files(top, files, in_upload)
        elif top.is_file():
            canvas = LMS_FILES["canvas"].match(top.name)
            student["found"].append(_Found(top, file_id, 0, attempt, bool(canvas and canvas["late"]), in_upload))
    for item in refused:
        parts = _relative_parts(item.member, prefix)
        who = (identify(parts[0], len(parts) > 1) or identify(parts[0], False)) if parts else None
        if who is not None:
            entry(who[0], who[1])["notes"].append(f"refused {'/'.join(parts)}: {item.reason}")
        unmatched.append(refused_member(item, who[0] if who else ""))
    if not students:
        raise InstructorError(f"no file in {label} is named like an LMS download ({LMS_NAMES}) "
                              f"nor laid out as {LAYOUT}")
    counts: dict[str, int] = {}
    for student in students.values():
        chosen, _ = _pick(student["found"], by_name)
        for aid in chosen:
            counts[aid] = counts.get(aid, 0) + 1
    dominant = max(sorted(counts), key=counts.get) if counts else ""
    found = []
    for sid, student in sorted(students.items()):
        chosen, rest = _pick(student["found"], by_name)
        notes = others_notes(rest, student["links"]) + student["notes"]
        unmatched += others_unmatched(sid, rest, [_joined(prefix, link) for link in student["links"]], by_name)
        rows = []
        for aid, nbs in sorted(chosen.items()):
            rows.append(_row(sid, aid, nbs, student["name"]))
            rows[-1].late = any(f.late for f in nbs.values())  # the LMS marked the graded file late
        if rows:
            rows[0].notes += notes
        elif dominant:
            rows.append(_missing(sid, dominant, rest, notes, student["name"]))
        else:
            got = listing([f.shown for f in rest]) or "nothing"
            rows.append(Submission(sid, "", status=UNKNOWN_NOTEBOOK, name=student["name"], notes=notes,
                                   reason=f"{got} is no notebook of this course "
                                          f"(expected one of {', '.join(n + '.ipynb' for n in sorted(by_name))})"))
        found.extend(rows)
    return _check_notebooks(found)


def collect_zip(source: Path, extract_to: Path, unmatched: list[Unmatched] | None = None) -> list[Submission]:
    if not zipfile.is_zipfile(source):
        raise InstructorError(f"{source} is not a readable .zip file; download the submissions again")
    if extract_to.exists():
        shutil.rmtree(extract_to)
    extract_to.mkdir(parents=True)
    try:
        refused = archive.extract(source, extract_to)
    except (zipfile.BadZipFile, OSError) as error:
        raise InstructorError(f"{source} cannot be unpacked ({type(error).__name__}: {error}); "
                              "download the submissions again") from None
    top, prefix = extract_to, ()
    entries = [p for p in top.iterdir() if _visible(p.name)]
    while len(entries) == 1 and entries[0].is_dir() and not lms_entry(entries[0].name) \
            and entries[0].name not in assignments():
        top, prefix = entries[0], (*prefix, entries[0].name)   # a zip of one folder: look inside it
        entries = [p for p in top.iterdir() if _visible(p.name)]
    known = set(assignments())
    lms = any(lms_entry(p.name) for p in entries) or \
        any(lms_entry(m.member.split("/")[len(prefix)]) for m in refused if m.member.count("/") >= len(prefix))
    if not lms and any(p.is_dir() and any((p / a).is_dir() for a in known) for p in entries):
        return collect_folder(top, refused, prefix, unmatched)
    return collect_lms_files(top, source.name, refused, prefix, unmatched)


def collect(source: Path, scratch: Path, unmatched: list[Unmatched] | None = None) -> list[Submission]:
    """Every (student, assignment) in `source`, graded or not; `scratch` receives unpacked zips.
    The files of the upload that are not graded are added to `unmatched`, nobody's first."""
    unmatched = [] if unmatched is None else unmatched
    if not source.exists():
        raise InstructorError(f"{source}: no such file or folder; give the submissions folder ({LAYOUT}) "
                              "or the .zip downloaded from the LMS")
    if source.is_file():
        if source.suffix.lower() != ".zip":
            raise InstructorError(f"{source} is neither a folder nor a .zip; give the submissions folder "
                                  f"({LAYOUT}) or the LMS .zip")
        found = collect_zip(source, scratch / "extracted", unmatched)
    else:
        found = collect_folder(_submitted_folder(source), unmatched=unmatched)
    unmatched.sort(key=lambda u: (bool(u.student_id), u.student_id, u.file))
    return found


def _submitted_folder(source: Path) -> Path:
    """`source`, or its submitted/ folder when it is an nbgrader course folder."""
    known = set(assignments())
    submitted = source / "submitted"
    if submitted.is_dir() and not any((source / a).is_dir() for a in known) and \
            not any((p / a).is_dir() for p in source.iterdir() if p.is_dir() and p.name != "submitted"
                    for a in known):
        return submitted
    return source

"""A submitted notebook whose nbgrader metadata was lost or changed, matched back to the release.

Google Colab saves a notebook without nbgrader's cell metadata (and adds its own), VS Code may drop
or change it, and a student may turn an answered exercise into a markdown cell. nbgrader then cannot
tell the exercise cells (its autograde fails), nor can the trusted verdict, which reads them by
grade_id. So the submission's cells are matched to the release notebook's: a cell still carrying its
grade_id by that; a locked or course cell by its text (verbatim, trailing whitespace aside); an
exercise cell (a solution cell or a written answer) by its nbformat cell id, else by its place
between the cells matched around it. The release cell's nbgrader metadata and the exercise cell's
type are restored; the student's text is left as it is.

A notebook that needs nothing is not touched: it is graded byte for byte as handed in. One that
lost its metadata and in which an exercise cell cannot be located is not guessed at: the reason
says so. nbgrader puts a missing test cell back after the cell released before it, and fails with a
KeyError when that one is missing too: such a test cell is put back here, as released.
"""
from __future__ import annotations

import copy
import difflib
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder.paths import COURSE_DIR

LIKENESS_CHARS = 2000   # of each text compared: enough to tell an answer from another cell
MOVED_LIKENESS = 0.6    # how alike the release's exercise a cell away from its place must be
RUN_CELLS = 50          # cells looked at in an exercise's place (a student may have added some)
# What tells nbgrader which cell it is; points and checksum it takes from its gradebook itself.
IDENTITY = ("grade_id", "solution", "grade", "locked", "task", "schema_version")


@dataclass
class Recovery:
    """What matching one submission to its release restored, or why it could not be matched."""
    restored: list[str] = field(default_factory=list)   # grade_ids given back their nbgrader metadata
    retyped: list[str] = field(default_factory=list)    # exercise cells given back their cell type
    put_back: list[str] = field(default_factory=list)   # test cells put back as released
    stripped: bool = False                               # no cell carried nbgrader metadata at all
    problem: str = ""                                    # why the notebook cannot be matched

    @property
    def changed(self) -> bool:
        return bool(self.restored or self.retyped or self.put_back)

    def note(self, name: str) -> str:
        """The row's note of what was restored in notebook `name`."""
        parts = []
        if self.restored:
            why = ("was saved without it, e.g. by Colab" if self.stripped
                   else "had lost or changed some of it, e.g. in an editor")
            parts.append(f"recovered nbgrader metadata of {len(self.restored)} cells ({name}.ipynb {why})")
        if self.retyped:
            parts.append(f"gave {', '.join(self.retyped)} back its cell type (it had been changed, e.g. to markdown)")
        if self.put_back:
            parts.append(f"put back the deleted test cell(s) {', '.join(self.put_back)} as released")
        return "; ".join(parts)


@dataclass
class Recovered:
    """The notebooks to grade: recovered where needed, else as handed in."""
    notebooks: dict[str, str]
    note: str = ""
    problem: str = ""


def _nbgrader(cell: dict) -> dict:
    meta = cell.get("metadata")
    nbg = meta.get("nbgrader") if isinstance(meta, dict) else None
    return nbg if isinstance(nbg, dict) else {}


def _grade_id(cell: dict) -> str | None:
    gid = _nbgrader(cell).get("grade_id")
    return gid if isinstance(gid, str) else None


def _text(cell: dict) -> str:
    source = cell.get("source", "")
    return ("".join(source) if isinstance(source, list) else str(source)).rstrip()


def _is_exercise(cell: dict) -> bool:
    return bool(_nbgrader(cell).get("solution"))


def _cell_ids(cell: dict) -> set[str]:
    """The nbformat id, and the id Colab keeps in the metadata."""
    meta = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
    return {i for i in (cell.get("id"), meta.get("id")) if isinstance(i, str)}


def _needs_restoring(meta: dict, released: dict) -> bool:
    """nbgrader would not know the cell as released: a key is missing or one of IDENTITY differs."""
    return bool(set(released) - set(meta)) or any(meta.get(key) != released.get(key) for key in IDENTITY)


def _likeness(released: dict, cell: dict, at_least: float = 0.0) -> float:
    """How alike two cells' texts are, 0..1 (0 when below `at_least`, told quickly)."""
    texts = (_text(released)[:LIKENESS_CHARS], _text(cell)[:LIKENESS_CHARS])
    matcher = difflib.SequenceMatcher(None, *texts)
    return matcher.ratio() if matcher.real_quick_ratio() >= at_least and matcher.quick_ratio() >= at_least else 0.0


# --------------------------------------------------------------------------- matching

class _Matching:
    """release cell index -> submission cell index, filled in by one kind of evidence after another."""

    def __init__(self, cells: list, release: list):
        self.cells, self.release = cells, release
        self.found: dict[int, int] = {}
        known = {_grade_id(c) for c in release} - {None}
        # a cell carrying a release grade_id is that cell (or its copy), never another one
        self.free = {i for i, c in enumerate(cells) if _grade_id(c) not in known}

    def pair(self, r: int, i: int) -> None:
        self.found[r] = i
        self.free.discard(i)

    def by_grade_id(self) -> None:
        first: dict[str, int] = {}
        for i, cell in enumerate(self.cells):
            if _grade_id(cell):
                first.setdefault(_grade_id(cell), i)
        for r, cell in enumerate(self.release):
            if _grade_id(cell) in first:
                self.pair(r, first[_grade_id(cell)])

    def by_text(self) -> None:
        for r, cell in enumerate(self.release):
            if r in self.found or _is_exercise(cell) or not _text(cell):
                continue
            hits = [i for i in sorted(self.free) if _text(self.cells[i]) == _text(cell)]
            same_id = [i for i in hits if _cell_ids(cell) & _cell_ids(self.cells[i])]
            if hits:
                self.pair(r, (same_id or hits)[0])

    def by_cell_id(self) -> None:
        for r, cell in enumerate(self.release):
            if r in self.found or not _nbgrader(cell):
                continue
            hits = [i for i in sorted(self.free) if _cell_ids(cell) & _cell_ids(self.cells[i])]
            if hits:
                self.pair(r, hits[0])

    def by_place(self) -> None:
        """Exercise cells still missing: among the free cells right after the matched cell released
        before them (else right before the one released after them), the most alike, in order."""
        missing = [r for r, c in enumerate(self.release) if _is_exercise(c) and r not in self.found]
        groups: dict[tuple[int, int], list[int]] = {}
        for r in missing:
            before = max((m for m in self.found if m < r), default=-1)
            after = min((m for m in self.found if m > r), default=len(self.release))
            groups.setdefault((before, after), []).append(r)
        for (before, after), exercises in groups.items():
            if before < 0 and after == len(self.release):
                continue   # nothing of the release was found: no place to go by
            run = self._run(self.found[before] + 1 if before >= 0 else 0, +1)
            if not run and after < len(self.release):
                run = self._run(self.found[after] - 1, -1)[::-1]
            for r, i in _align(exercises, run, self.release, self.cells).items():
                self.pair(r, i)

    def by_likeness(self) -> None:
        """An exercise cell moved away from its place: the free cell most like it, if alike enough."""
        for r, cell in enumerate(self.release):
            if r in self.found or not _is_exercise(cell):
                continue
            alike = {i: _likeness(cell, self.cells[i], MOVED_LIKENESS) for i in sorted(self.free)}
            best = max(alike, key=alike.get, default=None)
            if best is not None and alike[best] >= MOVED_LIKENESS:
                self.pair(r, best)

    def _run(self, start: int, step: int) -> list[int]:
        """The free cells from `start` on (going by `step`) up to the next cell already matched."""
        run, i = [], start
        while 0 <= i < len(self.cells) and i in self.free and len(run) < RUN_CELLS:
            run.append(i)
            i += step
        return run


def _align(exercises: list[int], run: list[int], release: list, cells: list) -> dict[int, int]:
    """An order-keeping pairing of exercise cells with cells of `run`: as many as can be, the most alike."""
    k, n = len(exercises), len(run)
    value = [[1 + _likeness(release[e], cells[c]) + 0.25 * (release[e].get("cell_type") == cells[c].get("cell_type"))
              for c in run] for e in exercises]
    best = [[0.0] * (n + 1) for _ in range(k + 1)]
    for a in range(k - 1, -1, -1):
        for b in range(n - 1, -1, -1):
            best[a][b] = max(value[a][b] + best[a + 1][b + 1], best[a + 1][b], best[a][b + 1])
    pairs, a, b = {}, 0, 0
    while a < k and b < n:
        if best[a][b] == value[a][b] + best[a + 1][b + 1]:
            pairs[exercises[a]] = run[b]
            a, b = a + 1, b + 1
        elif best[a][b] == best[a + 1][b]:
            a += 1
        else:
            b += 1
    return pairs


def match(cells: list, release: list) -> dict[int, int]:
    """release cell index -> submission cell index, for every release cell that can be located."""
    matching = _Matching(cells, release)
    for step in (matching.by_grade_id, matching.by_text, matching.by_cell_id, matching.by_place,
                 matching.by_likeness):
        step()
    return matching.found


# --------------------------------------------------------------------------- restoring

def _retype(cell: dict, cell_type: str) -> None:
    cell["cell_type"] = cell_type
    if cell_type == "code":
        cell.setdefault("outputs", [])
        cell.setdefault("execution_count", None)
        cell.pop("attachments", None)
    else:
        cell.pop("outputs", None)
        cell.pop("execution_count", None)


def _restore(cell: dict, released: dict, recovery: Recovery) -> None:
    gid = _grade_id(released)
    if _is_exercise(released) and cell.get("cell_type") != released["cell_type"]:
        _retype(cell, released["cell_type"])
        recovery.retyped.append(gid)
    if _needs_restoring(_nbgrader(cell), _nbgrader(released)):
        if not isinstance(cell.get("metadata"), dict):
            cell["metadata"] = nbformat.NotebookNode()
        for key in ("deletable", "editable"):
            if key in released["metadata"]:
                cell["metadata"][key] = released["metadata"][key]
        cell["metadata"]["nbgrader"] = copy.deepcopy(released["metadata"]["nbgrader"])
        recovery.restored.append(gid)


def _put_back_tests(nb: nbformat.NotebookNode, release: list, recovery: Recovery) -> None:
    """Put back, as released, each missing test cell nbgrader's autograde cannot place itself: it puts
    one after the cell released before it, and fails (KeyError) when that one is missing too."""
    nbgrader_cells = [c for c in release if _grade_id(c)]   # the gradebook's source cells, in order
    present = {_grade_id(c) for c in nb.cells if _nbgrader(c).get("grade") or _nbgrader(c).get("solution")}
    for index, released in enumerate(nbgrader_cells):
        gid = _grade_id(released)
        if not _nbgrader(released).get("grade") or gid in present:
            continue
        if index and _grade_id(nbgrader_cells[index - 1]) not in present:
            earlier = {_grade_id(c) for c in nbgrader_cells[:index]}   # after the last of these in the notebook
            at = max((i + 1 for i, c in enumerate(nb.cells) if _grade_id(c) in earlier), default=0)
            nb.cells.insert(at, _released_copy(released, nb))
            recovery.put_back.append(gid)
        present.add(gid)


def _released_copy(released: dict, nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    cell = copy.deepcopy(released)
    if nb.get("nbformat_minor", 0) < 5:
        cell.pop("id", None)    # cell ids came with nbformat 4.5
    elif cell.get("id") in {c.get("id") for c in nb.cells}:
        cell["id"] = f"{cell['id']}-released"
    return cell


def recover(nb: nbformat.NotebookNode, release: nbformat.NotebookNode, name: str) -> Recovery:
    """Restore, in place, the nbgrader metadata of `nb`'s cells from the release notebook."""
    recovery = Recovery(stripped=not any(_nbgrader(c) for c in nb.cells))
    found = match(nb.cells, release.cells)
    graded = {r for r, c in enumerate(release.cells) if _grade_id(c)}
    kept = {r for r in graded & set(found) if _grade_id(nb.cells[found[r]]) == _grade_id(release.cells[r])}
    lost = bool(graded & set(found) - kept)   # found without its grade_id
    unfound = [_grade_id(c) for r, c in enumerate(release.cells) if _is_exercise(c) and r not in found]
    if unfound and (lost or not kept):   # (with its metadata kept, a missing cell was deleted: nbgrader's case)
        recovery.problem = (f"the exercise cell '{unfound[0]}' could not be found: {name}.ipynb lacks nbgrader's "
                            "cell metadata (e.g. it was saved by Google Colab) and no cell stands where that "
                            "exercise was; re-download the notebook from the course and copy your answer in")
        return recovery
    for r, i in sorted(found.items()):
        if _grade_id(release.cells[r]):
            _restore(nb.cells[i], release.cells[r], recovery)
    _put_back_tests(nb, release.cells, recovery)
    return recovery


# --------------------------------------------------------------------------- files

def release_path(template: Path, assignment_id: str, name: str) -> Path | None:
    """The release notebook nbgrader made for this grading (OUT/release), else the course's."""
    for folder in (template / ".." / ".." / "release", COURSE_DIR):
        path = folder / assignment_id / f"{name}.ipynb"
        if path.is_file():
            return path
    return None


def recover_file(path: Path, release: Path, target: Path) -> Recovery:
    """Match the notebook at `path` to `release`; written to `target` if anything was restored."""
    try:
        nb = nbformat.read(path, as_version=4)
        recovery = recover(nb, nbformat.read(release, as_version=4), release.stem)
    except Exception:  # noqa: BLE001 - a notebook this cannot read is graded as handed in
        return Recovery()
    if recovery.changed and not recovery.problem:
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, target)
    return recovery


def recover_notebooks(template: Path, assignment_id: str, notebooks: dict[str, str], folder: Path) -> Recovered:
    """The files to grade: each notebook that needs it recovered into `folder`, the others as handed in."""
    graded, notes = dict(notebooks), []
    for name, path in notebooks.items():
        release = release_path(template, assignment_id, name)
        if release is None:
            continue
        recovery = recover_file(Path(path), release, folder / f"{name}.ipynb")
        if recovery.problem:
            return Recovered(dict(notebooks), problem=recovery.problem)
        if recovery.changed:
            graded[name] = str(folder / f"{name}.ipynb")
            notes.append(recovery.note(name))
    return Recovered(graded, "; ".join(notes))

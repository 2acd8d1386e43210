"""The adversarial corpus: hostile and honest submissions with their exact trusted scores.

Each case is a folder here holding `case.json` and one `<grade_id>.py` (or `.ipy`, for cells with
IPython magics) per solution cell it answers (every other solution cell gets the source's reference
answer, via tests/support/synthetic.py); files starting with `_` are extra code a mutation uses.
`case.json` says:

    assignment, notebook      which notebook of the release the submission is made from
    threat                    the threat class it stands for (see THREATS), or "honest"
    expected                  test grade_id -> exact points the trusted verdict must give
    mutations                 optional edits of the notebook itself (see `mutate`)
    limits                    optional overrides of the sandbox limits for this case
    upload                    optional: how the student's folder is laid out around the notebook
                              (see `place`), and "rows": assignment -> status of the other rows the
                              student's folder must give (none unless said)
    cell_timeout              optional per-cell timeout of the verdict for this case (default 5 s)
    recovered                 optional: the notebook lost nbgrader's metadata and is graded as recovered
                              from the release (autograder/grading/recover.py), with a note in its row

Snippets may hold placeholders the test fills in at run time: {{REPO}} (the repository root),
{{PORT}} (a port the test listens on), {{MARKER}} (a file the test checks is never written),
{{OTHER}} (another student's submission), {{GRADEBOOK}} (a fake gradebook outside the sandbox).
"""
from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from support import synthetic

CORPUS = Path(__file__).resolve().parent

THREATS = (
    "replace-what-tests-use",   # builtins, math.isclose, numpy/torch functions, sys.modules entries
    "lying-objects",            # __eq__/__sub__/__abs__/__float__ that always agree, float/tensor subclasses
    "hide-failures",            # IPython exception handlers, sys.excepthook, rewriting tests, forged reports
    "break-the-run",            # os._exit, sys.exit, signals, infinite loops, sleep, floods, memory, forks
    "read-secrets",             # source, hidden tests, gradebook, other submissions, environment variables
    "write-outside",
    "network",
    "tamper-metadata",          # points, grade_id, checksums, locked, cell types, duplicates
    "hard-coded-answers",
    "hostile-upload",           # files named like other students or a class layout, archives, links, bad JSON
    "student-html",             # <script>, event handlers, remote images in markdown and in outputs
    "helper-cells",             # code cells the student added, run by nbgrader and by the verdict alike
    "big-content",              # megabytes of attachments or saved outputs that grading never runs
    "honest",
)


@dataclass(frozen=True)
class AdversarialCase:
    name: str
    assignment: str
    notebook: str
    threat: str
    expected: dict[str, float]
    cells: dict[str, str]                         # grade_id -> snippet (placeholders not yet filled)
    mutations: list[list[str]] = field(default_factory=list)
    limits: dict[str, float] = field(default_factory=dict)
    description: str = ""
    upload: dict = field(default_factory=dict)
    cell_timeout: float = 5.0
    recovered: bool = False


def load_cases() -> list[AdversarialCase]:
    cases = []
    for spec_path in sorted(CORPUS.glob("*/case.json")):
        spec = json.loads(spec_path.read_text())
        folder = spec_path.parent
        snippets = sorted(folder.glob("*.py")) + sorted(folder.glob("*.ipy"))  # .ipy: IPython syntax
        cells = {p.stem: p.read_text() for p in snippets}
        cases.append(AdversarialCase(folder.name, spec["assignment"], spec["notebook"], spec["threat"],
                                     {k: float(v) for k, v in spec["expected"].items()}, cells,
                                     spec.get("mutations", []), spec.get("limits", {}),
                                     spec.get("description", ""), spec.get("upload", {}),
                                     float(spec.get("cell_timeout", 5.0)), bool(spec.get("recovered"))))
    return cases


def fill_placeholders(text: str, placeholders: dict[str, str]) -> str:
    for key, value in placeholders.items():
        text = text.replace("{{" + key + "}}", value)
    return text


def _cells_with_id(nb, grade_id: str) -> list:
    return [c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id]


def mutate(nb, mutation: list[str], case: AdversarialCase, placeholders: dict[str, str]) -> None:
    """Edit the submitted notebook the way a student could.

    ["inflate_points", N]          every graded cell claims N points, unlocked, with a bogus checksum
    ["rewrite_tests"]              every test cell's code replaced by `pass`
    ["drop", gid]                  the solution cell removed
    ["duplicate", gid, file]       a second cell with the same grade_id and the code of `file`
    ["duplicate_same", gid]        a second, identical copy of the cell (a copy-paste)
    ["duplicate_before", gid, file]  a copy of the cell holding the code of `file`, above it (an older attempt)
    ["split", gid, marker]         JupyterLab's Split Cell at the line `marker`: both halves keep the metadata
    ["markdown", gid]              the solution cell turned into a markdown cell
    ["solution_flag_off", gid]     the cell's nbgrader metadata says it is not a solution cell
    ["code_before", gid, file]     a code cell the student added, with the code of `file`, before cell gid
    ["code_after", gid, file]      the same, after cell gid
    ["markdown_before", gid, file] a markdown cell the student added (text of `file`) before cell gid
    ["answer", gid, file]          the written answer (markdown cell gid) replaced by the text of `file`
    ["attach", gid, megabytes]     a picture of that size pasted into markdown cell gid ("new": a new
                                   markdown cell at the end)
    ["saved_output", gid, megabytes]  code cell gid handed in with a saved figure of that size
    ["edit_course_cell", index, file]  the course's own code cell at `index` replaced by `file`
    ["colab"]                      saved by Google Colab: nbgrader's metadata gone, Colab's added, no cell ids
    ["vscode"]                     saved by an editor that kept the cells but dropped the exercises' nbgrader
                                   metadata (and added its own)
    """
    op, *args = mutation
    if op == "inflate_points":
        for cell in nb.cells:
            meta = cell.get("metadata", {}).get("nbgrader")
            if meta and meta.get("grade"):
                meta["points"] = float(args[0])
                meta["locked"] = False
                meta["checksum"] = "0" * 32
    elif op == "rewrite_tests":
        for cell in nb.cells:
            meta = cell.get("metadata", {}).get("nbgrader")
            if meta and meta.get("grade") and cell.cell_type == "code":
                cell.source = "pass"
    elif op == "drop":
        nb.cells = [c for c in nb.cells if c not in _cells_with_id(nb, args[0])]
    elif op in ("duplicate", "duplicate_same", "duplicate_before"):
        original = _cells_with_id(nb, args[0])[0]
        extra = copy.deepcopy(original)
        extra["id"] = uuid.uuid4().hex[:8]  # nbformat cell ids must stay unique; grade_ids need not
        if op != "duplicate_same":
            extra.source = fill_placeholders((CORPUS / case.name / args[1]).read_text(), placeholders)
        nb.cells.insert(nb.cells.index(original) + (op != "duplicate_before"), extra)
    elif op == "split":
        original = _cells_with_id(nb, args[0])[0]
        first, marker, second = original.source.partition(args[1])
        assert marker, f"{case.name}: no line {args[1]!r} to split at"
        lower = copy.deepcopy(original)
        lower["id"] = uuid.uuid4().hex[:8]
        original.source, lower.source = first.rstrip("\n"), second.lstrip("\n")
        nb.cells.insert(nb.cells.index(original) + 1, lower)
    elif op == "markdown":
        cell = _cells_with_id(nb, args[0])[0]
        index = nb.cells.index(cell)
        md = nbformat.v4.new_markdown_cell(cell.source, metadata=cell.metadata)
        nb.cells[index] = md
    elif op == "solution_flag_off":
        _cells_with_id(nb, args[0])[0].metadata["nbgrader"]["solution"] = False
    elif op in ("code_before", "code_after", "markdown_before"):
        index = nb.cells.index(_cells_with_id(nb, args[0])[0]) + (op == "code_after")
        text = fill_placeholders((CORPUS / case.name / args[1]).read_text(), placeholders)
        make = nbformat.v4.new_markdown_cell if op == "markdown_before" else nbformat.v4.new_code_cell
        nb.cells.insert(index, make(text))
    elif op == "answer":
        _cells_with_id(nb, args[0])[0].source = fill_placeholders((CORPUS / case.name / args[1]).read_text(),
                                                                  placeholders)
    elif op == "attach":
        if args[0] == "new":
            nb.cells.append(nbformat.v4.new_markdown_cell("My screen while I worked:"))
            cell = nb.cells[-1]
        else:
            cell = _cells_with_id(nb, args[0])[0]
        name = f"screenshot-{len(cell.get('attachments', {}))}.png"
        cell.setdefault("attachments", {})[name] = {"image/png": _png_base64(float(args[1]))}
        cell.source += f"\n\n![my screenshot](attachment:{name})"
    elif op == "saved_output":
        cell = _cells_with_id(nb, args[0])[0]
        cell.outputs = [nbformat.v4.new_output("display_data", data={"image/png": _png_base64(float(args[1])),
                                                                     "text/plain": "<Figure>"})]
    elif op == "edit_course_cell":
        code_cells = [c for c in nb.cells if c.cell_type == "code" and not c.metadata.get("nbgrader")]
        code_cells[int(args[0])].source = (CORPUS / case.name / args[1]).read_text()
    elif op == "colab":
        nb.nbformat_minor = 0
        nb.metadata = nbformat.from_dict({"colab": {"provenance": [], "name": f"{case.notebook}.ipynb"},
                                          "kernelspec": {"name": "python3", "display_name": "Python 3"},
                                          "language_info": {"name": "python"}})
        for cell in nb.cells:
            cell.pop("id", None)
            cell.metadata = nbformat.from_dict({"id": uuid.uuid4().hex[:12]})
    elif op == "vscode":
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", {}).get("solution"):
                del cell.metadata["nbgrader"]
            cell.metadata["vscode"] = {"languageId": "python" if cell.cell_type == "code" else "markdown"}
    else:
        raise ValueError(f"unknown mutation {op!r} in case {case.name}")


def _png_base64(megabytes: float) -> str:
    """A valid PNG of about that many megabytes (incompressible pixels), base64 as notebooks store it."""
    import base64
    import random
    import struct
    import zlib

    side = max(1, int((megabytes * 2**20 / 3) ** 0.5))
    rng = random.Random(side)
    rows = b"".join(b"\x00" + rng.randbytes(3 * side) for _ in range(side))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(rows, 1)) + chunk(b"IEND", b""))
    return base64.b64encode(png).decode("ascii")


def build(case: AdversarialCase, out_dir: Path, placeholders: dict[str, str] | None = None) -> Path:
    """Write the case's submission notebook under out_dir; return its path."""
    placeholders = placeholders or {}
    cells = {gid: fill_placeholders(src, placeholders) for gid, src in case.cells.items()
             if not gid.startswith("_")}
    nb = synthetic.solved(case.assignment, case.notebook, **cells)
    for mutation in case.mutations:
        mutate(nb, mutation, case, placeholders)
    path = out_dir / case.name / f"{case.notebook}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def _notebook_file(kind: str, case: AdversarialCase) -> bytes:
    """A whole notebook of the case's assignment: "solved" (full points) or "release" (none)."""
    nb = synthetic.solved(case.assignment, case.notebook) if kind == "solved" else \
        synthetic.release_notebook(case.assignment, case.notebook)
    return nbformat.writes(nb).encode()


def _write_zip(path: Path, item: dict, case: AdversarialCase) -> None:
    import zipfile

    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, kind in item.get("members", {}).items():
            archive.writestr(name, _notebook_file(kind, case))
        for name, size in item.get("zeros", {}).items():   # inflates from a few kB to `size` bytes
            archive.writestr(name, b"\0" * size)
        for name, target in item.get("links", {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o120000 | 0o777) << 16
            archive.writestr(info, target)


def place(case: AdversarialCase, built: Path, student: Path, placeholders: dict[str, str]) -> None:
    """Lay out the student's folder: the built notebook where "upload" says (by default
    <assignment>/<notebook>.ipynb), then each of its "files":

    {"path", "kind": "solved" | "release"}     a whole notebook of the case's assignment
    {"path", "kind": "text", "text"}           a plain file
    {"path", "kind": "deep_json", "depth"}     JSON nested `depth` lists deep
    {"path", "kind": "link", "target"}         a symbolic link
    {"path", "kind": "zip", "members", "zeros", "links"}   a real archive (see `_write_zip`)
    """
    upload = case.upload
    target = student / upload.get("notebook_at", f"{case.assignment}/{case.notebook}.ipynb")
    target.parent.mkdir(parents=True, exist_ok=True)
    built.replace(target)
    for item in upload.get("files", []):
        path = student / item["path"]
        path.parent.mkdir(parents=True, exist_ok=True)
        kind = item["kind"]
        if kind in ("solved", "release"):
            path.write_bytes(_notebook_file(kind, case))
        elif kind == "text":
            path.write_text(item["text"])
        elif kind == "deep_json":
            path.write_bytes(b"[" * item["depth"] + b"]" * item["depth"])
        elif kind == "link":
            path.symlink_to(fill_placeholders(item["target"], placeholders))
        elif kind == "zip":
            _write_zip(path, item, case)
        else:
            raise ValueError(f"unknown upload file kind {kind!r} in case {case.name}")

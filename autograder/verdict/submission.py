"""A submitted notebook as the trusted verdict reads it: the code its kernel runs, in order.

Only code is read: outputs and attachments are never needed to grade, so they do not count
against any limit. Nothing here runs student code; it only decides which text goes to the sandbox.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from autograder.limits import MAX_CELL_CHARS, MAX_CODE_CHARS, MAX_NOTEBOOK_FILE_BYTES
from autograder.verdict.source import SourceProgram, _text


@dataclass(frozen=True)
class Submission:
    code: dict[str, str | None]      # solution grade_id -> the student's code (None: not usable)
    problems: dict[str, str]         # solution grade_id -> why its code is not usable
    cells: list[dict]                # every code cell the kernel runs, in order (see `notebook_cells`)


def python_source(cell_source: str) -> str:
    """A code cell as plain Python: IPython magics and shell escapes become get_ipython() calls.

    A pure text transformation (nothing is run); inside the sandbox get_ipython() is a stub on
    which every magic does nothing, so `%matplotlib inline` in an answer costs nothing.
    """
    try:
        from IPython.core.inputtransformer2 import TransformerManager
        return TransformerManager().transform_cell(cell_source)
    except Exception:  # noqa: BLE001 - IPython missing or the cell cannot be parsed: run it as written
        return cell_source


def _grade_id(cell: dict) -> str | None:
    meta = cell.get("metadata")
    nbg = meta.get("nbgrader") if isinstance(meta, dict) else None
    gid = nbg.get("grade_id") if isinstance(nbg, dict) else None
    return gid if isinstance(gid, str) else None


def read_cells(path: Path) -> list[dict]:
    """The notebook's cells. Raises ValueError if the file is not a readable notebook."""
    if path.stat().st_size > MAX_NOTEBOOK_FILE_BYTES:
        raise ValueError(f"notebook file larger than {MAX_NOTEBOOK_FILE_BYTES} bytes")
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
        cells = nb["cells"]
        assert isinstance(cells, list)
    except Exception as e:  # noqa: BLE001 - any malformed file is the same verdict
        raise ValueError(f"not a readable notebook ({type(e).__name__})") from None
    cells = [c for c in cells if isinstance(c, dict)]
    code_chars = sum(len(_text(c.get("source"))) for c in cells if c.get("cell_type") == "code")
    if code_chars > MAX_CODE_CHARS:
        raise ValueError(f"more than {MAX_CODE_CHARS} characters of code (outputs and attachments not counted)")
    return cells


def solution_code(cells: list[dict], solution_ids: tuple[str, ...]) -> tuple[dict[str, str | None], dict[str, str]]:
    """The student's code for each solution cell of the source, and why any is unusable."""
    found: dict[str, list[tuple[str, str]]] = {gid: [] for gid in solution_ids}
    for cell in cells:
        gid = _grade_id(cell)
        if gid in found:
            found[gid].append((str(cell.get("cell_type")), _text(cell.get("source"))))
    code: dict[str, str | None] = {}
    problems: dict[str, str] = {}
    for gid, hits in found.items():
        code[gid] = None
        if not hits:
            problems[gid] = f"solution cell {gid} is missing from the submission"
        elif any(kind != "code" for kind, _ in hits):
            problems[gid] = f"solution cell {gid} is not a code cell in the submission"
        elif len({src for _, src in hits}) > 1:
            problems[gid] = (f"solution cell {gid} appears {len(hits)} times with different code; "
                             "which one is the answer cannot be told")
        elif len(hits[0][1]) > MAX_CELL_CHARS:
            problems[gid] = f"solution cell {gid} is longer than {MAX_CELL_CHARS} characters"
        else:
            code[gid] = python_source(hits[0][1])
    return code, problems


def notebook_cells(cells: list[dict], program: SourceProgram, code: dict[str, str | None]) -> list[dict]:
    """Every code cell the notebook's kernel runs, in the submission's order, as the sandbox gets them.

    A solution cell: the student's code (once, where it first appears; None if unusable).
    A test cell of the source: {"test": grade_id} (the verdict's checks take its place).
    A cell that is, word for word, one of the course's own code cells: its setup statements only
    (the course's demos and plots are the instructor's, not needed to grade), marked trusted.
    Any other code cell (a cell the student added or changed): the student's code, run under the
    per-cell time limit like every student cell, whatever it raises or however long it runs.
    """
    ordered: list[dict] = []
    seen: set[str] = set()
    for index, cell in enumerate(cells):
        if cell.get("cell_type") != "code":
            continue
        gid = _grade_id(cell)
        text = _text(cell.get("source"))
        if gid in program.tests:
            ordered.append({"test": gid})
        elif gid in code:
            if gid not in seen:
                seen.add(gid)
                ordered.append({"id": gid, "source": code[gid]})
        elif text.strip() in program.course_cells:
            ordered.append({"id": f"course cell {index + 1}", "source": program.course_cells[text.strip()],
                            "trusted": True})
        elif len(text) <= MAX_CELL_CHARS:
            ordered.append({"id": f"cell {index + 1}", "source": python_source(text)})
        else:
            ordered.append({"id": f"cell {index + 1}", "source": None})
    for gid in code:  # solution cells that are not code cells of the submission: reported as missing
        if gid not in seen:
            ordered.append({"id": gid, "source": None})
    return ordered


def read_submission(path: Path, program: SourceProgram) -> Submission:
    cells = read_cells(path)
    code, problems = solution_code(cells, program.solution_ids)
    return Submission(code, problems, notebook_cells(cells, program, code))

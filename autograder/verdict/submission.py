"""A submitted notebook as the trusted verdict reads it: the code its kernel runs, in order.

Only code is read: outputs and attachments are never needed to grade, so they do not count
against any limit. Nothing here runs student code; it only decides which text goes to the sandbox.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from autograder.limits import MAX_CELL_CHARS, MAX_CODE_CHARS, MAX_NOTEBOOK_FILE_BYTES
from autograder.verdict.source import SourceProgram, _text


@dataclass(frozen=True)
class Submission:
    code: dict[str, str | None]      # solution grade_id -> the student's code (None: not usable)
    problems: dict[str, str]         # solution grade_id -> why its code is not usable
    cells: list[dict]                # every code cell the kernel runs, in order (see `notebook_cells`)


# Cell magics whose body is Python that IPython runs in the notebook's namespace (timed, captured,
# profiled): the verdict runs the body. %%timeit runs it inside a function, as IPython's timer does,
# so what it defines stays local. Every other cell magic (%%html, %%bash, %%writefile, ...) does nothing here.
BODY_MAGICS = frozenset({"time", "capture", "prun"})
SCOPED_BODY_MAGICS = frozenset({"timeit"})


def _cell_magic(cell_source: str) -> tuple[str, str] | None:
    """(magic name, body) when the cell starts with a cell magic such as `%%time`."""
    lines = cell_source.lstrip("\n").split("\n", 1)
    match = re.match(r"%%(\w+)", lines[0])
    return (match.group(1), lines[1] if len(lines) > 1 else "") if match else None


def python_source(cell_source: str) -> str:
    """A code cell as plain Python, as IPython's own input transformer makes it: line magics and shell
    escapes become get_ipython() calls (inside the sandbox a stub that runs `%time` and `%timeit`
    statements and does nothing for the rest); a Python-bodied cell magic becomes its body.

    A pure text transformation: nothing is run here.
    """
    magic = _cell_magic(cell_source)
    if magic and magic[0] in BODY_MAGICS:
        return python_source(magic[1])
    if magic and magic[0] in SCOPED_BODY_MAGICS:
        return f"exec(compile({python_source(magic[1])!r}, '<%%timeit>', 'exec'), dict(globals()))\n"
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
    """The student's code for each solution cell of the source, and why any is unusable.

    As in the kernel, a cell that carries the grade_id twice (a split or copied exercise cell) is run
    in order, so the code is every copy in notebook order and the last definition wins; a solution cell
    turned into markdown is code again, as nbgrader restores it.
    """
    found: dict[str, list[str]] = {gid: [] for gid in solution_ids}
    for cell in cells:
        gid = _grade_id(cell)
        if gid in found:
            found[gid].append(_text(cell.get("source")))
    code: dict[str, str | None] = {}
    problems: dict[str, str] = {}
    for gid, copies in found.items():
        code[gid] = None
        if not copies:
            problems[gid] = f"solution cell {gid} is missing from the submission"
        elif any(len(text) > MAX_CELL_CHARS for text in copies):
            problems[gid] = f"solution cell {gid} is longer than {MAX_CELL_CHARS} characters"
        else:
            code[gid] = "".join(python_source(text) + "\n" for text in copies)
    return code, problems


def notebook_cells(cells: list[dict], program: SourceProgram, code: dict[str, str | None]) -> list[dict]:
    """Every code cell the notebook's kernel runs, in the submission's order, as the sandbox gets them.

    A solution cell: the student's code, each copy where it appears (None if unusable).
    A test cell of the source: {"test": grade_id} (the verdict's checks take its place).
    A cell that is, word for word, one of the course's own code cells: its setup statements only
    (the course's demos and plots are the instructor's, not needed to grade), marked trusted.
    Any other code cell (a cell the student added or changed): the student's code, run under the
    per-cell time limit like every student cell, whatever it raises or however long it runs.
    """
    ordered: list[dict] = []
    for index, cell in enumerate(cells):
        gid = _grade_id(cell)
        text = _text(cell.get("source"))
        if gid in code:  # whatever its cell type (nbgrader restores a solution cell made markdown)
            ordered.append({"id": gid, "source": python_source(text) if code[gid] is not None else None})
        elif cell.get("cell_type") != "code":
            continue
        elif gid in program.tests:
            ordered.append({"test": gid})
        elif text.strip() in program.course_cells:
            ordered.append({"id": f"course cell {index + 1}", "source": program.course_cells[text.strip()],
                            "trusted": True})
        elif len(text) <= MAX_CELL_CHARS:
            ordered.append({"id": f"cell {index + 1}", "source": python_source(text)})
        else:
            ordered.append({"id": f"cell {index + 1}", "source": None})
    for gid in code:  # solution cells absent from the submission: reported as missing
        if not any(cell.get("id") == gid for cell in ordered):
            ordered.append({"id": gid, "source": None})
    return ordered


def read_submission(path: Path, program: SourceProgram) -> Submission:
    cells = read_cells(path)
    code, problems = solution_code(cells, program.solution_ids)
    return Submission(code, problems, notebook_cells(cells, program, code))

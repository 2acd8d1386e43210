"""The copy of a submitted notebook that grading runs: what grading never uses is left out.

Outputs saved in the file are never graded (nbgrader clears them and runs the code again), and
pictures pasted into markdown cells (attachments) are needed only in the written answers, which a
person grades: there they are kept up to MAX_ANSWER_ATTACHMENT_BYTES, everywhere else dropped. The
student's own file is kept as handed in (OUT/submitted); the row's reason says what was left out.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from autograder.limits import MAX_ANSWER_ATTACHMENT_BYTES


def _size(value: object) -> int:
    return len(json.dumps(value))


def _is_written_answer(cell: dict) -> bool:
    meta = cell.get("metadata")
    nbg = meta.get("nbgrader") if isinstance(meta, dict) else None
    return isinstance(nbg, dict) and bool(nbg.get("grade")) and bool(nbg.get("solution"))


def slim_copy(source: Path, target: Path) -> str:
    """Copy the notebook for grading without what grading does not need; a note of what was left out."""
    try:
        nb = json.loads(source.read_text(encoding="utf-8"))
        cells = nb["cells"]
        assert isinstance(cells, list)
    except Exception:  # noqa: BLE001 - not a notebook: nbgrader says so itself
        shutil.copyfile(source, target)
        return ""
    outputs = attachments = 0
    kept = 0
    for cell in cells:
        if not isinstance(cell, dict):
            continue
        if cell.get("cell_type") == "code" and cell.get("outputs"):
            outputs += _size(cell["outputs"])
            cell["outputs"] = []
        if isinstance(cell.get("attachments"), dict) and cell["attachments"]:
            size = _size(cell["attachments"])
            if _is_written_answer(cell) and kept + size <= MAX_ANSWER_ATTACHMENT_BYTES:
                kept += size
            else:
                attachments += size
                del cell["attachments"]
    target.write_text(json.dumps(nb), encoding="utf-8")
    left_out = []
    if attachments:
        left_out.append(f"{attachments / 2**20:.1f} MB of pasted pictures (attachments; kept only in written "
                        f"answers, up to {MAX_ANSWER_ATTACHMENT_BYTES // 2**20} MB)")
    if outputs > 2**20:
        left_out.append(f"{outputs / 2**20:.1f} MB of saved outputs (the code is run again)")
    return f"not needed to grade, left out of {source.stem}: " + "; ".join(left_out) if left_out else ""

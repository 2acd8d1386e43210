"""Shared helpers for the grade tests: synthetic classes, running the command, reading its output."""
from __future__ import annotations

import csv
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat

from support import synthetic

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
# Small limits keep the tests quick: a cell that never ends is stopped after CELL_TIMEOUT seconds.
CELL_TIMEOUT = 4

CH1, NB1 = "ch1_the_idea", "the_idea"
CH2, NB2 = "ch2_implement", "gradient_descent"
CH3, NB3 = "ch3_pytorch_slope", "pytorch_slope"
CH4, NB4 = "ch4_fitting_a_line", "fitting_a_line"


def wrong(assignment_id: str, index: int = 0):
    return [w for w in synthetic.WRONG_ANSWERS if w.assignment_id == assignment_id][index]


def solved_with_wrong(assignment_id: str, notebook: str, index: int = 0) -> nbformat.NotebookNode:
    w = wrong(assignment_id, index)
    return synthetic.solved(assignment_id, notebook, **{w.cell_id: w.source})


def put(root: Path, student: str, assignment_id: str, notebook: str, nb) -> Path:
    return synthetic.write(nb, root / student / assignment_id / f"{notebook}.ipynb")


def env() -> dict:
    environment = dict(os.environ)
    environment["PATH"] = str(Path(PYTHON).parent) + os.pathsep + environment.get("PATH", "")
    environment["MPLBACKEND"] = "Agg"
    return environment


def grade(*args, timeout: float = 400, check: bool = False, tmpdir: Path | None = None) -> subprocess.CompletedProcess:
    cmd = [PYTHON, "-m", "autograder", "grade", *map(str, args)]
    environment = env() if tmpdir is None else {**env(), "TMPDIR": str(tmpdir)}
    result = subprocess.run(cmd, cwd=REPO, env=environment, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"{cmd} exited {result.returncode}\n{result.stdout}\n{result.stderr[-4000:]}")
    return result


def rows(path: Path) -> list[dict]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def by_student(path: Path) -> dict[tuple[str, str], dict]:
    return {(r["student_id"], r["assignment_id"]): r for r in rows(path)}


def make_zip(path: Path, files: dict[str, bytes], links: dict[str, str] | None = None,
             modes: dict[str, int] | None = None) -> Path:
    """A real .zip: `files` (name -> bytes, compressed), `links` (name -> target, as symbolic-link
    members) and `modes` (name -> Unix mode bits the archive claims for that file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o100000 | (modes or {}).get(name, 0o644)) << 16
            archive.writestr(info, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o120000 | 0o777) << 16
            archive.writestr(info, target)
    return path


def notebook_bytes(nb) -> bytes:
    return nbformat.writes(nb).encode()

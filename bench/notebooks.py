"""Time every solution notebook: total execution time and its slowest cell, in a fresh kernel each.

    python bench/notebooks.py [--limit SECONDS] [NOTEBOOK ...]

Kernel start-up is not counted: a cell's time runs from the kernel receiving it to its reply.
Cells slower than the limit (default 2 s) are flagged and make the exit status 1.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO_ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS_DIR = REPO_ROOT / "solutions"
sys.path.insert(0, str(REPO_ROOT))

from autograder.kernel_client import use_prompt_client  # noqa: E402 - the package, found from here


def _seconds(start: str, end: str) -> float:
    parse = lambda stamp: datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return (parse(end) - parse(start)).total_seconds()


def first_line(cell: nbformat.NotebookNode) -> str:
    lines = [line.strip() for line in cell.source.splitlines() if line.strip()]
    return (lines[0] if lines else "(empty cell)")[:70]


def time_cells(path: Path) -> tuple[float, list[tuple[float, nbformat.NotebookNode]]]:
    """Execute `path` in a fresh kernel in its folder; return wall time (no kernel start) and per-cell times."""
    nb = nbformat.read(path, as_version=4)
    timings = []
    with tempfile.TemporaryDirectory(prefix="gd-bench-") as tmp:  # leave solutions/ untouched
        workdir = Path(shutil.copytree(path.parent, Path(tmp) / path.parent.name,
                                       ignore=shutil.ignore_patterns("*.ipynb", "__pycache__")))
        client = NotebookClient(nb, timeout=120, kernel_name="python3", record_timing=True, config=use_prompt_client(),
                                resources={"metadata": {"path": str(workdir)}})
        with client.setup_kernel(stderr=subprocess.DEVNULL):
            started = time.perf_counter()
            for index, cell in enumerate(nb.cells):
                client.execute_cell(cell, index)
            total = time.perf_counter() - started
    for cell in nb.cells:
        execution = cell.get("metadata", {}).get("execution", {})
        if cell.cell_type == "code" and "iopub.execute_input" in execution and "shell.execute_reply" in execution:
            timings.append((_seconds(execution["iopub.execute_input"], execution["shell.execute_reply"]), cell))
    return total, timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every notebook under solutions/")
    parser.add_argument("--limit", type=float, default=2.0, help="flag cells slower than this (seconds)")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted(SOLUTIONS_DIR.glob("*/*.ipynb"))
    slow = 0
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"{os.cpu_count()} cores, load average {load} (a busy machine makes every cell slower)")
    for path in paths:
        total, timings = time_cells(path)
        worst, cell = max(timings, key=lambda t: t[0])
        print(f"{path.parent.name}/{path.name}: {total:.2f} s for {len(timings)} cells; "
              f"slowest {worst:.2f} s: {first_line(cell)}")
        for seconds, cell in timings:
            if seconds > args.limit:
                slow += 1
                print(f"  SLOW ({seconds:.2f} s > {args.limit:g} s): {first_line(cell)}")
    print(f"{slow} cell(s) over {args.limit:g} s" if slow else f"every cell under {args.limit:g} s")
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())

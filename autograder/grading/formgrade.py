"""`python -m autograder formgrade OUT`: nbgrader's formgrader on a graded batch, to grade by hand.

Starts JupyterLab in OUT (nbgrader reads OUT/nbgrader_config.py from there) and opens its
formgrader page. Grade the written answers there; then run `grade` again: it picks up the hand
grades and rebuilds the feedback of the submissions whose scores changed. The server loads
`formgrader_guard`: formgrader's Autograde (student code, unsandboxed) and the buttons that would
rewrite what `grade` owns answer with a message instead.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path


def command(out: Path, extra: list[str]) -> list[str]:
    argv = [sys.executable, "-m", "jupyter", "lab", "--ServerApp.root_dir=.",
            "--LabApp.default_url=/formgrader",
            "--ServerApp.jpserver_extensions=autograder.grading.formgrader_guard=True", *extra]
    if hasattr(os, "geteuid") and os.geteuid() == 0 and "--allow-root" not in extra:
        argv.append("--allow-root")
    return argv


def main(*, out: Path, extra: list[str]) -> int:
    if not (out / "nbgrader_config.py").is_file() or not (out / "source").is_dir():
        print(f"formgrade: error: {out} is not a graded batch; run "
              f"`python -m autograder grade SUBMISSIONS --out {out}` first", file=sys.stderr)
        return 2
    from autograder.course.coursedir import ensure_alembic_on_path

    ensure_alembic_on_path()
    os.chdir(out)
    argv = command(out, extra)
    os.execv(argv[0], argv)
    return 0  # not reached

"""Grading one submission so that its code can neither see nor change anything but itself.

Two independent runs, both inside the sandbox (autograder/sandbox.py):

1. nbgrader's own autograde + feedback, in a throwaway course folder that holds only this
   submission, the tests it needs, a gradebook copy whose solution cells are blanked, and the
   chapter's helper modules. The student's kernel runs here; whatever it does to this folder
   only affects nbgrader's *in-kernel* result for this one submission.
2. The trusted verdict (autograder/verdict.py): the student's solution cells called on
   randomized inputs in a child that returns plain data, judged in this process.

`reconcile` records both: where nbgrader's in-kernel result disagrees with the trusted verdict,
the submission is flagged and scored by the verdict.
"""
from __future__ import annotations

import json
import shutil
import sqlite3
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .sandbox import Limits, read_result_file, run_sandboxed

RUNNER = Path(__file__).with_name("sandbox_autograde.py")
FLAGGED = "flagged"


def nbgrader_limits(cell_timeout: int) -> Limits:
    """Room for nbgrader, a kernel and torch; the wall clock covers every cell's timeout."""
    return Limits(cpu_seconds=300, wall_seconds=float(max(120, 6 * cell_timeout + 60)),
                  memory_bytes=6 * 2**30, processes=256, open_files=512, file_bytes=64 * 2**20,
                  tmp_bytes=128 * 2**20, output_bytes=64 * 2**10)


def blank_solutions(gradebook: Path) -> None:
    """The copy a submission is graded against keeps the tests but not the answers: nbgrader only
    needs the locked cells (tests, read-only cells) to overwrite the student's copies."""
    with sqlite3.connect(gradebook) as db:
        db.execute("UPDATE source_cell SET source = '' WHERE locked = 0")


def stage(folder: Path, template: Path, assignment_id: str, student_id: str,
          notebooks: dict[str, str], config: Path) -> None:
    """The sandbox's course folder: config, runner, helper modules (no source notebooks),
    a gradebook copy without answers, and the submitted notebooks."""
    folder.mkdir(parents=True)
    shutil.copyfile(config, folder / "nbgrader_config.py")
    shutil.copyfile(RUNNER, folder / RUNNER.name)
    helpers = folder / "source" / assignment_id
    helpers.mkdir(parents=True)
    for path in (template / "source" / assignment_id).iterdir():
        if path.is_file() and path.suffix != ".ipynb":
            shutil.copyfile(path, helpers / path.name)
    shutil.copyfile(template / "gradebook.db", folder / "gradebook.db")
    blank_solutions(folder / "gradebook.db")
    submitted = folder / "submitted" / student_id / assignment_id
    submitted.mkdir(parents=True)
    for name, path in notebooks.items():
        shutil.copyfile(path, submitted / f"{name}.ipynb")


@dataclass
class SandboxedRun:
    success: bool
    reason: str                                   # why not, when not
    grades: dict[str, dict[str, float | None]]    # notebook -> grade_id -> nbgrader's auto score
    log: str = ""
    autograded: dict[str, bytes] = field(default_factory=dict)  # notebook file name -> content
    feedback: dict[str, bytes] = field(default_factory=dict)    # feedback file name -> content


def run_nbgrader(folder: Path, assignment_id: str, student_id: str, cell_timeout: int) -> SandboxedRun:
    """Run the staged folder's autograde in the sandbox; read back only plain files, as untrusted data."""
    result = run_sandboxed([sys.executable, RUNNER.name, student_id, assignment_id, str(cell_timeout)],
                           folder, nbgrader_limits(cell_timeout))
    log = (result.stderr or "")[-3000:]
    try:
        outcome = json.loads(read_result_file(folder, "outcome.json", 1 << 20))
        grades = {str(nb): {str(k): (None if v is None else float(v)) for k, v in cells.items()}
                  for nb, cells in outcome["grades"].items()}
        success = outcome["success"] is True
        log = str(outcome.get("log", ""))[-3000:] + "\n" + log
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        reason = result.killed_reason or f"nbgrader left no readable result ({type(error).__name__})"
        return SandboxedRun(False, reason, {}, log)
    run = SandboxedRun(success, "" if success else (result.killed_reason or "nbgrader autograde failed"),
                       grades, log)
    for kind, target in (("autograded", run.autograded), ("feedback", run.feedback)):
        base = Path(kind) / student_id / assignment_id
        for name in _plain_files(folder / base):
            try:
                target[name] = read_result_file(folder, str(base / name), 32 * 2**20)
            except (OSError, ValueError):
                pass
    return run


def _plain_files(directory: Path) -> list[str]:
    try:
        return sorted(p.name for p in directory.iterdir()
                      if not p.is_symlink() and p.is_file() and p.suffix in (".ipynb", ".html"))
    except OSError:
        return []


def reconcile(nbgrader_scores: dict[str, float | None], verdicts: dict, max_points: dict[str, float]
              ) -> tuple[dict[str, float | None], list[str]]:
    """Scores to record (trusted verdict for every autograded test) and the disagreements."""
    scores = dict(nbgrader_scores)
    disagreements = []
    for grade_id, verdict in verdicts.items():
        trusted = float(verdict.points)
        in_kernel = nbgrader_scores.get(grade_id)
        if in_kernel is None or abs(float(in_kernel) - trusted) > 1e-9:
            disagreements.append(f"{grade_id}: nbgrader {in_kernel if in_kernel is not None else '-'}"
                                 f" vs trusted {trusted:g}/{max_points.get(grade_id, verdict.max_points):g}"
                                 f" ({verdict.reason})")
        scores[grade_id] = min(trusted, max_points.get(grade_id, verdict.max_points))
    return scores, disagreements

"""The trusted verdict: a grade decided by code that never shares an interpreter with student code.

For one submitted notebook and each autograded test cell of the instructor SOURCE:

1. the code cells of the submission are read in order (autograder/verdict/submission.py): the
   solution cells by the grade_ids of the source (a solution cell that is missing, not a code
   cell, or present several times with different code counts as not answered), the cells the
   student added or changed as written, the course's own cells as the source's setup statements;
   test cells, metadata, points and checksums of the submission are never used;
2. a sandboxed child (autograder/sandbox/run.py) runs the source's own setup code (imports and the
   globals its read-only cells define), every code cell the notebook runs before the test cell,
   each student cell under the per-cell time limit (a cell that raises or is stopped keeps what it
   defined, as in nbgrader's run), the
   reference code for the exercises that one depends on (as the hidden tests do), and calls the
   student's code on inputs drawn here from a seeded generator; it reports raw observations as JSON
   behind a per-run random nonce (autograder/verdict/inside/harness.py);
3. this process parses that report as untrusted data and compares it with values it computes itself
   (autograder/verdict/exercises/<chapter>.py): all the points of the test cell, or none, and the reason.

The seed is returned with every verdict (and logged), so a grade can be reproduced.

What the child can still do, and why it does not matter much: the student's code shares the
harness's interpreter, so with enough effort (frame walking, ctypes) it can make the harness report
anything, or write a report of its own. But the inputs are random, drawn here, and the expected
values never leave this process: a report earns points only if it holds the right values for
those inputs, which takes computing them correctly. What a subverted harness could fake is a type
tag (a correct value of a wrong type passing as a float). A missing, duplicated, malformed or
incomplete report scores nothing, and nothing in a report can make this process raise.
"""
from __future__ import annotations

import base64
import json
import logging
import marshal
import math
import os
import random
import secrets
import shutil
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from autograder.limits import CELL_TIMEOUT, SUBMISSION_WALL_SECONDS, VERDICT_TEST, Limits
from autograder.sandbox.run import Result, run_sandboxed
from autograder.verdict.diagnosis import diagnose
from autograder.verdict.exercises import Exercise, chapter, exercises
from autograder.verdict.server import ServerFailed
from autograder.verdict.source import SourceProgram, check_coverage, source_program
from autograder.verdict.submission import Submission, python_source, read_submission, solution_code

__all__ = ["check_coverage", "python_source", "solution_code", "source_program", "trusted_verdict"]

log = logging.getLogger(__name__)

HARNESS = Path(__file__).parent / "inside" / "harness.py"


def fresh_seed() -> int:
    """The seed of a run's random inputs when none is given (the one default, recorded with every grade)."""
    return secrets.randbits(48)


@dataclass(frozen=True)
class TestVerdict:
    points: float
    max_points: float
    reason: str           # "passed", or why the points were not given
    seed: int             # reproduces the inputs: trusted_verdict(..., seed=seed)
    diagnosis: str = ""   # the likely mistake, in the visible check's words (verdict/diagnosis.py)
    checked: bool = True  # False: the verdict could not observe an answer (the code raised, was stopped,
    #                       ended the run, or the run failed): no points, but no wrong answer was seen


# ----------------------------------------------------------------------------- one test in the sandbox

def cells_before(cells: list[dict], exercise: Exercise) -> list[dict]:
    """The code cells the notebook runs before the exercise's test cell (and its solution cell, always)."""
    before: list[dict] = []
    for cell in cells:
        if cell.get("test") == exercise.test_id:
            break
        if "test" not in cell:
            before.append(cell)
    if all(cell.get("id") != exercise.cell_id for cell in before):
        before += [cell for cell in cells if cell.get("id") == exercise.cell_id]
    return before


def cells_seconds(cells: list[dict], cell_timeout: float, time_limit: float = SUBMISSION_WALL_SECONDS) -> float:
    """The most the student's cells of one test may run: as in nbgrader's run, each its per-cell limit,
    all of them within the submission's time limit (`grade --time-limit`)."""
    student_cells = sum(1 for cell in cells if not cell.get("trusted") and cell.get("source") is not None)
    return min(max(1, student_cells) * cell_timeout, time_limit)


def _program(program: SourceProgram, exercise: Exercise, cells: list[dict], cases: list[dict],
             nonce: str, cell_timeout: float, checks_cpu_seconds: int, time_limit: float) -> dict:
    return {"checks_cpu_seconds": checks_cpu_seconds,
            "nonce": nonce, "setup": program.setup, "cells": cells, "target": exercise.cell_id,
            "defer_target": exercise.defer_target, "overrides": compiled(exercise.overrides),
            "kind": exercise.kind, "params": exercise.params, "torch": exercise.torch, "cases": cases,
            "cell_timeout": cell_timeout, "cells_seconds": cells_seconds(cells, cell_timeout, time_limit),
            "stub_modules": list(program.local_modules)}


def compiled(reference_code: str) -> str:
    """Reference code as the sandbox gets it: a compiled code object (marshal, base64), never its text,
    so no line of it can be read back and carried into a reason from the student's side."""
    code = compile(reference_code or "", "<overrides>", "exec", dont_inherit=True)
    return base64.b64encode(marshal.dumps(code)).decode("ascii")


def test_limits(limits: Limits, seconds: float) -> Limits:
    """One test's limits: the verdict's own, plus the time the student's cells may take first."""
    return replace(limits, cpu_seconds=limits.cpu_seconds + math.ceil(seconds),
                   wall_seconds=limits.wall_seconds + seconds)


def parse_report(stdout: str, nonce: str) -> dict | None:
    """The harness's one report line, or None if it is absent, duplicated or malformed."""
    lines = [line for line in stdout.splitlines() if line.startswith(nonce + " ")]
    if len(lines) != 1:
        return None
    try:
        report = json.loads(lines[0][len(nonce) + 1:])
    except Exception:  # noqa: BLE001 - ValueError, RecursionError on a forged, deeply nested report
        return None
    return report if isinstance(report, dict) and isinstance(report.get("results"), list) else None


def _no_report_reason(result: Result, stdout_has_nonce: int) -> str:
    if result.killed_reason:
        return f"the code did not finish: {result.killed_reason}"
    if stdout_has_nonce > 1:
        return "the run's report was forged or duplicated"
    return f"the code ended the run early (exit status {result.returncode}) before the checks finished"


def clean(reason: str, limit: int = 300) -> str:
    """A reason fit to show: printable ASCII only (parts of it come from the child), bounded."""
    text = "".join(ch if " " <= ch <= "~" else "?" for ch in str(reason))
    return text if len(text) <= limit else text[: limit - 3] + "..."


Runner = Callable[[dict, Limits], Result]


def run_once(program: dict, limits: Limits) -> Result:
    """One test in a sandbox of its own: a fresh interpreter, torch imported anew."""
    workdir = Path(tempfile.mkdtemp(prefix="verdict-"))
    try:
        (workdir / "program.json").write_text(json.dumps(program))
        shutil.copyfile(HARNESS, workdir / "harness.py")
        return run_sandboxed([sys.executable, "-I", "-B", "harness.py"], workdir, limits)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


# Errors that mean the verdict never got to look at the answer (the function was never defined there, a
# cell was stopped, a limit was met), unlike an error the answer itself raises on an input (a wrong answer).
NOT_OBSERVED = ("NameError", "CellTimeoutError", "MemoryError", "missing")


def _not_observed(observation: dict) -> bool:
    """The student's code could not be looked at: it was never defined in the run, or was stopped."""
    if not isinstance(observation, dict):
        return False
    calls = observation.get("calls")
    errors = [observation.get("error")] + [c.get("error") for c in calls if isinstance(c, dict)] \
        if isinstance(calls, list) else [observation.get("error")]
    return any(isinstance(e, str) and (e.startswith(NOT_OBSERVED) or "(" in e) for e in errors)


def run_exercise(program: SourceProgram, exercise: Exercise, submission: Submission, seed: int,
                 limits: Limits, runner: Runner | None = None, cell_timeout: float = CELL_TIMEOUT,
                 time_limit: float = SUBMISSION_WALL_SECONDS) -> TestVerdict:
    max_points = program.tests[exercise.test_id].points
    fail = lambda reason: TestVerdict(0.0, max_points, reason, seed)
    unchecked = lambda reason: TestVerdict(0.0, max_points, clean(reason), seed, checked=False)
    if submission.code.get(exercise.cell_id) is None:
        return fail(submission.problems.get(exercise.cell_id, f"solution cell {exercise.cell_id} is missing"))
    rng = random.Random(f"{seed}:{exercise.assignment_id}:{exercise.notebook}:{exercise.test_id}")
    cases = exercise.make_cases(rng)
    nonce = secrets.token_hex(16)
    job = _program(program, exercise, cells_before(submission.cells, exercise), cases, nonce, cell_timeout,
                   limits.cpu_seconds, time_limit)
    limits = test_limits(limits, job["cells_seconds"])
    try:
        result = (runner or run_once)(job, limits)
    except ServerFailed as failure:  # the warm server's trouble, not the student's: run it afresh
        log.warning("%s; running %s the one-shot way", failure, exercise.test_id)
        result = run_once(job, limits)
    report = parse_report(result.stdout, nonce)
    if report is None:
        return unchecked(_no_report_reason(result, result.stdout.count(nonce)))
    if report.get("setup_error"):
        # Before any student code ran: the grader's side is broken (e.g. torch missing in the sandbox),
        # unless the report is forged. Never raise on what the child says: log it loudly and give nothing.
        log.error("%s/%s %s: the source's setup code failed in the sandbox (%s)", exercise.assignment_id,
                  exercise.notebook, exercise.test_id, report["setup_error"])
        return unchecked(f"the notebook's setup failed before the student's code ran "
                         f"({report['setup_error']}); a grader problem or a forged report: check the log")
    if report.get("resetup_error") or report.get("overrides_error"):
        # The student's code broke the interpreter for the source's own code.
        return unchecked(f"the notebook's setup could not run after the student's code "
                         f"({report.get('resetup_error') or report.get('overrides_error')})")
    results = report["results"]
    if len(results) != len(cases):
        return unchecked("the run's report is incomplete")
    for case, res in zip(cases, results):
        try:
            why = exercise.judge(case, res)
        except Exception as e:  # noqa: BLE001 - a malformed observation fails the test, never the grader
            why = f"malformed observation ({type(e).__name__})"
        if why:
            errors = report.get("cell_errors")
            cell_error = errors.get(exercise.cell_id) if isinstance(errors, dict) else None
            if cell_error and not exercise.defer_target:
                why += f" (running the solution cell raised {cell_error})"
            mistakes = getattr(chapter(exercise.assignment_id), "DIAGNOSES", [])
            return TestVerdict(0.0, max_points, clean(why), seed, diagnose(mistakes, exercise.test_id, case, res),
                               checked=not _not_observed(res))
    return TestVerdict(max_points, max_points, "passed", seed)


# ----------------------------------------------------------------------------- the API

def trusted_verdict(submission_path: Path | str, assignment_id: str, notebook: str,
                    seed: int | None = None, limits: Limits | None = None,
                    jobs: int | None = None, runner: Runner | None = None,
                    cell_timeout: float = CELL_TIMEOUT,
                    time_limit: float = SUBMISSION_WALL_SECONDS) -> dict[str, TestVerdict]:
    """Points per autograded test cell (grade_id of the source) for one submitted notebook.

    `seed` fixes the randomized inputs (a fresh one is drawn and logged if None; every verdict
    carries it). `limits` caps each sandboxed run (one per test cell); `jobs` runs that many at once.
    `runner` runs one test's program (default: `run_once`, a sandbox of its own; a grading worker
    passes its warm `VerdictServer`, with jobs=1). `cell_timeout` stops each of the student's
    cells as nbgrader's run does (default: the course's per-cell timeout), and all of a test's student
    cells together get at most `time_limit` seconds (`grade --time-limit`), never less than the kernel.
    Manually graded cells (markdown answers) are not included. Never runs student code in this
    process; raises only for grader-side problems (unknown notebook, a test cell with no check).
    """
    if seed is None:
        seed = fresh_seed()
    limits = limits or VERDICT_TEST
    program = source_program(assignment_id, notebook)
    problems_in_grader = check_coverage(assignment_id, notebook)
    if problems_in_grader:
        raise RuntimeError("; ".join(problems_in_grader))
    log.info("trusted verdict of %s (%s/%s) with seed %d", submission_path, assignment_id, notebook, seed)
    checks = exercises(assignment_id, notebook)
    try:
        submission = read_submission(Path(submission_path), program)
    except (OSError, ValueError) as e:
        return {t: TestVerdict(0.0, c.points, f"submission unusable: {e}", seed) for t, c in program.tests.items()}
    timeout = float(cell_timeout)
    jobs = jobs or min(2, os.cpu_count() or 1)
    order = sorted(program.tests, key=lambda t: program.tests[t].index)
    if jobs == 1:  # in this thread: a warm server started here must outlive the call (bwrap dies with its thread)
        return {t: run_exercise(program, checks[t], submission, seed, limits, runner, timeout, time_limit)
                for t in order}
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {t: pool.submit(run_exercise, program, checks[t], submission, seed, limits, runner, timeout,
                                  time_limit) for t in order}
        return {t: futures[t].result() for t in order}


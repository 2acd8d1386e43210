"""Where one grading worker's time goes: a synthetic class graded by the worker loop, in this process.

    python bench/worker.py [--students 14] [--chapters ch1_the_idea,ch2_implement] [--no-zygote]
                           [--top 30] [--profile FILE]

Runs `autograder.grading.worker.serve` here (as a worker of `grade` does, zygote kernels by default)
under cProfile, on the synthetic class of bench/grading.py. Prints each submission's seconds, the
grader's own CPU against everything's (kernels and the verdict's sandboxes included), the seconds the
notebook's cells took in the kernel (the execution times the autograded notebook records) and the
grader's costliest functions. A submission far slower than its cells is waiting on something.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import shutil
import sys
import tempfile
import time
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests"), str(REPO / "bench")]

import nbformat  # noqa: E402 - after the path set-up above
from grading import CpuMeter, env, make_class  # noqa: E402 - bench/grading.py: the same class

from autograder.grading.outdir import Course  # noqa: E402
from autograder.grading.worker import Job, serve  # noqa: E402


def cell_seconds(notebook: Path) -> float:
    """The cells' run time in the kernel, from the timing nbclient records in the notebook."""
    stamp = lambda text: datetime.fromisoformat(text.replace("Z", "+00:00"))  # noqa: E731
    total = 0.0
    for cell in nbformat.read(notebook, as_version=4).cells:
        timing = cell.metadata.get("execution", {})
        if "iopub.execute_input" in timing and "shell.execute_reply" in timing:
            total += (stamp(timing["shell.execute_reply"]) - stamp(timing["iopub.execute_input"])).total_seconds()
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=14, help="class size (default: %(default)s)")
    parser.add_argument("--chapters", default="", help="only these assignments, comma-separated")
    parser.add_argument("--no-zygote", action="store_true", help="a fresh sandboxed kernel per submission")
    parser.add_argument("--top", type=int, default=30, help="functions listed (default: %(default)s)")
    parser.add_argument("--profile", type=Path, default=None, help="also save the cProfile data here")
    args = parser.parse_args(argv)
    import os

    os.environ.update(env())
    work = Path(tempfile.mkdtemp(prefix="bench-worker-"))
    try:
        made = make_class(work / "submissions", args.students)
        course = Course(work / "out", None)
        course.grading.mkdir(parents=True, exist_ok=True)
        course.prepare()
        wanted = set(filter(None, args.chapters.split(",")))
        jobs = [json.dumps(asdict(Job(student, aid, {nb: str(work / "submissions" / student / aid / f"{nb}.ipynb")},
                                      str(course.template), str(work / "scratch" / f"{i:05d}"), seed=1,
                                      zygote=not args.no_zygote)))
                for i, (student, aid, nb, _) in enumerate(made) if not wanted or aid in wanted]
        meter = CpuMeter("worker")
        meter.join()
        outcomes = io.StringIO()
        profile = cProfile.Profile()
        started, own = time.perf_counter(), time.process_time()
        profile.enable()
        serve(jobs=jobs, protocol=outcomes, zygote=not args.no_zygote)
        profile.disable()
        wall, own, everything = time.perf_counter() - started, time.process_time() - own, meter.seconds()
        meter.close()
        print(f"{'student':<12} {'assignment':<20} {'status':<10} {'seconds':>8} {'cells s':>8}")
        for line in outcomes.getvalue().splitlines():
            outcome = json.loads(line)
            notebooks = list(Path(outcome["autograded_dir"]).glob("*.ipynb")) if outcome["autograded_dir"] else []
            cells = sum(cell_seconds(path) for path in notebooks)
            print(f"{outcome['student_id']:<12} {outcome['assignment_id']:<20} {outcome['status']:<10} "
                  f"{outcome['seconds']:>8.2f} {cells:>8.2f}")
        n = max(1, len(jobs))
        print(f"{len(jobs)} submissions in {wall:.1f} s; CPU: the grader {own:.1f} s ({own / n:.2f} s a submission), "
              f"everything {everything:.1f} s ({everything / n:.2f} s a submission; measured by: {meter.kind})")
        if args.profile:
            profile.dump_stats(args.profile)
        pstats.Stats(profile).sort_stats("cumulative").print_stats(args.top)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Projection: how long a class of 50,000 notebooks takes, and the cluster that grades it in one hour.

    python bench/scale.py [--students 10] [--class-size 50000] [--cores-per-node 32] [--no-zygote]

Grades a small synthetic class (bench/grading.py's mix of right, wrong and broken answers) with
`python -m autograder grade`, all the protections on, and measures the CPU time of every process it
ran (the grader, its workers, the sandboxes, the kernels): per submission, that is the cost of
grading. Then: per-submission CPU x class size / cores = the hours on this machine, and the cores
(and nodes of --cores-per-node) whose CPU time grades it in one hour. The projection assumes
grading scales with cores, as it does across the independent submissions; it leaves out the
coordinator's own gradebook writes (measured in the total above, not multiplied).
"""
from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from grading import CpuMeter, env, make_class, prepare_ours, run_ours  # noqa: E402 - bench/ is not a package


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=10, help="submissions measured (default: %(default)s)")
    parser.add_argument("--class-size", type=int, default=50_000, help="projected class (default: %(default)s)")
    parser.add_argument("--cores-per-node", type=int, default=32, help="cluster node size (default: %(default)s)")
    parser.add_argument("--no-zygote", action="store_true", help="measure fresh kernels instead")
    args = parser.parse_args(argv)
    os.environ.update(env())
    cores = os.cpu_count() or 1
    work = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    try:
        make_class(work / "submissions", args.students)
        prepare_ours(work)   # the course template, made once per course version: not a per-submission cost
        meter = CpuMeter("scale")
        seconds, rows, isolation = run_ours(work / "submissions", work, cores, zygote=not args.no_zygote,
                                            meter=meter)
        per_submission = meter.seconds() / args.students
        meter.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    total = per_submission * args.class_size
    needed = math.ceil(total / 3600)
    print(f"measured: {args.students} submissions in {seconds:.1f} s on {cores} cores; {isolation}")
    print(f"per-submission CPU: {per_submission:.2f} s (every process of the grade run, measured by: "
          f"{meter.kind})")
    print(f"{args.class_size} notebooks: {total / 3600:.1f} CPU hours = {total / cores / 3600:.1f} h on this "
          f"machine ({cores} cores)")
    print(f"graded in one hour by {needed} cores = {math.ceil(needed / args.cores_per_node)} node(s) of "
          f"{args.cores_per_node} cores (python -m autograder grade ... --scheduler tcp://HOST:8786)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Projection: how long a class of 50,000 notebooks takes, and the cluster that grades it in one hour.

    python bench/scale.py [--students 10] [--class-size 50000] [--cores-per-node 32] [--no-zygote]
                          [--coordinator-size 2000]

Grades a small synthetic class (bench/grading.py's mix of right, wrong and broken answers) with
`python -m autograder grade`, all the protections on, and measures the CPU time of every process it
ran (the grader, its workers, the sandboxes, the kernels): per submission, that is the cost of
grading. Then: per-submission CPU x class size / cores = the hours on this machine, and the cores
(and nodes of --cores-per-node) whose CPU time grades it in one hour. The projection assumes
grading scales with cores, as it does across the independent submissions.

The coordinator (the `grade` process: gradebook, state store, CSVs, report) is the one serial part:
bench/coordinator.py replays real outcomes to it at --coordinator-size (on SQLite) and measures its
time per submission, as each outcome arrives (overlapped with grading) and before the first and
after the last (not overlapped: the set-up, the CSVs, LMS files and report). Its ceiling, the class
it can take in one hour, and its share of the hour for --class-size are printed, and the cluster is
sized for the hour left once its serial part is taken out.
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
    parser.add_argument("--coordinator-size", type=int, default=2000,
                        help="class replayed to the coordinator (bench/coordinator.py; 0: not measured)")
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
    if args.coordinator_size:
        coordinator(args.coordinator_size, args.class_size, per_submission, args.cores_per_node)
    return 0


def coordinator(size: int, class_size: int, cpu: float, cores_per_node: int) -> None:
    """The coordinator's measured ceiling, and the cluster for `class_size` in one hour with it."""
    import coordinator as bench

    captured = Path(tempfile.gettempdir()) / "gd-bench-coordinator"
    bench.ensure_capture(captured, 14)
    work = Path(tempfile.mkdtemp(prefix="bench-scale-coordinator-"))
    try:
        r = bench.run_one(captured / "replay", work, size, None)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    arriving = r["record"] + r["unpack"]          # per outcome, while the workers grade
    serial = (r["setup"] + r["after"]) / size     # per submission, before the first and after the last
    ceiling = 3600 / (arriving + serial)
    print(f"coordinator (replaying {size} real outcomes, SQLite): {1000 * arriving:.1f} ms per outcome as it "
          f"arrives + {1000 * serial:.1f} ms per submission before the first and after the last = a ceiling of "
          f"{ceiling:,.0f} submissions an hour")
    busy, serial_s = class_size * arriving, class_size * serial
    print(f"{class_size} notebooks: the coordinator works {(busy + serial_s) / 60:.0f} min of the hour "
          f"({100 * (busy + serial_s) / 3600:.0f}%), {serial_s / 60:.1f} min of it with the workers idle")
    left = 3600 - serial_s
    if left <= 0 or busy > left:
        print(f"NOT in one hour: the coordinator alone needs {(busy + serial_s) / 3600:.2f} h")
        return
    cores = math.ceil(cpu * class_size / left)
    print(f"cluster for {class_size} in one hour: {cores} worker cores = {math.ceil(cores / cores_per_node)} "
          f"node(s) of {cores_per_node} cores, plus the coordinator's one core")


if __name__ == "__main__":
    sys.exit(main())

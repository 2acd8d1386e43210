"""Benchmark: `grade`'s coordinator alone, the one serial part, at 1,000 to 50,000 submissions.

    python bench/coordinator.py [--sizes 1000 10000 50000] [--db sqlite postgresql] [--cores 64]
                                [--cpu-per-submission S] [--resume-size N] [--profile DIR] [--capture DIR]

At 50,000 notebooks an hour the coordinator has 72 ms for each. This grades a small synthetic class
once with `grade` and its real workers (bench/replay.py keeps every outcome as the coordinator
received it, and the CPU time of every process of that run, measured as bench/scale.py measures
it), then replays those outcomes under new student ids to `autograder.grading.batch.grade` itself:
a class of each --sizes, on SQLite (OUT/gradebook.db) and on a PostgreSQL server started here. No
kernel runs; everything else is `grade` as shipped: intake, the state store, the gradebook, each
outcome unpacked as the Dask pool unpacks it, recorded, and at the end the CSVs, the LMS files and
the report. Each size runs in a process of its own (its peak memory is its own).

Printed side by side: the coordinator's milliseconds per submission (the whole run over the class
size, and the part spent on each outcome as it arrives, in the first and the last tenth of the
class: a difference is a cost that grows with the class), its peak memory, the seconds of the final
CSVs, LMS files and report, and the class that can be graded in one hour with --cores worker cores
(the workers' CPU per submission: the captured run's; the coordinator's serial parts, the set-up
before the first outcome and the files after the last, are not overlapped with grading).

Then a coordinator killed (SIGKILL) at 60% of a --resume-size class is started again, as an
instructor would: it must grade exactly the remaining 40% (nothing lost, nothing graded twice) and
write every row.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from replay import REPO, Captured, PostgresServer, ReplayPool, capture

RESULT = "RESULT "


def _timed(module, name: str, times: dict) -> None:
    real = getattr(module, name)

    def timed(*args, **kwargs):
        started = time.perf_counter()
        try:
            return real(*args, **kwargs)
        finally:
            times[name] = times.get(name, 0.0) + time.perf_counter() - started

    setattr(module, name, timed)


def one(args) -> dict:
    """One `grade` of a replayed class (this process: run by `main` with --one)."""
    from autograder.grading import batch, report

    captured = Captured(args.capture)
    subs = Path(args.work) / "submissions"
    if not subs.exists():
        captured.make_class(subs, args.size)
    pool = ReplayPool(captured, stop_after=args.stop_after, log=Path(args.work) / "handed.log")
    batch._pool = lambda options, course, size: pool
    times: dict[str, float] = {}
    for name in ("export", "write_csv", "write_lms_exports"):
        _timed(batch, name, times)
    _timed(report, "write_report", times)
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    profile = None
    if args.profile:
        import cProfile

        profile = cProfile.Profile()
        profile.enable()
    started = time.perf_counter()
    with open(Path(args.work) / "grade.log", "a") as log:
        stdout, sys.stdout = sys.stdout, log
        try:
            status = batch.grade(batch.GradeOptions(subs, Path(args.work) / "out", workers=1, db=args.url, seed=1))
        finally:
            sys.stdout = stdout
    ended = time.perf_counter()
    if profile:
        profile.disable()
        profile.dump_stats(args.profile)
    n = max(1, len(pool.record))
    tenth = max(1, n // 10)
    return {"status": status, "size": args.size, "graded": len(pool.record), "total": ended - started,
            "setup": (pool.started or ended) - started, "after": ended - (pool.finished or ended),
            "record": sum(pool.record) / n, "unpack": sum(pool.unpack) / n,
            "first": sum(pool.record[:tenth]) / tenth, "last": sum(pool.record[-tenth:]) / tenth,
            "cpu": sum(pool.cpu) / n, "cpu_first": sum(pool.cpu[:tenth]) / tenth,
            "cpu_last": sum(pool.cpu[-tenth:]) / tenth,
            "csv": times.get("export", 0.0) + times.get("write_csv", 0.0), "lms": times.get("write_lms_exports", 0.0),
            "report": times.get("write_report", 0.0), "handed": pool.handed if args.keep_handed else [],
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "grown_mb": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base_rss) / 1024}


def run_one(capture_dir: Path, work: Path, size: int, db: str | None, stop_after: int | None = None,
            profile: Path | None = None, keep_handed: bool = False) -> dict | None:
    """`one` in a process of its own; its result (None if it was killed, as asked by stop_after)."""
    cmd = [sys.executable, __file__, "--one", "--capture", str(capture_dir), "--work", str(work),
           "--size", str(size)] + (["--url", db] if db else []) + \
        (["--stop-after", str(stop_after)] if stop_after is not None else []) + \
        (["--profile", str(profile)] if profile else []) + (["--keep-handed"] if keep_handed else [])
    result = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env=_env())
    lines = [line for line in result.stdout.splitlines() if line.startswith(RESULT)]
    if not lines:
        if stop_after is not None and result.returncode < 0:
            return None
        raise SystemExit(f"replay of {size} failed ({result.returncode}):\n{result.stderr[-4000:]}")
    return json.loads(lines[-1][len(RESULT):])


def _env() -> dict:
    from grading import env

    return {**env(), "PYTHONPATH": str(REPO / "bench")}


def _rows(path: Path) -> dict[str, dict]:
    with open(path, newline="") as handle:
        return {row["student_id"]: row for row in csv.DictReader(handle)}


def resume(capture_dir: Path, work: Path, size: int, db: str | None) -> str:
    """Kill a coordinator at 60% of a replay, start it again; what was lost or graded twice."""
    captured = Captured(capture_dir)   # as the two runs read it
    stop = int(size * 0.6)
    assert run_one(capture_dir, work, size, db, stop_after=stop) is None, "the coordinator was not stopped"
    first = (work / "handed.log").read_text().split()
    again = run_one(capture_dir, work, size, db, keep_handed=True)
    second = again["handed"]
    rows = _rows(work / "out" / "grades.csv")
    reference = _rows(capture_dir / "out" / "grades.csv")
    expected = {captured.student(n): reference[captured.outcomes[n % len(captured)]["student_id"]] for n in range(size)}
    wrong = [sid for sid, row in expected.items() if sid not in rows
             or (rows[sid]["status"], rows[sid]["score"]) != (row["status"], row["score"])]
    twice = set(first) & set(second)
    never = set(expected) - set(first) - set(second)
    return (f"resume ({db and 'postgresql' or 'sqlite'}, {size}): killed after {len(first)} outcomes; the next run "
            f"graded {len(second)} (the rest: {size - len(first)}); graded twice: {len(twice)}; never graded: "
            f"{len(never)}; rows written {len(rows)} of {size}, wrong or missing: {len(wrong)}; "
            f"the second run took {again['total']:.1f} s")


def sustained(r: dict, cores: int, cpu: float) -> float:
    """The class graded in one hour: the serial set-up and files, and the slower of the coordinator's
    per-outcome time and the workers' CPU over `cores`, per submission, at this class size."""
    n = r["size"]
    per = (r["setup"] + r["after"]) / n + max(r["record"] + r["unpack"], cpu / cores)
    return 3600 / per


def table(results: list[tuple[str, dict]], cores: int, cpu: float) -> list[str]:
    lines = [f"{'db':<10} {'class':>7} {'ms/sub':>7} {'arrive':>7} {'1st10%':>7} {'last10%':>8} {'CPU ms':>7} "
             f"{'CPU 1st':>8} {'CPU last':>9} {'unpack':>7} "
             f"{'setup s':>8} {'CSVs s':>7} {'LMS s':>6} {'report s':>9} {'peak MB':>8} {'KB/sub':>7} "
             f"{'ceiling/h':>10} {f'class/h @{cores}':>13}"]
    for db, r in results:
        ms = 1000 * r["total"] / r["size"]
        lines.append(f"{db:<10} {r['size']:>7} {ms:>7.1f} {1000 * r['record']:>7.1f} {1000 * r['first']:>7.1f} "
                     f"{1000 * r['last']:>8.1f} {1000 * r['cpu']:>7.1f} {1000 * r['cpu_first']:>8.1f} "
                     f"{1000 * r['cpu_last']:>9.1f} {1000 * r['unpack']:>7.1f} {r['setup']:>8.1f} {r['csv']:>7.1f} "
                     f"{r['lms']:>6.2f} {r['report']:>9.1f} {r['peak_mb']:>8.0f} "
                     f"{1024 * r['grown_mb'] / r['size']:>7.1f} {3600 * r['size'] / r['total']:>10.0f} "
                     f"{sustained(r, cores, cpu):>13.0f}")
    return lines


def ensure_capture(folder: Path, students: int) -> Captured:
    """The captured outcomes in `folder`, graded now (metered) if they are not there yet."""
    from grading import CpuMeter

    from autograder.grading.outdir import source_fingerprint

    fingerprint = source_fingerprint()   # outcomes of another course version name cells it lacks
    made = json.loads((folder / "cpu.json").read_text()) if (folder / "cpu.json").exists() else {}
    if made.get("fingerprint") != fingerprint or not (folder / "replay" / "capture.json").exists():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path; from autograder.grading."
                        "outdir import Course; Course(Path(sys.argv[1]), None).prepare()", str(folder / "warm")],
                       cwd=REPO, env=_env(), check=True, capture_output=True)   # the course template, not timed
        meter = CpuMeter("coordinator")
        result = subprocess.run([sys.executable, __file__, "--capture-only", "--capture", str(folder / "replay"),
                                 "--size", str(students)], cwd=REPO, env=_env(), capture_output=True, text=True,
                                preexec_fn=meter.join)
        cpu = meter.seconds() / students
        meter.close()
        if result.returncode != 0:
            raise SystemExit(f"capture failed:\n{result.stderr[-4000:]}")
        (folder / "cpu.json").write_text(json.dumps({"cpu_per_submission": cpu, "kind": meter.kind,
                                                     "fingerprint": fingerprint}))
    return Captured(folder / "replay")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 50_000], help="class sizes replayed")
    parser.add_argument("--db", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite", "postgresql"])
    parser.add_argument("--cores", type=int, default=64, help="worker cores of the class/h column (%(default)s)")
    parser.add_argument("--cpu-per-submission", type=float, default=None,
                        help="the workers' CPU seconds per submission (default: measured by the capture)")
    parser.add_argument("--resume-size", type=int, default=None, help="class of the resume check (default: "
                        "the largest of --sizes up to 10,000; 0: none)")
    parser.add_argument("--students", type=int, default=14, help="real submissions captured (%(default)s)")
    parser.add_argument("--capture", type=Path, default=Path(tempfile.gettempdir()) / "gd-bench-coordinator",
                        help="where the captured outcomes are kept, reused by the next run (%(default)s)")
    parser.add_argument("--profile", type=Path, default=None, help="cProfile data of each run into this folder")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--capture-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--work", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--url", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--stop-after", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--keep-handed", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.capture_only:
        capture(args.capture, args.size)
        return 0
    if args.one:
        print(RESULT + json.dumps(one(args)))
        return 0
    os.environ.update(_env())
    captured = ensure_capture(args.capture, args.students)
    measured = json.loads((args.capture / "cpu.json").read_text())
    cpu = args.cpu_per_submission or measured["cpu_per_submission"]
    print(f"captured: {len(captured)} real outcomes (" + ", ".join(sorted({o["kind"] for o in captured.outcomes}))
          + f"); the workers' CPU per submission: {cpu:.2f} s ("
          + ("given" if args.cpu_per_submission else f"measured as bench/scale.py does, by: {measured['kind']}") + ")",
          flush=True)
    work = Path(tempfile.mkdtemp(prefix="bench-coordinator-"))
    server, results, notes = None, [], []
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stopped: the server and work folder go too
    try:
        server = PostgresServer(Path(tempfile.mkdtemp(prefix="bench-pg-"))) if "postgresql" in args.db else None
        for db in args.db:
            for size in args.sizes:
                url = server.database(f"gb_{size}") if db == "postgresql" else None
                profile = args.profile / f"{db}-{size}.prof" if args.profile else None
                if profile:
                    profile.parent.mkdir(parents=True, exist_ok=True)
                r = run_one(args.capture / "replay", work / f"{db}-{size}", size, url, profile=profile)
                results.append((db, r))
                print("  " + table([(db, r)], args.cores, cpu)[-1], flush=True)
                shutil.rmtree(work / f"{db}-{size}", ignore_errors=True)
            fitting = [s for s in args.sizes if s <= 10_000] or [min(args.sizes)]
            size = args.resume_size if args.resume_size is not None else max(fitting)
            if size:
                url = server.database(f"gb_resume_{size}") if db == "postgresql" else None
                notes.append(resume(args.capture / "replay", work / f"resume-{db}", size, url))
                print("  " + notes[-1], flush=True)
    finally:
        if server:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nthe coordinator side by side (ms/sub: the whole run over the class; arrive: per outcome as it "
          f"arrives, in the first and last tenth of the class, and its CPU time (unaffected by other load); "
          f"unpack: its folders, as from Dask; class/h: with {args.cores} worker cores at {cpu:.2f} s "
          "CPU a submission; ceiling/h: the coordinator alone):")
    print("\n".join(table(results, args.cores, cpu)))
    print("\n".join(notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())

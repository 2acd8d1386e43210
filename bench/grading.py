"""Benchmark: `python -m autograder grade` against plain serial `nbgrader autograde`, and the floor.

    python bench/grading.py [--students 40 [200 ...]] [--workers N] [--no-zygote] [--nbgrader-prompt-client]
                            [--keep DIR]

Makes a class of synthetic submissions (each student hands in one chapter, the chapters in turn;
right, wrong and broken answers mixed, from tests/support/synthetic.py) and grades it three ways, in one run:

1. nbgrader, serial, the CLI in a fresh course folder: `nbgrader generate_assignment` (set-up, timed
   apart), then `nbgrader db student add` per student and `nbgrader autograde <aid>` per assignment;
2. `python -m autograder grade` into a fresh OUT: first the course template of this course version
   (nbgrader's release, its gradebook, the course's formulas: made once per machine, like (1)'s
   generate_assignment) built into a fresh cache (set-up, timed apart), then the grading with
   everything else included (the class gradebook, grading, feedback, CSVs and the report; with the
   sandboxed kernels and the trusted verdict where the machine has bubblewrap, as shipped: the line
   says which);
3. the floor: the same notebooks simply executed in fresh kernels with nbclient, with the same
   parallelism as (2), nothing else; with the same kernel client as (2) (autograder/kernel_client.py),
   so a message left unread until the cell's timeout counts against neither, and the kernel options
   of the course's nbgrader config (`Execute.extra_arguments`) that (1) and (2) start their kernels with.

With --nbgrader-prompt-client, (1) runs a second time with that client too (`--AsyncKernelManager.
client_class`), and `speedup vs nbgrader autograde with our kernel client` shows the gain without it.

For each class size it prints `speedup vs nbgrader autograde: X.XX` (time 1 without set-up / time 2),
`grade / floor` and `per-submission CPU: ours X s vs fresh kernel Y s` (CPU of every process of (2),
resp. (3), over the class size); with several sizes, a table puts them side by side at the end.
"""
from __future__ import annotations

import argparse
import csv
import functools
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]  # the package, and the synthetic submissions of the tests

from autograder.course.coursedir import stage_source
from autograder.paths import COURSE_DIR, NBGRADER_CONFIG, assignments, notebooks
from support import synthetic


def cpu_seconds() -> float:
    """CPU time of finished child processes (and theirs): steadier than wall time on a busy machine."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


CPUACCT = Path("/sys/fs/cgroup/cpuacct")


class CpuMeter:
    """CPU time of every process started inside it, wherever it ends up in the process tree.

    A cpuacct control group of its own where the machine lets this user make one (processes that
    are killed, or reaped by no one of ours, still count); else the CPU time of reaped children."""

    def __init__(self, name: str):
        self.group = CPUACCT / f"gd-bench-{os.getpid()}-{name}"
        try:
            self.group.mkdir()
        except OSError:
            self.group = None
        self.start = cpu_seconds()

    def join(self) -> None:
        """Put the calling process (and so everything it starts) in the meter's group."""
        if self.group is not None:
            (self.group / "cgroup.procs").write_text(str(os.getpid()))

    @property
    def kind(self) -> str:
        return "cgroup" if self.group is not None else "reaped children"

    def seconds(self) -> float:
        if self.group is None:
            return cpu_seconds() - self.start
        return int((self.group / "cpuacct.usage").read_text()) / 1e9

    def close(self) -> None:
        if self.group is not None:
            try:
                self.group.rmdir()
            except OSError:
                pass   # a process of ours still in it: left for the system to tidy


def env() -> dict:
    environment = dict(os.environ)
    environment["PATH"] = str(Path(sys.executable).parent) + os.pathsep + environment.get("PATH", "")
    environment["MPLBACKEND"] = "Agg"
    environment["PYTHONWARNINGS"] = "ignore"
    if _CACHE:
        environment["GD_GRADING_CACHE"] = str(_CACHE[0])
    return environment


_CACHE: list[Path] = []   # the course-template cache of this run's `grade`s (fresh: see prepare_ours)


def prepare_ours(work: Path) -> float:
    """Our set-up, timed apart as nbgrader's generate_assignment is: the course template of this
    course version, built into a fresh cache folder that the timed `grade` then copies from."""
    _CACHE[:] = [work / "template-cache"]
    shutil.rmtree(_CACHE[0], ignore_errors=True)
    out = work / "template-out"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path; from autograder.grading.outdir "
                    "import Course; Course(Path(sys.argv[1]), None).prepare()", str(out)],
                   cwd=REPO, env=env(), check=True, capture_output=True)
    return time.perf_counter() - started


def make_class(root: Path, students: int) -> list[tuple[str, str, str, str]]:
    """SUBMISSIONS/<student>/<aid>/<nb>.ipynb; returns (student, aid, notebook, kind) rows."""
    chapters = assignments()
    made = []
    for number in range(students):
        student = f"student{number:03d}"
        aid = chapters[number % len(chapters)]
        nb_name = notebooks(aid)[0]
        wrong = [w for w in synthetic.WRONG_ANSWERS if w.assignment_id == aid]
        kind = ("right", "wrong", "right", "wrong", "blank", "right", "deleted", "wrong", "duplicated",
                "syntax")[number % 10]
        if kind == "right":
            nb = synthetic.solved(aid, nb_name)
        elif kind == "wrong":
            w = wrong[number % len(wrong)]
            nb = synthetic.solved(aid, nb_name, **{w.cell_id: w.source})
        elif kind == "blank":
            nb = synthetic.release_notebook(aid, nb_name)
        elif kind == "deleted":  # a test cell deleted: nbgrader puts it back
            nb = synthetic.solved(aid, nb_name)
            tests = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")
                     and c.cell_type == "code"]
            nb.cells.remove(tests[0])
        elif kind == "duplicated":  # a solution cell copied twice: nbgrader keeps one id
            nb = synthetic.solved(aid, nb_name)
            solutions = [i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("solution")]
            nb.cells.insert(solutions[0] + 1, synthetic.nbformat.from_dict(dict(nb.cells[solutions[0]])))
            nb.cells[solutions[0] + 1]["id"] = "copied-cell"
        else:  # syntax error in one answer
            w = wrong[0]
            nb = synthetic.solved(aid, nb_name, **{w.cell_id: "def broken(:\n    pass"})
        synthetic.write(nb, root / student / aid / f"{nb_name}.ipynb")
        made.append((student, aid, nb_name, kind))
    return made


def nbgrader_cli(args: list[str], cwd: Path, check: bool = True, meter: CpuMeter | None = None) -> int:
    result = subprocess.run(["nbgrader", *args], cwd=cwd, env=env(), capture_output=True, text=True,
                            preexec_fn=meter.join if meter else None)
    if check and result.returncode != 0:
        raise SystemExit(f"nbgrader {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return result.returncode


def run_nbgrader(submissions: Path, made: list, work: Path, meter: CpuMeter | None = None,
                 prompt_client: bool = False) -> tuple[float, float]:
    """Fresh course folder; returns (set-up seconds, grading seconds). `prompt_client`: nbgrader told
    to use this project's kernel client (autograder/kernel_client.py), everything else as shipped."""
    from autograder.kernel_client import CLIENT_CLASS

    course = work / ("nbgrader-course-prompt-client" if prompt_client else "nbgrader-course")
    stage_source(course)
    shutil.copy(NBGRADER_CONFIG, course / "nbgrader_config.py")
    shutil.copytree(submissions, course / "submitted")
    started = time.perf_counter()
    for aid in assignments():
        nbgrader_cli(["generate_assignment", aid, "--force"], course)
    setup = time.perf_counter() - started
    started = time.perf_counter()
    for student in sorted({m[0] for m in made}):
        nbgrader_cli(["db", "student", "add", student], course, meter=meter)
    failed = []
    for aid in sorted({m[1] for m in made}):
        # exits non-zero when one student's notebook fails (e.g. a duplicated cell): that is the
        # students' doing, the others are graded all the same
        client = [f"--AsyncKernelManager.client_class={CLIENT_CLASS}"] if prompt_client else []
        if nbgrader_cli(["autograde", aid, *client], course, check=False, meter=meter):
            failed.append(aid)
    if failed:
        print(f"(nbgrader autograde reported failed submissions in {', '.join(failed)})")
    return setup, time.perf_counter() - started


def run_ours(submissions: Path, work: Path, workers: int, zygote: bool = True,
             scheduler: str | None = None, meter: CpuMeter | None = None) -> tuple[float, list[dict], str]:
    out = work / "grade-out"
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "autograder", "grade", str(submissions), "--out", str(out),
                             "--workers", str(workers)] + ([] if zygote else ["--no-zygote"])
                            + (["--scheduler", scheduler] if scheduler else []),
                            cwd=REPO, env=env(), capture_output=True, text=True,
                            preexec_fn=meter.join if meter else None)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"python -m autograder grade failed:\n{result.stderr[-3000:]}")
    sandboxed = "bubblewrap" in result.stderr  # `grade` lists the protections in force
    kernels = ("kernels forked from the warm zygote" if "kernels: forked from a warm" in result.stderr
               else "a fresh kernel per submission")
    isolation = (f"sandboxed kernels ({kernels}) + trusted verdict" if sandboxed
                 else "NO isolation on this machine (plain nbgrader kernels)")
    with open(out / "grades.csv", newline="") as handle:
        return seconds, list(csv.DictReader(handle)), isolation


@functools.cache
def _kernel_options() -> list[str]:
    """The kernel's options from the course's nbgrader config, as (1) and (2) start their kernels."""
    from autograder.course.coursedir import nbgrader_config

    return list(nbgrader_config(REPO).Execute.extra_arguments)


def _execute(args: tuple[str, str]) -> float:
    import nbformat
    from nbclient import NotebookClient

    from autograder.kernel_client import use_prompt_client

    path, folder = args
    options = _kernel_options()
    started = time.perf_counter()
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=30, kernel_name="python3", allow_errors=True, record_timing=False,
                   config=use_prompt_client(), extra_arguments=options,
                   resources={"metadata": {"path": folder}}).execute(stderr=subprocess.DEVNULL)  # kernel's own log
    return time.perf_counter() - started


def _warm(group: str | None = None) -> None:
    import nbclient  # noqa: F401 - imported before the clock starts
    import nbformat  # noqa: F401 - imported before the clock starts

    if group:   # the floor's processes and their kernels are measured by the same meter
        (Path(group) / "cgroup.procs").write_text(str(os.getpid()))


def run_floor(submissions: Path, made: list, work: Path, workers: int, meter: CpuMeter | None = None) -> float:
    """Just execute every submitted notebook in a fresh kernel, next to the course's helper modules."""
    tasks = []
    for student, aid, nb_name, _ in made:
        folder = work / "floor" / student / aid
        shutil.copytree(COURSE_DIR / aid, folder, ignore=shutil.ignore_patterns("*.ipynb", "__pycache__"))
        shutil.copy(submissions / student / aid / f"{nb_name}.ipynb", folder / f"{nb_name}.ipynb")
        tasks.append((str(folder / f"{nb_name}.ipynb"), str(folder)))
    group = str(meter.group) if meter and meter.group else None
    with ProcessPoolExecutor(max_workers=workers, initializer=_warm, initargs=(group,)) as pool:
        list(pool.map(_warm_noop, range(workers)))  # pool started before the clock, like warm workers
        started = time.perf_counter()
        list(pool.map(_execute, tasks))
        return time.perf_counter() - started


def _warm_noop(_: int) -> None:
    return None


def measure(students: int, workers: int, zygote: bool, work: Path, nbgrader_prompt: bool = False) -> dict:
    """Grade one synthetic class the three ways; print and return the numbers."""
    work.mkdir(parents=True, exist_ok=True)
    submissions = work / "submissions"
    shutil.rmtree(submissions, ignore_errors=True)
    made = make_class(submissions, students)
    kinds = {}
    for m in made:
        kinds[m[3]] = kinds.get(m[3], 0) + 1
    print(f"class: {len(made)} students x 1 notebook, chapters in turn; "
          + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) + f"; {os.cpu_count()} cores")

    meters = {name: CpuMeter(f"{students}-{name}") for name in ("nbgrader", "ours", "floor", "nbgrader-prompt")}
    try:
        setup, nbgrader_seconds = run_nbgrader(submissions, made, work, meters["nbgrader"])
        nbgrader_cpu = meters["nbgrader"].seconds()
        print(f"nbgrader autograde (serial CLI): {nbgrader_seconds:.1f} s "
              f"(+ {setup:.1f} s generate_assignment set-up, not counted); CPU {nbgrader_cpu:.1f} s")
        if nbgrader_prompt:
            _, prompt_seconds = run_nbgrader(submissions, made, work, meters["nbgrader-prompt"], prompt_client=True)
            print(f"nbgrader autograde (serial CLI) with our kernel client, no reply left unread: "
                  f"{prompt_seconds:.1f} s; CPU {meters['nbgrader-prompt'].seconds():.1f} s")
        ours_setup = prepare_ours(work)
        ours, grades, isolation = run_ours(submissions, work, workers, zygote, meter=meters["ours"])
        ours_cpu = meters["ours"].seconds()
        statuses = {}
        for row in grades:
            statuses[row["status"]] = statuses.get(row["status"], 0) + 1
        print(f"python -m autograder grade --workers {workers}: {ours:.1f} s (+ {ours_setup:.1f} s course template "
              f"set-up, not counted), everything else included (gradebook, grading, feedback, CSVs, report); "
              f"CPU {ours_cpu:.1f} s; statuses: {statuses}; {isolation}")
        floor = run_floor(submissions, made, work, workers, meters["floor"])
        floor_cpu = meters["floor"].seconds()
        print(f"floor (nbclient and our kernel client, fresh kernel per notebook, default graceful shutdown, "
              f"{workers} in parallel, no grading): {floor:.1f} s; CPU {floor_cpu:.1f} s "
              f"(CPU measured by: {meters['floor'].kind})")
    finally:
        for meter in meters.values():
            meter.close()
    result = {"students": students, "nbgrader": nbgrader_seconds, "ours": ours, "floor": floor,
              "ours_cpu": ours_cpu / students, "floor_cpu": floor_cpu / students, "isolation": isolation}
    print(f"grade / floor: {ours / floor:.2f}")
    print(f"per-submission CPU: ours {result['ours_cpu']:.2f} s vs fresh kernel {result['floor_cpu']:.2f} s")
    print(f"CPU: nbgrader autograde {nbgrader_cpu:.1f} s / ours {ours_cpu:.1f} s = {nbgrader_cpu / ours_cpu:.2f} "
          "(steadier than wall time on a shared machine)")
    if nbgrader_prompt:
        print(f"speedup vs nbgrader autograde with our kernel client: {prompt_seconds / ours:.2f}")
    print(f"speedup vs nbgrader autograde: {nbgrader_seconds / ours:.2f}")
    return result


def cluster_overhead(students: int, workers: int, scheduler: str, work: Path) -> None:
    """The same class through the local pool and through the Dask cluster at `scheduler`."""
    work.mkdir(parents=True, exist_ok=True)
    made = make_class(work / "submissions", students)
    prepare_ours(work)   # both runs copy the same course template
    local, local_rows, isolation = run_ours(work / "submissions", work / "local", workers)
    print(f"local pool (--workers {workers}): {local:.1f} s; {isolation}")
    remote, remote_rows, _ = run_ours(work / "submissions", work / "cluster", workers, scheduler=scheduler)
    same = sorted((r["student_id"], r["score"], r["status"]) for r in local_rows) == \
        sorted((r["student_id"], r["score"], r["status"]) for r in remote_rows)
    print(f"Dask cluster at {scheduler}: {remote:.1f} s; {len(made)} rows, "
          f"{'the same scores and statuses' if same else 'DIFFERENT scores or statuses'} as the local pool")
    print(f"cluster / local pool: {remote / local:.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, nargs="+", default=[40],
                        help="class size(s), measured in turn (default: %(default)s)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="workers for `grade` and the floor (default: number of cores, %(default)s)")
    parser.add_argument("--no-zygote", action="store_true", help="grade with a fresh sandboxed kernel each")
    parser.add_argument("--nbgrader-prompt-client", action="store_true",
                        help="also time nbgrader autograde with our kernel client (autograder/kernel_client.py): "
                             "what the replies it leaves unread until the cell timeout cost it")
    parser.add_argument("--keep", type=Path, default=None, help="keep the work folder here")
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help="instead: the overhead of grading on this Dask cluster against the local pool")
    args = parser.parse_args(argv)
    os.environ.update(env())

    work = Path(tempfile.mkdtemp(prefix="bench-grading-")) if args.keep is None else args.keep
    work.mkdir(parents=True, exist_ok=True)
    try:
        if args.scheduler:
            for n in args.students:
                cluster_overhead(n, args.workers, args.scheduler, work / f"cluster-{n}")
            return 0
        results = [measure(n, args.workers, not args.no_zygote, work / f"class-{n}", args.nbgrader_prompt_client)
                   for n in args.students]
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    if len(results) > 1:
        print("\nside by side (" + results[0]["isolation"] + f", {args.workers} workers):")
        print(f"{'students':>9} {'nbgrader s':>11} {'grade s':>8} {'floor s':>8} {'speedup':>8} "
              f"{'grade/floor':>12} {'CPU/sub ours':>13} {'CPU/sub fresh':>14}")
        for r in results:
            print(f"{r['students']:>9} {r['nbgrader']:>11.1f} {r['ours']:>8.1f} {r['floor']:>8.1f} "
                  f"{r['nbgrader'] / r['ours']:>8.2f} {r['ours'] / r['floor']:>12.2f} "
                  f"{r['ours_cpu']:>13.2f} {r['floor_cpu']:>14.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Real worker outcomes, captured once and replayed to `grade`'s coordinator under new student ids.

`capture` grades a small synthetic class (bench/grading.py's mix of right, wrong and broken answers)
with `autograder.grading.batch.grade` and its real workers, and keeps every outcome as the
coordinator received it: the outcome itself, the autograded and feedback folders as the Dask
workers send them (cluster.pack) and the notebooks handed in. `ReplayPool` has the worker pools'
interface: `grade` hands it the jobs of a class of any size, and it answers each with a captured
outcome, renamed to the job's student, unpacked by the cluster pool's own code (`ClusterPool._received`).
It times what the coordinator does with each outcome: the unpacking, and everything `grade` does
from the moment it receives the outcome until it asks for the next one.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests"), str(REPO / "bench")]

from autograder.grading import batch  # noqa: E402 - after the path set-up above
from autograder.grading.cluster import ClusterPool, pack  # noqa: E402
from autograder.grading.worker import Outcome  # noqa: E402
from autograder.paths import notebooks  # noqa: E402

CAPTURED = "capture.json"


def capture(folder: Path, students: int) -> None:
    """Grade `students` synthetic submissions with `grade` into folder/out; keep each outcome in folder."""
    from dataclasses import asdict

    from grading import make_class

    made = make_class(folder / "submissions", students)
    real_pool, kept = batch._pool, []

    def keeping(options, course, size):
        pool = real_pool(options, course, size)
        run = pool.run

        def run_and_keep(jobs, time_limit):
            for outcome in run(jobs, time_limit):
                number = len(kept)
                where = folder / f"{number:03d}"
                where.mkdir(parents=True)
                for kind in ("autograded", "feedback"):
                    source = getattr(outcome, f"{kind}_dir")
                    (where / f"{kind}.tgz").write_bytes(pack(Path(source)) if source else b"")
                job = next(j for j in jobs if j.student_id == outcome.student_id)
                for name, path in job.notebooks.items():
                    shutil.copyfile(path, where / f"{name}.ipynb")
                data = asdict(outcome)
                data["autograded_dir"] = data["feedback_dir"] = ""
                kept.append(data)
                yield outcome

        pool.run = run_and_keep
        return pool

    batch._pool = keeping
    started = time.perf_counter()
    status = batch.grade(batch.GradeOptions(folder / "submissions", folder / "out", workers=os.cpu_count() or 1,
                                            seed=1))
    seconds = time.perf_counter() - started
    batch._pool = real_pool
    if status != 0 or len(kept) != students:
        raise SystemExit(f"capture: grade exited {status} with {len(kept)} of {students} outcomes")
    kinds = {m[0]: m[3] for m in made}
    for data in kept:
        data["kind"] = kinds[data["student_id"]]
    (folder / CAPTURED).write_text(json.dumps({"outcomes": kept, "seconds": seconds}, indent=1))


class Captured:
    """The captured outcomes, read once: what the replay answers each job with."""

    def __init__(self, folder: Path):
        self.folder = folder
        data = json.loads((folder / CAPTURED).read_text())
        self.outcomes: list[dict] = data["outcomes"]
        self.packed = [{kind: (folder / f"{n:03d}" / f"{kind}.tgz").read_bytes() for kind in ("autograded", "feedback")}
                       for n in range(len(self.outcomes))]

    def __len__(self) -> int:
        return len(self.outcomes)

    def student(self, number: int) -> str:
        return f"s{number:06d}"

    def template(self, student_id: str) -> int:
        """The captured outcome that answers this student's job (students take them in turn)."""
        return int(student_id[1:7]) % len(self.outcomes)

    def make_class(self, root: Path, size: int) -> None:
        """SUBMISSIONS/<student>/<assignment>/<notebook>.ipynb of `size` students, hard links to the
        captured notebooks (the coordinator reads and copies them as it would a student's)."""
        for number in range(size):
            outcome = self.outcomes[number % len(self.outcomes)]
            folder = root / self.student(number) / outcome["assignment_id"]
            folder.mkdir(parents=True)
            for name in notebooks(outcome["assignment_id"]):
                source = self.folder / f"{number % len(self.outcomes):03d}" / f"{name}.ipynb"
                if source.exists():
                    os.link(source, folder / f"{name}.ipynb")


class ReplayPool:
    """The worker pools' interface: every job answered at once by a captured outcome.

    `stop_after`: the process kills itself (SIGKILL) instead of handing out that many-th outcome,
    as a coordinator stopped mid-batch would be; `handed` lists the students whose outcome was handed out."""

    def __init__(self, captured: Captured, stop_after: int | None = None, log: Path | None = None):
        self.captured = captured
        self.stop_after = stop_after
        self.log = open(log, "a") if log else None
        self.unpack: list[float] = []
        self.record: list[float] = []
        self.cpu: list[float] = []        # the coordinator's CPU time on each outcome (steadier on a busy machine)
        self.handed: list[str] = []
        self.started = self.finished = 0.0

    def run(self, jobs, time_limit):
        self.started = time.perf_counter()
        for job in jobs:
            if self.stop_after is not None and len(self.handed) == self.stop_after:
                os.kill(os.getpid(), signal.SIGKILL)
            number = self.captured.template(job.student_id)
            data = dict(self.captured.outcomes[number], student_id=job.student_id)
            data.pop("kind", None)
            result = {"outcome": data, **self.captured.packed[number]}
            began, cpu = time.perf_counter(), time.process_time()
            outcome: Outcome = ClusterPool._received(job, result)
            handed = time.perf_counter()
            self.handed.append(job.student_id)
            if self.log:
                self.log.write(job.student_id + "\n")
                self.log.flush()
            yield outcome
            self.record.append(time.perf_counter() - handed)
            self.cpu.append(time.process_time() - cpu)
            self.unpack.append(handed - began)
        self.finished = time.perf_counter()

    def close(self) -> None:
        if self.log:
            self.log.close()


# ----------------------------------------------------------------------------- a throwaway PostgreSQL server

def _binaries() -> Path | None:
    import glob

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class PostgresServer:
    """initdb + pg_ctl in `base` (a folder of its own: the server's user must reach it), 127.0.0.1 on a
    free port, as tests/grading/test_grade_postgres.py starts one (run as the `postgres` user when this
    is root); fsync on, as a real server runs."""

    PASSWORD = "bench-Pa55"

    def __init__(self, base: Path):
        import pwd

        self.bin = _binaries()
        if self.bin is None:
            raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) not found")
        self.base = base
        base.mkdir(parents=True, exist_ok=True)
        self.prefix: list[str] = []
        if os.geteuid() == 0:  # the server refuses to run as root
            user = pwd.getpwnam("postgres")
            os.chown(base, user.pw_uid, user.pw_gid)
            self.prefix = ["runuser", "-u", user.pw_name, "--"]
            owner = (user.pw_uid, user.pw_gid)
        else:
            owner = None
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        (base / "pwfile").write_text(self.PASSWORD + "\n")
        if owner:
            os.chown(base / "pwfile", *owner)
        self._run("initdb", "-D", base / "data", "-U", "grader", "--auth-local=trust",
                  "--auth-host=scram-sha-256", "--pwfile", base / "pwfile", "-E", "UTF8", "--no-sync")
        self._run("pg_ctl", "-D", base / "data", "-l", base / "server.log", "-w", "-t", "60", "-o",
                  f"-p {self.port} -k {base} -c listen_addresses=127.0.0.1", "start")

    def _run(self, program: str, *args) -> None:
        subprocess.run([*self.prefix, str(self.bin / program), *map(str, args)], check=True,
                       capture_output=True, text=True, cwd=str(self.base))

    def database(self, name: str) -> str:
        """A new empty database; its URL."""
        self._run("createdb", "-h", self.base, "-p", self.port, "-U", "grader", name)
        return f"postgresql://grader:{self.PASSWORD}@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        subprocess.run([*self.prefix, str(self.bin / "pg_ctl"), "-D", str(self.base / "data"), "-m", "fast", "stop"],
                       capture_output=True, cwd=str(self.base))
        shutil.rmtree(self.base, ignore_errors=True)

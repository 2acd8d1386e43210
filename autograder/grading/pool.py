"""Long-lived grading worker processes, each grading one submission at a time.

Each worker is `python -m autograder.grading.worker`: it imports nbgrader once, then runs
`grade_submission` per job (every submission still gets its own fresh kernel and course folder).
A submission that takes longer than the wall-clock limit has its worker killed, kernel included,
and is reported as timed out; a worker that crashes is replaced. Nothing a student hands in can stop
the batch.
"""
from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

from autograder.grading.worker import Job, Outcome
from autograder.sandbox.processes import kill_tree
from autograder.status import AUTOGRADE_FAILED, TIMED_OUT


def _close_other_fds(keep: set[int]) -> None:
    """A forked worker must not hold the pipes of the other workers (they would never see EOF)."""
    try:
        fds = [int(fd) for fd in os.listdir("/proc/self/fd")]
    except OSError:
        fds = list(range(3, 256))
    for fd in fds:
        if fd > 2 and fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass


class ForkedProcess:
    """A worker forked from this process: it starts with nbgrader already imported (no second import).

    Enough of subprocess.Popen's interface for `Worker`.
    """

    def __init__(self, log_path: Path, tmp: Path, zygote: bool = False):
        job_read, job_write = os.pipe()
        out_read, out_write = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the worker
            status = 1
            try:
                os.close(job_write)
                os.close(out_read)
                log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
                devnull = os.open(os.devnull, os.O_RDONLY)
                os.dup2(devnull, 0)
                os.dup2(log, 1)
                os.dup2(log, 2)
                _close_other_fds(keep={job_read, out_write})
                os.chdir(log_path.parent)
                os.environ.setdefault("MPLBACKEND", "Agg")
                use_tmp(tmp)
                from autograder.grading.worker import serve

                status = serve(os.fdopen(job_read, "r"), os.fdopen(out_write, "w", buffering=1), zygote)
            except BaseException:  # noqa: BLE001 - the worker must never return into the parent's code
                import traceback

                traceback.print_exc()
            finally:
                os._exit(status)
        os.close(job_read)
        os.close(out_write)
        self.pid = pid
        self.stdin = os.fdopen(job_write, "w", buffering=1)
        self.stdout = os.fdopen(out_read, "r")
        self.returncode = None

    def poll(self):
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                self.returncode = -1
                return self.returncode
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            time.sleep(0.05)
        return self.returncode


def use_tmp(tmp: Path) -> None:
    """This process's temporary files (kernel scratch folders, the verdict server) go below `tmp`."""
    import tempfile

    os.environ["TMPDIR"] = str(tmp)
    tempfile.tempdir = str(tmp)


class Worker:
    def __init__(self, number: int, log_dir: Path, tmp: Path, zygote: bool = False):
        self.number = number
        self.zygote = zygote
        self.tmp = tmp
        self.log_path = log_dir / f"worker-{number}.log"
        self.proc = None
        self.timed_out = False

    def start(self, fork: bool = False) -> None:
        """Fork (fast: nbgrader is already imported here) while this process has no other threads;
        otherwise start a fresh interpreter."""
        if fork and threading.active_count() == 1 and hasattr(os, "fork"):
            self.proc = ForkedProcess(self.log_path, self.tmp, self.zygote)
            return
        env = dict(os.environ)
        bin_dir = str(Path(sys.executable).parent)
        env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
        env.setdefault("MPLBACKEND", "Agg")
        env["PYTHONUNBUFFERED"] = "1"
        env["TMPDIR"] = str(self.tmp)
        package_parent = str(Path(__file__).resolve().parent.parent)
        env["PYTHONPATH"] = package_parent + os.pathsep + env.get("PYTHONPATH", "")
        with open(self.log_path, "a") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "autograder.grading.worker"]
                                         + (["--zygote"] if self.zygote else []),
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                                         text=True, bufsize=1, env=env, cwd=str(self.log_path.parent))

    def grade(self, job: Job, time_limit: float) -> Outcome:
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        self.timed_out = False
        timer = threading.Timer(time_limit, self._expire)
        timer.daemon = True
        started = time.monotonic()
        try:
            self.proc.stdin.write(json.dumps(asdict(job)) + "\n")
            self.proc.stdin.flush()
            timer.start()
            line = self.proc.stdout.readline()
        except (BrokenPipeError, OSError):
            line = ""
        finally:
            timer.cancel()
        if line:
            return Outcome.from_dict(json.loads(line))
        # The worker is gone: killed at the time limit, or crashed (its kernel may still be running).
        kill_tree(self.proc)
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        self.proc = None
        seconds = time.monotonic() - started
        if self.timed_out:
            return Outcome(job.student_id, job.assignment_id, TIMED_OUT,
                           f"grading took longer than {time_limit:g} s and was stopped", seconds=seconds)
        return Outcome(job.student_id, job.assignment_id, AUTOGRADE_FAILED,
                       f"the grading process crashed (see {self.log_path})", seconds=seconds)

    def _expire(self) -> None:
        self.timed_out = True
        if self.proc is not None:
            kill_tree(self.proc)

    def hang_up(self) -> None:
        """No more jobs: the worker finishes and exits (`stop` waits for it)."""
        if self.proc is not None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass

    def stop(self) -> None:
        if self.proc is None:
            return
        self.hang_up()
        try:
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            kill_tree(self.proc)
        for stream in (self.proc.stdout,):
            try:
                stream.close()
            except OSError:
                pass
        self.proc = None


TMP_PREFIX = "gd-grading-"


def remove_stale_folders(parent: Path) -> None:
    """Remove the temporary folders of pools whose process is gone (a batch that was killed)."""
    import shutil

    for folder in parent.glob(f"{TMP_PREFIX}*-*"):
        pid = folder.name[len(TMP_PREFIX):].split("-", 1)[0]
        if not pid.isdigit() or not folder.is_dir() or folder.is_symlink() or folder.stat().st_uid != os.getuid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except PermissionError:
            pass


class Pool:
    """`workers` worker processes, started right away (they import nbgrader while the batch gets ready).

    Their temporary files go to one short folder of the pool's (short: kernels' socket paths must
    stay under 108 bytes), removed when the pool closes, also after a worker was killed, and by the
    next pool after the whole batch was killed."""

    def __init__(self, workers: int, log_dir: Path, zygote: bool = False):
        import tempfile

        log_dir.mkdir(parents=True, exist_ok=True)
        remove_stale_folders(Path(tempfile.gettempdir()))
        self.tmp = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{os.getpid()}-"))
        self.workers = [Worker(n, log_dir, self.tmp, zygote) for n in range(max(1, workers))]
        import nbgrader.apps  # noqa: F401 - imported once here, inherited by the forked workers

        for worker in self.workers:
            worker.start(fork=True)

    def run(self, jobs: list[Job], time_limit: float) -> Iterator[Outcome]:
        """Grade `jobs`; yield outcomes as they finish."""
        todo: queue.Queue = queue.Queue()
        for job in jobs:
            todo.put(job)
        done: queue.Queue = queue.Queue()

        def serve(worker: Worker) -> None:
            while True:
                try:
                    job = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    done.put(worker.grade(job, time_limit))
                except Exception as error:  # noqa: BLE001 - one job's trouble is not the batch's
                    done.put(Outcome(job.student_id, job.assignment_id, AUTOGRADE_FAILED,
                                     f"{type(error).__name__}: {error}"[:300]))

        threads = [threading.Thread(target=serve, args=(w,), daemon=True) for w in self.workers]
        for thread in threads:
            thread.start()
        for _ in jobs:
            yield done.get()
        for thread in threads:
            thread.join()

    def close(self) -> None:
        import shutil

        for worker in self.workers:   # all at once: each then exits while the others do
            worker.hang_up()
        for worker in self.workers:
            worker.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


"""The grader's side of the warm verdict interpreter (autograder/verdict/inside/zygote.py).

One `VerdictServer` per grading worker without a kernel zygote (`worker_server`, below; with one, the
zygote serves the tests: sandbox/kernel_zygote.py): a sandbox that has imported numpy and torch once and
forks a fresh child for every test of the trusted verdict. `run` has the signature of a one-shot
sandboxed run and returns the same `Result`; if the server misbehaves in any way (died, hung,
garbled its answer), it is killed and `ServerFailed` is raised, and the caller runs that test
the one-shot way instead.

bubblewrap's --die-with-parent kills the sandbox when the *thread* that started it ends, so `start`
starts it from a keeper thread of its own that lives as long as the sandbox: any thread may start it,
also one that ends right after (a worker warms its server up in the background that way).
"""
from __future__ import annotations

import json
import os
import queue
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

from autograder.limits import VERDICT_SERVER_CPU_SECONDS, VERDICT_TEST, Limits
from autograder.sandbox import seccomp, storage
from autograder.sandbox.processes import kill_tree
from autograder.sandbox.results import killed_reason, read_result_file
from autograder.sandbox.run import BASE_ENV, Result, describe_protections, sandboxed_argv

HERE = Path(__file__).parent
ZYGOTE = HERE / "inside" / "zygote.py"
HARNESS = HERE / "inside" / "harness.py"
START_SECONDS = 120.0   # importing torch on a loaded machine


class ServerFailed(RuntimeError):
    """The server could not run the test (not the test's fault): run it another way."""


def _above_seccomp_fd(*fds: int) -> tuple[int, ...]:
    """The same pipe ends, numbered above the descriptor the sandbox opens its seccomp filter on:
    an end passed to the sandbox as that number would be replaced by the filter (an unreadable pipe)."""
    import fcntl

    moved = []
    for fd in fds:
        if fd <= seccomp.FD:
            high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, seccomp.FD + 1)
            os.close(fd)
            fd = high
        moved.append(fd)
    return tuple(moved)


class VerdictServer:
    def __init__(self, limits: Limits):
        self.limits = limits
        self.proc: subprocess.Popen | None = None
        self.folder: Path | None = None
        self.number = 0

    # ------------------------------------------------------------------ life cycle
    files: tuple[Path, ...] = (ZYGOTE, HARNESS)   # copied into the sandbox folder
    prefix = "verdict-server-"

    def command(self, control: list[str]) -> list[str]:
        """The sandboxed command line of the zygote, given its two control descriptors."""
        limits = replace(self.limits, cpu_seconds=VERDICT_SERVER_CPU_SECONDS)
        assert self.folder is not None
        return sandboxed_argv([sys.executable, "-I", "-B", "zygote.py", *control], self.folder, limits)

    def start(self) -> None:
        """Start the sandbox and wait for its `ready`; from any thread (see the module's docstring)."""
        started: queue.Queue = queue.Queue()

        def keeper() -> None:
            try:
                self._start_here()
                self._started()
            except BaseException as error:  # noqa: BLE001 - handed to the caller
                if self.proc is not None:
                    self.close()
                started.put(error)
                return
            proc = self.proc
            started.put(None)
            if proc is not None:
                proc.wait()   # the sandbox lives as long as this thread

        threading.Thread(target=keeper, name=self.prefix.rstrip("-"), daemon=True).start()
        error = started.get()
        if error is not None:
            raise error

    def _started(self) -> None:
        """What a subclass sets up once its sandbox answered `ready` (in the keeper thread)."""

    def _start_here(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix=self.prefix))
        for file in self.files:
            shutil.copyfile(file, self.folder / file.name)
        to_zygote_r, self._to_zygote = _above_seccomp_fd(*os.pipe())
        self._from_zygote, from_zygote_w = _above_seccomp_fd(*os.pipe())
        argv = self.command([str(to_zygote_r), str(from_zygote_w)])
        self.log = self.folder.with_suffix(".log")
        try:
            with open(self.log, "wb") as log:
                self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                             env=dict(BASE_ENV), start_new_session=True,
                                             pass_fds=(to_zygote_r, from_zygote_w))
        finally:
            os.close(to_zygote_r)
            os.close(from_zygote_w)
        self._buffer = b""
        try:
            ready = self._read_line(START_SECONDS) == b"ready"
        except (OSError, ValueError):
            ready = False
        if not ready:
            tail = self.log_tail()
            self.close()
            raise ServerFailed(f"the verdict server did not start: {tail}")

    def stop(self, seconds: float = 3.0) -> None:
        """End the server the orderly way (no more commands: the zygote exits), else kill it."""
        if self.proc is not None:
            try:
                os.close(self._to_zygote)
            except OSError:
                pass
            self._to_zygote = -1
            try:
                self.proc.wait(timeout=seconds)
            except subprocess.TimeoutExpired:
                pass
        self.close()

    def close(self) -> None:
        if self.proc is not None:
            kill_tree(self.proc)
            self.proc = None
            for fd in (self._to_zygote, self._from_zygote):
                try:
                    os.close(fd)
                except OSError:
                    pass
        if self.folder is not None:
            storage.release(self.folder, keep=False)
            shutil.rmtree(self.folder, ignore_errors=True)
            self.log.unlink(missing_ok=True)
            self.folder = None

    def log_tail(self) -> str:
        """The end of the zygote's own messages (a traceback, if it failed)."""
        try:
            with open(self.log, "rb") as fh:
                fh.seek(max(0, self.log.stat().st_size - 1500))
                return fh.read().decode("utf-8", "replace").strip()
        except OSError:
            return ""

    def __enter__(self) -> VerdictServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ one test
    def run(self, program: dict, limits: Limits) -> Result:
        """Run `harness.run` on `program` in a fresh fork; the same Result as a one-shot run."""
        if self.proc is None or self.proc.poll() is not None:
            self.close()
            self.start()
        assert self.folder is not None
        self.number += 1
        n = self.number
        started = time.monotonic()
        program_file = self.folder / f"program-{n}.json"
        program_file.write_text(json.dumps(program))
        program_file.chmod(0o644)
        try:
            os.write(self._to_zygote, f"run {n} {limits.cpu_seconds} {limits.wall_seconds}\n".encode())
            answer = self._read_line(limits.wall_seconds + 30)
            word, number, returncode, timed_out = answer.decode("ascii").split()
            if word != "exit" or int(number) != n or timed_out not in ("0", "1"):
                raise ValueError(answer)
            returncode = int(returncode)
        except (OSError, ValueError, UnicodeDecodeError) as error:
            tail = self.log_tail()
            self.close()
            raise ServerFailed(f"the verdict server stopped answering ({type(error).__name__}) {tail}") from None
        return self._result(n, returncode, timed_out == "1", limits, started)

    def _result(self, n: int, returncode: int, timed_out: bool, limits: Limits, started: float) -> Result:
        """The Result of test `n` from its report (out-N, read and removed) and how it ended."""
        assert self.folder is not None
        try:
            data = read_result_file(self.folder, f"out-{n}", limits.file_bytes)
        except (OSError, ValueError):
            data = b""
        finally:
            (self.folder / f"out-{n}").unlink(missing_ok=True)
        wall = time.monotonic() - started
        stdout = data[: limits.output_bytes].decode("utf-8", errors="replace")
        reason = killed_reason(returncode, timed_out, limits, len(data), wall, "")
        return Result(returncode, stdout, "", timed_out, reason, wall, tuple(describe_protections()))

    def _read_line(self, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise OSError("timed out")
            ready, _, _ = select.select([self._from_zygote], [], [], left)
            if ready:
                chunk = os.read(self._from_zygote, 4096)
                if not chunk:
                    raise OSError("closed")
                self._buffer += chunk
                if len(self._buffer) > 4096:
                    raise ValueError("answer too long")
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line


_SERVER: list = []    # this process's warm verdict server (a grading worker's): (pid, VerdictServer)
_WARMING: list = []   # the thread starting it, if one is


def held_by_this_process(held: list, make):
    """The warm server `held` keeps ([(pid, server)]) for this process, made on first use (never one
    inherited through fork)."""
    if not held or held[0][0] != os.getpid():
        held[:] = [(os.getpid(), make())]
    return held[0][1]


def worker_server() -> VerdictServer:
    """This process's warm verdict server."""
    return held_by_this_process(_SERVER, lambda: VerdictServer(VERDICT_TEST))


def warm_up() -> None:
    """Start this process's server in the background: torch imported once, while the batch gets ready."""
    def start() -> None:
        try:
            worker_server().start()
        except Exception as error:  # noqa: BLE001 - started again on first use, else tests run one-shot
            print(f"verdict server not started: {error}", file=sys.stderr)

    _WARMING[:] = [threading.Thread(target=start, daemon=True)]
    _WARMING[0].start()


def started_server() -> VerdictServer:
    """This process's server, once the start `warm_up` began has ended."""
    for thread in _WARMING:
        thread.join()
    _WARMING.clear()
    return worker_server()


def stop_held(held: list, orderly: bool = True) -> None:
    """End the warm server `held` keeps ([(pid, server)]) if this process started it; forget it."""
    if held and held[0][0] == os.getpid():
        server = held[0][1]
        if orderly:
            server.stop()
        else:
            server.close()
    held.clear()


def stop_worker_server(orderly: bool = True) -> None:
    stop_held(_SERVER, orderly)

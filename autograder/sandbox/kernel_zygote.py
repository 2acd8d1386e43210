"""Notebook kernels forked from a warm sandboxed zygote, instead of a fresh sandboxed Python each.

A fresh kernel pays interpreter start-up and the imports of ipykernel, torch, numpy and matplotlib
(seconds of CPU) for a notebook whose exercises take milliseconds. Here each grading worker keeps
one `KernelZygote`: the verdict server's machinery (autograder/verdict/server.py and inside/zygote.py)
with the `kernel` profile. It is a sandbox (bubblewrap, as for any kernel) whose one process has
imported those packages and never runs student code; for each submission it forks a child that,
before it reads any of the student's code, takes a sandbox identity of its own (inside/kernel_child.py:
a fresh user id, its own folder at /sandbox (a size-capped tmpfs the zygote mounts for it), its own
/tmp and /dev/shm, its CPU and process caps, no capabilities) and then becomes the kernel. The
kernel's sockets live in that tmpfs, which only the sandbox's mount namespace sees: the grader (root)
reaches them through /proc/<the sandbox's init>/root. When the kernel ends, the zygote kills whatever it left
running and empties every scratch place before the next child is forked (zygote.clean_up).
The same sandbox runs the worker's tests of the trusted verdict (`KernelZygote.run`): each test is a fork
with an identity and places of its own as a kernel's, under the test's own caps (limits.VERDICT_TEST),
so a worker keeps one warm sandbox instead of two.

Only as root with bubblewrap (`bwrap-root`) can each child get a fresh user id; elsewhere
`available()` is False and the grader starts a fresh sandboxed kernel per submission (kernel.py).
`ZygoteKernelManager` is the Jupyter kernel manager nbgrader's Execute uses: only the kernel's
birth changes, nbgrader drives everything else.
"""
from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import psutil
from jupyter_client.manager import AsyncKernelManager

from autograder import limits as grading_limits
from autograder.limits import VERDICT_SERVER_CPU_SECONDS, Limits
from autograder.sandbox import run
from autograder.sandbox.kernel import (
    KERNEL_ARGUMENTS_FILE,
    KERNEL_CONNECTION_FILE,
    SOCKETS,
    SandboxedKernelManager,
    copy_visible_files,
    kernel_options,
)
from autograder.sandbox.run import SANDBOX_WORKDIR, Result
from autograder.verdict.server import (
    HARNESS,
    HERE,
    ZYGOTE,
    ServerFailed,
    VerdictServer,
    held_by_this_process,
    stop_held,
)

KERNEL_CHILD = HERE / "inside" / "kernel_child.py"
# What the zygote keeps of root's capabilities: giving each child its identity and cleaning after it.
ZYGOTE_CAPS = ("CAP_SETUID", "CAP_SETGID", "CAP_CHOWN", "CAP_SETPCAP", "CAP_SYS_ADMIN", "CAP_KILL", "CAP_DAC_OVERRIDE",
               "CAP_DAC_READ_SEARCH", "CAP_FOWNER")
PREVIOUS_KERNEL_SECONDS = 20.0   # how long a new kernel waits for the last one's shutdown before killing it


def available() -> bool:
    """A fresh user id per child needs the sandbox started as root. (Each child mounts a /tmp of its own
    and binds into it, read-only, a Python install the sandbox bound below /tmp: see kernel_child.py.)"""
    return run.mode() == "bwrap-root" and os.geteuid() == 0 and hasattr(os, "pidfd_open")


class ZygoteKernel:
    """One forked kernel, as much of subprocess.Popen as jupyter_client's LocalProvisioner uses."""

    stdin = stdout = stderr = None

    def __init__(self, zygote: KernelZygote, number: int):
        self.zygote, self.number = zygote, number
        self.pid = zygote.proc.pid if zygote.proc else -1   # the sandbox holding it (never signalled here)
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self.zygote.exit_code(self.number)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        code = self.zygote.wait_exit(self.number, timeout)
        if code is None:
            import subprocess

            raise subprocess.TimeoutExpired(f"kernel {self.number}", timeout or 0)
        self.returncode = code
        return code

    def send_signal(self, signum: int) -> None:
        self.zygote.signal(self.number, signum)

    def kill(self) -> None:
        self.send_signal(9)

    def terminate(self) -> None:
        self.send_signal(15)


class KernelZygote(VerdictServer):
    """The worker's warm kernel sandbox: one kernel at a time, each in a fresh fork."""

    files = (ZYGOTE, KERNEL_CHILD, HARNESS)
    prefix = "kz-"   # short: the kernels' socket paths must stay under 108 bytes

    def __init__(self, limits: Limits):
        super().__init__(limits)
        self._changed = threading.Condition()
        self._exits: dict[int, int] = {}
        self._timed_out: set[int] = set()   # the children the zygote stopped at their wall clock
        self._lost: set[int] = set()        # the child that was running when the zygote itself ended
        self._current: int | None = None
        self._inside: Path | None = None   # the sandbox's root as the grader reaches it

    def inside(self, folder: Path) -> Path:
        """Where the grader reaches `folder` (below self.folder) as the sandbox sees it."""
        assert self._inside is not None and self.folder is not None
        return self._inside / SANDBOX_WORKDIR.lstrip("/") / folder.relative_to(self.folder)

    def command(self, control: list[str]) -> list[str]:
        assert self.folder is not None
        limits = replace(self.limits, cpu_seconds=VERDICT_SERVER_CPU_SECONDS)
        run._check_exposure(self.folder)
        argv = run._build_argv([sys.executable, "-I", "-B", "zygote.py", *control, "kernel"], self.folder,
                               limits, "bwrap-zygote", uid=0)
        at = argv.index(run._bwrap() or "bwrap") + 1
        caps = ["--cap-drop", "ALL"] + [arg for cap in ZYGOTE_CAPS for arg in ("--cap-add", cap)]
        return argv[:at] + caps + argv[at:]

    def start(self) -> None:
        self._exits.clear()
        self._timed_out.clear()
        self._lost.clear()
        self._current = None
        super().start()

    def _started(self) -> None:
        assert self.proc is not None
        # bubblewrap's first child is the sandbox's init, in the sandbox's mount namespace
        self._inside = Path(f"/proc/{psutil.Process(self.proc.pid).children()[0].pid}/root")
        self._reader = threading.Thread(target=self._read_exits, args=(self._from_zygote,), daemon=True)
        self._reader.start()

    def close(self) -> None:
        """Kill the sandbox (every kernel in it) and let the reader see the end before the pipes close."""
        if self.proc is not None:
            from autograder.sandbox.processes import kill_tree

            kill_tree(self.proc)
            reader = getattr(self, "_reader", None)
            if reader is not None and reader is not threading.current_thread():
                reader.join(5)
        super().close()

    def _read_exits(self, fd: int) -> None:
        buffer = self._buffer
        while True:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                chunk = b""
            if not chunk:
                break
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                word, number, returncode, timed_out = line.decode("ascii", "replace").split()
                if word == "exit":
                    with self._changed:
                        if timed_out == "1":
                            self._timed_out.add(int(number))
                        self._exits[int(number)] = int(returncode)
                        self._changed.notify_all()
        with self._changed:   # the zygote is gone, and every kernel of it
            if self._current is not None and self._current not in self._exits:
                self._lost.add(self._current)
                self._exits[self._current] = -9
            self._changed.notify_all()

    def exit_code(self, number: int) -> int | None:
        with self._changed:
            return self._exits.get(number)

    def wait_exit(self, number: int, timeout: float | None) -> int | None:
        with self._changed:
            self._changed.wait_for(lambda: number in self._exits, timeout)
            return self._exits.get(number)

    def signal(self, number: int, signum: int) -> None:
        if self.exit_code(number) is None and self.proc is not None:
            try:
                os.write(self._to_zygote, f"signal {number} {int(signum)}\n".encode())
            except OSError:
                pass

    def prepare(self, fill: Callable[[Path], None]) -> tuple[int, Path]:
        """A folder for the next kernel, filled by `fill`, once the previous kernel is gone (its
        clean-up empties /sandbox). One kernel at a time: a worker grades one submission at a time."""
        previous = self._current
        if previous is not None and self.wait_exit(previous, PREVIOUS_KERNEL_SECONDS) is None:
            self.signal(previous, 9)
            if self.wait_exit(previous, PREVIOUS_KERNEL_SECONDS) is None:
                self.close()
        if self.proc is None or self.proc.poll() is not None:
            self.close()
            self.start()
        assert self.folder is not None
        self.number += 1
        folder = self.folder / f"k-{self.number}"
        folder.mkdir()
        fill(folder)
        return self.number, folder

    def launch(self, number: int, limits: Limits) -> ZygoteKernel:
        """Fork kernel `number` (its folder made by `prepare`) under a fresh user id."""
        try:
            assert self.folder is not None and number == self.number
            uid = run._fresh_uid()
            run._chown_tree(self.folder / f"k-{number}", uid)
            self._current = number
            # The wall clock is the batch's to enforce (--time-limit kills the worker, sandboxes included);
            # the zygote's own is a backstop no longer than that default.
            wall = max(limits.wall_seconds, grading_limits.SUBMISSION_WALL_SECONDS)
            os.write(self._to_zygote, f"kernel {number} {limits.cpu_seconds} {wall} {uid} "
                                      f"{limits.processes} {limits.tmp_bytes} {limits.folder_bytes}\n".encode())
            return ZygoteKernel(self, number)
        except OSError as error:
            raise ServerFailed(f"the kernel zygote stopped answering: {error}; its log: {self.log_tail()}") from None

    def run(self, program: dict, limits: Limits) -> Result:
        """One test of the trusted verdict in a fresh fork, with a kernel's sandbox identity (a fresh user
        id, its own folder, /tmp and /dev/shm) under the test's caps: the same Result as VerdictServer.run."""
        number, folder = self.prepare(lambda scratch: (scratch / "program.json").write_text(json.dumps(program)))
        started = time.monotonic()
        try:
            uid = run._fresh_uid()
            run._chown_tree(folder, uid)
            self._current = number
            os.write(self._to_zygote, f"run {number} {limits.cpu_seconds} {limits.wall_seconds} {uid} "
                                      f"{limits.processes} {limits.tmp_bytes} {limits.folder_bytes} "
                                      f"{limits.memory_bytes} {limits.open_files} {limits.file_bytes}\n".encode())
        except OSError as error:
            self.close()
            raise ServerFailed(f"the kernel zygote stopped answering: {error}") from None
        returncode = self.wait_exit(number, limits.wall_seconds + 30)
        if returncode is None or number in self._lost:
            tail = self.log_tail()
            self.close()
            raise ServerFailed(f"the kernel zygote stopped answering during a test: {tail}")
        return self._result(number, returncode, number in self._timed_out, limits, started)


_ZYGOTE: list = []   # this process's kernel zygote: (pid, KernelZygote)


def kernel_zygote() -> KernelZygote:
    """The worker's kernel zygote, started on first use."""
    return held_by_this_process(_ZYGOTE, lambda: KernelZygote(grading_limits.KERNEL_ZYGOTE))


def stop_kernel_zygote(orderly: bool = True) -> None:
    stop_held(_ZYGOTE, orderly)


class ZygoteKernelManager(SandboxedKernelManager):
    """SandboxedKernelManager whose kernel is forked from the worker's kernel zygote."""

    _number = 0
    _folder: Path | None = None

    async def _async_pre_start_kernel(self, **kw: Any) -> tuple[list[str], dict[str, Any]]:
        notebook_folder = Path(kw.pop("cwd", None) or os.getcwd())
        options = kernel_options(kw)
        zygote = kernel_zygote()
        self._number, folder = await asyncio.to_thread(
            zygote.prepare, lambda scratch: copy_visible_files(notebook_folder, scratch))
        self._folder, self._scratch = folder, None   # the zygote empties it after the kernel
        self.transport = "ipc"
        self.ip = str(zygote.inside(folder) / SOCKETS)
        _, kw = await AsyncKernelManager._async_pre_start_kernel(self, **kw)
        info = json.loads(Path(self.connection_file).read_text())
        info["ip"] = f"{SANDBOX_WORKDIR}/{SOCKETS}"
        (folder / KERNEL_CONNECTION_FILE).write_text(json.dumps(info))
        (folder / KERNEL_ARGUMENTS_FILE).write_text(json.dumps(options))   # written over any copied file
        return [], kw

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        kernel = await asyncio.to_thread(kernel_zygote().launch, self._number,
                                         grading_limits.kernel(self.cell_timeout))
        provisioner = self.provisioner
        assert provisioner is not None
        provisioner.process, provisioner.pid, provisioner.pgid = kernel, kernel.pid, None
        provisioner.cwd = self._folder
        self._reconcile_connection_info(provisioner.connection_info)

    pre_start_kernel = _async_pre_start_kernel
    _launch_kernel = _async_launch_kernel


def ready() -> bool:
    """The worker's kernel zygote is up (started now if need be); False: use fresh kernels."""
    if not available():
        return False
    zygote = kernel_zygote()
    if zygote.proc is None or zygote.proc.poll() is not None:
        try:
            zygote.close()
            zygote.start()
        except (ServerFailed, OSError) as error:
            print(f"kernel zygote not started, fresh kernels instead: {error}", file=sys.stderr)
            return False
    return True

"""A Jupyter kernel manager whose kernel runs in the sandbox (autograder/sandbox/run.py).

nbgrader itself stays in the grader's process (warm, trusted, with the gradebook); only the
kernel, the one place the student's code runs, is sandboxed. It sees a scratch copy of the
notebook's folder (the helper modules, no notebooks), mounted at /sandbox, and nothing else:
not the gradebook, not nbgrader's autograded/ or feedback/ output, not other submissions.

The kernel talks to nbgrader over Unix sockets (ZeroMQ's ipc transport) in that scratch folder,
since the sandbox has no network. Interrupts go as messages on the control channel: the kernel
runs in a session of its own, out of reach of the usual SIGINT to its process group.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager
from traitlets import Integer

from autograder import limits
from autograder.sandbox import storage
from autograder.sandbox.run import BASE_ENV, SANDBOX_WORKDIR, sandboxed_argv

KERNEL_CONNECTION_FILE = "kernel.json"
KERNEL_ARGUMENTS_FILE = "kernel-arguments.json"  # a forked kernel's options (verdict/inside/kernel_child.py)
SOCKETS = "ipc"  # socket path prefix inside the scratch folder


def copy_visible_files(folder: Path, scratch: Path) -> None:
    """What the kernel may see of the notebook's folder: plain files and folders, no notebooks."""
    if not folder.is_dir():
        return
    for entry in folder.iterdir():
        if entry.is_symlink() or entry.suffix == ".ipynb" or entry.name == "__pycache__":
            continue
        if entry.is_file():
            shutil.copyfile(entry, scratch / entry.name)
        elif entry.is_dir():
            shutil.copytree(entry, scratch / entry.name, symlinks=False,
                            ignore=shutil.ignore_patterns("*.ipynb", "__pycache__"), ignore_dangling_symlinks=True)


def kernel_options(kw: dict[str, Any]) -> list[str]:
    """The kernel's command-line options nbgrader and nbclient ask for (`Execute.extra_arguments`,
    the in-memory history): `--Class.trait=value` options only, the kernel's own command stays ours."""
    return [str(option) for option in kw.get("extra_arguments") or [] if str(option).startswith("--")]


class SandboxedKernelManager(AsyncKernelManager):
    """AsyncKernelManager that starts the kernel under bubblewrap, in a scratch copy of its folder."""

    cell_timeout = Integer(limits.CELL_TIMEOUT, help="nbgrader's cell timeout, to size the kernel's limits"
                           ).tag(config=True)

    _scratch: Path | None = None

    @property
    def kernel_spec(self):  # type: ignore[override]
        spec = super().kernel_spec
        if spec is not None:
            spec.interrupt_mode = "message"
        return spec

    async def _async_pre_start_kernel(self, **kw: Any) -> tuple[list[str], dict[str, Any]]:
        folder = Path(kw.pop("cwd", None) or os.getcwd())
        options = kernel_options(kw)
        base = tempfile.gettempdir()
        if len(base) > 64:  # a Unix socket path must stay under 108 bytes
            base = "/tmp"
        self._scratch = Path(tempfile.mkdtemp(prefix="k-", dir=base))
        copy_visible_files(folder, self._scratch)
        self.transport = "ipc"
        self.ip = str(self._scratch / SOCKETS)
        _, kw = await super()._async_pre_start_kernel(**kw)
        info = json.loads(Path(self.connection_file).read_text())
        info["ip"] = f"{SANDBOX_WORKDIR}/{SOCKETS}"
        (self._scratch / KERNEL_CONNECTION_FILE).write_text(json.dumps(info))
        inner = [sys.executable, "-m", "ipykernel_launcher", "-f", f"{SANDBOX_WORKDIR}/{KERNEL_CONNECTION_FILE}",
                 *options]
        cmd = sandboxed_argv(inner, self._scratch, limits.kernel(self.cell_timeout))
        kw.update(cwd=str(self._scratch), env=dict(BASE_ENV), stdin=subprocess.DEVNULL,
                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return cmd, kw

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if self._scratch is not None and not restart:
            storage.release(self._scratch, keep=False)
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None

    pre_start_kernel = _async_pre_start_kernel
    cleanup_resources = _async_cleanup_resources

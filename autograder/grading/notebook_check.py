"""Is a submitted file a notebook nbgrader can read? Asked of a child process under limits.

A notebook is student data: JSON nested deep enough to raise RecursionError, or large enough to
exhaust memory, must cost one row, never the batch. Every notebook of a batch is parsed by one
child process (address space and CPU capped); a notebook that kills it or takes longer than
`limits.NOTEBOOK_CHECK_SECONDS` is reported as unreadable and a fresh child goes on with the rest.

Child protocol: one path per line in, one JSON string per line out ("" = readable, else why not).
"""
from __future__ import annotations

import json
import os
import resource
import select
import subprocess
import sys
from pathlib import Path

from autograder import limits


def problem(path: Path) -> str:
    """'' if `path` is a notebook nbgrader can read, else why not (run in the child)."""
    import nbformat

    try:
        size = path.stat().st_size
    except OSError as error:
        return f"{path.name} cannot be read: {error}"
    if size > limits.SUBMITTED_NOTEBOOK_MAX_BYTES:
        return f"{path.name} is larger than {limits.SUBMITTED_NOTEBOOK_MAX_BYTES // 2**20} MiB"
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return f"{path.name} cannot be read: {error}"
    if not text.strip():
        return f"{path.name} is empty"
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        return f"{path.name} is not valid notebook JSON (truncated or edited by hand?): {error}"
    except RecursionError:
        return f"{path.name} is JSON nested too deeply to be a notebook"
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        return f"{path.name} is JSON but not a notebook (no list of cells)"
    try:
        nb = nbformat.reads(text, as_version=4)
    except RecursionError:
        return f"{path.name} is nested too deeply to be a notebook"
    except Exception as error:  # noqa: BLE001 - nbformat raises many kinds
        return f"{path.name} is not a readable notebook: {type(error).__name__}: {error}"[:300]
    for cell in nb.cells:
        if not isinstance(cell, dict) or "cell_type" not in cell or not isinstance(cell.get("source", ""), str):
            return f"{path.name} has a malformed cell"
    return ""


def _limit_child() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (limits.NOTEBOOK_CHECK_MEMORY_BYTES,) * 2)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


class _Child:
    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "autograder.grading.notebook_check"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     preexec_fn=_limit_child, close_fds=True)
        self.buffer = b""

    def ask(self, path: Path) -> str | None:
        """The child's answer, or None if it died or took too long (then it is killed)."""
        try:
            self.proc.stdin.write(os.fsencode(str(path)) + b"\n")
            self.proc.stdin.flush()
        except OSError:
            return None
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buffer:
            ready, _, _ = select.select([fd], [], [], limits.NOTEBOOK_CHECK_SECONDS)
            chunk = os.read(fd, 65536) if ready else b""
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            stream.close()


def problems(paths: list[Path]) -> dict[Path, str]:
    """path -> '' (readable) or why not, for every path; never raises for what a file holds."""
    found: dict[Path, str] = {}
    child: _Child | None = None
    try:
        for path in paths:
            if child is None:
                child = _Child()
            answer = child.ask(path)
            if answer is None:
                child.close()
                child = None
                answer = (f"{path.name} could not be parsed within the limits "
                          f"({limits.NOTEBOOK_CHECK_MEMORY_BYTES // 2**30} GiB, "
                          f"{limits.NOTEBOOK_CHECK_SECONDS:g} s): not a notebook nbgrader can read")
            found[path] = answer
    finally:
        if child is not None:
            child.close()
    return found


def _serve() -> None:
    for line in sys.stdin.buffer:
        path = Path(os.fsdecode(line.rstrip(b"\n")))
        try:
            answer = problem(path)
        except (MemoryError, RecursionError) as error:
            answer = f"{path.name} could not be parsed ({type(error).__name__})"
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    _serve()

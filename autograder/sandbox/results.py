"""Reading back what sandboxed code left behind, as untrusted data: never following its links;
and which limit ended a run, said plainly."""
from __future__ import annotations

import os
import signal
import stat
from pathlib import Path

from autograder.limits import Limits


def read_result_file(workdir: Path | str, relative: str, max_bytes: int = 16 * 2**20) -> bytes:
    """A file the sandboxed code left in `workdir`, read safely by the (privileged) grader.

    The sandboxed code controls the directory: a path in it may be a symbolic link to a grader's
    file (/etc/shadow, the gradebook) or a FIFO that blocks. Every path component is opened without
    following links, the file must be a regular file, and at most `max_bytes` are read
    (ValueError if larger). Raises OSError/ValueError instead of reading anything else.
    """
    parts = [p for p in Path(relative).parts if p not in ("", ".")]
    if not parts or any(p == ".." for p in parts) or Path(relative).is_absolute():
        raise ValueError(f"not a relative path inside the submission directory: {relative!r}")
    flags_dir = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(workdir, flags_dir)
    try:
        for part in parts[:-1]:
            nxt = os.open(part, flags_dir, dir_fd=fd)
            os.close(fd)
            fd = nxt
        leaf = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=fd)
    finally:
        os.close(fd)
    try:
        st = os.fstat(leaf)
        if not stat.S_ISREG(st.st_mode):
            raise ValueError(f"{relative} is not a regular file")
        if st.st_size > max_bytes:
            raise ValueError(f"{relative} is larger than {max_bytes} bytes")
        chunks, left = [], max_bytes + 1
        while left > 0:
            chunk = os.read(leaf, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
        if len(data) > max_bytes:
            raise ValueError(f"{relative} is larger than {max_bytes} bytes")
        return data
    finally:
        os.close(leaf)


_SIGNAL_REASONS = {
    signal.SIGXCPU: "CPU time limit exceeded",
    signal.SIGXFSZ: "file size / output limit exceeded",
    signal.SIGSEGV: "crashed (segmentation fault; possibly the memory limit)",
    signal.SIGABRT: "aborted (possibly the memory limit)",
}


def killed_reason(rc: int | None, timed_out: bool, limits: Limits, out_size: int, wall: float,
                  stderr: str) -> str | None:
    """Which limit ended a sandboxed command, said plainly; None if it ended on its own."""
    if timed_out:
        return f"wall-clock limit exceeded ({limits.wall_seconds:g} s)"
    sig = None
    if rc is not None and rc < 0:
        sig = -rc
    elif rc is not None and rc > 128 and rc - 128 < 65:
        sig = rc - 128   # bwrap reports a signalled child as 128 + signal number
    if out_size >= limits.file_bytes:
        return f"file size / output limit exceeded ({limits.file_bytes} bytes)"
    if sig is not None:
        if sig in _SIGNAL_REASONS:
            return _SIGNAL_REASONS[sig]
        if sig == signal.SIGKILL:
            return "killed (SIGKILL: CPU time hard limit or out of memory)"
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = str(sig)
        return f"killed by signal {name}"
    if "MemoryError" in stderr[-4000:]:
        return "memory limit exceeded (MemoryError)"
    return None

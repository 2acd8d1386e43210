"""A seccomp filter that keeps sandboxed code from creating user namespaces.

Inside a user namespace of its own, code could mount a tmpfs that no limit of the sandbox counts.
bubblewrap's --disable-userns needs a user namespace of the sandbox itself, which the fresh-uid
(root) mode does not make; this filter works in both modes. It answers EPERM to unshare() and
clone() with CLONE_NEWUSER, ENOSYS to clone3() (whose flags it cannot read; libc then falls back
to clone()), and EPERM to every system call of a foreign ABI (x32, i386), which could bypass it.

bubblewrap reads the compiled filter from a file descriptor (--seccomp FD); `wrap` opens it with
/bin/sh, so the command line stays a plain list of strings that any launcher can run.
"""
from __future__ import annotations

import atexit
import os
import platform
import shutil
import struct
import tempfile

CLONE_NEWUSER = 0x10000000
FD = 9   # the descriptor bubblewrap reads the filter from

# machine -> (audit arch, unshare, clone, clone3); x86_64 also flags x32 calls with bit 30
_ARCHES = {
    "x86_64": (0xC000003E, 272, 56, 435),
    "aarch64": (0xC00000B7, 97, 220, 435),
}
_LD_ABS, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06
_ALLOW, _ERRNO = 0x7FFF0000, 0x00050000
EPERM, ENOSYS = 1, 38


def _insn(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("HBBI", code, jt, jf, k)


def program() -> bytes | None:
    """The compiled filter for this machine, or None where its system-call numbers are not known."""
    arch = _ARCHES.get(platform.machine())
    if arch is None:
        return None
    audit, unshare, clone, clone3 = arch
    deny, nosys = _ERRNO | EPERM, _ERRNO | ENOSYS
    return b"".join([
        _insn(_LD_ABS, 0, 0, 4),               # 0: arch
        _insn(_JEQ, 1, 0, audit),              # 1: native ABI -> 3
        _insn(_RET, 0, 0, deny),               # 2: foreign ABI
        _insn(_LD_ABS, 0, 0, 0),               # 3: syscall number
        _insn(_JGE, 6, 0, 0x40000000),         # 4: x32 -> 11
        _insn(_JEQ, 3, 0, unshare),            # 5: -> 9
        _insn(_JEQ, 2, 0, clone),              # 6: -> 9
        _insn(_JEQ, 5, 0, clone3),             # 7: -> 13
        _insn(_RET, 0, 0, _ALLOW),             # 8
        _insn(_LD_ABS, 0, 0, 16),              # 9: flags (args[0], low 32 bits)
        _insn(_JSET, 0, 1, CLONE_NEWUSER),     # 10: new user namespace -> 11, else -> 12
        _insn(_RET, 0, 0, deny),               # 11
        _insn(_RET, 0, 0, _ALLOW),             # 12
        _insn(_RET, 0, 0, nosys),              # 13
    ])


_path: str | None = None


def _filter_file() -> str | None:
    """The filter, written once per process to a private folder (removed at exit)."""
    global _path
    if _path is None or not os.path.exists(_path):
        code = program()
        if code is None:
            return None
        folder = tempfile.mkdtemp(prefix="gd-seccomp-")
        _path = os.path.join(folder, "no-userns.bpf")
        with open(_path, "xb") as fh:
            fh.write(code)
        os.chmod(folder, 0o755)
        atexit.register(shutil.rmtree, folder, True)
    return _path


def bwrap_args() -> tuple[list[str], list[str]]:
    """(a prefix that opens the filter on FD, bwrap's options for it); both empty where unknown."""
    path = _filter_file()
    if path is None:
        return [], []
    return ["/bin/sh", "-c", f'exec {FD}<"$0" && exec "$@"', path], ["--seccomp", str(FD)]

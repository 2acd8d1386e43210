"""A size cap on the sandbox's folder: as root, the folder becomes a tmpfs of its own while in use.

RLIMIT_FSIZE caps each file, not how many there are; the folder would otherwise take the host's
disk. `cap` mounts a tmpfs of `limits.folder_bytes` on the folder (keeping what it held), `release`
takes it away again (keeping what the run left there, or not). Without root nothing is mounted and
`describe_protections` says so. Mounts are made in this process's mount namespace: a grading worker
has one of its own (`private_mounts`), so what it mounted goes with it, also when it is killed.
"""
from __future__ import annotations

import ctypes
import os
import shutil
import stat
import tempfile
from pathlib import Path

MS_NOSUID, MS_NODEV, MS_REC, MS_PRIVATE = 0x2, 0x4, 0x4000, 0x40000
MNT_DETACH = 2
CLONE_NEWNS = 0x00020000


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def available() -> bool:
    return os.geteuid() == 0 and os.path.exists("/proc/self/mountinfo")


def private_mounts() -> bool:
    """This process gets a mount namespace of its own (root only); True if it did."""
    if not available():
        return False
    libc = _libc()
    if libc.unshare(CLONE_NEWNS) != 0:
        return False
    return libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) == 0


def _move_all(source: Path, target: Path) -> None:
    for entry in list(source.iterdir()):
        shutil.move(str(entry), str(target / entry.name))


def cap(folder: Path, size: int) -> bool:
    """Make `folder` a tmpfs of `size` bytes that holds what `folder` held; False if it cannot be."""
    folder = Path(folder).resolve()
    if not available() or os.path.ismount(folder):
        return os.path.ismount(folder)
    stash = Path(tempfile.mkdtemp(prefix=".stash-", dir=folder.parent))
    try:
        _move_all(folder, stash)
        options = f"size={size},mode=0755".encode()
        if _libc().mount(b"tmpfs", os.fsencode(folder), b"tmpfs", MS_NOSUID | MS_NODEV, options) != 0:
            _move_all(stash, folder)
            return False
        _move_all(stash, folder)
        return True
    finally:
        shutil.rmtree(stash, ignore_errors=True)


def _copy_plain(source: Path, target: Path) -> None:
    """Files, folders and links (as links) only; FIFOs, sockets and devices are left behind."""
    for entry in source.iterdir():
        info = entry.lstat()
        if stat.S_ISDIR(info.st_mode):
            (target / entry.name).mkdir()
            _copy_plain(entry, target / entry.name)
        elif stat.S_ISLNK(info.st_mode):
            os.symlink(os.readlink(entry), target / entry.name)
        elif stat.S_ISREG(info.st_mode):
            shutil.copyfile(entry, target / entry.name, follow_symlinks=False)
        else:
            continue
        os.lchown(target / entry.name, info.st_uid, info.st_gid)


def release(folder: Path, keep: bool = True) -> None:
    """Unmount the tmpfs `cap` put on `folder`; with `keep`, what it holds stays in `folder`."""
    folder = Path(folder).resolve()
    if not os.path.ismount(folder):
        return
    stash = Path(tempfile.mkdtemp(prefix=".stash-", dir=folder.parent)) if keep else None
    try:
        if stash is not None:
            os.chmod(stash, 0o700)
            _copy_plain(folder, stash)
        _libc().umount2(os.fsencode(folder), MNT_DETACH)
        if stash is not None:
            _move_all(stash, folder)
    finally:
        if stash is not None:
            shutil.rmtree(stash, ignore_errors=True)

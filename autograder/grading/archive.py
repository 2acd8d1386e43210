"""Unpack an LMS export (.zip) under caps, taking nothing from it but plain files and folders.

Member names are checked before anything is written: absolute paths, `..`, links and other special
files are refused, and so are members beyond the member-count, per-member and total size caps (a
member's size is counted as it is unpacked, not read from its header). Files are written with fixed
modes (0644, folders 0755) and this process's owner: no mode, owner or set-uid bit comes from the
archive. Archives inside the export (a student's own upload) are never unpacked.
"""
from __future__ import annotations

import os
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from autograder import limits

CHUNK = 1 << 20


@dataclass(frozen=True)
class Refused:
    member: str       # the name as the archive gives it
    reason: str


class ArchiveTooLarge(Exception):
    """A member went past its cap while it was unpacked."""


def _safe_parts(name: str) -> tuple[str, ...] | None:
    """The path parts of a member name, or None if it could land outside the folder it goes to."""
    if "\\" in name or "\x00" in name:
        return None
    path = PurePosixPath(name)
    if path.is_absolute() or name.startswith("/"):
        return None
    parts = tuple(p for p in path.parts if p not in ("", "."))
    if not parts or any(p == ".." for p in parts):
        return None
    return parts


def _kind(info: zipfile.ZipInfo) -> str:
    mode = info.external_attr >> 16
    if info.is_dir():
        return "dir"
    if mode and not (stat.S_ISREG(mode) or stat.S_IFMT(mode) == 0):
        return "link" if stat.S_ISLNK(mode) else "special"
    return "file"


def _copy_capped(source, target: Path, cap: int) -> int:
    written = 0
    with open(target, "xb") as out:
        while True:
            chunk = source.read(CHUNK)
            if not chunk:
                return written
            written += len(chunk)
            if written > cap:
                raise ArchiveTooLarge
            out.write(chunk)


def extract(archive: Path, dest: Path) -> list[Refused]:
    """Unpack `archive` into the empty folder `dest`; return the members that were refused, and why."""
    refused: list[Refused] = []
    total = 0
    with zipfile.ZipFile(archive) as zf:
        members = zf.infolist()
        if len(members) > limits.ARCHIVE_MAX_MEMBERS:
            refused += [Refused(m.filename, f"more than {limits.ARCHIVE_MAX_MEMBERS} files in the archive")
                        for m in members[limits.ARCHIVE_MAX_MEMBERS:]]
            members = members[: limits.ARCHIVE_MAX_MEMBERS]
        for info in members:
            parts = _safe_parts(info.filename)
            kind = _kind(info)
            if parts is None:
                refused.append(Refused(info.filename, "unsafe path in the archive (absolute or with ..)"))
                continue
            if kind in ("link", "special"):
                refused.append(Refused(info.filename, f"a {'link' if kind == 'link' else 'special file'} "
                                                      "in the archive (only plain files are taken)"))
                continue
            target = dest.joinpath(*parts)
            try:
                for parent in reversed(target.parents):
                    if parent == dest or dest not in parent.parents:
                        continue
                    if parent.is_symlink() or (parent.exists() and not parent.is_dir()):
                        raise FileExistsError(parent)
                    parent.mkdir(mode=0o755, exist_ok=True)
                if kind == "dir":
                    target.mkdir(mode=0o755, exist_ok=True)
                    continue
                cap = min(limits.ARCHIVE_MAX_MEMBER_BYTES, limits.ARCHIVE_MAX_TOTAL_BYTES - total)
                if info.file_size > cap:
                    raise ArchiveTooLarge
                with zf.open(info) as source:
                    total += _copy_capped(source, target, cap)
                os.chmod(target, 0o644)
            except ArchiveTooLarge:
                target.unlink(missing_ok=True)
                why = ("the export's total size cap" if cap < limits.ARCHIVE_MAX_MEMBER_BYTES else
                       f"the cap of {limits.ARCHIVE_MAX_MEMBER_BYTES // 2**20} MiB per file")
                refused.append(Refused(info.filename, f"larger than {why} once unpacked"))
            except FileExistsError:
                refused.append(Refused(info.filename, "clashes with another file of the archive"))
            except (zipfile.BadZipFile, NotImplementedError, OSError, EOFError, RuntimeError) as error:
                if target.is_file():
                    target.unlink()
                refused.append(Refused(info.filename, f"cannot be unpacked ({type(error).__name__})"))
    return refused

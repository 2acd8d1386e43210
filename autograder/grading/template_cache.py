"""The course template of one course version, built once per machine and copied into each OUT.

A template is what nbgrader's `generate_assignment` makes of the course source (the release
notebooks, and a gradebook of their graded cells) plus the course's formulas drawn for the
feedback pages. It depends only on the course source and the versions of nbgrader, matplotlib and
Python, so the first batch of a course version keeps a copy in the cache folder and later batches,
into any OUT, copy it instead of building it again (as nbgrader's own release is made once).

The cache folder is $GD_GRADING_CACHE, else $XDG_CACHE_HOME/gd-grading, else ~/.cache/gd-grading;
`GD_GRADING_CACHE=off` builds every time. A folder that another user owns or may write to is not
trusted: the batch builds its own template and says nothing (a gradebook from there could move points).
"""
from __future__ import annotations

import hashlib
import os
import shutil
import stat
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

from autograder.paths import assignments

PARTS = ("gradebook.db", "rendered-math", "release")   # what a cached template holds
KEEP = 8   # course versions kept


def cache_root() -> Path | None:
    """The cache folder, or None when caching is off."""
    chosen = os.environ.get("GD_GRADING_CACHE", "")
    if chosen.lower() == "off":
        return None
    if chosen:
        return Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gd-grading"


def cache_key(fingerprint: str) -> str:
    """The course source's fingerprint and every version the template depends on."""
    versions = f"{fingerprint}\0{version('nbgrader')}\0{version('matplotlib')}\0{sys.version_info[:2]}"
    return hashlib.sha256(versions.encode()).hexdigest()[:24]


def _trusted(folder: Path) -> bool:
    """Ours alone: a folder owned by this user and writable by no one else (`store` makes the files in
    an entry writable by their owner only)."""
    try:
        info = folder.lstat()
    except OSError:
        return False
    return (stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid()
            and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH))


def restore(fingerprint: str, template: Path, release: Path) -> bool:
    """Copy the cached template of this course version: its gradebook and formulas into `template`,
    its release notebooks into `release` (OUT/release). False if there is none to trust."""
    root = cache_root()
    if root is None:
        return False
    entry = root / cache_key(fingerprint)
    if not (_trusted(root) and _trusted(entry) and all((entry / part).exists() for part in PARTS)):
        return False
    try:
        shutil.copyfile(entry / "gradebook.db", template / "gradebook.db")
        shutil.copytree(entry / "rendered-math", template / "rendered-math", dirs_exist_ok=True)
        for assignment in (entry / "release").iterdir():
            shutil.rmtree(release / assignment.name, ignore_errors=True)
            shutil.copytree(assignment, release / assignment.name)
    except OSError:
        return False   # built instead (generate_assignment writes the release over what was copied)
    return True


def store(fingerprint: str, template: Path, release: Path) -> None:
    """Keep a built template for the next batches (whole or not at all; a failure only costs the cache)."""
    root = cache_root()
    if root is None:
        return
    entry = root / cache_key(fingerprint)
    try:
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not _trusted(root) or entry.exists():
            return
        building = Path(tempfile.mkdtemp(prefix="building-", dir=root))
        try:
            shutil.copyfile(template / "gradebook.db", building / "gradebook.db")
            shutil.copytree(template / "rendered-math", building / "rendered-math")
            for assignment_id in assignments():
                shutil.copytree(release / assignment_id, building / "release" / assignment_id)
            for folder, _, files in os.walk(building):
                os.chmod(folder, 0o755)
                for name in files:
                    os.chmod(os.path.join(folder, name), 0o644)
            os.rename(building, entry)   # complete or absent; another batch may have stored it first
        finally:
            shutil.rmtree(building, ignore_errors=True)
        _prune(root)
    except OSError:
        pass


def _prune(root: Path) -> None:
    """The KEEP most recently stored course versions stay (an edited course makes a new one each time);
    a half-stored entry of a batch that was killed goes after a day."""
    now = time.time()
    entries = []
    for path in root.iterdir():
        if path.name.startswith("building-"):
            if now - path.lstat().st_mtime > 86400:
                shutil.rmtree(path, ignore_errors=True)
        elif _trusted(path):
            entries.append(path)
    for old in sorted(entries, key=lambda path: path.lstat().st_mtime, reverse=True)[KEEP:]:
        shutil.rmtree(old, ignore_errors=True)

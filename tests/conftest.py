"""Shared test set-up: nbgrader needs this Python's bin/ (for `alembic`) on PATH."""
from __future__ import annotations

import os
import sys
from pathlib import Path

BIN = str(Path(sys.executable).parent)
if BIN not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = BIN + os.pathsep + os.environ.get("PATH", "")
os.environ.setdefault("MPLBACKEND", "Agg")

# The course templates the tests' batches build are kept in a cache folder of this run's own, not
# in the user's (autograder/grading/template_cache.py), and removed with it.
if not os.environ.get("GD_GRADING_CACHE"):
    import atexit
    import shutil
    import tempfile

    _CACHE = tempfile.mkdtemp(prefix="gd-grading-cache-")
    os.environ["GD_GRADING_CACHE"] = _CACHE
    atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)

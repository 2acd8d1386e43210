"""Shared test set-up: nbgrader needs this Python's bin/ (for `alembic`) on PATH."""
from __future__ import annotations

import os
import sys
from pathlib import Path

BIN = str(Path(sys.executable).parent)
if BIN not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = BIN + os.pathsep + os.environ.get("PATH", "")
os.environ.setdefault("MPLBACKEND", "Agg")

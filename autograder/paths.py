"""Where things live in the repository."""
from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent
SOURCE_DIR = PACKAGE_DIR / "source"          # nbgrader source notebooks: the one source of truth
STUDENT_KIT_DIR = PACKAGE_DIR / "student_kit"  # helper modules copied next to every chapter notebook
NBGRADER_CONFIG = PACKAGE_DIR / "nbgrader_config.py"
COURSE_DIR = REPO_ROOT / "course"            # generated: the student release
SOLUTIONS_DIR = REPO_ROOT / "solutions"      # generated: executed reference solutions


def assignments() -> list[str]:
    """Assignment ids, in chapter order."""
    return sorted(p.name for p in SOURCE_DIR.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


def notebooks(assignment_id: str) -> list[str]:
    """Notebook names (without .ipynb) of one assignment."""
    return sorted(p.stem for p in (SOURCE_DIR / assignment_id).glob("*.ipynb"))

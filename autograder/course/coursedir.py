"""A throwaway nbgrader course directory, staged from the source, and nbgrader's API on it."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from autograder.paths import NBGRADER_CONFIG, SOURCE_DIR, STUDENT_KIT_DIR, assignments

IGNORED = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "*.pyc")


def nbgrader_config(course_root: Path, db_url: str | None = None) -> Config:
    """The course's nbgrader config, pointed at `course_root` (and a gradebook URL, if given)."""
    config = PyFileConfigLoader(NBGRADER_CONFIG.name, path=str(NBGRADER_CONFIG.parent)).load_config()
    config.CourseDirectory.root = str(course_root)
    if db_url:
        config.CourseDirectory.db_url = db_url
    return config


def stage_source(course_root: Path) -> Path:
    """Copy every assignment's source, plus the student kit, into `course_root/source`,
    and the course's nbgrader_config.py into `course_root` (for plain `nbgrader` commands there)."""
    course_root.mkdir(parents=True, exist_ok=True)
    shutil.copy2(NBGRADER_CONFIG, course_root / NBGRADER_CONFIG.name)
    source = course_root / "source"
    for assignment_id in assignments():
        target = source / assignment_id
        shutil.copytree(SOURCE_DIR / assignment_id, target, ignore=IGNORED, dirs_exist_ok=True)
        copy_student_kit(target)
    return source


def copy_student_kit(folder: Path) -> None:
    for module in sorted(STUDENT_KIT_DIR.glob("*.py")):
        shutil.copy2(module, folder / module.name)


def ensure_alembic_on_path() -> None:
    """nbgrader shells out to `alembic` when it creates a gradebook: put this Python's bin/ first."""
    import sys

    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


def nbgrader_api(course_root: Path, db_url: str | None = None):
    """nbgrader's own API on a staged course directory."""
    ensure_alembic_on_path()
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    config = nbgrader_config(course_root, db_url)
    return NbGraderAPI(CourseDirectory(config=config), config=config)

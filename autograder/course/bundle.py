"""`python -m autograder bundle [--out PATH]`: the zip handed to students.

It holds the student release (course/: notebooks with exercise stubs, and their helper modules),
environment.yml, binder/environment.yml (the same environment, for Binder), requirements.txt
(the same packages for pip) and a README for students; nothing else: no solutions, no hidden tests, no grading code, no source notebooks.
Unpacked, it is the student-facing repository: push it to its own repository and point Binder at
that one, never at the instructor repository (which holds solutions/ and autograder/source/).
Run `python -m autograder build` first so course/ is current.
"""
from __future__ import annotations

import re
import sys
import tomllib
import zipfile
from pathlib import Path

from autograder.paths import COURSE_DIR, REPO_ROOT, STUDENT_KIT_DIR

TOP = "gradient-descent-course"            # the folder the zip unpacks to
README = STUDENT_KIT_DIR / "STUDENT_README.md"
ENVIRONMENT = REPO_ROOT / "environment.yml"
DEFAULT_OUT = REPO_ROOT / "out" / f"{TOP}.zip"
# Text that must never reach a student: solution and hidden-test markers, rubrics.
FORBIDDEN = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "HIDDEN TESTS", "Rubric")
SKIPPED_PARTS = ("__pycache__", ".ipynb_checkpoints")
ZIP_DATE = (2026, 1, 1, 0, 0, 0)            # fixed, so the same course gives the same zip


# Needed by the grader only, not by a student's JupyterLab (pip names, as in pyproject.toml).
GRADER_ONLY = {"tqdm", "psycopg2-binary", "jinja2", "psutil"}


class BundleError(RuntimeError):
    pass


def environment_yml() -> str:
    """The repository's environment.yml; without one, the same packages from pyproject.toml."""
    if ENVIRONMENT.exists():
        return ENVIRONMENT.read_text(encoding="utf-8")
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    python = re.sub(r"[^0-9.]", "", project["requires-python"].split(",")[0]) or "3.11"
    pip = "\n".join(f"      - {dep}" for dep in project["dependencies"])
    return (f"name: gradient-descent\nchannels:\n  - conda-forge\ndependencies:\n  - python={python}\n"
            f"  - pip\n  - pip:\n{pip}\n")


def requirements_txt() -> str:
    """The student's pip route: pyproject.toml's dependencies (pip names, torch pinned), grader-only ones left out."""
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    keep = [dep for dep in project["dependencies"]
            if re.split(r"[<>=!~\[ ;]", dep, maxsplit=1)[0].lower() not in GRADER_ONLY]
    return ("# pip install -r requirements.txt   (Python 3.11, in a virtual environment)\n"
            + "\n".join(keep) + "\n")


def environment_name(text: str) -> str:
    match = re.search(r"^name:\s*(\S+)", text, flags=re.MULTILINE)
    return match.group(1) if match else "gradient-descent"


def contents() -> dict[str, bytes]:
    """Archive name -> bytes, in a stable order."""
    if not COURSE_DIR.is_dir() or not any(COURSE_DIR.glob("*/*.ipynb")):
        raise BundleError(f"{COURSE_DIR} has no notebooks: run `python -m autograder build` first")
    env = environment_yml()
    files = {
        f"{TOP}/README.md": README.read_text(encoding="utf-8").replace("<ENV_NAME>", environment_name(env)).encode(),
        f"{TOP}/environment.yml": env.encode(),
        f"{TOP}/binder/environment.yml": env.encode(),  # what Binder (repo2docker) builds
        f"{TOP}/requirements.txt": requirements_txt().encode(),
    }
    for path in sorted(COURSE_DIR.rglob("*")):
        rel = path.relative_to(COURSE_DIR)
        if path.is_file() and not any(part in SKIPPED_PARTS for part in rel.parts) and path.suffix != ".pyc":
            files[f"{TOP}/course/{rel.as_posix()}"] = path.read_bytes()
    for name, data in files.items():
        text = data.decode("utf-8", errors="replace")
        for marker in FORBIDDEN:
            if marker in text:
                raise BundleError(f"{name} contains {marker!r}: it must not reach students")
    return files


def write_bundle(out: Path) -> list[str]:
    files = contents()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    tmp.replace(out)
    return list(files)


def main(*, out: Path = DEFAULT_OUT) -> int:
    try:
        names = write_bundle(out)
    except BundleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {out} ({len(names)} files):")
    for name in names:
        print(f"  {name}")
    return 0

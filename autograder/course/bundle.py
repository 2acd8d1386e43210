"""`python -m autograder bundle [--out PATH]`: the zip handed to students.

It holds the student release (course/: notebooks with exercise stubs, and their helper modules),
check.py (`python check.py NOTEBOOK`: autograder/course/check.py, with the notebook_run.py and
kernel_client.py it uses),
environment.yml, binder/environment.yml (the same environment, for Binder), requirements.txt
(the same packages for pip) and a README for students whose chapter list is made from course/;
nothing else: no solutions, no hidden tests, no grading code, no source notebooks. The environment
holds only what students use (STUDENT_PACKAGES), never the grader's database, reports or cluster.
Unpacked, it is the student-facing repository: push it to its own repository and point Binder at
that one, never at the instructor repository (which holds solutions/ and autograder/source/).
Run `python -m autograder build` first so course/ is current.
"""
from __future__ import annotations

import json
import re
import sys
import tomllib
import zipfile
from pathlib import Path

from autograder.limits import CHECK_CELL_TIMEOUT
from autograder.paths import COURSE_DIR, PACKAGE_DIR, REPO_ROOT, STUDENT_KIT_DIR

TOP = "gradient-descent-course"            # the folder the zip unpacks to
README = STUDENT_KIT_DIR / "STUDENT_README.md"
# `python check.py NOTEBOOK` in the zip: the instructor's own check, how it runs a notebook, and its kernel client
CHECK_FILES = {"check.py": PACKAGE_DIR / "course" / "check.py",
               "notebook_run.py": PACKAGE_DIR / "course" / "notebook_run.py",
               "kernel_client.py": PACKAGE_DIR / "kernel_client.py"}
ENVIRONMENT = REPO_ROOT / "environment.yml"
DEFAULT_OUT = REPO_ROOT / "out" / f"{TOP}.zip"
# Text that must never reach a student: solution and hidden-test markers, rubrics.
FORBIDDEN = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "HIDDEN TESTS", "Rubric")
SKIPPED_PARTS = ("__pycache__", ".ipynb_checkpoints")
ZIP_DATE = (2026, 1, 1, 0, 0, 0)            # fixed, so the same course gives the same zip


# What students use (pip names, as in pyproject.toml): the notebooks import numpy, matplotlib, torch,
# ipywidgets and scikit-learn (chapter 8's digits); JupyterLab runs them; nbgrader gives the Validate
# button, `nbgrader validate` and check.py (which also needs nbclient, jupyter_client and pyzmq:
# JupyterLab and nbgrader bring them). Every other dependency of pyproject.toml is the instructor's
# (gradebook database, reports, Dask cluster) and stays out.
STUDENT_PACKAGES = ("jupyterlab", "nbgrader", "matplotlib", "numpy", "torch", "ipywidgets", "scikit-learn")
CONDA_NAMES = {"torch": "pytorch"}  # pip name -> conda-forge name, where they differ
NUMBER_WORDS = ("no", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine", "Ten", "Eleven",
                "Twelve")


class BundleError(RuntimeError):
    pass


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement.strip(), maxsplit=1)[0].lower()


def _project() -> dict:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def student_requirements() -> list[str]:
    """pyproject.toml's dependencies that students use, as written there (torch pinned)."""
    keep = [dep for dep in _project()["dependencies"] if _name(dep) in STUDENT_PACKAGES]
    missing = set(STUDENT_PACKAGES) - {_name(dep) for dep in keep}
    if missing:
        raise BundleError(f"pyproject.toml does not list {', '.join(sorted(missing))}, which students need")
    return keep


def environment_yml() -> str:
    """The students' conda environment: the repository's environment.yml (same name, same versions)
    without the instructor's packages; without an environment.yml, the same from pyproject.toml."""
    wanted = {"python", "pip", *(CONDA_NAMES.get(name, name) for name in STUDENT_PACKAGES)}
    if ENVIRONMENT.exists():
        kept = ["# conda-forge / Binder environment for the course notebooks (the packages students use)."]
        section = ""
        for line in ENVIRONMENT.read_text(encoding="utf-8").splitlines():
            section = line.split(":")[0] if re.match(r"[A-Za-z]", line) else section
            item = re.match(r"\s*-\s*([A-Za-z0-9_.-]+)", line)
            if line.lstrip().startswith("#") or (section == "dependencies" and item
                                                  and item.group(1).lower() not in wanted):
                continue
            kept.append(line)
        return "\n".join(kept) + "\n"
    python = re.sub(r"[^0-9.]", "", _project()["requires-python"].split(",")[0]) or "3.11"
    pip = "\n".join(f"      - {dep}" for dep in student_requirements())
    return (f"name: gradient-descent\nchannels:\n  - conda-forge\ndependencies:\n  - python={python}\n"
            f"  - pip\n  - pip:\n{pip}\n")


def requirements_txt() -> str:
    """The student's pip route: the packages students use, as pyproject.toml gives them (torch pinned)."""
    return ("# pip install -r requirements.txt   (Python 3.11, in a virtual environment)\n"
            + "\n".join(student_requirements()) + "\n")


def chapters() -> list[tuple[str, str, str]]:
    """(folder, notebook, title) of every chapter in course/, in order: the title is the notebook's
    first heading, without its "Chapter N ·"."""
    found = []
    for folder in sorted(p for p in COURSE_DIR.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
        for notebook in sorted(folder.glob("*.ipynb")):
            nb = json.loads(notebook.read_text(encoding="utf-8"))
            text = "\n".join("".join(c.get("source", "")) for c in nb.get("cells", [])
                             if c.get("cell_type") == "markdown")
            heading = re.search(r"^#\s+(.+)$", text, flags=re.MULTILINE)
            title = re.sub(r"^Chapter\s+\d+\s*[·:.-]\s*", "", heading.group(1).strip()) if heading else notebook.stem
            found.append((folder.name, notebook.name, title))
    return found


def readme(env_name: str) -> str:
    """The student README, its chapter table and count made from course/ (so it lists what the zip holds)."""
    found = chapters()
    folders = len({folder for folder, _, _ in found})
    count = NUMBER_WORDS[folders] if folders < len(NUMBER_WORDS) else str(folders)
    table = "\n".join(["| Folder | Notebook | Chapter |", "|---|---|---|"]
                      + [f"| `course/{folder}/` | `{notebook}` | {title} |" for folder, notebook, title in found])
    return (README.read_text(encoding="utf-8").replace("<ENV_NAME>", env_name)
            .replace("<CHAPTER_COUNT>", count).replace("<CHAPTERS>", table)
            .replace("<CHECK_TIMEOUT>", str(CHECK_CELL_TIMEOUT)))


def check_file(path: Path) -> bytes:
    """A file of `python check.py`, with the course's cell timeout written in where it is asked for
    (check.py runs in the zip without autograder/limits.py)."""
    data = path.read_bytes()
    if path.name == "check.py" and b"<CHECK_TIMEOUT>" not in data:
        raise BundleError(f"{path} no longer asks for the course's cell timeout (<CHECK_TIMEOUT>)")
    return data.replace(b"<CHECK_TIMEOUT>", str(CHECK_CELL_TIMEOUT).encode())


def environment_name(text: str) -> str:
    match = re.search(r"^name:\s*(\S+)", text, flags=re.MULTILINE)
    return match.group(1) if match else "gradient-descent"


def contents() -> dict[str, bytes]:
    """Archive name -> bytes, in a stable order."""
    if not COURSE_DIR.is_dir() or not any(COURSE_DIR.glob("*/*.ipynb")):
        raise BundleError(f"{COURSE_DIR} has no notebooks: run `python -m autograder build` first")
    env = environment_yml()
    files = {
        f"{TOP}/README.md": readme(environment_name(env)).encode(),
        f"{TOP}/environment.yml": env.encode(),
        f"{TOP}/binder/environment.yml": env.encode(),  # what Binder (repo2docker) builds
        f"{TOP}/requirements.txt": requirements_txt().encode(),
        **{f"{TOP}/{name}": check_file(path) for name, path in CHECK_FILES.items()},
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

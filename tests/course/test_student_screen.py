"""What a student sees: a failing check in one short block (in JupyterLab's kernel and in nbgrader's
Validate), the full traceback on request, a clear word for a notebook moved away from its helpers,
the README's commands working as written, and a pip route in the bundle."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from importlib.metadata import version
from pathlib import Path

import nbformat
import pytest
from packaging.requirements import Requirement

from autograder.course.bundle import TOP, requirements_txt
from autograder.paths import COURSE_DIR, REPO_ROOT
from support import synthetic

CH2, NB2 = "ch2_implement", "gradient_descent"
UPHILL = next(w for w in synthetic.WRONG_ANSWERS if w.assignment_id == CH2 and w.says == "uphill")
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _chapter_copy(tmp: Path, nb) -> Path:
    folder = shutil.copytree(COURSE_DIR / CH2, tmp / CH2)
    return synthetic.write(nb, Path(folder) / f"{NB2}.ipynb")


@pytest.fixture(scope="module")
def uphill(tmp_path_factory) -> Path:
    return _chapter_copy(tmp_path_factory.mktemp("screen"), synthetic.solved(CH2, NB2, **{UPHILL.cell_id:
                                                                                             UPHILL.source}))


@pytest.fixture(scope="module")
def executed(uphill: Path):
    """The notebook run in a real kernel, as JupyterLab runs it, plus a cell asking for the full traceback."""
    from nbclient import NotebookClient

    nb = nbformat.read(uphill, as_version=4)
    failing = next(i for i, c in enumerate(nb.cells)
                   if c.metadata.get("nbgrader", {}).get("grade_id") == "test_single_step_gradient_descent")
    nb.cells.insert(failing + 1, nbformat.v4.new_code_cell("from course_kit import full_traceback\nfull_traceback()"))
    NotebookClient(nb, timeout=120, allow_errors=True, kernel_name="python3",
                   resources={"metadata": {"path": str(uphill.parent)}}).execute()
    return nb.cells[failing], nb.cells[failing + 1]


def test_failing_check_is_one_short_block_in_plain_words(executed):
    cell, _ = executed
    (error,) = [o for o in cell.outputs if o.output_type == "error"]
    assert error.ename == "CheckFailed"
    shown = [ANSI.sub("", line) for line in error.traceback]
    text = "\n".join(shown)
    assert len(text.splitlines()) <= 6 and all(len(line) <= 83 for line in text.splitlines()), text
    assert "single_step_gradient_descent(1.0, 0.1) returned" in text and "expected" in text
    assert "uphill" in text
    assert "checks.py" not in text and "course_kit.py" not in text and "Traceback" not in text


def test_full_traceback_is_one_call_away(executed):
    _, cell = executed
    printed = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
    assert "Traceback (most recent call last)" in printed and "checks.py" in printed, printed


def test_validate_shows_the_same_short_text(uphill: Path):
    result = subprocess.run([str(Path(sys.executable).parent / "nbgrader"), "validate", str(uphill)],
                            capture_output=True, text=True, timeout=300, cwd=uphill.parent,
                            env={**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"})
    text = ANSI.sub("", result.stdout + result.stderr)
    assert "uphill" in text and "full_traceback()" in text, text
    assert "course_kit.py" not in text and "in run_check" not in text and "..." not in text, text


def test_notebook_moved_away_from_its_helpers_is_told_so(tmp_path: Path):
    moved = synthetic.write(synthetic.solved(CH2, NB2), tmp_path / "Downloads" / f"{NB2}.ipynb")
    result = subprocess.run([sys.executable, "-m", "autograder", "check", str(moved)], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2
    assert "checks.py" in result.stderr and "missing next to the notebook" in result.stderr, result.stderr
    assert "NameError" not in result.stdout + result.stderr


def test_readme_student_command_works_without_an_active_venv(tmp_path: Path):
    readme = (REPO_ROOT / "README.md").read_text()
    commands = re.findall(r"^make check NB=(\S+)", readme, re.M)
    assert commands, "the README tells students `make check NB=...`"
    bare = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    bare["PATH"] = "/usr/local/bin:/usr/bin:/bin"  # a fresh shell: the venv is not active
    result = subprocess.run(["make", "-s", "check", f"NB={commands[0]}"], cwd=REPO_ROOT, env=bare,
                            capture_output=True, text=True, timeout=300)
    assert "No module named" not in result.stderr, result.stderr
    assert re.search(r"autograded tests passed", result.stdout), result.stdout + result.stderr


def test_bundle_has_a_pip_route_with_pip_names_and_the_torch_pin(tmp_path: Path):
    out = tmp_path / "students.zip"
    subprocess.run([sys.executable, "-m", "autograder", "bundle", "--out", str(out)], check=True,
                   capture_output=True, timeout=120)
    with zipfile.ZipFile(out) as archive:
        requirements = archive.read(f"{TOP}/requirements.txt").decode()
        readme = archive.read(f"{TOP}/README.md").decode()
    assert requirements == requirements_txt()
    assert "pip install -r requirements.txt" in readme and "conda env create -f environment.yml" in readme
    wanted = [Requirement(line) for line in requirements.splitlines() if line and not line.startswith("#")]
    pins = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert "torch==2.13.0" in pins and any(str(r) == "torch==2.13.0" for r in wanted)
    for requirement in wanted:  # pip names: the very names pip installed into this environment
        assert requirement.specifier.contains(version(requirement.name), prereleases=True), requirement

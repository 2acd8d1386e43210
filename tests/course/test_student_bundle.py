"""`python -m autograder bundle`: the student zip holds the release and nothing that gives answers away."""
from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder.course.bundle import TOP
from autograder.limits import CHECK_CELL_TIMEOUT
from autograder.paths import COURSE_DIR, REPO_ROOT, assignments, notebooks

FORBIDDEN = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "HIDDEN TESTS",
             "Rubric", "_rng.uniform", "GD_GRADING_SEED", "nbgrader_config", "theta - learning_rate * gradient")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "students.zip"
    result = subprocess.run([sys.executable, "-m", "autograder", "bundle", "--out", str(out)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert str(out) in result.stdout
    return out


def names(bundle: Path) -> list[str]:
    with zipfile.ZipFile(bundle) as archive:
        return archive.namelist()


def test_lists_exactly_the_student_files(bundle: Path) -> None:
    expected = {f"{TOP}/README.md", f"{TOP}/environment.yml", f"{TOP}/binder/environment.yml",
                f"{TOP}/requirements.txt", f"{TOP}/check.py", f"{TOP}/notebook_run.py", f"{TOP}/kernel_client.py"}
    for aid in assignments():
        for nb in notebooks(aid):
            expected.add(f"{TOP}/course/{aid}/{nb}.ipynb")
        for module in ("checks.py", "figures.py", "course_kit.py"):
            expected.add(f"{TOP}/course/{aid}/{module}")
    assert set(names(bundle)) == expected
    assert len(names(bundle)) == len(expected), "a file is in the zip twice"


def test_no_solutions_sources_or_grading_code(bundle: Path) -> None:
    for name in names(bundle):
        parts = name.split("/")
        assert parts[0] == TOP
        assert not {"solutions", "source", "autograder", "tests", "release", "submitted", "autograded",
                    "feedback", "__pycache__", ".ipynb_checkpoints"} & set(parts[1:]), name
        assert not name.endswith((".pyc", ".db", ".log")), name


def test_no_file_gives_answers_away(bundle: Path) -> None:
    with zipfile.ZipFile(bundle) as archive:
        for name in archive.namelist():
            text = archive.read(name).decode("utf-8")
            for marker in FORBIDDEN:
                assert marker not in text, f"{marker!r} in {name}"


def test_notebooks_are_the_release_with_stubs(bundle: Path) -> None:
    with zipfile.ZipFile(bundle) as archive:
        for aid in assignments():
            for nb in notebooks(aid):
                packed = archive.read(f"{TOP}/course/{aid}/{nb}.ipynb")
                assert packed == (COURSE_DIR / aid / f"{nb}.ipynb").read_bytes()
                assert b"raise NotImplementedError()" in packed
                assert b"YOUR CODE HERE" in packed


def test_readme_and_environment(bundle: Path) -> None:
    with zipfile.ZipFile(bundle) as archive:
        readme = archive.read(f"{TOP}/README.md").decode()
        env = archive.read(f"{TOP}/environment.yml").decode()
    assert "<ENV_NAME>" not in readme
    for words in ("jupyter lab", "raise NotImplementedError()", "Validate", "nbgrader validate"):
        assert words in readme
    for package in ("jupyterlab", "nbgrader", "matplotlib", "torch", "ipywidgets"):
        assert package in env
    assert env.startswith("name:") or "\nname:" in env


def test_binder_builds_the_student_repository_not_the_instructor_one(bundle: Path) -> None:
    """Unpacked, the zip is a repository Binder (repo2docker) can build: binder/ holds the environment."""
    with zipfile.ZipFile(bundle) as archive:
        binder = archive.read(f"{TOP}/binder/environment.yml").decode()
        readme = archive.read(f"{TOP}/README.md").decode()
        env = archive.read(f"{TOP}/environment.yml").decode()
    assert binder == env
    assert "binder/environment.yml" in readme and "Binder" in readme
    instructor_readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert "never this repository" in instructor_readme and "binder/environment.yml" in instructor_readme


def test_same_course_gives_the_same_zip(bundle: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.zip"
    subprocess.run([sys.executable, "-m", "autograder", "bundle", "--out", str(again)],
                   check=True, capture_output=True, timeout=120)
    assert again.read_bytes() == bundle.read_bytes()


# The zip is the student's whole world: what its README names is in it, and it installs what students use.
STUDENT_PACKAGES = {"jupyterlab", "nbgrader", "matplotlib", "numpy", "torch", "ipywidgets", "scikit-learn"}
INSTRUCTOR_ONLY = {"distributed", "dask", "dask-jobqueue", "psycopg2-binary", "psycopg2", "tqdm", "jinja2", "psutil"}
# runs a file of the unpacked zip as `python FILE ARGS...` would, with the instructor's package out of reach
WITHOUT_AUTOGRADER = ("import runpy, sys; sys.modules['autograder'] = None; sys.argv = sys.argv[1:]; "
                      "sys.path.insert(0, '.'); runpy.run_path(sys.argv[0], run_name='__main__')")


@pytest.fixture(scope="module")
def unpacked(bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("unpacked")
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(where)
    return where / TOP


def readme_commands(top: Path) -> list[str]:
    text = (top / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```[a-z]*\n(.*?)```", text, re.S)
    return [line.split("#")[0].strip() for block in blocks for line in block.splitlines() if line.split("#")[0].strip()]


def run_in_zip(top: Path, command: str, timeout: float = 240) -> subprocess.CompletedProcess:
    """`python FILE ARGS...` from the README, run in the unpacked zip by this Python, no autograder package."""
    program, *args = shlex.split(command)
    assert program in ("python", "python3"), command
    return subprocess.run([sys.executable, "-c", WITHOUT_AUTOGRADER, *args], cwd=top, capture_output=True,
                          text=True, timeout=timeout)


def test_readme_lists_every_chapter(unpacked: Path) -> None:
    readme = (unpacked / "README.md").read_text(encoding="utf-8")
    rows = [line for line in readme.splitlines() if line.startswith("| `course/")]
    chapters = [(aid, nb) for aid in assignments() for nb in notebooks(aid)]
    assert len(rows) == len(chapters), rows
    for (aid, nb), row in zip(chapters, rows):
        assert f"`course/{aid}/`" in row and f"`{nb}.ipynb`" in row, row
        title = json.loads((COURSE_DIR / aid / f"{nb}.ipynb").read_text())["cells"][0]["source"]
        title = "".join(title).splitlines()[0].split("·", 1)[-1].strip()
        assert title in row, row
    words = {4: "Four", 5: "Five", 6: "Six", 7: "Seven", 8: "Eight", 9: "Nine"}
    assert f"{words.get(len(assignments()), len(assignments()))} short chapters" in readme
    assert "<CHAPTER" not in readme


def test_readme_names_only_what_the_zip_holds(unpacked: Path) -> None:
    commands = readme_commands(unpacked)
    assert any(c.startswith("python check.py ") for c in commands), commands
    for command in commands:
        words = shlex.split(command)
        assert words[0] in ("conda", "python3.11", ".", "pip", "jupyter", "nbgrader", "python"), command
        for word in words[1:]:
            if "/" in word or word.endswith((".py", ".yml", ".txt", ".ipynb")):
                assert (unpacked / word).exists() or word.startswith((".venv", "-")), f"{command}: no {word}"
    readme = (unpacked / "README.md").read_text(encoding="utf-8")
    assert "make " not in readme and "autograder" not in readme


def test_the_check_command_of_the_readme_works_in_the_zip(unpacked: Path) -> None:
    (command,) = [c for c in readme_commands(unpacked) if c.startswith("python check.py ")]
    result = run_in_zip(unpacked, command)
    # the release notebook: every exercise still a stub
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines and all(line.endswith((": not attempted", ": not answered")) for line in lines[:-1]), result.stdout
    assert re.fullmatch(r"0 of \d+ autograded tests passed .*", lines[-1]), lines[-1]
    assert "running cell" in result.stderr


def test_the_zip_check_has_the_course_timeout(unpacked: Path) -> None:
    result = run_in_zip(unpacked, "python check.py --help", timeout=60)
    assert result.returncode == 0, result.stderr
    assert f"(default: {CHECK_CELL_TIMEOUT})" in result.stdout


def test_installs_only_what_students_use(unpacked: Path) -> None:
    requirements = [line.strip() for line in (unpacked / "requirements.txt").read_text().splitlines()
                    if line.strip() and not line.startswith("#")]
    names = {re.split(r"[<>=!~\[ ;]", r, maxsplit=1)[0].lower() for r in requirements}
    assert names == STUDENT_PACKAGES, names
    assert "torch==2.13.0" in requirements
    for env_file in ("environment.yml", "binder/environment.yml"):
        deps = re.findall(r"^\s+-\s+([A-Za-z0-9_.-]+)", (unpacked / env_file).read_text().split("dependencies:")[1],
                          re.M)
        assert set(deps) == {"python", "pytorch"} | STUDENT_PACKAGES - {"torch"}, (env_file, deps)
        assert not INSTRUCTOR_ONLY & set(deps)
        assert "pytorch=2.13.0" in (unpacked / env_file).read_text()
    assert not INSTRUCTOR_ONLY & names

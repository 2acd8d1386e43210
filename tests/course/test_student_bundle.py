"""`python -m autograder bundle`: the student zip holds the release and nothing that gives answers away."""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder.course.bundle import TOP
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
                f"{TOP}/requirements.txt"}
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
    assert binder == (REPO_ROOT / "environment.yml").read_text(encoding="utf-8")
    assert "binder/environment.yml" in readme and "Binder" in readme
    instructor_readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert "never this repository" in instructor_readme and "binder/environment.yml" in instructor_readme


def test_same_course_gives_the_same_zip(bundle: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.zip"
    subprocess.run([sys.executable, "-m", "autograder", "bundle", "--out", str(again)],
                   check=True, capture_output=True, timeout=120)
    assert again.read_bytes() == bundle.read_bytes()

"""One source of truth: course/ and solutions/ are what the build makes from autograder/source."""
from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

from autograder.course.build import build_into, differences
from autograder.paths import COURSE_DIR, SOLUTIONS_DIR


@pytest.fixture(scope="module")
def fresh_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return build_into(tmp_path_factory.mktemp("build"))


def test_committed_release_matches_the_source(fresh_build: tuple[Path, Path]) -> None:
    release, _ = fresh_build
    assert differences(release, COURSE_DIR) == [], "run `python -m autograder build` and commit"


def test_committed_solutions_match_the_source(fresh_build: tuple[Path, Path]) -> None:
    _, solutions = fresh_build
    assert differences(solutions, SOLUTIONS_DIR) == [], "run `python -m autograder build` and commit"


def test_drift_is_detected(fresh_build: tuple[Path, Path], tmp_path: Path) -> None:
    release, solutions = fresh_build
    course_copy = shutil.copytree(COURSE_DIR, tmp_path / "course")
    edited = course_copy / "ch2_implement" / "gradient_descent.ipynb"
    nb = nbformat.read(edited, as_version=4)
    nb.cells[0].source += "\nedited by hand"
    nbformat.write(nb, edited)
    (course_copy / "ch1_the_idea" / "stray.py").write_text("x = 1\n")
    assert differences(release, course_copy) == ["ch2_implement/gradient_descent.ipynb", "ch1_the_idea/stray.py (stale)"]

    solutions_copy = shutil.copytree(SOLUTIONS_DIR, tmp_path / "solutions")
    edited = solutions_copy / "ch3_pytorch_slope" / "pytorch_slope.ipynb"
    nb = nbformat.read(edited, as_version=4)
    printing = next(c for c in nb.cells if any(o.get("name") == "stdout" and "f(-3.0)" in o.get("text", "")
                                               for o in c.get("outputs", [])))
    stdout = next(o for o in printing.outputs if o.get("name") == "stdout")
    stdout.text = stdout.text.replace("f(-3.0) = 1.5e+01", "f(-3.0) = 15.0")
    nbformat.write(nb, edited)
    assert differences(solutions, solutions_copy) == ["ch3_pytorch_slope/pytorch_slope.ipynb"]


def test_release_has_stubs_and_no_answers() -> None:
    release = {p.relative_to(COURSE_DIR).as_posix(): p.read_text() for p in COURSE_DIR.rglob("*.ipynb")}
    stubs = "\n".join(release.values())
    assert "def single_step_gradient_descent(theta, learning_rate)" in stubs
    assert "def gradient_descent(initial_theta, learning_rate, number_steps)" in stubs
    assert stubs.count("raise NotImplementedError()") >= 8
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS", "Rubric", "theta - learning_rate * gradient"):
        assert marker not in stubs


def test_solutions_are_executed_without_errors_or_hidden_tests() -> None:
    for path in SOLUTIONS_DIR.rglob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert code and all(c.execution_count for c in code), f"{path} is not fully executed"
        assert not any(o.output_type == "error" for c in code for o in c.outputs), path
        text = path.read_text()
        for marker in ("BEGIN SOLUTION", "HIDDEN TESTS", "_rng.uniform", "NotImplementedError()"):
            assert marker not in text, f"{marker} in {path}"
        assert any("image/png" in o.get("data", {}) for c in code for o in c.outputs), f"no figure in {path}"

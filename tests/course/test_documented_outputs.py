"""The executed reference solutions reproduce every documented output of the source texts."""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from autograder.paths import REPO_ROOT, SOLUTIONS_DIR, assignments
from autograder.verdict.exercises import documented_outputs

# (seed file, notebook under solutions/, lines), from each chapter's autograder/verdict/exercises/<chapter>.py
DOCUMENTED = [(d.seed_file, f"{aid}/{d.notebook}.ipynb", d.lines) for aid, d in documented_outputs()]

SEEDS = REPO_ROOT.parent / "shared" / "seeds"


def printed_lines(nb: nbformat.NotebookNode) -> list[str]:
    """Every line the notebook shows: stdout streams, plus markdown cell text."""
    lines: list[str] = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            lines += cell.source.splitlines()
        for out in cell.get("outputs", []):
            if out.output_type == "stream" and out.name == "stdout":
                lines += out.text.splitlines()
    return lines


def in_order(expected: list[str], lines: list[str]) -> bool:
    position = 0
    for line in lines:
        if position < len(expected) and line.strip() == expected[position]:
            position += 1
    return position == len(expected)


@pytest.mark.parametrize("seed,notebook,expected", DOCUMENTED, ids=[d[1] for d in DOCUMENTED])
def test_solution_prints_documented_lines_in_order(seed: str, notebook: str, expected: list[str]) -> None:
    nb = nbformat.read(SOLUTIONS_DIR / notebook, as_version=4)
    assert in_order(expected, printed_lines(nb)), f"{notebook} does not show {expected} in order"


@pytest.mark.parametrize("seed,notebook,expected", DOCUMENTED, ids=[d[0] or d[1] for d in DOCUMENTED])
def test_spec_lines_stand_in_the_seed(seed: str | None, notebook: str, expected: list[str]) -> None:
    if seed is None:
        pytest.skip(f"{notebook}: the course's own claim, not from a source text")
    if not SEEDS.is_dir():
        pytest.skip(f"source texts not found at {SEEDS}")
    text = (SEEDS / seed).read_text(encoding="utf-8")
    lines = [line.strip().lstrip("#").strip() for line in text.splitlines()]
    flat = " ".join(text.split())
    for line in expected:
        assert line in lines or line in flat, f"{line!r} is not in {seed}"


def test_every_chapter_documents_its_outputs() -> None:
    assert {notebook.split("/")[0] for _, notebook, _ in DOCUMENTED} == set(assignments())


def test_in_order_can_fail() -> None:
    assert not in_order(["a", "b"], ["b", "a"])
    assert in_order(["a", "b"], ["x", "a", "y", "b"])

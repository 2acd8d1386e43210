"""Release audit: what students get holds no solution, no hidden test and no rubric.

Works from the files themselves (every source notebook, every file of course/ and solutions/),
so new chapters are audited without changing this test.

A line of a solution region (or hidden-test region) counts as *distinctive* unless the instructor's
own non-secret material has it too (the notebook's other cells, the helper modules shipped to
students): `w = w - eta * grad(w)` in a helper module is teaching, not a leak.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from autograder.paths import COURSE_DIR, SOLUTIONS_DIR, SOURCE_DIR, STUDENT_KIT_DIR

MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "HIDDEN TESTS")
SOLUTION = ("### BEGIN SOLUTION", "### END SOLUTION")
HIDDEN = ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")


def _source_text(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _norm(line: str) -> str:
    return line.strip()


def _meaningful(line: str) -> bool:
    return bool(line) and not line.startswith("#")


def split_regions(text: str, markers: tuple[str, str]) -> tuple[list[list[str]], list[str]]:
    """(the regions between the markers, as lists of lines; the lines outside them)."""
    begin, end = markers
    regions: list[list[str]] = []
    outside: list[str] = []
    current: list[str] | None = None
    for raw in text.split("\n"):
        line = _norm(raw)
        if line == begin:
            current = []
            continue
        if line == end and current is not None:
            regions.append(current)
            current = None
            continue
        (current if current is not None else outside).append(line)
    return regions, outside


class SourceSecrets:
    """Solution lines, hidden-test lines and rubric/markdown answers of every source notebook."""

    def __init__(self, source_dir: Path = SOURCE_DIR, kit_dir: Path = STUDENT_KIT_DIR) -> None:
        self.solution_lines: dict[str, str] = {}   # line -> where it comes from
        self.hidden_lines: dict[str, str] = {}
        self.solution_blocks: list[tuple[str, list[str]]] = []
        self.hidden_blocks: list[tuple[str, list[str]]] = []
        self.markdown_answers: list[tuple[str, list[str]]] = []
        public: set[str] = set()
        for helper in list(source_dir.rglob("*.py")) + list(kit_dir.glob("*.py")):
            public |= {_norm(line) for line in helper.read_text().split("\n")}
        solution_candidates: list[tuple[str, str]] = []
        hidden_candidates: list[tuple[str, str]] = []
        self.notebooks = sorted(source_dir.rglob("*.ipynb"))
        for nb_path in self.notebooks:
            where = str(nb_path.relative_to(source_dir))
            nb = json.loads(nb_path.read_text())
            for cell in nb["cells"]:
                text = _source_text(cell)
                meta = cell.get("metadata", {}).get("nbgrader", {})
                gid = meta.get("grade_id", "?")
                if cell.get("cell_type") == "markdown" and meta.get("solution"):
                    # A manually graded answer: the whole model answer (and rubric) is secret.
                    lines = [_norm(line) for line in text.split("\n") if len(_norm(line)) > 20]
                    self.markdown_answers.append((f"{where}:{gid}", lines))
                    continue
                sol_regions, rest = split_regions(text, SOLUTION)
                hid_regions, rest = split_regions("\n".join(rest), HIDDEN)
                public |= set(rest)
                for region in sol_regions:
                    block = [line for line in region if _meaningful(line)]
                    self.solution_blocks.append((f"{where}:{gid}", block))
                    solution_candidates += [(line, f"{where}:{gid}") for line in block]
                for region in hid_regions:
                    block = [line for line in region if _meaningful(line)]
                    self.hidden_blocks.append((f"{where}:{gid}", block))
                    hidden_candidates += [(line, f"{where}:{gid}") for line in block]
        self.solution_lines = {line: w for line, w in solution_candidates if line not in public}
        self.hidden_lines = {line: w for line, w in hidden_candidates if line not in public}


def released_texts(folder: Path) -> dict[str, list[str]]:
    """Every text a student sees in `folder`: notebook cell sources and outputs, and other files."""
    texts: dict[str, list[str]] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = str(path.relative_to(folder))
        if path.suffix == ".ipynb":
            nb = json.loads(path.read_text())
            for i, cell in enumerate(nb["cells"]):
                chunks = [_source_text(cell)]
                for out in cell.get("outputs", []):
                    for value in [out.get("text", "")] + list(out.get("data", {}).values()):
                        chunks.append("".join(value) if isinstance(value, list) else str(value))
                texts[f"{rel}[cell {i}]"] = "\n".join(chunks).split("\n")
            texts[f"{rel}[metadata]"] = json.dumps(nb.get("metadata", {})).split("\n")
        else:
            try:
                texts[rel] = path.read_text().split("\n")
            except UnicodeDecodeError:
                texts[rel] = path.read_bytes().decode("latin-1").split("\n")
    return texts


def _contains_block(lines: list[str], block: list[str]) -> bool:
    meaningful = [_norm(line) for line in lines if _meaningful(_norm(line))]
    n = len(block)
    return n > 0 and any(meaningful[i:i + n] == block for i in range(len(meaningful) - n + 1))


def audit_release(course_dir: Path, secrets: SourceSecrets) -> list[str]:
    problems = []
    for where, lines in released_texts(course_dir).items():
        normalized = {_norm(line) for line in lines}
        joined = "\n".join(lines)
        for marker in MARKERS:
            if marker in joined:
                problems.append(f"{where}: marker {marker!r}")
        if "rubric" in joined.lower():
            problems.append(f"{where}: a rubric")
        for line in normalized:
            if line in secrets.solution_lines:
                problems.append(f"{where}: solution line {line!r} (from {secrets.solution_lines[line]})")
            if line in secrets.hidden_lines:
                problems.append(f"{where}: hidden-test line {line!r} (from {secrets.hidden_lines[line]})")
        for origin, block in secrets.solution_blocks + secrets.hidden_blocks:
            if len(block) >= 2 and _contains_block(lines, block):
                problems.append(f"{where}: the whole secret region of {origin}")
        for origin, answer in secrets.markdown_answers:
            for line in answer:
                if line in normalized:
                    problems.append(f"{where}: model answer of {origin}: {line[:60]!r}")
    return problems


def audit_solutions(solutions_dir: Path, secrets: SourceSecrets) -> list[str]:
    problems = []
    for where, lines in released_texts(solutions_dir).items():
        joined = "\n".join(lines)
        for marker in ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "HIDDEN TESTS"):
            if marker in joined:
                problems.append(f"{where}: marker {marker!r}")
        for line in {_norm(line) for line in lines}:
            if line in secrets.hidden_lines:
                problems.append(f"{where}: hidden-test line {line!r} (from {secrets.hidden_lines[line]})")
        for origin, block in secrets.hidden_blocks:
            if len(block) >= 2 and _contains_block(lines, block):
                problems.append(f"{where}: the whole hidden-test region of {origin}")
    return problems


@pytest.fixture(scope="module")
def secrets() -> SourceSecrets:
    return SourceSecrets()


def test_the_audit_sees_every_chapter(secrets: SourceSecrets) -> None:
    assert len(secrets.notebooks) >= 4
    assert secrets.solution_lines and secrets.hidden_lines and secrets.markdown_answers
    assert all(block for _, block in secrets.solution_blocks + secrets.hidden_blocks)


def test_release_holds_no_solution_hidden_test_or_rubric(secrets: SourceSecrets) -> None:
    assert audit_release(COURSE_DIR, secrets) == []


def test_solutions_hold_no_hidden_tests(secrets: SourceSecrets) -> None:
    assert audit_solutions(SOLUTIONS_DIR, secrets) == []


def test_release_notebooks_carry_no_solution_cell_content(secrets: SourceSecrets) -> None:
    """Each release solution cell is the stub, not the source's solution (by grade_id)."""
    for nb_path in secrets.notebooks:
        release = COURSE_DIR / nb_path.relative_to(SOURCE_DIR)
        assert release.exists(), f"{release} missing from the release"
        cells = json.loads(release.read_text())["cells"]
        for cell in cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("solution") and cell.get("cell_type") == "code":
                assert "raise NotImplementedError" in _source_text(cell) or "YOUR CODE HERE" in _source_text(cell), \
                    f"{release}:{meta.get('grade_id')} is not a stub"


@pytest.mark.parametrize("leak", ["solution line", "hidden line", "marker", "rubric", "hidden in solutions"])
def test_the_audit_catches_planted_leaks(secrets: SourceSecrets, tmp_path: Path, leak: str) -> None:
    course = shutil.copytree(COURSE_DIR, tmp_path / "course")
    solutions = shutil.copytree(SOLUTIONS_DIR, tmp_path / "solutions")
    target = next(course.rglob("*.ipynb"))
    nb = json.loads(target.read_text())
    if leak == "solution line":
        planted = "    " + next(iter(secrets.solution_lines))
    elif leak == "hidden line":
        planted = next(iter(secrets.hidden_lines))
    elif leak == "marker":
        planted = "### BEGIN SOLUTION"
    elif leak == "rubric":
        planted = "Rubric: 1 point each"
    else:
        planted = None
    if planted is not None:
        nb["cells"][-1]["source"] = _source_text(nb["cells"][-1]) + "\n" + planted
        target.write_text(json.dumps(nb))
        assert audit_release(course, secrets), f"planted {leak} not found"
    else:
        helper = next(solutions.rglob("checks.py"))
        helper.write_text(helper.read_text() + "\n" + next(iter(secrets.hidden_lines)) + "\n")
        assert audit_solutions(solutions, secrets), "planted hidden line in solutions/ not found"

"""Release audit: what students get holds no solution, no hidden test and no rubric.

Works from the files themselves (every source notebook, every file of course/ and solutions/),
so new chapters are audited without changing this test.

A line of a solution region (or hidden-test region) counts as *distinctive* unless the instructor's
own non-secret material has it too (the notebook's other cells, the helper modules shipped to
students): `w = w - eta * grad(w)` in a helper module is teaching, not a leak.

The helper modules themselves (checks.py, figures.py, course_kit.py: every .py file shipped next to a
notebook) are read as code: every function, private ones too, every string and every comment is
compared with the solution code whatever the names (see `audit_helper_code`), so a failure message
that spells out `x - x.mean()` or `velocity = momentum * velocity + gradient` fails the audit.
"""
from __future__ import annotations

import ast
import builtins
import io
import json
import keyword
import re
import shutil
import tokenize
from collections.abc import Sequence
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
        self.public_cells: dict[str, list[str]] = {}  # chapter -> what its notebook shows outside secrets
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
                self.public_cells.setdefault(nb_path.relative_to(source_dir).parts[0], []).append("\n".join(rest))
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


# ----------------------------------------------------------------------------- helper modules, read as code

# Code is compared token by token: every name of the code's own becomes a placeholder, by order of first
# appearance (attribute names, keywords, builtins and the modules the notebooks import stay as they are),
# and whitespace goes, so `velocity = momentum * velocity + gradient` and `v=beta*v+g` are the same.
TOKEN = re.compile(r"[A-Za-z_]\w*|\d+(?:\.\d+)?(?:e-?\d+)?|\*\*=?|//=?|->|[-+*/@%<>!=]=|[-+*/@%<>=~^&|()\[\]{}.,:]")
KEPT = frozenset(keyword.kwlist) | frozenset(dir(builtins)) | {"torch", "math", "np", "numpy", "random"}
OPERATORS = frozenset("= += -= *= /= @= **= //= + - * / @ ** // %".split())
LITERAL = re.compile(r"\d|None$|True$|False$")
MIN_TOKENS = 5


def shape(tokens: Sequence[str]) -> tuple[str, ...]:
    names: dict[str, str] = {}
    return tuple(names.setdefault(t, f"«{len(names)}»") if (t[0].isalpha() or t[0] == "_") and t not in KEPT
                 and not (i and tokens[i - 1] == ".") else t for i, t in enumerate(tokens))


def solution_pieces(line: str) -> list[str]:
    """A solution line without its comment, and the expression it returns or assigns (what a message would
    spell out)."""
    try:
        comments = [t for t in tokenize.generate_tokens(io.StringIO(line).readline) if t.type == tokenize.COMMENT]
    except (tokenize.TokenError, SyntaxError):
        comments = []
    line = line[:comments[0].start[1]].rstrip() if comments else line
    try:
        node = ast.parse(line).body[0]
    except SyntaxError:  # `for ...:`, `with ...:`
        return [line]
    value = getattr(node, "value", None) if isinstance(node, (ast.Return, ast.Assign, ast.AugAssign)) else None
    return [line] + ([ast.get_source_segment(line, value)] if value is not None else [])


def distinctive(code: tuple[str, ...]) -> bool:
    """Long enough, a name of its own, an operator, and more than a bare shape like `a = f(b, c)` or
    `a - b * c`: an attribute, a number, None/True/False, or three operators."""
    operators = sum(t in OPERATORS for t in code)
    specific = operators >= 3 or "." in code or any(LITERAL.match(t) for t in code)
    return len(code) >= MIN_TOKENS and any(t.startswith("«") for t in code) and operators > 0 and specific


def as_code(text: str) -> str:
    """A notebook's text with its math read as code: 2(w - 3) is 2 * (w - 3), (w - 3)^2 is (w - 3) ** 2."""
    return re.sub(r"(\d)\s*\(", r"\1 * (", text).replace("^", "**")


def windows(text: str, lengths: set[int]) -> list[tuple[int, tuple[str, ...]]]:
    """(position, shape) of every run of tokens of one of these lengths (a prefix of a longer run's shape
    is the shorter run's shape: names are numbered by first appearance)."""
    tokens, top = TOKEN.findall(text), max(lengths, default=0)
    return [(i, full[:n]) for i in range(len(tokens)) for full in [shape(tokens[i:i + top])]
            for n in lengths if n <= len(full)]


class SolutionShapes:
    """The distinctive shapes of every solution line and expression, each with where it comes from, and what
    each chapter's notebook shows outside its secret regions (there a shape is taught, not secret)."""

    def __init__(self, secrets: SourceSecrets) -> None:
        found: dict[tuple[str, ...], list[tuple[str, str]]] = {}
        for origin, block in secrets.solution_blocks:
            for line in block:
                for piece in solution_pieces(line):
                    code = shape(TOKEN.findall(piece))
                    if distinctive(code):
                        found.setdefault(code, []).append((origin, piece))
        self.lengths = {len(code) for code in found}
        self.taught = {aid: {code for text in texts for _, code in windows(as_code(text), self.lengths)}
                       for aid, texts in secrets.public_cells.items()}
        self.origins = {code: [(origin, piece) for origin, piece in where
                               if code not in self.taught.get(origin.split("/")[0], set())]
                        for code, where in found.items()}
        self.origins = {code: where for code, where in self.origins.items() if where}


def helper_units(path: Path) -> list[tuple[str, str]]:
    """(name, text) of each top-level definition or statement of a module, with the comments after it."""
    text = path.read_text()
    lines = text.split("\n")
    nodes = ast.parse(text).body
    starts = [min([n.lineno] + [d.lineno for d in getattr(n, "decorator_list", [])]) - 1 for n in nodes]
    bounds = [0] + starts[1:] + [len(lines)]
    return [(getattr(n, "name", f"line {n.lineno}"), "\n".join(lines[bounds[k]:bounds[k + 1]]))
            for k, n in enumerate(nodes)]


def audit_helper_code(course_dir: Path, secrets: SourceSecrets) -> list[str]:
    """Every solution line or expression found in a helper module shipped to students (`course_dir/<chapter>/`),
    unless that chapter's notebook shows it too."""
    shapes = SolutionShapes(secrets)
    problems = set()
    for path in sorted(course_dir.rglob("*.py")):
        shown = shapes.taught.get(path.relative_to(course_dir).parts[0], set())
        for unit, text in helper_units(path):
            tokens = TOKEN.findall(text)
            for i, code in windows(text, shapes.lengths):
                if code in shapes.origins and code not in shown:
                    origin, piece = shapes.origins[code][0]
                    problems.add(f"{path.relative_to(course_dir)}:{unit}: {' '.join(tokens[i:i + len(code)])!r} "
                                 f"is the solution code {piece!r} ({origin})")
    return sorted(problems)


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


def test_shipped_helpers_hold_no_solution_code(secrets: SourceSecrets) -> None:
    assert audit_helper_code(COURSE_DIR, secrets) == []


# What chapter 6's checks once said: failure messages that hand over the solution line.
HISTORIC_CH6_MESSAGES = '''

def _historic_messages():
    return ["changed x itself: return a new tensor, x - x.mean(), instead of subtracting in place",
            "the velocity forgot the old one: velocity = momentum * velocity + gradient"]
'''


def test_the_helper_audit_catches_messages_that_spell_out_the_answer(secrets: SourceSecrets, tmp_path: Path) -> None:
    helper = tmp_path / "course" / "ch6_valleys" / "checks.py"
    helper.parent.mkdir(parents=True)
    helper.write_text((COURSE_DIR / "ch6_valleys" / "checks.py").read_text() + HISTORIC_CH6_MESSAGES)
    found = audit_helper_code(tmp_path / "course", secrets)
    for spelled in ("'x - x . mean ( )'", "'velocity = momentum * velocity + gradient'"):
        assert any(f.startswith("ch6_valleys/checks.py:_historic_messages: " + spelled) for f in found), found


def test_the_helper_audit_catches_renamed_solution_code_anywhere(secrets: SourceSecrets, tmp_path: Path) -> None:
    """Every distinctive solution line or expression, with names of its own and spaces between its tokens,
    as the code of a private function, in a message string and in a comment: each is found."""
    shapes = SolutionShapes(secrets)
    assert shape(TOKEN.findall("x - x.mean()")) in shapes.origins
    assert shape(TOKEN.findall("v = beta * v + g")) in shapes.origins
    planted: dict[str, list[str]] = {}
    for k, (code, where) in enumerate(shapes.origins.items()):
        renamed = " ".join(f"q{t[1:-1]}" if t.startswith("«") else t for t in code)
        names = sorted({t for t in renamed.split() if re.fullmatch(r"q\d+", t)})
        planted.setdefault(where[0][0].split("/")[0], []).append(
            f"\n\ndef _planted_code_{k}({', '.join(f'{n}=None' for n in names)}):\n    {renamed}\n"
            f"\n\ndef _planted_message_{k}():\n    return \"a mistake: {renamed}, as the check says\"\n"
            f"\n\ndef _planted_comment_{k}():\n    # {renamed}\n    return None\n")
    for aid, code in planted.items():
        helper = tmp_path / "course" / aid / "figures.py"
        helper.parent.mkdir(parents=True)
        helper.write_text("".join(code))
    found = audit_helper_code(tmp_path / "course", secrets)
    for k in range(len(shapes.origins)):
        for unit in (f"_planted_code_{k}", f"_planted_message_{k}", f"_planted_comment_{k}"):
            assert any(f":{unit}: " in f for f in found), (unit, list(shapes.origins)[k])

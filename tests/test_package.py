"""The package as a whole: lint-clean, an acyclic import graph, small modules, and a wheel that works
without a checkout (package data included, the `gd-course` console script)."""
from __future__ import annotations

import ast
import csv
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder import limits
from autograder.paths import PACKAGE_DIR, REPO_ROOT
from autograder.verdict.program import source_program
from support import synthetic

MAX_MODULE_LINES = 400


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_modules() -> dict[str, Path]:
    """The grader's own modules (not the chapters' helper modules or what is copied into the sandbox)."""
    skip = {PACKAGE_DIR / "source", PACKAGE_DIR / "student_kit", PACKAGE_DIR / "verdict" / "inside"}
    return {module_name(p): p for p in sorted(PACKAGE_DIR.rglob("*.py"))
            if not any(s in p.parents for s in skip) and "__pycache__" not in p.parts}


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """module -> the package's modules it imports, at the top or inside a function alike."""
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets.add(node.module)
                targets |= {f"{node.module}.{a.name}" for a in node.names}
            elif isinstance(node, ast.Import):
                targets |= {a.name for a in node.names}
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as the list of modules around it, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_import_graph_has_no_cycle() -> None:
    graph = import_graph(package_modules())
    assert graph["autograder.grading.pool"], "the graph sees imports (sanity)"
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_module_is_over_the_size_limit() -> None:
    sizes = {name: len(path.read_text().splitlines()) for name, path in package_modules().items()}
    assert not {n: s for n, s in sizes.items() if s > MAX_MODULE_LINES}, f"split modules over {MAX_MODULE_LINES} lines"


def cell_timeout_defaults(text: str, where: str = "") -> list[str]:
    """Where `text` writes the course's cell timeout as a number, or turns "not given" into it.

    A number equal to limits.CELL_TIMEOUT on a line about a timeout (or sizing a kernel's limits), other
    than the definition in limits.py; a `cell_timeout` that defaults to None, or a --...timeout option;
    `cell_timeout or ...`, `if cell_timeout:` (whether it was given)."""
    definition = where == "autograder/limits.py"

    def given(test: ast.expr) -> bool:   # `cell_timeout`, `job.cell_timeout`, `not cell_timeout`
        test = test.operand if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not) else test
        return isinstance(test, ast.Name | ast.Attribute) and "cell_timeout" in ast.unparse(test).lower()

    lines = text.splitlines()
    found = []
    for node in ast.walk(ast.parse(text)):
        line = lines[node.lineno - 1].strip() if hasattr(node, "lineno") else ""
        if (isinstance(node, ast.Constant) and type(node.value) in (int, float) and node.value == limits.CELL_TIMEOUT
                and re.search(r"timeout|\bkernel\(", line, re.IGNORECASE)
                and not (definition and re.fullmatch(r"CELL_TIMEOUT = \d+(\s*#.*)?", line))):
            found.append(f"{where}:{node.lineno}: the number itself: {line}")
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            arguments = node.args
            positional = [*arguments.posonlyargs, *arguments.args]
            named = positional[len(positional) - len(arguments.defaults):]
            for arg, default in [*zip(named, arguments.defaults), *zip(arguments.kwonlyargs, arguments.kw_defaults)]:
                if "cell_timeout" in arg.arg.lower() and isinstance(default, ast.Constant) and default.value is None:
                    found.append(f"{where}:{node.lineno}: {arg.arg} not given passed on: {line}")
        elif (isinstance(node, ast.AnnAssign) and isinstance(node.value, ast.Constant) and node.value.value is None
              and "cell_timeout" in ast.unparse(node.target).lower()):
            found.append(f"{where}:{node.lineno}: not given passed on: {line}")
        elif (isinstance(node, ast.Call) and any(isinstance(a, ast.Constant) and "timeout" in str(a.value)
                                                 for a in node.args)
              and any(k.arg == "default" and isinstance(k.value, ast.Constant) and k.value.value is None
                      for k in node.keywords)):
            found.append(f"{where}:{node.lineno}: an option whose default is not given: {line}")
        elif ((isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or) and given(node.values[0]))
              or (isinstance(node, (ast.If, ast.IfExp)) and given(node.test))):
            found.append(f"{where}:{node.lineno}: not given turned into a default here: {line}")
    return found


def test_the_cell_timeout_default_is_written_once() -> None:
    """limits.CELL_TIMEOUT is the one place of the course's per-cell timeout: nbgrader's config, the
    kernel's limits, the trusted verdict (inside the sandbox, through its program), `check` and the
    command line read it, and "not given" becomes it at the command line only."""
    found = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        if PACKAGE_DIR / "source" not in path.parents and "__pycache__" not in path.parts:
            found += cell_timeout_defaults(path.read_text(), str(path.relative_to(REPO_ROOT)))
    assert not found, "read limits.CELL_TIMEOUT instead:\n" + "\n".join(found)


def test_the_cell_timeout_scan_finds_what_it_looks_for() -> None:
    n = limits.CELL_TIMEOUT
    sample = (f"c.Execute.timeout = {n}\n"
              f"cell_timeout = Integer({n}, help='').tag(config=True)\n"
              f"CELL_TIMEOUT = _float(PROGRAM.get('cell_timeout', {n}))\n"
              f"KERNEL_ZYGOTE = kernel({n})\n"
              f"def check(path, timeout: int = {n}): pass\n"
              "def api(work, cell_timeout: int | None = None): pass\n"
              "def verdict(path, *, cell_timeout=None): pass\n"
              "class Job:\n    cell_timeout: int | None = None\n"
              "limit = job.cell_timeout or config.Execute.timeout\n"
              "if cell_timeout:\n    config.Execute.timeout = int(cell_timeout)\n"
              f"CELL_TIMEOUT = {n}  # the one\nproc.wait(timeout=10)\nmemory = 3 * 2**{n}\n"
              "if cell_timeout > 0 or finished(state, cell_timeout): pass\n"
              "grade.add_argument('--cell-timeout', type=int, default=None)\n"
              "grade.add_argument('--seed', type=int, default=None)\n")
    found = cell_timeout_defaults(sample, "autograder/limits.py")
    assert sorted(int(line.split(":")[1]) for line in found) == [*range(1, 8), 9, 10, 11, 17], found
    assert cell_timeout_defaults(f"CELL_TIMEOUT = {n}", "autograder/grading/worker.py"), "defined twice"


def test_the_grader_starts_without_the_iri_grammar_and_still_rejects_a_malformed_notebook() -> None:
    """Importing the package before nbgrader keeps jsonschema's IRI grammar out (seconds of start-up);
    nbformat's validation, which needs no IRI checker, still catches a broken notebook."""
    probe = ("import sys, autograder, nbgrader.apps, nbformat\n"
             "print(sys.modules.get('rfc3987_syntax', 'absent'))\n"
             "nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('x = 1')])\n"
             "nb.cells[0]['outputs'] = [{'output_type': 'no such output'}]\n"
             "print(nbformat.validator.isvalid(nb), nbformat.validator.isvalid(nbformat.v4.new_notebook()))")
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True,
                            check=True)
    assert result.stdout.split() == ["None", "False", "True"], result.stdout + result.stderr


def test_ruff_is_clean() -> None:
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (pip install -e '.[test]')")
    result = subprocess.run([ruff, "check", "--no-cache", "--output-format", "concise", "."], cwd=REPO_ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # built from a copy: setuptools writes build/ and *.egg-info next to the project it builds
    project = shutil.copytree(REPO_ROOT, out / "project", ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "test-artifacts", "__pycache__", "out"))
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out),
                             str(project)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    (built,) = out.glob("gradient_descent_course-*.whl")
    return built


def test_the_wheel_carries_the_source_the_kit_and_the_sandbox_files(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for source in (PACKAGE_DIR / "source").rglob("*"):
        if source.is_file() and "__pycache__" not in source.parts:
            assert source.relative_to(PACKAGE_DIR.parent).as_posix() in names
    for needed in ("autograder/student_kit/course_kit.py", "autograder/nbgrader_config.py",
                   "autograder/verdict/inside/harness.py", "autograder/verdict/inside/zygote.py",
                   "autograder/verdict/inside/kernel_child.py",
                   "autograder/grading/templates/report.html.j2", "autograder/verdict/exercises/ch1_the_idea.py"):
        assert needed in names
    assert not any("__pycache__" in n or n.startswith(("tests/", "course/", "solutions/")) for n in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "gd-course = autograder.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_the_installed_wheel_grades_without_a_checkout(wheel: Path, tmp_path: Path) -> None:
    """`gd-course grade` from the wheel alone (run outside the repository) grades a submission."""
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target),
                    str(wheel)], check=True, capture_output=True)
    submitted = synthetic.write(synthetic.solved("ch1_the_idea", "the_idea"),
                                tmp_path / "subs" / "ada" / "ch1_the_idea" / "the_idea.ipynb")
    env = {**os.environ, "PYTHONPATH": str(target),
           "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")}
    where = subprocess.run([sys.executable, "-c", "import autograder; print(autograder.__file__)"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(target)), f"imported {where}, not the wheel"
    result = subprocess.run([str(target / "bin" / "gd-course"), "grade", str(submitted.parents[2]),
                             "--out", str(tmp_path / "out"), "--workers", "1"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    with open(tmp_path / "out" / "grades.csv", newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    autograded = sum(cell.points for cell in source_program("ch1_the_idea", "the_idea").tests.values())
    assert (row["student_id"], row["status"], float(row["score"])) == ("ada", "ok", autograded), row
    from autograder.sandbox import kernel_zygote

    if kernel_zygote.available():   # the kernel was forked from the zygote the wheel ships
        assert row["protections"] == "sandboxed (zygote kernel)", row

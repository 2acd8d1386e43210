"""The instructor's source notebook, as the trusted verdict uses it: its setup code, solution cells
and autograded test cells, and whether every test cell has a trusted check."""
from __future__ import annotations

import ast
import builtins
import functools
from dataclasses import dataclass
from typing import Any

import nbformat
from nbgrader import utils as nbgrader_utils

from autograder.paths import SOURCE_DIR, STUDENT_KIT_DIR
from autograder.verdict.exercises import exercises


@dataclass(frozen=True)
class SourceCell:
    grade_id: str
    kind: str             # "solution" or "test"
    points: float
    index: int


@dataclass(frozen=True)
class SourceProgram:
    setup: str                          # the source's non-graded setup code, ready to exec
    course_cells: dict[str, str]        # a non-graded code cell's text (stripped) -> its setup statements
    solution_ids: tuple[str, ...]       # solution code cells, in notebook order
    tests: dict[str, SourceCell]        # autograded code test cells by grade_id
    order: dict[str, int]               # grade_id -> cell index
    local_modules: tuple[str, ...] = ()  # the course's helper modules next to the notebook (figures, checks)


def _text(source: Any) -> str:
    return "".join(source) if isinstance(source, list) else str(source or "")


def _bound_names(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in getattr(tree, "body", []):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        else:
            for sub in ast.walk(node):
                if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                    names.add(sub.id)
    return names


def _local_modules(assignment_id: str) -> set[str]:
    """Helper modules shipped next to the notebook (checks, figures, the kit): not for the sandbox."""
    return ({p.stem for p in (SOURCE_DIR / assignment_id).glob("*.py")}
            | {p.stem for p in STUDENT_KIT_DIR.glob("*.py")})


def _plain_target(target: ast.expr) -> bool:
    """A name, or a tuple of names: an assignment that binds, not one that changes an object (`x.grad = None`)."""
    if isinstance(target, (ast.Tuple, ast.List)):
        return all(map(_plain_target, target.elts))
    return isinstance(target, ast.Name)


def setup_code(cells: list[dict], solution_names: set[str], local_modules: set[str]) -> str:
    """From the source's non-graded code cells: imports, definitions and plain assignments."""
    return "".join(setup_by_cell(cells, solution_names, local_modules))


def setup_by_cell(cells: list[dict], solution_names: set[str], local_modules: set[str]) -> list[str]:
    """The setup statements each of the source's non-graded code cells contributes (see below).

    Kept: imports (except the local helper modules), function and class definitions, and
    assignments that only use builtins, imported names and names bound by earlier kept
    statements, and call no function defined in the notebook. Dropped: everything else (loops,
    demos, plots, anything that runs the student's code).
    """
    known = set(dir(builtins))
    notebook_functions: set[str] = set()
    by_cell: list[str] = []
    for cell in cells:
        kept: list[str] = []
        by_cell.append("")
        try:
            tree = ast.parse(_text(cell.get("source")))
        except SyntaxError:
            continue
        for node in tree.body:
            keep = False
            if isinstance(node, ast.Import):
                keep = all(a.name.split(".")[0] not in local_modules for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                keep = node.level == 0 and (node.module or "").split(".")[0] not in local_modules
            elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                keep = node.name not in solution_names
                if keep:
                    notebook_functions.add(node.name)
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                value = node.value
                loads = {n.id for n in ast.walk(value) if isinstance(n, ast.Name)} if value else set()
                calls = {n.func.id for n in ast.walk(value) if isinstance(n, ast.Call)
                         and isinstance(n.func, ast.Name)} if value else set()
                stores = _bound_names(ast.Module(body=[node], type_ignores=[]))
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                keep = (loads <= known and not (loads & solution_names) and not (calls & notebook_functions)
                        and not (stores & solution_names) and all(map(_plain_target, targets)))
            if keep:
                kept.append(ast.unparse(node))
                known |= _bound_names(ast.Module(body=[node], type_ignores=[]))
        by_cell[-1] = "".join(line + "\n" for line in kept)
    return by_cell


@functools.cache
def source_program(assignment_id: str, notebook: str) -> SourceProgram:
    path = SOURCE_DIR / assignment_id / f"{notebook}.ipynb"
    nb = nbformat.read(path, as_version=4)  # the instructor's own source: trusted
    setup_cells, solution_ids, tests, order = [], [], {}, {}
    solution_names: set[str] = set()
    for i, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader", {})
        gid = meta.get("grade_id")
        if gid:
            order[gid] = i
        if cell.cell_type != "code":
            continue
        if nbgrader_utils.is_solution(cell):
            solution_ids.append(gid)
            try:
                solution_names |= _bound_names(ast.parse(_text(cell["source"])))
            except SyntaxError:
                pass
        elif nbgrader_utils.is_grade(cell):
            tests[gid] = SourceCell(gid, "test", float(meta.get("points", 0)), i)
        else:
            setup_cells.append(cell)
    local = _local_modules(assignment_id)
    by_cell = setup_by_cell(setup_cells, solution_names, local)
    course_cells = {_text(cell["source"]).strip(): kept for cell, kept in zip(setup_cells, by_cell)}
    return SourceProgram("".join(by_cell) or "\n", course_cells, tuple(solution_ids), tests, order,
                         tuple(sorted(local)))


def check_coverage(assignment_id: str, notebook: str) -> list[str]:
    """Autograded test cells of the source that have no trusted check (should be empty)."""
    program = source_program(assignment_id, notebook)
    known = exercises(assignment_id, notebook)
    module = f"autograder/verdict/exercises/{assignment_id}.py"
    problems = [f"{assignment_id}/{notebook}: test cell {t} has no trusted check in {module}"
                for t in program.tests if t not in known]
    problems += [f"{assignment_id}/{notebook}: {module} checks {t}, which the source does not have"
                 for t in known if t not in program.tests]
    problems += [f"{assignment_id}/{notebook}: {t} grades {e.cell_id}, not a solution cell of the source"
                 for t, e in known.items() if e.cell_id not in program.solution_ids]
    return problems

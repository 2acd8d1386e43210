"""nbgrader's feedback, made readable: each failed test's result in plain words first, wrapped; math
pre-rendered, so the feedback page needs no internet (each formula drawn once per batch).

`FeedbackForStudents` is added to nbgrader's GenerateFeedback preprocessors in
autograder/nbgrader_config.py; it changes only the copy of the notebook the feedback is made from.
The page itself is made by autograder/grading/feedback_page.py.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import html
import io
import os
import re
import textwrap
from pathlib import Path

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
WIDTH = 100
# $$display$$ or $inline$ (inline may wrap onto the next line; not \$); code spans are left alone
MATH = re.compile(r"(?<![\\$])\$\$(.+?)\$\$|(?<![\\$])\$(?!\s)((?:[^$\n]|\n(?!\n))+?)(?<![\s\\])\$", re.S)
CODE = re.compile(r"(```.*?```|`[^`\n]*`)", re.S)


def plain_words(error: dict) -> str:
    """The test's result as a student reads it: the check's own message, else the error's last line."""
    ename = str(error.get("ename", "Error"))
    evalue = " ".join(ANSI.sub("", str(error.get("evalue", ""))).split())
    if ename in ("CheckFailed", "AssertionError") and evalue:
        return f"✘ {evalue}"
    if ename == "NotImplementedError":
        return "✘ not attempted: the exercise still raises NotImplementedError"
    if ename in ("KeyboardInterrupt", "CellTimeoutError"):
        return "✘ the cell ran too long and was stopped (an endless loop?)"
    return f"✘ {ename}: {evalue}" if evalue else f"✘ {ename}"


def result_first(error: dict) -> list[str]:
    """The error's traceback, led by the wrapped plain-words result."""
    lead = textwrap.fill(plain_words(error), WIDTH, subsequent_indent="  ", break_long_words=True)
    rest = [line for line in error.get("traceback", []) if ANSI.sub("", line).strip()]
    if error.get("ename") == "CheckFailed" or len(rest) <= 3:  # a visible check's short block: said in full
        return [lead]
    return [lead, "", "Details (Python's traceback):", *rest]


_SHARED: list[Path] = []   # where this process shares rendered formulas with the batch's other workers


def share_rendered_math(folder: Path | None) -> None:
    """Keep rendered formulas in `folder` too (a folder of the batch's course template), so that each
    formula of the course is drawn once per batch, not once per worker process."""
    _SHARED[:] = [folder] if folder is not None else []


@functools.cache
def _matplotlib_version() -> str:
    from importlib.metadata import version

    return version("matplotlib")   # without importing it: a formula already drawn needs no matplotlib


@functools.lru_cache(maxsize=2048)   # the course's own formulas recur in every student's feedback
def svg_of(tex: str, display: bool) -> str:
    """`tex` as an inline SVG image (matplotlib's mathtext); '' if mathtext cannot draw it."""
    shared = None
    if _SHARED:
        key = hashlib.sha256(f"{_matplotlib_version()}\0{display}\0{tex}".encode()).hexdigest()
        shared = _SHARED[0] / f"{key}.html"
        try:
            return shared.read_text()
        except OSError:
            pass
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import mathtext

    buffer = io.BytesIO()
    try:
        mathtext.math_to_image(f"${tex}$", buffer, format="svg", dpi=100)
    except Exception:  # noqa: BLE001 - beyond mathtext's subset of TeX: keep the source text
        image = ""
    else:
        data = base64.b64encode(buffer.getvalue()).decode("ascii")
        style = "display:block;margin:.5em auto" if display else "vertical-align:middle"
        image = f'<img class="math" alt="{html.escape(tex)}" style="{style}" src="data:image/svg+xml;base64,{data}">'
    if shared is not None:
        try:   # written whole, then renamed: another worker reads all of it or nothing
            shared.parent.mkdir(parents=True, exist_ok=True)
            partial = shared.with_suffix(f".{os.getpid()}.partial")
            partial.write_text(image)
            os.replace(partial, shared)
        except OSError:
            pass
    return image


def _math_parts(markdown: str):
    """The markdown cut around its code spans: (text, is_code) pieces, in order."""
    return [(part, index % 2 == 1) for index, part in enumerate(CODE.split(markdown))]


def _formula(match: re.Match) -> tuple[str, bool]:
    display = match.group(1) is not None
    tex = (match.group(1) if display else match.group(2)).strip()
    return " ".join(tex.split()), display


def render_math(markdown: str) -> str:
    """Markdown with its $...$ and $$...$$ replaced by pre-rendered images (code spans untouched)."""
    def one(match: re.Match) -> str:
        return svg_of(*_formula(match)) or match.group(0)

    return "".join(part if code else MATH.sub(one, part) for part, code in _math_parts(markdown))


def draw_formulas(notebooks: list[Path], folder: Path) -> int:
    """Draw every formula of the markdown cells of `notebooks` into `folder` (where `render_math`
    finds them, see `share_rendered_math`); the number of formulas."""
    import nbformat

    share_rendered_math(folder)
    svg_of.cache_clear()   # drawn before for another folder: drawn again into this one
    drawn = set()
    try:
        for path in notebooks:
            for cell in nbformat.read(path, as_version=4).cells:
                if cell.cell_type == "markdown" and "$" in cell.source:
                    for part, code in _math_parts(cell.source):
                        if not code:
                            drawn.update(_formula(match) for match in MATH.finditer(part))
        for tex, display in sorted(drawn):
            svg_of(tex, display)
    finally:
        share_rendered_math(None)
        svg_of.cache_clear()
    return len(drawn)


def pending_answers(info: dict) -> dict[str, float]:
    """grade_id -> points of each answer of the notebook that waits for a grader: neither a hand score
    nor an automatic one (a written answer left exactly as released scores 0 by nbgrader's rule)."""
    from nbgrader.api import Gradebook

    try:
        with Gradebook(info["db_url"]) as gb:
            notebook = gb.find_submission_notebook(info["notebook"], info["assignment"], info["student"])
            return {g.name: float(g.max_score) for g in notebook.grades
                    if g.manual_score is None and g.auto_score is None}
    except Exception:  # noqa: BLE001 - no gradebook entry: nothing is said to wait
        return {}


class FeedbackForStudents(Preprocessor):
    """Plain words first in every error output; math pre-rendered in every markdown cell; the answers
    that wait for a grader noted in resources["nbgrader"]["pending"] (the page says so, feedback_page.py)."""

    enabled = Bool(True).tag(config=True)  # nbconvert's preprocessors are off unless enabled

    def preprocess(self, nb, resources):
        info = resources.get("nbgrader")
        if isinstance(info, dict) and "db_url" in info:
            info["pending"] = pending_answers(info)
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code":
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = result_first(output)
        elif cell.cell_type == "markdown" and "$" in cell.source:
            cell.source = render_math(cell.source)
        return cell, resources

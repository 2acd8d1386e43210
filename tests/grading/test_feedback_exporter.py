"""The feedback page's exporter: nbconvert's page, its templates compiled once per worker process."""
from __future__ import annotations

import copy

import jinja2
import nbformat
from nbconvert.exporters import HTMLExporter

from autograder.grading.feedback_steps import TEMPLATES, FeedbackExporter

NOTEBOOK = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Feedback"),
                                            nbformat.v4.new_code_cell("x = 1\nprint(x)")])


def _notebook() -> nbformat.NotebookNode:
    return copy.deepcopy(NOTEBOOK)


def test_the_second_page_compiles_no_template_and_is_the_same_page(monkeypatch):
    first, _ = FeedbackExporter().from_notebook_node(_notebook())
    assert TEMPLATES.compiled, "the templates compiled for the first page are kept"
    compiled = []
    real_compile = jinja2.Environment.compile

    def counting(self, *args, **kwargs):
        compiled.append(args[1] if len(args) > 1 else kwargs.get("name"))
        return real_compile(self, *args, **kwargs)

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    second, _ = FeedbackExporter().from_notebook_node(_notebook())
    assert compiled == []
    assert second == first
    plain, _ = HTMLExporter().from_notebook_node(_notebook())
    assert compiled, "nbconvert's own exporter compiles its templates each time"
    assert plain == first


def test_a_formula_drawn_by_one_worker_is_read_by_the_others(tmp_path, monkeypatch):
    """The batch's workers share rendered formulas through the course template: the second process to
    need one reads it (the same image, the student's TeX escaped) instead of drawing it again."""
    from matplotlib import mathtext

    from autograder.grading import feedback_steps
    from autograder.grading.feedback_steps import render_math, share_rendered_math, svg_of

    shared = tmp_path / "rendered-math"
    monkeypatch.setattr(feedback_steps, "_SHARED", [])
    share_rendered_math(shared)
    svg_of.cache_clear()
    markdown = r"Step $\theta - \eta L'(\theta)$, $$a<b$$ and $\notacommand{x}$"
    drawn = render_math(markdown)
    assert drawn.count('<img class="math"') == 2 and 'alt="a&lt;b"' in drawn
    assert drawn.endswith(r"and $\notacommand{x}$"), "beyond mathtext: the TeX source stays"
    assert len(list(shared.glob("*.html"))) == 3 and not list(shared.glob("*.partial"))

    svg_of.cache_clear()   # another worker process: nothing in its memory
    monkeypatch.setattr(mathtext, "math_to_image", lambda *a, **k: (_ for _ in ()).throw(AssertionError("drawn")))
    assert render_math(markdown) == drawn
    share_rendered_math(None)
    svg_of.cache_clear()
    assert render_math(r"$\theta$") == r"$\theta$", "neither shared nor drawable: the TeX source stays"

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

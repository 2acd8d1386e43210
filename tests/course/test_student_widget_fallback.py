"""Chapter 2's learning-rate sliders: a static figure wherever no widget front end runs.

The executed reference solution was run by nbclient (no widget front end), like nbconvert or a
grader. Its slider output must carry the figure as image/png, with alt text, next to the widget view;
an HTML export shows it. (The live redraw in JupyterLab is checked in test_student_browser.py.)
"""
from __future__ import annotations

import base64
import copy

import nbformat
import pytest
from nbconvert import HTMLExporter

from autograder.paths import SOLUTIONS_DIR

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


@pytest.fixture(scope="module")
def solution() -> nbformat.NotebookNode:
    return nbformat.read(SOLUTIONS_DIR / "ch2_implement" / "gradient_descent.ipynb", as_version=4)


def slider_output(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    (cell,) = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith("explore_learning_rate(")]
    (output,) = [o for o in cell.outputs if WIDGET_VIEW in o.get("data", {})]
    return output


def test_slider_output_carries_a_static_figure(solution: nbformat.NotebookNode) -> None:
    output = slider_output(solution)
    assert base64.b64decode(output.data["image/png"]).startswith(b"\x89PNG")
    alt = output.metadata["image/png"]["alt"]
    assert output.data["text/plain"] == alt
    assert "learning rate 0.2: theta goes from 1 to" in alt


def test_html_export_without_widget_state_shows_the_figure(solution: nbformat.NotebookNode) -> None:
    static = copy.deepcopy(solution)
    static.metadata.pop("widgets", None)  # a page with no widget state: no slider can be drawn
    html, _ = HTMLExporter().from_notebook_node(static)
    figures = sum("image/png" in o.get("data", {}) for c in static.cells for o in c.get("outputs", []))
    assert html.count('src="data:image/png;base64,') == figures == 2
    assert html.count("Description of the figure") >= 1


def test_html_export_with_widget_state_embeds_the_drawn_figure(solution: nbformat.NotebookNode) -> None:
    state = solution.metadata["widgets"][WIDGET_STATE]["state"]
    assert slider_output(solution).data[WIDGET_VIEW]["model_id"] in state
    outputs = [o for model in state.values() for o in model.get("state", {}).get("outputs", [])]
    assert any("image/png" in o.get("data", {}) for o in outputs), "the Output widget holds the figure"
    html, _ = HTMLExporter().from_notebook_node(solution)
    assert WIDGET_STATE in html and "jupyter-widgets" in html

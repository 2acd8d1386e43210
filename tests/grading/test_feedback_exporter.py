"""The feedback page's exporter: nbconvert's page, its templates compiled once per worker process,
without bleach over pygments' own output nor a BeautifulSoup pass, and still the same document."""
from __future__ import annotations

import copy
import re
from pathlib import Path

import jinja2
import nbformat
import pytest
from bs4 import BeautifulSoup
from nbconvert.exporters import HTMLExporter
from nbconvert.filters.strings import clean_html

from autograder.grading.feedback_page import NO_ALT, TEMPLATES, FeedbackExporter, accessible, clean_highlighted

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Feedback"),
                                            nbformat.v4.new_code_cell("x = 1\nprint(x)")])
UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


def _notebook() -> nbformat.NotebookNode:
    return copy.deepcopy(NOTEBOOK)


def _student_notebook() -> nbformat.NotebookNode:
    """What a submission may hold: code that looks like HTML, HTML outputs, pictures with and without
    alternative text, raw HTML in markdown and in a raw cell, an SVG, an error."""
    code = nbformat.v4.new_code_cell("s = '<script>alert(1)</script>' + \"</div>\" & 1 > 0  # é ' \"\nplot()")
    code.outputs = [
        nbformat.v4.new_output("display_data", data={"image/png": PIXEL, "text/plain": "<Figure>"}),
        nbformat.v4.new_output("display_data", data={"text/html": '<table><tr><td>1 &lt; 2</td></tr></table>'
                                                                   '<img src="data:image/png;base64,x" alt="mine">'
                                                                   '<img src="data:image/png;base64,y"/>'}),
        nbformat.v4.new_output("display_data", data={"image/svg+xml": '<svg xmlns="http://www.w3.org/2000/svg"/>'}),
        nbformat.v4.new_output("stream", text="a <b> & c\n"),
        nbformat.v4.new_output("error", ename="ValueError", evalue="<bad>",
                               traceback=["\x1b[31mValueError\x1b[0m: <bad>"]),
    ]
    raw = nbformat.v4.new_raw_cell('<div class="jp-OutputArea-output"><script>x()</script><b>raw</b></div>',
                                   metadata={"raw_mimetype": "text/html"})
    return nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell('A <img src="data:image/png;base64,z"> and '
                                      '<div class="jp-Cell-inputWrapper" tabindex="-1">div</div>'),
        code, raw, nbformat.v4.new_code_cell("")])


def _same_document(ours: str, theirs: str) -> None:
    """The two pages parse to the same tree (attributes in any order, text with its entities decoded;
    a widget output's id is new on every page)."""
    a, b = (UUID.sub("<uuid>", BeautifulSoup(page, features="html.parser").decode()) for page in (ours, theirs))
    if a != b:
        at = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
        pytest.fail(f"the pages differ at {at}:\nours:   {a[at - 200:at + 200]!r}\ntheirs: {b[at - 200:at + 200]!r}")


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
    _same_document(first, plain)


CHAPTERS = sorted(path.parent.name for path in (ROOT / "solutions").glob("ch*/*.ipynb"))


@pytest.mark.parametrize("notebook", ["submission", *CHAPTERS])
def test_the_page_is_the_document_nbconvert_makes(notebook):
    """Every chapter's solved notebook (its figures, tables, math) and a submission full of HTML make the
    same document as nbconvert's exporter: the same alternative text and focusable cells, the same
    escaping of what the student wrote."""
    if notebook == "submission":
        nb = _student_notebook()
    else:
        nb = nbformat.read(next((ROOT / "solutions" / notebook).glob("*.ipynb")), as_version=4)
    ours, _ = FeedbackExporter().from_notebook_node(copy.deepcopy(nb))
    theirs, _ = HTMLExporter().from_notebook_node(copy.deepcopy(nb))
    _same_document(ours, theirs)
    assert NO_ALT in ours and ours.count('tabindex="0"') >= len(nb.cells)
    assert "<script>alert" not in ours and "<script>x()" not in ours


def test_cells_every_student_shares_are_highlighted_and_rendered_once_per_process(monkeypatch):
    """A chapter's text and tests are in every student's notebook: the second page of a chapter
    highlights and renders none of its cells again, and is the same page. What differs (the code, a
    cell's attachments, its magics language) is made anew."""
    from nbconvert.filters.highlight import Highlight2HTML

    from autograder.grading import feedback_page

    monkeypatch.setattr(feedback_page, "HIGHLIGHTED", feedback_page.Remembered())
    monkeypatch.setattr(feedback_page, "MARKDOWN", feedback_page.Remembered())
    made = []
    highlight, markdown = Highlight2HTML.__call__, HTMLExporter.markdown2html

    monkeypatch.setattr(Highlight2HTML, "__call__", lambda self, source, *a, **k: made.append(source)
                        or highlight(self, source, *a, **k))
    monkeypatch.setattr(HTMLExporter, "markdown2html", jinja2.pass_context(
        lambda self, context, source: made.append(source) or markdown(self, context, source)))
    nb = nbformat.read(next((ROOT / "solutions" / CHAPTERS[1]).glob("*.ipynb")), as_version=4)
    first, _ = FeedbackExporter().from_notebook_node(copy.deepcopy(nb))
    assert len(made) >= len(nb.cells)
    made.clear()
    second, _ = FeedbackExporter().from_notebook_node(copy.deepcopy(nb))
    assert made == [] and UUID.sub("<uuid>", second) == UUID.sub("<uuid>", first)   # a widget id is new each time

    other = copy.deepcopy(nb)
    code = next(cell for cell in other.cells if cell.cell_type == "code")
    text = next(cell for cell in other.cells if cell.cell_type == "markdown")
    code.source += "\nanswer = 42"
    text.attachments = {"dot.png": {"image/png": PIXEL}}
    magic = copy.deepcopy(code)
    magic.id, magic.metadata["magics_language"] = "magic-cell", "bash"
    other.cells.append(magic)
    page, _ = FeedbackExporter().from_notebook_node(copy.deepcopy(other))
    assert made.count(code.source) == 2 and made.count(text.source) == 1 and len(made) == 3
    _same_document(page, HTMLExporter().from_notebook_node(copy.deepcopy(other))[0])

    kept = len(feedback_page.HIGHLIGHTED.results)
    code.source = "x = 1  # " + "x" * 200_000   # a cell written to fill the grader's memory: not kept
    FeedbackExporter().from_notebook_node(copy.deepcopy(other))
    assert made.count(code.source) == 1 and len(feedback_page.HIGHLIGHTED.results) == kept


def test_pygments_output_is_kept_and_anything_else_is_cleaned():
    highlighted = ('<div class="highlight"><pre><span></span><span class="n">a</span>'
                   ' &lt;script&gt; &amp;&#39;</pre></div>')
    assert clean_highlighted(highlighted) == highlighted
    assert clean_highlighted(highlighted.encode()) == highlighted
    for hostile in ['<div class="highlight"><script>x()</script></div>', '<span class="a" onclick="x()">a</span>',
                    '<pre>a > b</pre>', '<img src=x onerror=alert(1)>']:
        cleaned = clean_highlighted(hostile)
        assert cleaned == clean_html(hostile) != hostile, "anything but pygments' own tags goes through bleach"


def test_attributes_are_added_where_nbconvert_adds_them():
    page = ('<head><img src="a"><div class="jp-OutputArea-output"></div></head><body class="x jp-Notebook">'
            '<img src="b" alt="kept"><div class="jp-Cell-inputWrapper">\n<img src="c"/></div>'
            '<div class="a jp-OutputArea-output" tabindex="-1" id="o&amp;"><div class="jp-OutputArea-output">x</div>'
            '</div></body>')
    added, missing = accessible(page)
    assert missing == 2
    no_alt = 'alt="No description has been provided for this image"'
    assert added == (f'<head><img src="a" {no_alt}><div class="jp-OutputArea-output"></div></head>'
                     '<body class="x jp-Notebook"><img src="b" alt="kept">'
                     f'<div class="jp-Cell-inputWrapper" tabindex="0">\n<img src="c" {no_alt}/></div>'
                     '<div class="a jp-OutputArea-output" id="o&amp;" tabindex="0">'
                     '<div class="jp-OutputArea-output" tabindex="0">x</div></div></body>')


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


def test_the_course_config_checks_a_pass_once_not_after_each_step(monkeypatch):
    """nbconvert validates the notebook after every step of a pass; the course's config asks for one
    check after the last step. A notebook a step leaves invalid still fails the pass."""
    from nbconvert.exporters import NotebookExporter, exporter
    from nbconvert.preprocessors import Preprocessor

    from autograder.course.coursedir import nbgrader_config

    checked = []
    check = exporter.Exporter._validate_preprocessor
    monkeypatch.setattr(exporter.Exporter, "_validate_preprocessor",
                        lambda self, nb, step: checked.append(step) or check(self, nb, step))

    class Step(Preprocessor):
        enabled = True

        def preprocess(self, nb, resources):
            return nb, resources

    class Breaks(Preprocessor):
        enabled = True

        def preprocess(self, nb, resources):
            nb.cells[0]["source"] = 42   # not text
            return nb, resources

    config = nbgrader_config(ROOT)
    steps = NotebookExporter(config=config, preprocessors=[Step, Step, Step])
    steps.from_notebook_node(_notebook())
    assert len(checked) == 1
    with pytest.raises(nbformat.ValidationError):
        NotebookExporter(config=config, preprocessors=[Step, Breaks, Step]).from_notebook_node(_notebook())

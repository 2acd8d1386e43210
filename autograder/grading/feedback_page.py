"""The feedback page's exporter: nbconvert's HTML page, made once per submission without its slow parts.

nbconvert's HTMLExporter compiles its templates for every page, runs bleach over every highlighted
code cell, and parses the finished page with BeautifulSoup to add two accessibility attributes. Here
the templates are compiled once per process; code that pygments highlighted (every character
escaped, only its own <div>, <pre> and <span class="..."> tags) is kept as it is, anything else
still goes through bleach; and the attributes are spliced into the page's own text by the standard
library's tokenizer. A code cell's highlighting and a markdown cell's HTML are remembered by the
process: most cells are the same in every student's notebook of a chapter (its text, its tests).
The page is the same document (tests/grading/test_feedback_exporter.py).
"""
from __future__ import annotations

import json
import re
from collections import OrderedDict
from collections.abc import Callable
from html import escape
from html.parser import HTMLParser

import jinja2
from nbconvert.exporters import HTMLExporter, TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.strings import clean_html
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

NO_ALT = "No description has been provided for this image"   # nbconvert's words
FOCUSABLE = frozenset({"jp-Cell-inputWrapper", "jp-OutputArea-output"})
# pygments' HtmlFormatter: <div class="highlight"><pre><span></span><span class="k">...; text escaped
_HIGHLIGHT_TAG = re.compile(r'</?(?:div|pre|span)(?: class="[\w -]*")?>')


class CompiledOnce(jinja2.BytecodeCache):
    """Compiled templates kept in memory by this process. jinja2 checks each entry against the
    template's source, so an edited template is compiled afresh."""

    def __init__(self) -> None:
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.compiled[bucket.key] = bucket.bytecode_to_string()


TEMPLATES = CompiledOnce()


def clean_highlighted(element: object) -> str:
    """nbconvert's clean_html filter, skipped where bleach could not change the document: text made
    only of pygments' tags and escaped characters."""
    text = element.decode() if isinstance(element, bytes) else str(element)
    rest = _HIGHLIGHT_TAG.sub("", text)
    if "<" not in rest and ">" not in rest:
        return text
    return clean_html(text)


class Remembered:
    """The latest `size` results of a pure function of a key, kept by this process; a key whose text
    is longer than `longest` characters is not kept (a cell written to fill the grader's memory)."""

    def __init__(self, size: int = 4096, longest: int = 100_000) -> None:
        self.size, self.longest, self.results = size, longest, OrderedDict()

    def get(self, key: tuple, compute: Callable[[], str]) -> str:
        if sum(len(part) for part in key if isinstance(part, str)) > self.longest:
            return compute()
        if key in self.results:
            self.results.move_to_end(key)
            return self.results[key]
        result = self.results[key] = compute()
        if len(self.results) > self.size:
            self.results.popitem(last=False)
        return result


HIGHLIGHTED, MARKDOWN = Remembered(), Remembered()


class RememberedHighlight(Highlight2HTML):
    """nbconvert's code highlighting, each distinct (code, language, options) highlighted once per process."""

    def __call__(self, source, language=None, metadata=None):
        magics = (metadata or {}).get("magics_language")
        key = (source, language or self.pygments_lexer, magics,
               json.dumps(self.extra_formatter_options, sort_keys=True, default=repr))
        return HIGHLIGHTED.get(key, lambda: super(RememberedHighlight, self).__call__(source, language, metadata))


class _Accessible(HTMLParser):
    """Finds the start tags nbconvert's exporter gives an attribute: images without alternative
    text, and the inputs and outputs inside the notebook (made focusable)."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=False)
        self.line_starts = [0] + [match.end() for match in re.finditer("\n", page)]
        self.edits: list[tuple[int, int, str]] = []   # (start, end, the tag rewritten)
        self.in_notebook = False
        self.missing_alt = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _ in attrs}
        classes = set((next((value for name, value in reversed(attrs) if name == "class"), None) or "").split())
        added = ""
        if tag == "img" and "alt" not in names:
            added, self.missing_alt = f' alt="{escape(NO_ALT)}"', self.missing_alt + 1
        elif tag == "div" and self.in_notebook and classes & FOCUSABLE and ("tabindex", "0") not in attrs:
            added = ' tabindex="0"'
        self.in_notebook = self.in_notebook or "jp-Notebook" in classes
        if added:
            text = self.get_starttag_text() or ""
            line, column = self.getpos()
            start = self.line_starts[line - 1] + column
            if "tabindex" in names:   # another value: the tag written anew, its tabindex 0
                kept = "".join(f' {name}="{escape(value or "")}"' for name, value in attrs if name != "tabindex")
                self.edits.append((start, start + len(text), f"<{tag}{kept}{added}>"))
                return
            cut = len(text) - (2 if text.endswith("/>") else 1)
            self.edits.append((start, start + len(text), text[:cut].rstrip() + added + text[cut:]))


def accessible(page: str) -> tuple[str, int]:
    """`page` with nbconvert's accessibility attributes added, and how many images had no alt text."""
    parser = _Accessible(page)
    parser.feed(page)
    parser.close()
    parts, done = [], 0
    for start, end, tag in parser.edits:
        parts += [page[done:start], tag]
        done = end
    parts.append(page[done:])
    return "".join(parts), parser.missing_alt


def _points(value: float) -> str:
    return f"{value:g} point" + ("" if value == 1 else "s")


def say_pending(page: str, pending: dict[str, float]) -> str:
    """nbgrader's page with each answer that waits for a grader said to wait (not scored 0), and its
    total as the points scored of those graded so far and the points pending."""
    for grade_id, points in pending.items():
        name, waits = re.escape(grade_id), f"waiting for a grader: {_points(points)}"
        page = re.sub(rf'(<a href="#{name}">[^<]*</a>) \(Score: [\d.]+ / [\d.]+\)',
                      lambda m, waits=waits: f"{m.group(1)} ({waits})", page, count=1)
        page = re.sub(rf'(<a name="{name}"></a>(?:(?!<a name=)[\s\S])*?)Score: [\d.]+ / [\d.]+',
                      lambda m, waits=waits: f"{m.group(1)}{waits[0].upper()}{waits[1:]}", page, count=1)
    waiting = sum(pending.values())
    if not waiting:
        return page

    def total(match: re.Match) -> str:
        scored, graded = float(match.group(2)), float(match.group(3)) - waiting
        return f"{match.group(1)}{scored:g} of {graded:g} autograded, {waiting:g} pending{match.group(4)}"

    return re.sub(r"(<h4>[^<]*\(Score: )([\d.]+) / ([\d.]+)(\)</h4>)", total, page, count=1)


class FeedbackExporter(HTMLExporter):
    """nbconvert's HTML exporter (nbgrader's feedback page): the same document, made faster."""

    def _create_environment(self) -> jinja2.Environment:
        environment = super()._create_environment()
        environment.bytecode_cache = TEMPLATES
        environment.filters["clean_html"] = clean_highlighted
        return environment

    @jinja2.pass_context
    def markdown2html(self, context, source):
        """HTMLExporter.markdown2html, remembered: its result depends on these settings, the cell's
        attachments, the notebook's folder and the text alone (not remembered where images are embedded
        from files, whose content may change)."""
        if self.embed_images:
            return super().markdown2html(context, source)
        settings = json.dumps({"anchor_link_text": self.anchor_link_text,
                               "exclude_anchor_links": self.exclude_anchor_links,
                               "lexer_options": dict(self.lexer_options)}, sort_keys=True)
        cell = context.get("cell", {})
        path = context.get("resources", {}).get("metadata", {}).get("path", "")
        key = (settings, json.dumps(cell.get("attachments", {}), sort_keys=True, default=repr), str(path), source)
        return MARKDOWN.get(key, lambda: super(FeedbackExporter, self).markdown2html(context, source))

    def from_notebook_node(self, nb, resources=None, **kw):
        # HTMLExporter.from_notebook_node, with its BeautifulSoup pass replaced by `accessible`
        language = nb.metadata.get("language_info", {})
        lexer = language.get("pygments_lexer", language.get("name", None))
        self.register_filter("highlight_code",
                             self.filters.get("highlight_code", RememberedHighlight(pygments_lexer=lexer, parent=self)))
        resources = self._init_resources(resources)
        self.register_filter("filter_data_type", WidgetsDataTypeFilter(
            notebook_metadata=self._nb_metadata, parent=self, resources=resources))
        page, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        page, missing_alt = accessible(page)
        page = say_pending(page, (resources.get("nbgrader") or {}).get("pending") or {})
        if missing_alt:
            self.log.warning("Alternative text is missing on %s image(s).", missing_alt)
        return page, resources

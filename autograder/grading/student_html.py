"""What a student wrote, made safe to show in the instructor's formgrader and in anyone's feedback.

`SanitizeStudentHTML` runs in nbgrader's autograde pass (so the gradebook's autograded copy, which
formgrader renders, and the feedback made from it are clean): markdown cells and rich outputs keep
plain HTML (text, tables, images from the notebook itself, math) but lose scripts, event handlers,
styles, frames, forms and every address outside the notebook (a remote image loads from the
instructor's browser). `StudentFeedback` runs when feedback is generated: hidden tests are cleared
and a test cell's traceback is cut to its last line, so the feedback quotes no hidden test.
"""
from __future__ import annotations

import re

import bleach
from nbconvert.preprocessors.sanitize import SanitizeHTML
from nbgrader.preprocessors import ClearHiddenTests
from traitlets import Bool

TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "dd", "del", "details", "div", "dl",
    "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "ol", "p", "pre",
    "s", "small", "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr",
    "u", "ul",
})
ATTRIBUTES = {"*": ["title"], "a": ["href"], "img": ["src", "alt", "width", "height"],
              "td": ["colspan", "rowspan", "align"], "th": ["colspan", "rowspan", "align", "scope"],
              "col": ["span"], "colgroup": ["span"], "ol": ["start"], "table": ["border"]}
# Only what the notebook carries itself: pasted attachments and inline data; no address to fetch.
PROTOCOLS = frozenset({"attachment", "data"})

_TAG_LIKE = re.compile(r"<\s*[A-Za-z!/?]")
# Markdown links and images: [text](target) / ![alt](target), and reference definitions [id]: target
_INLINE_TARGET = re.compile(r"(\]\(\s*<?)([^)\s>]*)")
_REFERENCE_TARGET = re.compile(r"(^[ \t]{0,3}\[[^\]]+\]:[ \t]*<?)(\S*)", re.M)
_ATTACHMENT = re.compile(r"attachment:([^\s)\"'>]*)")
_SCHEME = re.compile(r"^\s*([A-Za-z][A-Za-z0-9+.-]*):")
_TRAILING_SCHEME = re.compile(r"(?<![\w.+-])((?:https?|ftp|file|javascript|vbscript|wss?)://)", re.I)


def _local_target(match: re.Match) -> str:
    target = match.group(2)
    scheme = _SCHEME.match(target)
    if target.startswith("//") or (scheme and scheme.group(1).lower() not in PROTOCOLS):
        return match.group(1) + "#removed-address"
    return match.group(0)


def clean_html(text: str) -> str:
    """HTML (or markdown holding HTML) with only the allowed tags, attributes and addresses left."""
    if not _TAG_LIKE.search(text):
        return text
    return bleach.clean(text, tags=TAGS, attributes=ATTRIBUTES, protocols=PROTOCOLS, strip=False,
                        strip_comments=True)


def clean_markdown(text: str) -> str:
    """Markdown: its HTML cleaned, and no link or image that points outside the notebook."""
    text = _INLINE_TARGET.sub(_local_target, text)
    text = _REFERENCE_TARGET.sub(_local_target, text)
    text = clean_html(text)
    # an address left in text form (autolinks `<http://...>` were escaped above) cannot be followed
    return _TRAILING_SCHEME.sub(lambda m: m.group(1).replace("://", ":/\u200b/"), text)


class SanitizeStudentHTML(SanitizeHTML):
    """nbconvert's SanitizeHTML with plain HTML (tables, images) kept, no address outside the notebook,
    and markdown links and images checked too."""

    enabled = Bool(True).tag(config=True)  # nbconvert's preprocessors are off unless enabled

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type in ("markdown", "raw"):
            pasted = set(cell.get("attachments") or {})
            # a picture that is not in the cell (left out to grade, or never there) must not stop the feedback
            cell.source = _ATTACHMENT.sub(lambda m: m.group(0) if m.group(1) in pasted else "#picture-not-kept",
                                          clean_markdown(cell.source))
            return cell, resources
        if cell.cell_type == "code":
            cell.outputs = self.sanitize_code_outputs(cell.outputs)
            for output in cell.outputs:
                data = output.get("data") or {}
                if "text/markdown" in data:
                    data["text/markdown"] = clean_markdown(data["text/markdown"])
        return cell, resources

    def sanitize_html_tags(self, html_str: str) -> str:
        return clean_html(html_str)


class StudentFeedback(ClearHiddenTests):
    """Feedback for the student: hidden tests cleared, a test cell's traceback cut to its last line."""

    def preprocess_cell(self, cell, resources, cell_index):
        nbgrader_meta = cell.get("metadata", {}).get("nbgrader", {})
        if not nbgrader_meta.get("grade") or nbgrader_meta.get("solution") or cell.cell_type != "code":
            return cell, resources  # not a test cell (its code comes from the source): the student's own text
        try:
            self._remove_hidden_test_region(cell)
        except RuntimeError:  # unbalanced markers: show none of the cell
            cell.source = ""
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                output["traceback"] = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
        return cell, resources

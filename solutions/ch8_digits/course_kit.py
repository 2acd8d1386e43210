"""Shared helpers for the chapter notebooks: figures with alt text, and checks that explain.

This file is copied next to every chapter notebook by `python -m autograder build`;
edit it here, in autograder/student_kit/, never in course/ or solutions/.
"""
from __future__ import annotations

import base64
import html
import io
import math
import numbers
from typing import Any, Callable

import matplotlib
import numpy as np

matplotlib.use("Agg")  # figures are shown as images, with or without a display
import matplotlib.pyplot as plt  # noqa: E402

__all__ = ["show", "png_bundle", "CheckFailed", "full_traceback", "passed", "require_float", "require_close"]


def png_bundle(fig: plt.Figure, alt: str) -> dict[str, Any]:
    """The figure as a PNG mime bundle whose text form is its alt text, cropped to what is drawn.

    The figure is drawn once, whole, and the picture cut from that drawing: everything that is not
    the figure's background, plus savefig's padding. Measuring the crop box first, as
    `bbox_inches="tight"` does, lays out every tick and label again (a third of a figure's time).
    A drawing that reaches the figure's edge may go on beyond it: that one is saved the measured way.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    fig.set_dpi(96)  # the saved resolution
    fig.set_layout_engine(None)  # a layout already applied (tight_layout) is kept, not run again
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)  # a bare Figure's too
    canvas.draw()
    pixels = np.asarray(canvas.buffer_rgba())
    ink = (pixels != pixels[0, 0]).any(axis=-1)  # the corner is background unless drawn over (then: measured)
    rows, columns = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    height, width = ink.shape
    buffer = io.BytesIO()
    if rows.size and 0 < rows[0] and rows[-1] < height - 1 and 0 < columns[0] and columns[-1] < width - 1:
        pad = round(plt.rcParams["savefig.pad_inches"] * 96)
        top, bottom = max(rows[0] - pad, 0), min(rows[-1] + 1 + pad, height)
        left, right = max(columns[0] - pad, 0), min(columns[-1] + 1 + pad, width)
        Image.fromarray(pixels[top:bottom, left:right]).save(buffer, format="png", dpi=(96, 96))
    else:
        crop = fig.get_tightbbox().padded(plt.rcParams["savefig.pad_inches"])
        fig.savefig(buffer, format="png", dpi=96, bbox_inches=crop, metadata={"Software": None})
    plt.close(fig)
    return {"image/png": base64.b64encode(buffer.getvalue()).decode("ascii"), "text/plain": alt}


def description_bundle(alt: str) -> dict[str, Any]:
    """A collapsed "Description of the figure" line that opens to the alt text.

    JupyterLab and nbconvert's HTML draw a PNG output without an alt attribute, so the text a
    screen reader needs is also given as this small output right under the figure.
    """
    return {"text/html": f'<details class="figure-description"><summary>Description of the figure</summary>'
                         f"<p>{html.escape(alt)}</p></details>"}


def show(fig: plt.Figure, alt: str) -> None:
    """Display a figure with alt text for screen readers (and as the plain-text fallback)."""
    from IPython.display import display

    display(png_bundle(fig, alt), metadata={"image/png": {"alt": alt}}, raw=True)
    display(description_bundle(alt), raw=True)


class CheckFailed(AssertionError):
    """A visible check failed; the message says what went wrong and where to look.

    IPython (and so JupyterLab and nbgrader's Validate) shows `_render_traceback_` instead of a
    traceback through checks.py and course_kit.py: one short block in plain words. The full
    traceback stays one call away: `full_traceback()`.
    """

    def _render_traceback_(self) -> list[str]:
        import textwrap

        # wrapped to fit nbgrader's Validate dialog, which cuts lines longer than 83 characters
        lines = textwrap.wrap(f"✘ check failed: {self}", 78, subsequent_indent="  ")
        return [f"\x1b[31m{lines[0]}\x1b[0m", *lines[1:],
                "  (full traceback: from course_kit import full_traceback; full_traceback())"]


def full_traceback() -> None:
    """Print the full traceback of the last error, the way Python would have shown it."""
    import sys
    import traceback

    error = getattr(sys, "last_value", None)
    if error is None:
        print("no error yet")
        return
    traceback.print_exception(type(error), error, error.__traceback__, file=sys.stdout)


def passed(name: str) -> None:
    print(f"✔ {name}: passed")


def require_float(value: object, call: str) -> float:
    """Fail unless `value` is a real number (the docstrings promise a float)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        kind = f"{type(value).__module__}.{type(value).__qualname__}"
        hint = " Use `.item()` to turn a one-element tensor into a float." if "torch" in kind else ""
        raise CheckFailed(f"{call} returned a {kind}, but the docstring promises a float.{hint}")
    return float(value)


def require_close(got: float, expected: float, call: str, diagnoses: dict[str, float] | None = None,
                  rel_tol: float = 1e-9) -> None:
    """Fail unless got == expected (to rounding); name the likely mistake when one matches."""
    abs_tol = rel_tol * 1e-3
    if math.isclose(got, expected, rel_tol=rel_tol, abs_tol=abs_tol):
        return
    for reason, wrong_value in (diagnoses or {}).items():
        if math.isclose(got, wrong_value, rel_tol=rel_tol, abs_tol=abs_tol):
            raise CheckFailed(f"{call} returned {got!r}, expected {expected!r}: {reason}")
    raise CheckFailed(f"{call} returned {got!r}, expected {expected!r}.")


def run_check(name: str, check: Callable[[], None]) -> None:
    """Run one check; a stub that is not written yet gets a friendly word instead of a traceback."""
    try:
        check()
    except NotImplementedError:
        raise CheckFailed(f"{name}: not attempted yet: replace `raise NotImplementedError()` with your code (here or in an exercise it uses).") from None
    passed(name)

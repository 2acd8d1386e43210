"""course_kit.png_bundle draws each chapter's figure once, whole, and cuts the picture out of that drawing.

The figures come from the chapters' own plotting functions, with the hard cases of the course: a
suptitle over a tight layout, log and symlog scales with mathtext tick labels, annotations, legends
placed by "best", equal-aspect contour plots; and the batch report's figures. Each figure is pickled
before it is drawn, and the copy drawn whole the plain matplotlib way: the picture must be exactly a
rectangle of that drawing, holding every pixel that is not the figure's background with savefig's
padding around it, and matplotlib's own measure of the figure (its tight box) must lie inside the
drawing, so that nothing drawn beyond the figure's edge was cut off. A figure that does reach past
its edge is saved the measured way, as `bbox_inches="tight"` saves it.
"""
from __future__ import annotations

import base64
import importlib.util
import io
import pickle
import sys
from collections.abc import Callable
from pathlib import Path

import matplotlib.colors
from matplotlib.backends.backend_agg import FigureCanvasAgg
import matplotlib.pyplot as plt
import numpy as np
import pytest

from autograder.paths import SOLUTIONS_DIR

KIT = Path(__file__).resolve().parents[2] / "autograder" / "student_kit" / "course_kit.py"


def load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


course_kit = load(KIT, "course_kit")


def figures_of(chapter: str):
    sys.modules["course_kit"] = course_kit  # the chapter's `from course_kit import show`
    try:
        return load(SOLUTIONS_DIR / chapter / "figures.py", f"_figures_{chapter}")
    finally:
        del sys.modules["course_kit"]


def capture(plot: Callable[[object], None]) -> plt.Figure:
    """The figure a chapter function passes to `show`, not drawn yet."""
    shown: list[plt.Figure] = []
    plot(lambda fig, alt: shown.append(fig))
    assert len(shown) == 1
    return shown[0]


def ch2(show) -> None:
    figures = figures_of("ch2_implement")
    figures.show = show
    paths = {0.05: [1.0 * 0.9 ** k for k in range(21)], 0.2: [1.0 * 0.6 ** k for k in range(21)],
             1.1: [1.0 * (-1.2) ** k for k in range(21)], 0.5: [1.0, 0.0, 0.0, 0.0]}
    figures.plot_learning_rates(paths)


def ch4(show) -> None:
    figures = figures_of("ch4_fitting_a_line")
    figures.show = show
    history = [(2.0 - 1.5 * 0.9 ** e, 1.0 - 0.8 * 0.9 ** e, 0.5 * 0.8 ** e) for e in range(1, 101)]
    figures.plot_line_moving([1.0, 2.0, 3.0, 4.0], [3.0, 5.0, 7.0, 9.0], history, epochs=[0, 1, 3, 10, 100],
                             start=(0.5, 0.2))


def ch5(show) -> None:
    figures = figures_of("ch5_convergence")
    figures.show = show
    errors = {0.1: [1.0 * 0.6 ** k for k in range(15)], 0.25: [1.0, 0.0, 0.0], 0.45: [(-0.8) ** k for k in range(15)]}
    figures.plot_error_factors(errors, curvature=4.0)


def ch6(show) -> None:
    figures = figures_of("ch6_valleys")
    figures.show = show
    t = np.linspace(0.0, 1.0, 50)
    figures.plot_line_fit_valleys([1, 2, 3, 4], [-1.5, -0.5, 0.5, 1.5], [3, 5, 7, 9],
                                  np.stack([1.5 + 0.5 * t, -0.3 + 1.3 * t], 1), np.stack([1.5 + 0.5 * t, -0.3 + 6.3 * t], 1),
                                  (2.0, 1.0), (2.0, 6.0))


def report(show) -> None:
    """The batch report's two figures (autograder/grading/report.py), each handed to `show` undrawn."""
    from autograder.grading import report as page

    grades = [{"assignment_id": aid, "score": str(score), "max_score": "6"}
              for aid in ("ch1_the_idea", "ch2_implement") for score in (0, 3, 4, 6, 6)]
    tests = [{"kind": "autograded", "assignment_id": "ch2_implement", "grade_id": f"test_{n}",
              "points": str(points), "max_points": "1"} for n in range(4) for points in (0, 1, 1, n % 2)]
    original = page._png
    page._png = lambda fig: show(fig, "") or ""
    try:
        page.score_figure(grades)
        page.pass_rate_figure(tests)
    finally:
        page._png = original


def bare_figure(show) -> None:
    """A Figure made without pyplot (no canvas to draw on of its own), log scale and mathtext."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 3))
    ax = fig.subplots()
    ax.semilogy(range(1, 30), [0.5 ** k for k in range(1, 30)], "o-", label=r"$|\theta_k - \theta^*|$")
    ax.legend()
    show(fig, "alt")


def report_scores(show) -> None:
    report(lambda fig, alt: show(fig, alt) if fig.texts else plt.close(fig))   # the one with a suptitle


def report_pass_rates(show) -> None:
    report(lambda fig, alt: plt.close(fig) if fig.texts else show(fig, alt))


def decoded(png_base64: str) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(base64.b64decode(png_base64))).convert("RGBA"))


@pytest.mark.parametrize("plot", [ch2, ch4, ch5, ch6, bare_figure, report_scores, report_pass_rates],
                         ids=lambda plot: plot.__name__)
def test_the_picture_is_the_figure_drawn_once_cropped_to_its_ink(plot) -> None:
    fig = capture(plot)
    twin = pickle.loads(pickle.dumps(fig))
    mine = decoded(course_kit.png_bundle(fig, "alt")["image/png"])

    twin.set_dpi(96)
    twin.set_layout_engine(None)
    canvas = FigureCanvasAgg(twin)
    canvas.draw()
    whole = np.asarray(canvas.buffer_rgba())
    measured = twin.get_tightbbox()  # inches, what matplotlib itself counts as drawn
    background = np.round(matplotlib.colors.to_rgba(twin.get_facecolor()) * np.array(255.0)).astype(np.uint8)
    plt.close(twin)
    assert measured.x0 >= 0 and measured.y0 >= 0 and measured.x1 <= twin.get_figwidth() \
        and measured.y1 <= twin.get_figheight(), "this figure reaches past its edge: not a fast-path case"

    ink = (whole != background).any(axis=-1)
    rows, columns = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    pad = round(plt.rcParams["savefig.pad_inches"] * 96)
    top, left = max(rows[0] - pad, 0), max(columns[0] - pad, 0)
    bottom, right = min(rows[-1] + 1 + pad, whole.shape[0]), min(columns[-1] + 1 + pad, whole.shape[1])
    assert mine.shape == (bottom - top, right - left, 4)
    assert np.array_equal(mine, whole[top:bottom, left:right])      # the one drawing, nothing redrawn
    assert ink.sum() == (mine != background).any(axis=-1).sum()    # every drawn pixel is in the picture


def test_a_figure_reaching_past_its_edge_is_saved_whole_as_matplotlib_crops_it() -> None:
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1], [0, 1], label="a legend outside the axes and the figure")
    ax.legend(loc="center left", bbox_to_anchor=(1.05, 0.5))
    twin = pickle.loads(pickle.dumps(fig))
    mine = decoded(course_kit.png_bundle(fig, "alt")["image/png"])
    plain = io.BytesIO()
    twin.savefig(plain, format="png", dpi=96, bbox_inches="tight", metadata={"Software": None})
    plt.close(twin)
    theirs = decoded(base64.b64encode(plain.getvalue()).decode("ascii"))
    assert mine.shape[1] > 3 * 96 + 10   # wider than the figure: the legend was kept
    assert np.array_equal(mine, theirs)

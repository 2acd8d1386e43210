"""course_kit.png_bundle draws each chapter's figure once, and the picture is matplotlib's own crop.

`png_bundle` measures the crop box itself and draws once, instead of `bbox_inches="tight"` (which
draws twice). These figures come from the chapters' own plotting functions, with the hard cases
of the course: a suptitle over a tight layout, log and symlog scales with mathtext tick labels,
annotations, legends placed by "best", equal-aspect contour plots; and the batch report's figures.
Each figure is pickled before it is drawn, and the copy saved the plain matplotlib way: the two PNGs
must decode to the same pixels.
"""
from __future__ import annotations

import base64
import importlib.util
import io
import pickle
import sys
from collections.abc import Callable
from pathlib import Path

import matplotlib.image
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


def report_scores(show) -> None:
    report(lambda fig, alt: show(fig, alt) if fig.texts else plt.close(fig))   # the one with a suptitle


def report_pass_rates(show) -> None:
    report(lambda fig, alt: plt.close(fig) if fig.texts else show(fig, alt))


@pytest.mark.parametrize("plot", [ch2, ch4, ch5, ch6, report_scores, report_pass_rates], ids=lambda plot: plot.__name__)
def test_the_picture_is_the_one_matplotlib_crops_itself(plot) -> None:
    fig = capture(plot)
    twin = pickle.loads(pickle.dumps(fig))
    ours = course_kit.png_bundle(fig, "alt")["image/png"]
    plain = io.BytesIO()
    twin.savefig(plain, format="png", dpi=96, bbox_inches="tight", metadata={"Software": None})
    plt.close(twin)
    mine = matplotlib.image.imread(io.BytesIO(base64.b64decode(ours)), format="png")
    theirs = matplotlib.image.imread(io.BytesIO(plain.getvalue()), format="png")
    assert mine.shape == theirs.shape
    assert np.array_equal(mine, theirs)

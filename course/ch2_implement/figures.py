"""Figures for chapter 2: learning rates side by side, and a learning rate to play with."""
from __future__ import annotations

import math
from typing import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display

from course_kit import description_bundle, png_bundle, show

Descent = Callable[[float, float, int], float]  # gradient_descent(initial_theta, learning_rate, number_steps)
LEARNING_RATES = (0.001, 0.003, 0.01, 0.03, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0, 1.05, 1.1,
                  1.5, 2.0, 5.0, 10.0)


def path_of(gradient_descent: Descent, theta: float, learning_rate: float, number_steps: int) -> list[float]:
    """theta after 0, 1, ..., number_steps steps, each asked of `gradient_descent` itself."""
    return [gradient_descent(theta, learning_rate, k) for k in range(number_steps + 1)]


def _landed_on_zero(path: Sequence[float]) -> int | None:
    """The first step after which theta is exactly 0 (the minimum), when it started elsewhere."""
    return next((k for k, value in enumerate(path) if k and value == 0 and path[0] != 0), None)


def _learning_rate_figure(paths: Mapping[float, Sequence[float]]) -> plt.Figure:
    """Left: theta itself near the start (linear); right: the distance |theta| from the minimum (log)."""
    fig, (ax_theta, ax_dist) = plt.subplots(1, 2, figsize=(11, 4.2))
    start = max(abs(p[0]) for p in paths.values()) or 1.0
    longest = max(len(p) for p in paths.values())
    for lr, path in paths.items():
        steps = np.arange(len(path))
        values = np.asarray(path, dtype=float)
        outside = np.flatnonzero(np.abs(values) > 1.25 * start)
        last = outside[0] if outside.size else len(values) - 1  # draw up to the first step off the chart
        line, = ax_theta.plot(steps[:last + 1], values[:last + 1], "o-", markersize=3,
                              label=f"learning rate {lr:g}")
        if outside.size:
            edge = 1.25 * start * np.sign(values[last])
            right = last > 0.6 * (longest - 1)
            ax_theta.annotate(f"off the chart: $\\theta$ = {values[last]:.3g} at step {last}",
                              xy=(steps[last], edge), xytext=(-8 if right else 8, -14 if edge > 0 else 6),
                              textcoords="offset points", fontsize=8, color=line.get_color(),
                              ha="right" if right else "left")
        distance = np.abs(values)
        shown = distance > 0  # a log scale has no room for an exact 0
        landed = _landed_on_zero(path)
        if landed is not None:  # mark it where the log panel cannot draw it
            ax_dist.axvline(landed, color=line.get_color(), linestyle="--", linewidth=1)
            ax_dist.annotate(f"$\\theta$ = 0 exactly from step {landed} on\n(no place for 0 on a log scale)",
                             xy=(landed, 0.5), xycoords=("data", "axes fraction"), xytext=(4, 0),
                             textcoords="offset points", fontsize=8, color=line.get_color())
        ax_dist.plot(steps[shown], distance[shown], "-", color=line.get_color(), label=f"learning rate {lr:g}")
        for sign, face in ((1, line.get_color()), (-1, "white")):
            pick = shown & (np.sign(values) == sign)
            ax_dist.plot(steps[pick], distance[pick], "o", markersize=4, color=line.get_color(),
                         markerfacecolor=face)
    ax_theta.axhline(0, color="0.6", linestyle=":", label=r"minimum, $\theta = 0$")
    ax_theta.set_ylim(-1.25 * start, 1.25 * start)
    ax_theta.set(title=r"$\theta$ after each step", xlabel="step",
                 ylabel=r"$\theta$")
    ax_dist.set_yscale("log")
    low, high = ax_dist.get_ylim()
    if high < 10 * low:  # at least one decade, so a slow crawl does not look like a plunge
        middle = math.sqrt(low * high)
        ax_dist.set_ylim(middle / 4, middle * 4)
    for ax in (ax_theta, ax_dist):
        ax.set_xlim(-0.03 * (longest - 1) - 0.5, 1.03 * (longest - 1) + 0.5)
    ax_dist.set(title=r"distance from the minimum $|\theta|$ (log scale; hollow: $\theta < 0$)",
                xlabel="step", ylabel=r"$|\theta|$")
    for ax in (ax_theta, ax_dist):
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
    ax_theta.legend(fontsize=8, loc="lower right")
    ax_dist.legend(fontsize=8, loc="best")
    fig.suptitle(_verdict(*paths.items()) if len(paths) == 1 else
                 "Too small crawls, about right converges, too large diverges")
    fig.tight_layout()
    return fig


def _verdict(item: tuple[float, Sequence[float]]) -> str:
    """One learning rate's outcome, in words."""
    lr, path = item
    if path[0] == 0 or len(path) < 2:
        return f"Learning rate {lr:g}: nothing to do, theta starts at the minimum"
    landed = _landed_on_zero(path)
    if landed is not None:
        return f"Learning rate {lr:g} lands exactly on the minimum, theta = 0, at step {landed} and stays there"
    ratio = abs(path[-1]) / abs(path[0])
    if math.isnan(ratio) or ratio > 1 + 1e-9:
        outcome = "diverges: every step lands further from the minimum"
    elif ratio > 1 - 1e-9:
        outcome = "never gets closer: it jumps from side to side at the same distance"
    elif ratio > 0.01:
        outcome = "converges, but slowly"
    else:
        outcome = "converges"
    return f"Learning rate {lr:g} {outcome}"


def _alt(paths: Mapping[float, Sequence[float]]) -> str:
    parts = [f"learning rate {lr:g}: theta goes from {p[0]:.4g} to {p[-1]:.4g} in {len(p) - 1} steps"
             for lr, p in paths.items()]
    verdict = f"{_verdict(*paths.items())}. " if len(paths) == 1 else ""
    return (verdict + "Two panels, one line per learning rate: theta after each step, and its distance "
            "from the minimum on a log scale; " + "; ".join(parts) + ".")


def plot_learning_rates(paths: Mapping[float, Sequence[float]]) -> None:
    """One line per learning rate: theta and its distance from the minimum after each step."""
    show(_learning_rate_figure(paths), _alt(paths))


def explore_learning_rate(gradient_descent: Descent, learning_rate: float = 0.2, number_steps: int = 20,
                          start: float = 1.0) -> None:
    """Sliders for the learning rate, the number of steps and the start, redrawing the descent.

    Where no widget front end runs (nbconvert, CI, a static page), the same output shows a
    static figure for the starting values instead.
    """
    def figure_for(lr: float, n: int, theta: float) -> tuple[plt.Figure, str]:
        paths = {lr: path_of(gradient_descent, theta, lr, n)}
        return _learning_rate_figure(paths), _alt(paths)

    first_figure, first_alt = figure_for(learning_rate, number_steps, start)
    static = png_bundle(first_figure, first_alt)
    alt_metadata = {"image/png": {"alt": first_alt}}
    try:
        import ipywidgets as widgets
    except ImportError:
        display(static, metadata=alt_metadata, raw=True)
        display(description_bundle(first_alt), raw=True)
        return

    label_style = {"description_width": "initial"}  # show the whole label
    rates = sorted({*LEARNING_RATES, learning_rate})  # exact values: a log slider would round 0.2
    lr = widgets.SelectionSlider(options=[(f"{r:g}", r) for r in rates], value=learning_rate,
                                 description="learning rate", continuous_update=False, style=label_style)
    steps = widgets.IntSlider(value=number_steps, min=0, max=60, description="steps",
                              continuous_update=False, style=label_style)
    theta0 = widgets.FloatSlider(value=start, min=-3, max=3, step=0.1, description="start θ",
                                 continuous_update=False, style=label_style)
    out = widgets.Output()

    def redraw(change: object = None) -> None:
        with out:
            out.clear_output(wait=True)
            if change is None:  # the starting values: the figure is drawn already
                display(static, metadata=alt_metadata, raw=True)
                display(description_bundle(first_alt), raw=True)
            else:
                show(*figure_for(lr.value, steps.value, theta0.value))

    for control in (lr, steps, theta0):
        control.observe(redraw, names="value")
    redraw()
    panel = widgets.VBox([widgets.HBox([lr, steps, theta0]), out])
    bundle = dict(panel._repr_mimebundle_())
    bundle["image/png"] = static["image/png"]  # what a page without widgets shows
    bundle["text/plain"] = static["text/plain"]
    display(bundle, metadata=alt_metadata, raw=True)

"""Figures for chapter 2: learning rates side by side, and a learning rate to play with."""
from __future__ import annotations

from typing import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display

from course_kit import png_bundle, show

Step = Callable[[float, float], float]


def descent_path(single_step: Step, theta: float, learning_rate: float, number_steps: int) -> list[float]:
    """theta before the first step, then after each step."""
    path = [theta]
    for _ in range(number_steps):
        path.append(single_step(path[-1], learning_rate))
    return path


def _learning_rate_figure(paths: Mapping[float, Sequence[float]]) -> plt.Figure:
    fig, (ax_theta, ax_loss) = plt.subplots(1, 2, figsize=(11, 4))
    for lr, path in paths.items():
        steps = np.arange(len(path))
        ax_theta.plot(steps, path, "o-", markersize=3, label=f"learning rate {lr:g}")
        ax_loss.semilogy(steps, np.square(path) + 1e-300, "o-", markersize=3, label=f"learning rate {lr:g}")
    ax_theta.set(title=r"$\theta$ after each step", xlabel="step", ylabel=r"$\theta$",
                 yscale="symlog", )
    ax_loss.set(title=r"loss $L(\theta) = \theta^2$ after each step (log scale)", xlabel="step",
                ylabel=r"$L(\theta)$")
    for ax in (ax_theta, ax_loss):
        ax.legend()
    fig.suptitle("Too small crawls, about right converges, too large diverges")
    fig.tight_layout()
    return fig


def _alt(paths: Mapping[float, Sequence[float]]) -> str:
    parts = [f"learning rate {lr:g}: theta goes from {p[0]:.4g} to {p[-1]:.4g} in {len(p) - 1} steps"
             for lr, p in paths.items()]
    return "Two panels, theta and the loss after each step, one line per learning rate; " + "; ".join(parts) + "."


def plot_learning_rates(paths: Mapping[float, Sequence[float]]) -> None:
    """One line per learning rate: theta and the loss after each step."""
    show(_learning_rate_figure(paths), _alt(paths))


def explore_learning_rate(single_step: Step, learning_rate: float = 0.2, number_steps: int = 20,
                          start: float = 1.0) -> None:
    """Sliders for the learning rate, the number of steps and the start, redrawing the descent.

    Where no widget front end runs (nbconvert, CI, a static page), the same output shows a
    static figure for the starting values instead.
    """
    def figure_for(lr: float, n: int, theta: float) -> tuple[plt.Figure, str]:
        paths = {lr: descent_path(single_step, theta, lr, n)}
        return _learning_rate_figure(paths), _alt(paths)

    static = png_bundle(*figure_for(learning_rate, number_steps, start))
    try:
        import ipywidgets as widgets
    except ImportError:
        display(static, raw=True)
        return

    lr = widgets.FloatLogSlider(value=learning_rate, base=10, min=-3, max=1, step=0.05,
                                description="learning rate", readout_format=".3g")
    steps = widgets.IntSlider(value=number_steps, min=0, max=60, description="steps")
    theta0 = widgets.FloatSlider(value=start, min=-3, max=3, step=0.1, description="start θ")
    out = widgets.Output()

    def redraw(_change: object = None) -> None:
        with out:
            out.clear_output(wait=True)
            show(*figure_for(lr.value, steps.value, theta0.value))

    for control in (lr, steps, theta0):
        control.observe(redraw, names="value")
    redraw()
    panel = widgets.VBox([widgets.HBox([lr, steps, theta0]), out])
    bundle = dict(panel._repr_mimebundle_())
    bundle["image/png"] = static["image/png"]  # what a page without widgets shows
    bundle["text/plain"] = static["text/plain"]
    display(bundle, raw=True)

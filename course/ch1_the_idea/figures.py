"""Figures for chapter 1: the bowl-shaped loss and the steps taken on it."""
from __future__ import annotations

from typing import Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np

from course_kit import show


def plot_steps_on_bowl(weights: Sequence[float], loss: Callable[[float], float], start: float = 0.0) -> None:
    """Draw the loss curve and the path start -> weights[0] -> weights[1] -> ..."""
    path = [start, *weights]
    grid = np.linspace(-0.5, 6.5, 300)
    fig, ax = plt.subplots(figsize=(6.5, 4))
    ax.plot(grid, [loss(w) for w in grid], color="0.4", label="loss $L(w) = (w - 3)^2$")
    ax.plot(weights, [loss(w) for w in weights], "o", color="tab:red", label="weight after each step")
    ax.plot([start], [loss(start)], "s", color="black", label=f"start, $w = {start:g}$ (before any step)")
    for a, b in zip(path, path[1:]):
        ax.annotate("", xy=(b, loss(b)), xytext=(a, loss(a)),
                    arrowprops=dict(arrowstyle="->", color="tab:red"))
    ax.axvline(3, color="0.6", linestyle=":", label="minimum, $w = 3$")
    ax.set(title="Each step moves against the slope and shrinks near the bottom",
           xlabel="weight $w$", ylabel="loss $L(w)$")
    ax.legend()
    steps = ", ".join(f"{w:.4g}" for w in weights)
    show(fig, "A bowl-shaped loss curve with its lowest point at w = 3. A black square marks the "
              f"start at w = {start:.4g}, red points the weight after each step ({steps}); each arrow is shorter than the one before.")

"""Figures for chapter 4: the line moving toward the points, the loss, and the loss surface."""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from course_kit import show

History = Sequence[tuple[float, float, float]]  # (w, b, loss) after each epoch


def plot_line_moving(x: Sequence[float], y: Sequence[float], history: History,
                     epochs: Sequence[int]) -> None:
    fig, ax = plt.subplots(figsize=(6.5, 4))
    ax.scatter(x, y, color="black", zorder=3, label="data: $y = 2x + 1$")
    grid = np.linspace(0, 5, 50)
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(epochs)))
    for epoch, color in zip(epochs, colors):
        w, b, _ = history[epoch - 1]
        ax.plot(grid, w * grid + b, color=color, label=f"after {epoch} epochs: y = {w:.3f}x + {b:.3f}")
    ax.set(title="The fitted line moves toward the four points", xlabel="$x$", ylabel="$y$")
    ax.legend(fontsize=8)
    lines = "; ".join(f"after {e} epochs w = {history[e - 1][0]:.3f}, b = {history[e - 1][1]:.3f}"
                      for e in epochs)
    show(fig, f"Four data points on the line y = 2x + 1 and the fitted line at several epochs: {lines}.")


def plot_loss_curves(histories: Mapping[str, History]) -> None:
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for label, history in histories.items():
        ax.semilogy(np.arange(1, len(history) + 1), [h[2] for h in history], label=label)
    ax.set(title="Loss per epoch (log scale)", xlabel="epoch", ylabel="mean squared error")
    ax.legend()
    ends = "; ".join(f"{label}: final loss {h[-1][2]:.2g}" for label, h in histories.items())
    show(fig, f"Loss per epoch on a log scale, one curve per setting. {ends}.")


def plot_loss_surface(x: Sequence[float], y: Sequence[float], paths: Mapping[str, History]) -> None:
    xs, ys = np.asarray(x, dtype=float).ravel(), np.asarray(y, dtype=float).ravel()
    w_grid, b_grid = np.meshgrid(np.linspace(-0.5, 3.5, 200), np.linspace(-2.5, 3.5, 200))
    loss = ((w_grid[..., None] * xs + b_grid[..., None] - ys) ** 2).mean(axis=-1)
    fig, ax = plt.subplots(figsize=(6.5, 5))
    contours = ax.contour(w_grid, b_grid, loss, levels=np.geomspace(0.01, 100, 13), cmap="Greys")
    ax.clabel(contours, fontsize=7, fmt="%.2g")
    for label, history in paths.items():
        ws = [h[0] for h in history]
        bs = [h[1] for h in history]
        ax.plot(ws, bs, ".-", markersize=2, label=f"{label} (ends at w = {ws[-1]:.4f}, b = {bs[-1]:.4f})")
    ax.plot([2], [1], "*", color="tab:red", markersize=12, label="minimum: w = 2, b = 1")
    ax.set(title="Loss surface over (w, b): a long, narrow valley", xlabel="weight $w$", ylabel="bias $b$")
    ax.legend(fontsize=8, loc="upper right")
    show(fig, "Contours of the loss over w and b form a long narrow valley running diagonally through "
              "the minimum at w = 2, b = 1; the descent paths drop quickly into the valley and then "
              "move slowly along it.")

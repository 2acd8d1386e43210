"""Figures for chapter 4: the line moving toward the points, the loss, and the loss surface."""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib
import matplotlib.colors
import matplotlib.pyplot as plt
import numpy as np

from course_kit import show

History = Sequence[tuple[float, float, float]]  # (w, b, loss) after each epoch


def _epochs_label(epoch: int) -> str:
    return "the start (epoch 0)" if epoch == 0 else f"after {epoch} epoch{'' if epoch == 1 else 's'}"


def plot_line_moving(x: Sequence[float], y: Sequence[float], history: History, epochs: Sequence[int],
                     start: tuple[float, float]) -> None:
    """Left: the line at a few epochs (0 is the start). Right: how far it is from the points, every epoch."""
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    lines = [start] + [(h[0], h[1]) for h in history]  # (w, b) at epoch 0, 1, 2, ...
    fig, (ax, ax_gap) = plt.subplots(1, 2, figsize=(11, 4.2))
    ax.scatter(xs, ys, color="black", zorder=5, label="data: $y = 2x + 1$")
    grid = np.linspace(0, 5, 50)
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(epochs)))
    gaps = np.array([np.abs(w * xs + b - ys).max() for w, b in lines])
    ax_gap.semilogy(np.arange(len(lines)), gaps, color="0.5", linewidth=1, label="every epoch")
    for i, (epoch, color) in enumerate(zip(epochs, colors)):
        w, b = lines[epoch]
        late = i >= len(epochs) - 2  # the last lines lie on the data: dashed, on top, so they stay visible
        ax.plot(grid, w * grid + b, color=color, linestyle="--" if late else "-", linewidth=2.2 if late else 1.5,
                zorder=4 if late else 2, label=f"{_epochs_label(epoch)}: y = {w:.3f}x {'-' if b < 0 else '+'} {abs(b):.3f}")
        ax_gap.plot(epoch, gaps[epoch], "o", color=color, label=_epochs_label(epoch))
    ax.set(title="The fitted line moves toward the four points", xlabel="$x$", ylabel="$y$")
    ax.legend(fontsize=8)
    ax_gap.set_xscale("symlog", linthresh=10)
    ax_gap.set(title="Largest distance from the line to a point (log scales)", xlabel="epoch (0: the start)",
               ylabel=r"$\max_i |w x_i + b - y_i|$")
    ax_gap.legend(fontsize=8)
    fig.tight_layout()
    described = "; ".join(f"{_epochs_label(e)} w = {lines[e][0]:.3f}, b = {lines[e][1]:.3f}, largest distance "
                          f"{gaps[e]:.2g}" for e in epochs)
    show(fig, "Left: four data points on the line y = 2x + 1 and the fitted line at several epochs. Right: the "
              f"largest distance between the fitted line and a data point, for every epoch, on log scales. {described}.")


def plot_loss_curves(histories: Mapping[str, History]) -> None:
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for label, history in histories.items():
        ax.semilogy(np.arange(1, len(history) + 1), [h[2] for h in history], label=label)
    ax.set(title="Loss per epoch (log scale)", xlabel="epoch", ylabel="mean squared error")
    ax.legend()
    ends = "; ".join(f"{label}: final loss {h[-1][2]:.2g}" for label, h in histories.items())
    show(fig, f"Loss per epoch on a log scale, one curve per setting. {ends}.")


def plot_loss_surface(x: Sequence[float], y: Sequence[float], paths: Mapping[str, History],
                      start: tuple[float, float] | None = None) -> None:
    """Contours of the loss over (w, b), zoomed on the paths, each path drawn from `start`."""
    xs, ys = np.asarray(x, dtype=float).ravel(), np.asarray(y, dtype=float).ravel()
    walks = {}
    for label, history in paths.items():
        points = [(h[0], h[1]) for h in history]
        walks[label] = np.array(([start] if start is not None else []) + points, dtype=float)
    every = np.vstack([*walks.values(), [[2.0, 1.0]]])
    (w_lo, b_lo), (w_hi, b_hi) = every.min(axis=0), every.max(axis=0)
    pad_w, pad_b = 0.12 * (w_hi - w_lo) + 0.05, 0.12 * (b_hi - b_lo) + 0.05
    w_grid, b_grid = np.meshgrid(np.linspace(w_lo - pad_w, w_hi + pad_w, 300),
                                 np.linspace(b_lo - pad_b, b_hi + pad_b, 300))
    loss = ((w_grid[..., None] * xs + b_grid[..., None] - ys) ** 2).mean(axis=-1)
    levels = np.geomspace(max(loss.min(), 1e-4), loss.max(), 14)
    fig, ax = plt.subplots(figsize=(7, 5.5))
    ax.contourf(w_grid, b_grid, loss, levels=levels, cmap="Blues_r", alpha=0.45,
                norm=matplotlib.colors.LogNorm())
    contours = ax.contour(w_grid, b_grid, loss, levels=levels, colors="0.35", linewidths=0.8)
    ax.clabel(contours, contours.levels[::2], fontsize=7, fmt="%.2g")
    colors = ["tab:orange", "tab:purple", "tab:green"]
    for i, ((label, walk), color) in enumerate(zip(walks.items(), colors)):
        # the first path on top: later (faster) paths zigzag over the same valley
        ax.plot(walk[:, 0], walk[:, 1], ".-", color=color, markersize=3, linewidth=1.8 - 0.5 * i,
                zorder=4 - i, label=f"{label} (ends at w = {walk[-1, 0]:.4f}, b = {walk[-1, 1]:.4f})")
        ax.plot(walk[-1, 0], walk[-1, 1], "s", color=color, markersize=5, zorder=4 - i)
    if start is not None:
        ax.plot(*start, "o", color="black", markersize=7, zorder=5, label=f"start: w = {start[0]:.3f}, b = {start[1]:.3f}")
    ax.plot([2], [1], "*", color="tab:red", markersize=14, markeredgecolor="white", zorder=5, label="minimum: w = 2, b = 1")
    ax.set(title="Loss surface over (w, b): a long, narrow valley", xlabel="weight $w$", ylabel="bias $b$")
    ax.legend(fontsize=8, loc="best", framealpha=0.9)
    ends = "; ".join(f"{label} ends at w = {walk[-1, 0]:.4f}, b = {walk[-1, 1]:.4f}" for label, walk in walks.items())
    origin = f"from the start at w = {start[0]:.3f}, b = {start[1]:.3f} " if start is not None else ""
    show(fig, "Contours of the loss over w and b form a long narrow valley running diagonally through "
              f"the minimum at w = 2, b = 1. The descent paths {origin}drop quickly into the valley and "
              f"then move slowly along it: {ends}.")

"""Figures for chapter 7: batch sizes compared, a learning-rate schedule, optimizers on a valley."""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from course_kit import show

COLORS = ["tab:blue", "tab:orange", "tab:green", "tab:red"]


def plot_batch_sizes(curves: Mapping[str, tuple[Sequence[int], Sequence[Sequence[float]]]],
                     examples_per_epoch: int) -> None:
    """The full-data loss above its minimum against the examples processed, one curve per batch size:
    `curves[label]` is (examples processed, one row per shuffled order); the mean as a line, the lowest
    to highest over the orders as a band."""
    fig, ax = plt.subplots(figsize=(7.5, 4.4))
    ends = []
    for (label, (examples, runs)), color in zip(curves.items(), COLORS):
        runs = np.asarray(runs, dtype=float)
        epochs = np.asarray(examples, dtype=float) / examples_per_epoch
        ax.fill_between(epochs, runs.min(axis=0), runs.max(axis=0), color=color, alpha=0.2, linewidth=0)
        ax.semilogy(epochs, runs.mean(axis=0), "-", color=color, linewidth=1.4, label=label)
        ends.append(f"{label}: {runs[:, -1].mean():.2g} after the last epoch")
    ax.set(title=f"Loss over all {examples_per_epoch} points above its minimum (mean, band: lowest to highest)",
           xlabel=f"epochs ({examples_per_epoch} examples processed each)", ylabel="full-data loss − lowest (log scale)")
    ax.title.set_fontsize(10)
    ax.legend(fontsize=8)
    show(fig, "The loss over the whole data set minus its lowest possible value, on a log scale, against the number "
              "of examples processed, for several batch sizes, each at its own best learning rate: the mean over "
              "several shuffled orders as a line, the lowest to highest as a band. The small batches fall fastest "
              "at first and then level off on a noisy floor; the full batch takes one step per epoch and keeps "
              f"falling: {'; '.join(ends)}.")


def plot_schedule(distances: Mapping[str, Sequence[Sequence[float]]], rates: Mapping[str, Sequence[float]]) -> None:
    """Left: the learning rate per epoch. Right: distance of (w, b) to the least-squares solution, one row
    of `distances` per shuffled order: the median over the orders as a line, the lowest to highest as a band."""
    fig, (ax_rate, ax_dist) = plt.subplots(1, 2, figsize=(12, 4.2))
    for (label, values), color in zip(rates.items(), COLORS):
        ax_rate.step(np.arange(len(values)), values, where="post", color=color, label=label)
    ax_rate.set(title="Learning rate per epoch", xlabel="epoch", ylabel="learning rate η")
    ax_rate.legend(fontsize=8)
    summary = []
    for (label, runs), color in zip(distances.items(), COLORS):
        runs = np.asarray(runs, dtype=float)
        epochs, median = np.arange(1, runs.shape[1] + 1), np.median(runs, axis=0)
        ax_dist.fill_between(epochs, runs.min(axis=0), runs.max(axis=0), color=color, alpha=0.18, linewidth=0)
        ax_dist.semilogy(epochs, median, "o-", markersize=3, color=color, label=label)
        summary.append(f"{label}: median {median[-1]:.2g}, from {runs[:, -1].min():.2g} to {runs[:, -1].max():.2g}")
    ax_dist.set(title=f"Distance to the best line: median of {len(runs)} shuffled orders, band lowest to highest",
                xlabel="epoch", ylabel="distance of (w, b) (log scale)")
    ax_dist.title.set_fontsize(10)
    ax_dist.legend(fontsize=8, loc="lower left")
    show(fig, "Left: the learning rate per epoch, constant or halved every few epochs. Right: the distance "
              "of the parameters to the least-squares solution after each epoch, on a log scale, for several "
              "shuffled orders: the median as a line and the lowest to highest as a shaded band. With a constant "
              "rate the distance keeps jittering at the same level; with the schedule the median falls from one "
              f"period to the next. After the last epoch: {'; '.join(summary)}.")


def plot_optimizers(x: Sequence[float], y: Sequence[float], paths: Mapping[str, Sequence[Sequence[float]]],
                    aligned_path: Sequence[Sequence[float]], curvatures: tuple[float, float]) -> None:
    """Left: paths of several optimizers on the contours of the raw line fit's loss (a tilted valley).
    Right: one path on the valley with the same curvatures lying along the axes."""
    xs, ys = np.asarray(x, dtype=float).ravel(), np.asarray(y, dtype=float).ravel()
    shallow, steep = curvatures
    fig, (ax, ax_aligned) = plt.subplots(1, 2, figsize=(12, 4.8))
    panels = [
        (ax, {label: np.asarray(path, dtype=float) for label, path in paths.items()},
         lambda w, b: ((w[..., None] * xs + b[..., None] - ys) ** 2).mean(axis=-1),
         "Chapter 6's valley (raw x): tilted", COLORS),
        (ax_aligned, {"Adam, lr 0.1": np.asarray(aligned_path, dtype=float)},
         lambda w, b: (steep * (w - 2) ** 2 + shallow * (b - 1) ** 2) / 2,
         f"The same curvatures along the axes: {steep:.2f} along w, {shallow:.2f} along b", COLORS[2:]),
    ]
    for axis, walks, loss_of, title, colors in panels:
        every = np.vstack([*walks.values(), [[2.0, 1.0]]])
        lo, hi = every.min(axis=0), every.max(axis=0)
        span = np.maximum(hi - lo, 1e-3)
        lo, hi = lo - 0.1 * span, hi + 0.1 * span
        w, b = np.meshgrid(np.linspace(lo[0], hi[0], 250), np.linspace(lo[1], hi[1], 250))
        loss = loss_of(w, b)
        axis.contour(w, b, loss, levels=np.geomspace(max(loss.min(), 1e-4), loss.max(), 12), colors="0.6",
                     linewidths=0.7)
        for (label, walk), color in zip(walks.items(), colors):
            axis.plot(walk[:, 0], walk[:, 1], ".-", color=color, markersize=2, linewidth=1.1, label=label)
        axis.plot(2.0, 1.0, "*", color="black", markersize=12, label="minimum: w = 2, b = 1")
        axis.set(title=title, xlabel="weight $w$", ylabel="bias $b$")
        axis.legend(fontsize=7)
    show(fig, "Left: contours of the raw line fit's loss, a long tilted valley, with the paths of several "
              "optimizers from the same start, each at its own best learning rate: "
              + "; ".join(f"{label} ends at w = {walk[-1][0]:.4f}, b = {walk[-1][1]:.4f}" for label, walk in paths.items())
              + ". Right: a valley with the same two curvatures lying along the axes, with Adam's path from "
              "the same start, which moves w and b by about the same amount per step however steep each direction is.")

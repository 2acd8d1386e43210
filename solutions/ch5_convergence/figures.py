"""Figures for chapter 5: the error factor per step, the first-order prediction, several minima."""
from __future__ import annotations

from typing import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from course_kit import show


def plot_error_factors(errors: Mapping[float, Sequence[float]], curvature: float) -> None:
    """Left: the signed error w - w* per step. Right: its size on a log scale. One line per learning rate."""
    fig, (ax_s, ax_l) = plt.subplots(1, 2, figsize=(11.5, 4.2))
    for eta, errs in errors.items():
        factor = 1 - eta * curvature
        values = np.asarray(errs, dtype=float)
        steps = np.arange(len(values))
        label = f"η = {eta:g}: factor 1 − ηL'' = {factor:+.2f}"
        line, = ax_s.plot(steps, values, "o-", markersize=3, label=label)
        shown = values != 0  # an error of exactly zero has no place on a log scale
        ax_l.semilogy(steps[shown], np.abs(values[shown]), "o-", markersize=3, color=line.get_color(), label=label)
        if not shown.all():
            first_zero = int(np.flatnonzero(~shown)[0])
            ax_l.annotate(f"η = {eta:g}: exactly at the minimum after {first_zero} step",
                          (steps[first_zero - 1], abs(values[first_zero - 1])), fontsize=8,
                          xytext=(10, -18), textcoords="offset points")
    ax_s.axhline(0, color="black", linewidth=0.8)
    ax_s.set(title="Signed error: the sign of the factor", xlabel="step k", ylabel="w_k − w*")
    ax_l.axhline(abs(next(iter(errors.values()))[0]), color="0.6", linewidth=0.8, linestyle=":")
    ax_l.set(title=f"Distance per step (L'' = {curvature:g}, limit 2/L'' = {2 / curvature:g})",
             xlabel="step k", ylabel="|w_k − w*| (log scale)")
    ax_s.legend(fontsize=8)
    ends = "; ".join(f"learning rate {eta:g} (factor {1 - eta * curvature:+.2f}) ends at distance "
                     f"{abs(errs[-1]):.3g}" for eta, errs in errors.items())
    show(fig, "Left: the signed error w − w* against the step number, one line per learning rate; a negative "
              "factor makes it change sign at every step, jumping across the minimum. Right: its size on a "
              "log scale, where each line is straight because every step multiplies the distance by the same "
              f"factor 1 − η·L'': {ends}.")


def plot_first_order(etas: Sequence[float], actual: Sequence[float], predicted: Sequence[float],
                     w: float, slope: float) -> None:
    """The real change of the loss after one step against the first-order prediction -η·g²."""
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.plot(etas, actual, "o-", markersize=3, label="real change L(w − ηg) − L(w)")
    ax.plot(etas, predicted, "--", label="first-order prediction −η·g²")
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set(title=f"One step from w = {w:g} (slope g = {slope:.3f}): downhill while η is small",
           xlabel="learning rate η", ylabel="change of the loss")
    ax.legend()
    crossing = next((e0 - a0 * (e1 - e0) / (a1 - a0) for e0, e1, a0, a1 in
                     zip(etas, etas[1:], actual, actual[1:]) if a0 <= 0 < a1), None)  # linear between grid points
    where = f"the step goes uphill from about η = {crossing:.2f} on" if crossing else "every step shown goes downhill"
    show(fig, "The change of the loss after one gradient step, against the learning rate, beside the "
              "straight line −η·g² that the first-order Taylor expansion predicts. For small η the two "
              f"agree and the loss goes down; for larger η the curvature takes over and {where}.")


def plot_two_minima(f: Callable[[float], float], paths: Mapping[str, Sequence[float]],
                    basin_starts: Sequence[float], basin_ends: Sequence[float]) -> None:
    """Left: f with the descent paths from two starts. Right: where each start ends."""
    fig, (ax_f, ax_b) = plt.subplots(1, 2, figsize=(11.5, 4.2))
    grid = np.linspace(-2.2, 2.2, 300)
    ax_f.plot(grid, [f(float(w)) for w in grid], color="black", linewidth=1)
    for (label, path), color in zip(paths.items(), ["tab:blue", "tab:orange"]):
        ax_f.plot(path, [f(float(w)) for w in path], "o-", color=color, markersize=3,
                  label=f"{label}: ends at w = {path[-1]:.4f}")
    ax_f.set(title="Two starts, two minima", xlabel="w", ylabel="f(w)")
    ax_f.legend(fontsize=8)
    ax_b.scatter(basin_starts, basin_ends, c=["tab:blue" if e < 0 else "tab:orange" for e in basin_ends], s=14)
    ax_b.set(title="Where each start ends", xlabel="starting w", ylabel="w after the descent")
    split = [s for s, e in zip(basin_starts, basin_ends) if e > 0]
    border = f"starts from w = {min(split):.2f} upward end in the right minimum" if split else "every start ends left"
    show(fig, "Left: the curve f(w) = w⁴ − 3w² + w with two valleys, and the descent path from each of two "
              f"starts, each ending in the valley it started in ({'; '.join(f'{k} ends at w = {p[-1]:.4f}' for k, p in paths.items())}). "
              f"Right: the end point against the starting point for many starts: {border}, the others "
              "end in the deeper left minimum.")


def plot_stopping(gradients: Sequence[float], tolerance: float) -> None:
    """|L'(w)| along a path that stops once it is below the tolerance."""
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.semilogy(np.abs(np.asarray(gradients, dtype=float)), "o-", markersize=3, label="|L'(w_k)|")
    ax.axhline(tolerance, color="tab:red", linestyle="--", label=f"tolerance {tolerance:g}")
    ax.set(title=f"The descent stops after {len(gradients) - 1} steps, when the slope is flat",
           xlabel="step k", ylabel="size of the slope (log scale)")
    ax.legend()
    show(fig, f"The size of the slope along the path on a log scale falls in a straight line and crosses the "
              f"tolerance {tolerance:g} after {len(gradients) - 1} steps, where the descent stops.")

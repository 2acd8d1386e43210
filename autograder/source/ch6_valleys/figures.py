"""Figures for chapter 6: paths on the contours of two-dimensional valleys."""
from __future__ import annotations

from typing import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from course_kit import show

Path2D = Sequence[Sequence[float]]  # the points (first coordinate, second coordinate) of a path
COLORS = ["tab:orange", "tab:purple", "tab:green", "tab:red"]


def _contours(ax: plt.Axes, loss: Callable[[np.ndarray, np.ndarray], np.ndarray], paths: Mapping[str, Path2D],
              minimum: tuple[float, float], pad: float = 0.15, equal: bool = False, legend: str = "best") -> None:
    """Contours of `loss` around the paths; `equal`: the same scale on both axes, so shapes are true."""
    walks = {label: np.asarray(path, dtype=float) for label, path in paths.items()}
    every = np.vstack([*[w[np.all(np.isfinite(w), axis=1)] for w in walks.values()], [minimum]])
    lo, hi = every.min(axis=0), every.max(axis=0)
    span = np.maximum(hi - lo, 1e-3)
    if equal:
        centre, span = (lo + hi) / 2, np.full(2, span.max())
        lo, hi = centre - span / 2, centre + span / 2
    lo, hi = lo - pad * span, hi + pad * span
    a, b = np.meshgrid(np.linspace(lo[0], hi[0], 250), np.linspace(lo[1], hi[1], 250))
    z = loss(a, b)
    levels = np.geomspace(max(float(z.min()), 1e-4), float(z.max()), 12)
    ax.contour(a, b, z, levels=levels, colors="0.6", linewidths=0.7)
    for (label, walk), color in zip(walks.items(), COLORS):
        ax.plot(walk[:, 0], walk[:, 1], ".-", color=color, markersize=3, linewidth=1.2, label=label)
    ax.plot(*minimum, "*", color="black", markersize=12, label="minimum")
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    if equal:
        ax.set_aspect("equal")
    ax.legend(fontsize=7, loc=legend, framealpha=0.9)


def _ends(paths: Mapping[str, Path2D]) -> str:
    return "; ".join(f"{label} ends at ({path[-1][0]:.4g}, {path[-1][1]:.4g})" for label, path in paths.items())


def plot_valley(curvatures: tuple[float, float], paths: Mapping[str, Path2D]) -> None:
    """Paths on L(u) = (λ1 u1² + λ2 u2²) / 2."""
    l1, l2 = curvatures
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    _contours(ax, lambda u1, u2: (l1 * u1 ** 2 + l2 * u2 ** 2) / 2, paths, (0.0, 0.0), pad=0.08)
    ax.set(title=f"A valley with curvatures λ₁ = {l1:g} and λ₂ = {l2:g} (limit 2/λ₂ = {2 / l2:g})",
           xlabel="$u_1$ (shallow direction)", ylabel="$u_2$ (steep direction)")
    show(fig, f"Contours of a long valley, shallow along u1 (curvature {l1:g}) and steep along u2 "
              f"(curvature {l2:g}), with gradient descent paths for several learning rates from the same "
              f"start. The steep direction zigzags or blows up as the learning rate nears 2/{l2:g}; "
              f"the shallow direction is crossed slowly: {_ends(paths)}.")


def plot_line_fit_valleys(x_raw: Sequence[float], x_centred: Sequence[float], y: Sequence[float],
                          path_raw: Path2D, path_centred: Path2D, minimum_raw: tuple[float, float],
                          minimum_centred: tuple[float, float]) -> None:
    """The line fit's loss over (w, b) for raw x and for centred x, with the same training run on each."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
    ys = np.asarray(y, dtype=float).ravel()
    for ax, xs, path, minimum, name, bias, corner in [
            (axes[0], x_raw, path_raw, minimum_raw, "raw x = 1, 2, 3, 4", "bias $b$", "upper right"),
            (axes[1], x_centred, path_centred, minimum_centred, "centred x = −1.5, −0.5, 0.5, 1.5",
             "bias $b_c$ of the centred fit", "lower right")]:
        xs = np.asarray(xs, dtype=float).ravel()
        loss = lambda w, b, xs=xs: ((w[..., None] * xs + b[..., None] - ys) ** 2).mean(axis=-1)  # noqa: E731
        _contours(ax, loss, {"learning rate 0.01, 1000 epochs": path}, minimum, pad=0.1, equal=True, legend=corner)
        ax.set(title=f"Loss over ($w$, {bias.split()[1]}), {name}", xlabel="weight $w$", ylabel=bias)
    show(fig, "Two contour plots, drawn to the same scale on both axes, of the line fit's loss over weight and "
              "bias (on the right the bias b_c of the centred fit, b_c = b + w times the mean of x) with the same "
              "training run "
              "(learning rate 0.01, 1000 epochs, seeded start). Left, raw x: the contours are long thin "
              "ellipses tilted diagonally and the path slides into the valley and then crawls along it, "
              f"ending at w = {path_raw[-1][0]:.4f}, b = {path_raw[-1][1]:.4f}, short of the minimum. Right, "
              "centred x: the contours are nearly round ellipses aligned with the axes and the path goes "
              f"straight to the minimum, ending at w = {path_centred[-1][0]:.4f}, b_c = {path_centred[-1][1]:.4f}.")


def plot_momentum(x: Sequence[float], y: Sequence[float], paths: Mapping[str, Path2D],
                  losses: Mapping[str, Sequence[float]]) -> None:
    """Left: plain descent and momentum on the raw line fit's valley. Right: their losses."""
    fig, (ax, ax_loss) = plt.subplots(1, 2, figsize=(12, 4.6))
    xs, ys = np.asarray(x, dtype=float).ravel(), np.asarray(y, dtype=float).ravel()
    loss = lambda w, b: ((w[..., None] * xs + b[..., None] - ys) ** 2).mean(axis=-1)  # noqa: E731
    _contours(ax, loss, paths, (2.0, 1.0), pad=0.1)
    ax.set(title="Raw x: plain descent and momentum", xlabel="weight $w$", ylabel="bias $b$")
    for (label, values), color in zip(losses.items(), COLORS):
        ax_loss.semilogy(np.arange(1, len(values) + 1), values, color=color, label=label)
    ax_loss.set(title="Loss per epoch (log scale)", xlabel="epoch", ylabel="mean squared error")
    ax_loss.legend(fontsize=8)
    finals = "; ".join(f"{label}: final loss {values[-1]:.2g}" for label, values in losses.items())
    show(fig, "Left: contours of the raw line fit's loss with two paths from the same start. Plain gradient "
              "descent drops into the valley and crawls along it without crossing its floor; with momentum the "
              f"path swings across the valley floor again and again while it runs along it to the minimum: "
              f"{_ends(paths)}. Right: the "
              f"loss per epoch on a log scale: {finals}.")

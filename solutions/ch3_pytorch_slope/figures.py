"""Figures for chapter 3: the path of x on f(x) = 1.2 x^2 + 4."""
from __future__ import annotations

from typing import Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np

from course_kit import show


def plot_path_on_curve(xypairs: Sequence[Sequence[float]], f: Callable[[float], float]) -> None:
    xs = [float(x) for x, _ in xypairs]
    ys = [float(y) for _, y in xypairs]
    grid = np.linspace(-3.5, 3.5, 300)
    fig, ax = plt.subplots(figsize=(6.5, 4))
    ax.plot(grid, [f(x) for x in grid], color="0.4", label="$f(x) = 1.2x^2 + 4$")
    ax.plot(xs, ys, "--", color="tab:orange")
    ax.plot(xs[1:], ys[1:], "o", color="tab:orange", label="x after step 1, 2, ... (number: steps taken)")
    ax.plot(xs[:1], ys[:1], "s", color="black", label=f"start, x = {xs[0]:g} (before any step)")
    for i, (x, y) in enumerate(zip(xs[:4], ys[:4])):
        ax.annotate(str(i), (x, y), textcoords="offset points", xytext=(-4, 8))
    ax.set(title="Gradient descent walks down the slope to the minimum at x = 0",
           xlabel="$x$", ylabel="$f(x)$")
    ax.legend()
    show(fig, "The curve f(x) = 1.2 x squared plus 4. A black square marks the start at x = "
              f"{xs[0]:.3g}; orange points mark x after each of the next {len(xs) - 1} steps, moving right toward 0 "
              f"({', '.join(f'{x:.2g}' for x in xs[1:])}), each step about half the one before.")

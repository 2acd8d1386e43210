"""Figures for chapter 8: loss curves, misclassified digits, weight decay, leaving a saddle point."""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from course_kit import show

COLORS = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple"]


def plot_loss_curves(curves: Mapping[str, Sequence[Sequence[Sequence[float]]]]) -> None:
    """The training and validation loss after each epoch: `curves[label]` holds one run per seed, each a
    list of (training loss, validation loss) per epoch; the mean as a line, lowest to highest as a band."""
    fig, ax = plt.subplots(figsize=(7.5, 4.4))
    ends = []
    for (label, runs), color in zip(curves.items(), COLORS):
        runs = np.asarray(runs, dtype=float)
        epochs = np.arange(1, runs.shape[1] + 1)
        for column, style, name in ((0, "--", "training"), (1, "-", "validation")):
            values = runs[:, :, column]
            ax.fill_between(epochs, values.min(axis=0), values.max(axis=0), color=color, alpha=0.2, linewidth=0)
            ax.plot(epochs, values.mean(axis=0), style, color=color, linewidth=1.4, label=f"{label}, {name}")
        ends.append(f"{label}: training {runs[:, -1, 0].mean():.3f}, validation {runs[:, -1, 1].mean():.3f}")
    ax.set_yscale("log")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(title=f"Mean cross-entropy after each epoch (mean of {len(runs)} runs, band: lowest to highest)",
           xlabel="epoch", ylabel="loss (log scale)")
    ax.title.set_fontsize(10)
    ax.legend(fontsize=8)
    show(fig, "The training loss (dashed) and the validation loss (solid) after each epoch, on a log scale, for "
              "softmax regression and for the network with one hidden layer, each the mean over several runs "
              "with a band from the lowest to the highest. Both fall quickly in the first epochs and then slowly; "
              "from the second epoch on the network's curves lie below softmax regression's, and for both the "
              f"validation loss stays above the training loss. After the last epoch: {'; '.join(ends)}.")


def plot_misclassified(images: Sequence[Sequence[Sequence[float]]], true: Sequence[int], predicted: Sequence[int],
                       columns: int = 8) -> None:
    """The test images a model got wrong, each titled with its label and the model's answer."""
    count = len(images)
    rows = max(1, -(-count // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(1.1 * columns, 1.35 * rows + 0.4), squeeze=False)
    for k, ax in enumerate(axes.ravel()):
        ax.set_axis_off()
        if k < count:
            ax.imshow(np.asarray(images[k], dtype=float), cmap="gray_r", vmin=0.0, vmax=1.0)
            ax.set_title(f"{true[k]} → {predicted[k]}", fontsize=9)
    fig.suptitle(f"The {count} test images the network got wrong: true digit → predicted digit", fontsize=10)
    fig.tight_layout()
    pairs = ", ".join(f"a {t} read as {p}" for t, p in zip(true, predicted))
    show(fig, f"A grid of the {count} test images, 8 by 8 pixels each in shades of grey, that the network "
              f"classified wrongly, each titled with its true digit and the digit predicted: {pairs}.")


def plot_weight_decay(runs: Mapping[str, tuple[Sequence[Sequence[float]], Sequence[Sequence[float]]]]) -> None:
    """Left: the training loss per epoch (log scale); right: the validation loss. `runs[label]` is
    (training losses, validation losses), one row per random start; the mean as a line, lowest to highest as a band."""
    fig, (ax_train, ax_val) = plt.subplots(1, 2, figsize=(12, 4.2))
    ends, tops = [], []
    for (label, (train, validation)), color in zip(runs.items(), COLORS):
        for ax, values in ((ax_train, train), (ax_val, validation)):
            values = np.asarray(values, dtype=float)
            epochs = np.arange(1, values.shape[1] + 1)
            ax.fill_between(epochs, values.min(axis=0), values.max(axis=0), color=color, alpha=0.2, linewidth=0)
            ax.plot(epochs, values.mean(axis=0), "-", color=color, linewidth=1.4, label=label)
        mean = np.asarray(validation, dtype=float).mean(axis=0)
        tops.append(np.asarray(validation, dtype=float)[:, len(mean) // 10:].max())
        ends.append(f"{label}: lowest {mean.min():.3f} at epoch {int(mean.argmin())}, last {mean[-1]:.3f}")
    ax_train.set_yscale("log")
    ax_train.set(title="Training loss (50 images)", xlabel="epoch (one full-batch step)", ylabel="loss (log scale)")
    low = min(np.asarray(validation, dtype=float).min() for _, validation in runs.values())
    ax_val.set_ylim(low - 0.02, max(tops) + 0.02)
    ax_val.set(title="Validation loss (360 images), the first epochs cut off the axis", xlabel="epoch (one full-batch step)",
               ylabel="loss")
    for ax in (ax_train, ax_val):
        ax.title.set_fontsize(10)
        ax.legend(fontsize=8)
    show(fig, "Left: the training loss after each epoch on a log scale, for the network trained on fifty images "
              "with and without weight decay, each the mean over several random starts with a band from the lowest "
              "to the highest; it keeps falling, lower without weight decay. Right: the validation loss, its axis "
              "cut to the range after the first epochs: it falls, reaches its lowest and, without weight decay, "
              f"rises again, while with weight decay it levels off. Mean validation loss: {'; '.join(ends)}.")


def plot_escape(curves: Mapping[str, Sequence[Sequence[float]]], saddle: float) -> None:
    """The training loss per full-batch step from several small random starts: `curves[label]` holds one
    row per seed; the mean as a line, lowest to highest as a band; the saddle's loss as a dotted line."""
    fig, ax = plt.subplots(figsize=(7.5, 4.4))
    for (label, runs), color in zip(curves.items(), COLORS):
        runs = np.asarray(runs, dtype=float)
        steps = np.arange(runs.shape[1])
        ax.fill_between(steps, runs.min(axis=0), runs.max(axis=0), color=color, alpha=0.2, linewidth=0)
        ax.plot(steps, runs.mean(axis=0), "-", color=color, linewidth=1.4, label=label)
    ax.axhline(saddle, color="black", linestyle=":", linewidth=1.0, label=f"the saddle point: {saddle:.4f}")
    ax.set(title="Leaving the saddle point at zero: training loss from small random starts",
           xlabel="full-batch step", ylabel="training loss")
    ax.title.set_fontsize(10)
    ax.legend(fontsize=8)
    show(fig, "The training loss after each full-batch step, from random starts whose weights have several small "
              "spreads, each the mean over several seeds with a band. Every curve starts at about the saddle "
              f"point's loss, {saddle:.4f}, drawn as a dotted line, stays near it for a while, then drops; the "
              "smaller the start, the longer it stays: " + ", ".join(curves) + ", in that order, leave later and later.")

# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Figures of a probe run: the TenGeoP confusion matrix and the predicted-vs-true scatter of a regression."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_confusion_matrix(
    matrix: np.ndarray | Sequence[Sequence[int]], class_names: Sequence[str], path: str | Path, title: str = ""
) -> Path:
    """Save a row-normalised confusion matrix (rows: true class; cell text: count) as a PNG; returns the path."""
    plt = _pyplot()
    counts = np.asarray(matrix, dtype=np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        fractions = np.nan_to_num(counts / counts.sum(axis=1, keepdims=True))
    size = len(class_names)
    fig, ax = plt.subplots(figsize=(1.0 + 0.75 * size, 0.75 * size + 1.0))
    image = ax.imshow(fractions, cmap="Blues", vmin=0.0, vmax=1.0)
    for row in range(size):
        for col in range(size):
            colour = "white" if fractions[row, col] > 0.5 else "black"
            ax.text(col, row, str(counts[row, col]), ha="center", va="center", fontsize=8, color=colour)
    ax.set_xticks(range(size), class_names, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(size), class_names, fontsize=8)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title, fontsize=10)
    fig.colorbar(image, ax=ax, fraction=0.046, label="fraction of true class")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_regression_scatter(
    truth: np.ndarray, predicted: np.ndarray, path: str | Path, quantity: str, unit: str, title: str = ""
) -> Path:
    """Save predicted vs true values with the 1:1 line as a PNG; returns the path."""
    plt = _pyplot()
    truth, predicted = np.asarray(truth, dtype=np.float64), np.asarray(predicted, dtype=np.float64)
    low = float(min(truth.min(), predicted.min()))
    high = float(max(truth.max(), predicted.max()))
    fig, ax = plt.subplots(figsize=(4.8, 4.6))
    ax.scatter(truth, predicted, s=8, alpha=0.6, edgecolors="none")
    ax.plot([low, high], [low, high], color="black", linewidth=1.0, label="1:1")
    ax.set_xlim(low, high)
    ax.set_ylim(low, high)
    ax.set_aspect("equal")
    ax.set_xlabel(f"true {quantity} ({unit})")
    ax.set_ylabel(f"predicted {quantity} ({unit})")
    ax.set_title(title, fontsize=10)
    ax.legend(loc="upper left")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path

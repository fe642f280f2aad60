# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Montage PNGs of archive samples: each tile is the model's input (the processor's normalised dB image), shown with
a 2-98 % percentile stretch, titled with what identifies it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from oceansar_hf import OceanSARImageProcessor

from ..data import CorruptSampleError


def tile(dataset: Any, index: int, processor: OceanSARImageProcessor) -> np.ndarray | None:
    """(S, S) normalised dB image of sample `index` as the model saw it; None when it cannot be read any more."""
    try:
        return tile_of(dataset[int(index)]["image"], processor)
    except CorruptSampleError:
        return None


def tile_of(image: np.ndarray, processor: OceanSARImageProcessor) -> np.ndarray:
    return np.asarray(processor.to_pixel_values(image))[0]


def save_montage(tiles: Sequence[np.ndarray | None], titles: Sequence[str], path: Path, title: str, columns: int = 8):
    """One PNG of `tiles` (None = an unreadable sample, drawn blank) in a grid of `columns`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = max(1, min(columns, len(tiles)))
    rows = math.ceil(len(tiles) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(1.9 * columns, 2.1 * rows + 0.4), squeeze=False)
    for axis in axes.ravel():
        axis.axis("off")
    for axis, image, label in zip(axes.ravel(), tiles, titles, strict=False):
        if image is not None:
            low, high = np.percentile(image, (2, 98))
            axis.imshow(image, cmap="gray", vmin=low, vmax=high)
        axis.set_title(label, fontsize=7)
    figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)

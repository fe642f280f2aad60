# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""One PNG per pruning round: cluster sizes, class balance before/after, and a montage of clusters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def plot_round(
    path: Path,
    dataset: Any,
    processor: Any,
    result: Any,
    embedded: np.ndarray,
    record: dict[str, Any],
    n_clusters_shown: int = 6,
    n_images: int = 6,
) -> None:
    """Write `path`: level-1 cluster sizes, class histograms (when labelled) and the images nearest to the centroids
    of `n_clusters_shown` clusters spread over the size ranking (largest to smallest), in normalised dB."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    level = result.levels[0]
    sizes = level.sizes.cpu().numpy()
    order = np.argsort(-sizes)
    shown = order[np.linspace(0, len(order) - 1, min(n_clusters_shown, len(order))).round().astype(int)]
    fig = plt.figure(figsize=(3 + 1.6 * n_images, 3.2 + 1.6 * len(shown)))
    grid = fig.add_gridspec(1 + len(shown), n_images)
    ax = fig.add_subplot(grid[0, : n_images // 2])
    ax.bar(np.arange(len(sizes)), sizes[order], width=1.0)
    ax.set_yscale("log")
    ax.set_title(f"round {record['round']}: level-1 cluster sizes ({len(sizes)} clusters, {len(embedded)} embedded)")
    ax.set_xlabel("cluster (largest first)")
    if "archive_class_histogram" in record:
        ax = fig.add_subplot(grid[0, n_images // 2 :])
        archive = np.asarray(record["archive_class_histogram"], dtype=float)
        selected = np.zeros_like(archive)
        counts = np.asarray(record["selected_class_histogram"], dtype=float)
        selected[: len(counts)] = counts
        x = np.arange(len(archive))
        ax.bar(x - 0.2, archive / archive.sum(), width=0.4, label=f"archive (H={record['archive_label_entropy']:.2f})")
        ax.bar(
            x + 0.2, selected / selected.sum(), width=0.4, label=f"selected (H={record['selected_label_entropy']:.2f})"
        )
        ax.set_xticks(x)
        ax.set_title("class shares (synthetic labels)")
        ax.legend(fontsize=8)
    for row, cluster in enumerate(shown, start=1):
        members = level.members(int(cluster)).cpu().numpy()[:n_images]
        for col in range(n_images):
            ax = fig.add_subplot(grid[row, col])
            ax.axis("off")
            if col < len(members):
                image = dataset[int(embedded[members[col]])]["image"]
                ax.imshow(processor.to_pixel_values(image)[0].numpy(), cmap="gray", vmin=-3, vmax=3)
            if col == 0:
                ax.set_title(f"cluster {cluster} (n={sizes[cluster]})", fontsize=8, loc="left")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)

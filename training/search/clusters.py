# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Cluster explorer: the project's k-means on the embeddings, a montage of each cluster's most central samples, a
cluster-size histogram and the assignment of every sample, so a user sees what an archive contains."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch

from ..embed import archive_of, read_embeddings
from ..pruning.kmeans import kmeans
from .index import prepare_vectors
from .montage import save_montage, tile


@dataclass
class ClusterArguments:
    """k-means clusters of an embedded archive, drawn."""

    embeddings: str = field(metadata={"help": "Folder written by `python -m training.embed` (shards + manifest)."})
    num_clusters: int = field(default=16, metadata={"help": "k of the k-means (on L2-normalised embeddings)."})
    per_cluster: int = field(default=16, metadata={"help": "Samples shown per cluster (those nearest its centre)."})
    kmeans_iters: int = field(default=20, metadata={"help": "Lloyd iterations of every k-means run."})
    seed: int = field(default=0, metadata={"help": "Seed of the k-means++ initialisation."})
    output: str | None = field(default=None, metadata={"help": "Output folder (default: EMBEDDINGS/clusters)."})

    def __post_init__(self) -> None:
        if self.num_clusters < 1 or self.per_cluster < 1:
            raise ValueError(f"num_clusters and per_cluster must be >= 1, got {self.num_clusters}, {self.per_cluster}")


def explore_clusters(args: ClusterArguments) -> Path:
    """Writes `cluster_XX.png` per cluster, `cluster_sizes.png` and `clusters.parquet` (index, file, cluster,
    squared distance to the centre); returns the output folder."""
    embeddings = read_embeddings(args.embeddings)
    if args.num_clusters > len(embeddings.indices):
        raise ValueError(f"num_clusters {args.num_clusters} exceeds the {len(embeddings.indices)} embedded samples")
    output = Path(args.output) if args.output else Path(args.embeddings) / "clusters"
    output.mkdir(parents=True, exist_ok=True)
    points = torch.from_numpy(prepare_vectors(embeddings.vectors, "cosine"))
    result = kmeans(points, args.num_clusters, n_iters=args.kmeans_iters, generator=args.seed)
    assignment, distances = result.assignment.numpy(), result.distances.numpy()
    sizes = np.bincount(assignment, minlength=args.num_clusters)
    table = pa.table(
        {"index": embeddings.indices, "file": embeddings.files, "cluster": assignment, "distance": distances}
    )
    pq.write_table(table, output / "clusters.parquet")
    dataset, processor = archive_of(embeddings.manifest)
    for cluster in np.argsort(-sizes, kind="stable"):
        members = np.flatnonzero(assignment == cluster)
        shown = members[np.argsort(distances[members], kind="stable")][: args.per_cluster]
        indices = embeddings.indices[shown]
        save_montage(
            [tile(dataset, i, processor) for i in indices],
            [f"#{i}" for i in indices],
            output / f"cluster_{cluster:02d}.png",
            f"cluster {cluster}: {sizes[cluster]} samples ({sizes[cluster] / sizes.sum():.1%}), most central first",
        )
    _plot_sizes(sizes, output / "cluster_sizes.png")
    return output


def _plot_sizes(sizes: np.ndarray, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    order = np.argsort(-sizes, kind="stable")
    figure, axis = plt.subplots(figsize=(max(4.0, 0.35 * len(sizes) + 1.5), 3.0))
    axis.bar(range(len(sizes)), sizes[order], color="tab:blue")
    axis.set_xticks(range(len(sizes)), [str(c) for c in order], fontsize=7)
    axis.set_xlabel("cluster (largest first)")
    axis.set_ylabel("samples")
    axis.set_title(f"{len(sizes)} k-means clusters of {int(sizes.sum())} embeddings")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)

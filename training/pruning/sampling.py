# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Cluster-balanced selection of a training subset: the sampling half of OceanSAR's dynamic pruning.

Key design decisions (the paper's exact choices are unknown, see reference notes §1.3):

* **Pool = embedded random subset.** Only a uniform random subset U of the archive D is embedded with the current
  teacher and clustered (the paper clusters "a randomly sampled subset ... to reduce computational load"). Points
  outside U are never embedded, so they cannot be assigned to clusters; the selection is therefore drawn from U only.
  The target is ``round(ρ·|D|)`` points of the *whole* archive, so ``subset_size`` must be ≥ ρ·|D| (the useful range
  is a few times ρ·|D|: the larger U is relative to the target, the more the balanced sampling can prune). If U is
  smaller than the target, the whole of U is kept and a warning is logged (:attr:`Selection.clipped`). Every pruning
  round should draw a new U (new seed, :func:`draw_subset`), so samples left out of one round's U can enter later.
* **Balanced hierarchical sampling** (Vo et al. 2024): the budget is split as evenly as possible over the top-level
  clusters (small clusters taken whole, see :func:`balanced_budget`), then recursively over each cluster's children
  using their flat sizes (number of points under them), down to the level-1 clusters of points.
* **η (eta) ∈ [0, 1]** chooses points inside a level-1 cluster whose quota b is below its size: the
  ``round(η·b)`` points closest to the centroid are taken first (the most typical ones), the remaining quota is drawn
  uniformly without replacement from the other members. η = 1 keeps the most central points, η = 0 is uniform within
  the cluster (spread over the whole cluster, Vo et al.'s default), values between mix the two linearly.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from .kmeans import LevelResult, hierarchical_kmeans

logger = logging.getLogger(__name__)


def balanced_budget(sizes: np.ndarray, target: int, rng: np.random.Generator) -> np.ndarray:
    """Split ``target`` over clusters of the given sizes as evenly as possible.

    Finds the largest integer cut t with Σ min(t, s_i) ≤ target: clusters with s_i ≤ t are taken whole, the others
    get t, and the remainder goes as +1 to distinct clusters with room (s_i > t) chosen uniformly at random.

    Args:
        sizes: (n,) non-negative integer cluster sizes. target: number of points to pick, 0 ≤ target ≤ Σ sizes.
        rng: source of the tie-breaking draws.

    Returns:
        (n,) int64 budgets with sum exactly ``target`` and ``budget[i] <= sizes[i]``.
    """
    sizes = np.asarray(sizes)
    if sizes.ndim != 1 or (sizes.size and (not np.issubdtype(sizes.dtype, np.integer) or sizes.min() < 0)):
        raise ValueError(f"sizes must be a 1-D array of non-negative integers, got {sizes.dtype} {sizes.shape}")
    sizes = sizes.astype(np.int64)
    total = int(sizes.sum())
    if not 0 <= target <= total:
        raise ValueError(f"target must be in [0, total size {total}], got {target}")
    low, high = 0, int(sizes.max(initial=0))
    while low < high:  # largest t with sum(min(t, sizes)) <= target
        mid = (low + high + 1) // 2
        if int(np.minimum(sizes, mid).sum()) <= target:
            low = mid
        else:
            high = mid - 1
    budget = np.minimum(sizes, low)
    remainder = target - int(budget.sum())
    if remainder:
        with_room = np.flatnonzero(sizes > low)
        budget[rng.choice(with_room, size=remainder, replace=False)] += 1
    return budget


def _pick_in_cluster(members: np.ndarray, quota: int, eta: float, rng: np.random.Generator) -> np.ndarray:
    """``quota`` members (ordered nearest first): the ``round(η·quota)`` nearest, the rest uniformly at random."""
    if quota >= members.size:
        return members
    n_closest = int(np.floor(eta * quota + 0.5))
    spread = rng.choice(members[n_closest:], size=quota - n_closest, replace=False)
    return np.concatenate([members[:n_closest], spread])


def flat_sizes(levels: list[LevelResult]) -> list[np.ndarray]:
    """Per level, (k_l,) int64 number of level-1 inputs (raw points) under each cluster."""
    sizes = [levels[0].sizes.cpu().numpy().astype(np.int64)]
    for level in levels[1:]:
        under = np.bincount(level.assignment.cpu().numpy(), weights=sizes[-1], minlength=level.n_clusters)
        sizes.append(under.round().astype(np.int64))
    return sizes


def balanced_hierarchical_sample(
    levels: list[LevelResult], target_size: int, eta: float, rng: np.random.Generator
) -> np.ndarray:
    """Pick ``target_size`` level-1 inputs spread evenly over the cluster tree (see module docstring).

    Args:
        levels: output of :func:`~training.pruning.kmeans.hierarchical_kmeans`, level 1 first.
        target_size: number of points to select, at most the number of clustered points.
        eta: in [0, 1], share of each leaf quota taken from the points nearest the centroid.
        rng: source of all random draws (deterministic given its seed).

    Returns:
        Sorted, unique int64 positions into the clustered points.
    """
    if not levels:
        raise ValueError("levels is empty: expected the output of hierarchical_kmeans")
    if not 0.0 <= eta <= 1.0:
        raise ValueError(f"eta must be in [0, 1], got {eta}")
    sizes = flat_sizes(levels)
    members = [_members(level) for level in levels]
    budget = balanced_budget(sizes[-1], int(target_size), rng)
    for depth in range(len(levels) - 1, 0, -1):
        child_budget = np.zeros(levels[depth - 1].n_clusters, dtype=np.int64)
        for cluster in np.flatnonzero(budget):
            children = members[depth][cluster]
            child_budget[children] = balanced_budget(sizes[depth - 1][children], int(budget[cluster]), rng)
        budget = child_budget
    picked = [_pick_in_cluster(members[0][c], int(budget[c]), eta, rng) for c in np.flatnonzero(budget)]
    return np.sort(np.concatenate(picked)) if picked else np.empty(0, dtype=np.int64)


def _members(level: LevelResult) -> list[np.ndarray]:
    """Per cluster, int64 input positions nearest-first, as numpy arrays."""
    order = level.sorted_members.cpu().numpy()
    return np.split(order, level.offsets[1:-1].cpu().numpy())


STRATEGIES = ("dynamic", "static", "random_subset", "oracle")
"""How the training subset is chosen (`SelectionConfig.strategy`); `dynamic` is the paper's method, the others are the
controls of `benchmarks/pruning_experiment.py` (training on everything is `pruning: false`)."""
REFRESHING = ("dynamic", "oracle")
"""Strategies that select again every T_s epochs; the others select once, at epoch T_w, and keep it."""
CLUSTERING = ("dynamic", "static")
"""Strategies that embed and cluster (the others need no features)."""


@dataclass
class SelectionConfig:
    """How one pruning round clusters the embedded subset U and selects the training subset.

    Parsed with the prefix ``pruning_`` (``--pruning_rho``, ``--pruning_clusters`` ...); the paper's values are
    unknown, these defaults are ours (reference notes §1.3).
    """

    strategy: str = field(
        default="dynamic",
        metadata={
            "help": "dynamic: cluster-balanced selection from the teacher's features every T_s epochs (the paper); "
            "static: the same, once at T_w, kept; random_subset: uniform ρ·N drawn once at T_w, kept; oracle: "
            "class-balanced ρ·N from the labels every T_s epochs (the best any balancing could do; needs labels)."
        },
    )
    rho: float = field(default=0.3, metadata={"help": "ρ: fraction of the whole archive kept for training, in (0, 1]."})
    eta: float = field(
        default=0.0,
        metadata={"help": "η: share of each leaf quota taken nearest the centroid (1) vs uniformly (0, Vo et al.)."},
    )
    subset_size: int | None = field(
        default=None,
        metadata={
            "help": "Random archive images embedded and clustered, >= ρ·N (None = min(N, 2·ρ·N)). It bounds the "
            "redundancy a round can remove: from 2·ρ·N images a share r of which are near-duplicates, ρ·N kept still "
            "hold >= 2r - 1 of them."
        },
    )
    clusters: list[int] = field(
        default_factory=lambda: [100, 20], metadata={"help": "k-means clusters per level, level 1 (points) first."}
    )
    resampling_steps: list[int] = field(
        default_factory=lambda: [5, 5], metadata={"help": "Vo et al. resampling steps per level (0 disables)."}
    )
    sample_size: list[int] = field(
        default_factory=lambda: [10, 3],
        metadata={"help": "Points nearest each centroid kept per resampling step, per level (≈ half a mean cluster)."},
    )
    kmeans_iters: int = field(default=20, metadata={"help": "Lloyd iterations of every k-means run."})

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"pruning_strategy must be one of {STRATEGIES}, got {self.strategy!r}")
        self.clusters = [int(k) for k in self.clusters]
        self.resampling_steps = [int(n) for n in self.resampling_steps]
        self.sample_size = [int(n) for n in self.sample_size]
        if not 0.0 < self.rho <= 1.0:
            raise ValueError(f"pruning_rho must be in (0, 1], got {self.rho}")
        if not 0.0 <= self.eta <= 1.0:
            raise ValueError(f"pruning_eta must be in [0, 1], got {self.eta}")
        if (self.subset_size is not None and self.subset_size < 1) or self.kmeans_iters < 0:
            raise ValueError(
                f"need pruning_subset_size >= 1 (or None) and pruning_kmeans_iters >= 0, got {self.subset_size} and "
                f"{self.kmeans_iters}"
            )
        n_levels = len(self.clusters)
        if n_levels == 0 or len(self.resampling_steps) != n_levels or len(self.sample_size) != n_levels:
            raise ValueError(
                "pruning_clusters, pruning_resampling_steps and pruning_sample_size need one entry per level (at least "
                f"one level), got {self.clusters}, {self.resampling_steps}, {self.sample_size}"
            )

    def subset_for(self, archive_size: int) -> int:
        """|U| for an archive of `archive_size` samples: `subset_size`, or min(N, ⌈2·ρ·N⌉) when it is None."""
        wanted = self.subset_size if self.subset_size is not None else math.ceil(2 * self.rho * archive_size)
        return min(wanted, archive_size)


@dataclass
class Selection:
    """Result of :func:`select_from_archive`.

    Attributes:
        indices: sorted unique int64 archive indices selected for training.
        target: requested number of points, ``round(ρ·|D|)``.
        clipped: True when U was smaller than the target and all of U was kept.
        levels: the hierarchical clustering of U (positions are rows of the features, not archive indices).
        timings: wall-clock seconds, ``clustering_s`` (normalisation + hierarchical k-means) and ``sampling_s``.
    """

    indices: np.ndarray
    target: int
    clipped: bool
    levels: list[LevelResult]
    timings: dict[str, float]


def draw_subset(archive_size: int, subset_size: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted archive indices of a uniform random subset U of ``min(subset_size, archive_size)`` samples."""
    if archive_size < 1 or subset_size < 1:
        raise ValueError(f"archive_size and subset_size must be >= 1, got {archive_size} and {subset_size}")
    return np.sort(rng.choice(archive_size, size=min(subset_size, archive_size), replace=False))


def select_from_archive(
    features: torch.Tensor,
    archive_indices: np.ndarray,
    archive_size: int,
    config: SelectionConfig,
    seed: int,
) -> Selection:
    """Cluster the embedded subset U and select ρ·|D| archive samples from it (balanced, hierarchical).

    Args:
        features: (|U|, D) embeddings of the subset, row i embedding archive sample ``archive_indices[i]``.
        archive_indices: (|U|,) distinct archive indices in [0, archive_size).
        archive_size: |D|, the number of samples in the whole archive.
        config: clustering and sampling settings (embeddings are L2-normalised first).
        seed: seeds both the k-means generator and the sampling draws (use a new seed per pruning round).

    Returns:
        A :class:`Selection` whose ``indices`` are archive indices.
    """
    archive_indices = np.asarray(archive_indices, dtype=np.int64)
    if features.ndim != 2 or features.shape[0] != archive_indices.shape[0]:
        raise ValueError(
            f"features must be (|U|, D) with one row per archive index; got {tuple(features.shape)} "
            f"features and {archive_indices.shape[0]} indices"
        )
    if archive_indices.size and (archive_indices.min() < 0 or archive_indices.max() >= archive_size):
        raise ValueError(f"archive_indices must lie in [0, {archive_size})")
    if np.unique(archive_indices).size != archive_indices.size:
        raise ValueError("archive_indices contain duplicates; de-duplicate the gathered features first")
    target = round(config.rho * archive_size)
    clipped = target > features.shape[0]
    if clipped:
        logger.warning(
            "pruning: target rho*|D| = %d exceeds the %d embedded samples; keeping all of them "
            "(raise subset_size to at least the target)",
            target,
            features.shape[0],
        )
    start = time.perf_counter()
    x = torch.nn.functional.normalize(features.float(), dim=1)
    levels = hierarchical_kmeans(
        x,
        config.clusters,
        n_iters=config.kmeans_iters,
        n_resampling_steps=config.resampling_steps,
        sample_size=config.sample_size,
        generator=seed,
    )
    clustered = time.perf_counter()
    positions = balanced_hierarchical_sample(levels, min(target, x.shape[0]), config.eta, np.random.default_rng(seed))
    timings = {"clustering_s": clustered - start, "sampling_s": time.perf_counter() - clustered}
    return Selection(archive_indices[positions], target, clipped, levels, timings)


def class_balanced_sample(labels: np.ndarray, target_size: int, rng: np.random.Generator) -> np.ndarray:
    """The oracle's choice: ``target_size`` positions spread evenly over the classes of ``labels`` (small classes taken
    whole, `balanced_budget`), uniformly at random within each class.

    Args:
        labels: (n,) int class ids of the pool, all >= 0. target_size: 0 <= target_size <= n.
        rng: source of the draws.

    Returns:
        Sorted int64 positions into ``labels``.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer) or (labels.size and labels.min() < 0):
        raise ValueError(
            f"labels must be a 1-D array of class ids >= 0 (no unknowns), got {labels.dtype} {labels.shape}"
        )
    classes, inverse = np.unique(labels, return_inverse=True)
    budget = balanced_budget(np.bincount(inverse, minlength=classes.size), int(target_size), rng)
    picked = [
        rng.choice(np.flatnonzero(inverse == c), size=int(b), replace=False) for c, b in enumerate(budget) if b > 0
    ]
    return np.sort(np.concatenate(picked)) if picked else np.empty(0, dtype=np.int64)


def cluster_size_summary(sizes: np.ndarray) -> dict[str, float]:
    """Summary of a cluster-size histogram.

    Returns count (clusters), empty, min, median, max, gini (0 = all equal, → 1 = all points in one cluster) and
    entropy (nats, of the size distribution; ln(count) when all equal).
    """
    sizes = np.asarray(sizes, dtype=np.float64)
    if sizes.ndim != 1 or sizes.size == 0:
        raise ValueError(f"sizes must be a non-empty 1-D array, got shape {sizes.shape}")
    total = sizes.sum()
    ordered = np.sort(sizes)
    n = sizes.size
    gini = float(2 * np.sum(np.arange(1, n + 1) * ordered) / (n * total) - (n + 1) / n) if total > 0 else 0.0
    return {
        "count": float(n),
        "empty": float(np.sum(sizes == 0)),
        "min": float(ordered[0]),
        "median": float(np.median(sizes)),
        "max": float(ordered[-1]),
        "gini": gini,
        "entropy": _entropy(sizes),
    }


def label_entropy(labels: np.ndarray) -> float:
    """Shannon entropy (nats) of the label histogram; negative labels (unknown) are ignored, 0 when none is left."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be a 1-D integer array, got {labels.dtype} {labels.shape}")
    known = labels[labels >= 0]
    return _entropy(np.bincount(known).astype(np.float64)) if known.size else 0.0


def _entropy(counts: np.ndarray) -> float:
    """Entropy (nats) of the distribution proportional to non-negative ``counts``."""
    total = counts.sum()
    if total <= 0:
        return 0.0
    p = counts[counts > 0] / total
    return float(-(p * np.log(p)).sum())

"""Lloyd k-means and hierarchical k-means with resampling, in PyTorch (CPU or GPU).

Squared L2 distances are computed as ``‖x‖² − 2 x·cᵀ + ‖c‖²`` with one ``addmm`` per chunk of points, so only a
``(chunk_size, k)`` block of distances ever exists. The default chunk size comes from a memory budget of
``2**22`` floats (16 MiB) on CPU — measured faster than bigger blocks on a 2-core CPU because the block stays in
cache — and ``2**26`` floats (256 MiB) on CUDA, where bigger matmuls keep the device busy.

Randomness (initial centroids, k-means++ candidates) is always drawn from a CPU ``torch.Generator`` and moved to the
data's device, so a seed selects the same draws on every device. On CPU, results are bit-reproducible for a given
seed and thread count; on CUDA, matmul reductions and ``index_add_`` may round differently from run to run.

Hierarchical k-means follows the description of Vo et al. (2024, "Automatic data curation for self-supervised
learning: a clustering-based approach"): level 1 clusters the points, level l > 1 clusters the centroids of level
l − 1, and each level may run resampling steps that re-fit k-means on the ``sample_size`` points closest to each
centroid, which spreads the centroids more evenly over dense and sparse regions.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

logger = logging.getLogger(__name__)

CPU_MEMORY_BUDGET = 2**22
"""Floats allowed in one chunk×k distance block on CPU."""
CUDA_MEMORY_BUDGET = 2**26
"""Floats allowed in one chunk×k distance block on CUDA devices."""

GeneratorLike = torch.Generator | int | None


@dataclass
class KMeansResult:
    """Output of :func:`kmeans`.

    Attributes:
        centroids: (k, D) cluster centres, same dtype and device as the input.
        assignment: (N,) long, index of the nearest centroid of every point (w.r.t. the final centroids).
        distances: (N,) squared L2 distance of every point to its assigned centroid.
        inertia: sum of ``distances`` (float64 accumulation).
        n_iters_run: number of Lloyd updates made (``n_iters`` unless ``tol`` stopped early).
    """

    centroids: torch.Tensor
    assignment: torch.Tensor
    distances: torch.Tensor
    inertia: float
    n_iters_run: int


@dataclass
class LevelResult:
    """One level of :func:`hierarchical_kmeans`.

    The inputs of level 1 are the points; the inputs of level l > 1 are the centroids of level l − 1.

    Attributes:
        centroids: (k, D) centroids of this level.
        assignment: (n_inputs,) long, cluster of every input of this level.
        distances: (n_inputs,) squared L2 distance of every input to its centroid.
        sorted_members: (n_inputs,) long, input positions grouped by cluster (cluster 0 first) and sorted by
            increasing distance to the centroid inside each cluster.
        offsets: (k + 1,) long, members of cluster c are ``sorted_members[offsets[c]:offsets[c + 1]]``.
    """

    centroids: torch.Tensor
    assignment: torch.Tensor
    distances: torch.Tensor
    sorted_members: torch.Tensor
    offsets: torch.Tensor

    @property
    def n_clusters(self) -> int:
        """Number of clusters k of this level."""
        return self.centroids.shape[0]

    @property
    def sizes(self) -> torch.Tensor:
        """(k,) long, number of inputs of this level in each cluster."""
        return self.offsets[1:] - self.offsets[:-1]

    def members(self, cluster: int) -> torch.Tensor:
        """Input positions of ``cluster``, nearest to the centroid first."""
        return self.sorted_members[self.offsets[cluster] : self.offsets[cluster + 1]]


def as_generator(generator: GeneratorLike) -> torch.Generator:
    """A CPU generator: ``generator`` itself, a new one seeded with an int, or a non-deterministically seeded one."""
    if isinstance(generator, torch.Generator):
        if generator.device.type != "cpu":
            raise ValueError(f"expected a CPU torch.Generator, got one on {generator.device}")
        return generator
    new = torch.Generator()
    if generator is None:
        new.seed()
    else:
        new.manual_seed(int(generator))
    return new


def default_chunk_size(n_centroids: int, device: torch.device) -> int:
    """Rows per chunk so that a (chunk, n_centroids) float block fits the device's memory budget."""
    budget = CUDA_MEMORY_BUDGET if device.type == "cuda" else CPU_MEMORY_BUDGET
    return max(1, budget // max(1, n_centroids))


def _check_points(x: torch.Tensor, k: int) -> torch.Tensor:
    """Validate (N, D) points for k clusters; returns them in float32 if they were half precision."""
    if not isinstance(x, torch.Tensor) or x.ndim != 2:
        raise ValueError(f"expected points as a 2-D tensor (N, D), got {type(x).__name__} {getattr(x, 'shape', '')}")
    if not x.is_floating_point():
        raise ValueError(f"expected floating-point points, got dtype {x.dtype}")
    if not 1 <= k <= x.shape[0]:
        raise ValueError(f"number of clusters must be in [1, N={x.shape[0]}], got {k}")
    if not bool(torch.isfinite(x).all()):
        raise ValueError("points contain NaN or infinite values")
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


def _nearest(
    x: torch.Tensor,
    x_sq: torch.Tensor,
    centroids: torch.Tensor,
    chunk_size: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Nearest centroid of every point, chunk by chunk.

    Returns (assignment (N,) long, squared distances (N,) clamped at 0).
    """
    n = x.shape[0]
    c_sq = (centroids * centroids).sum(1)
    c_t = centroids.t()
    block = x.new_empty(min(chunk_size, n), centroids.shape[0])
    assignment = torch.empty(n, dtype=torch.long, device=x.device)
    distances = x.new_empty(n)
    for start in range(0, n, chunk_size):
        stop = min(start + chunk_size, n)
        xc = x[start:stop]
        out = block[: stop - start]
        torch.addmm(c_sq, xc, c_t, beta=1.0, alpha=-2.0, out=out)
        torch.min(out, 1, out=(distances[start:stop], assignment[start:stop]))
    distances.add_(x_sq).clamp_(min=0.0)
    return assignment, distances


def _cluster_sums(
    x: torch.Tensor, assignment: torch.Tensor, k: int, dtype: torch.dtype, chunk_size: int
) -> torch.Tensor:
    """(k, D) per-cluster sums of the points in ``dtype`` (converted chunk by chunk when it differs from x's)."""
    sums = torch.zeros(k, x.shape[1], dtype=dtype, device=x.device)
    if dtype == x.dtype:
        return sums.index_add_(0, assignment, x)
    for start in range(0, x.shape[0], chunk_size):
        sums.index_add_(0, assignment[start : start + chunk_size], x[start : start + chunk_size].to(dtype))
    return sums


def assign(
    x: torch.Tensor, centroids: torch.Tensor, chunk_size: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Assign (N, D) points to their nearest of (k, D) centroids.

    Returns (assignment (N,) long, squared L2 distances (N,)).
    """
    x = _check_points(x, 1)
    centroids = centroids.to(x.dtype)
    if centroids.ndim != 2 or centroids.shape[1] != x.shape[1]:
        raise ValueError(f"expected centroids of shape (k, {x.shape[1]}), got {tuple(centroids.shape)}")
    chunk_size = chunk_size or default_chunk_size(centroids.shape[0], x.device)
    return _nearest(x, (x * x).sum(1), centroids, chunk_size)


def _sq_distances(x: torch.Tensor, x_sq: torch.Tensor, y: torch.Tensor, chunk_size: int) -> torch.Tensor:
    """(N, M) squared L2 distances between points and a few rows y (M small), computed chunk by chunk."""
    y_sq = (y * y).sum(1)
    out = x.new_empty(x.shape[0], y.shape[0])
    for start in range(0, x.shape[0], chunk_size):
        stop = min(start + chunk_size, x.shape[0])
        torch.addmm(y_sq, x[start:stop], y.t(), beta=1.0, alpha=-2.0, out=out[start:stop])
    return out.add_(x_sq[:, None]).clamp_(min=0.0)


def kmeans_plus_plus_init(
    x: torch.Tensor,
    k: int,
    generator: GeneratorLike = None,
    n_local_trials: int | None = None,
    chunk_size: int | None = None,
) -> torch.Tensor:
    """Greedy k-means++ seeding (Arthur & Vassilvitskii 2007, with local trials).

    Each new centre is the best, by resulting potential (sum of squared distances to the nearest centre), of
    ``n_local_trials`` candidates (default ``2 + int(ln k)``) drawn with probability proportional to the squared
    distance to the current centres.

    Args:
        x: (N, D) points. k: number of centres, 1 ≤ k ≤ N. generator: CPU generator or seed.
        chunk_size: rows per distance block (default from the device's memory budget).

    Returns:
        (k, D) initial centroids (copies of k input points).
    """
    x = _check_points(x, k)
    gen = as_generator(generator)
    n = x.shape[0]
    trials = n_local_trials or 2 + int(math.log(k))
    chunk_size = chunk_size or default_chunk_size(trials, x.device)
    x_sq = (x * x).sum(1)
    chosen = torch.empty(k, dtype=torch.long, device=x.device)
    chosen[0] = int(torch.randint(n, (1,), generator=gen))
    closest = _sq_distances(x, x_sq, x[chosen[:1]], chunk_size)[:, 0]
    for i in range(1, k):
        cumulative = torch.cumsum(closest, 0, dtype=torch.float64)
        draws = torch.rand(trials, generator=gen, dtype=torch.float64).to(x.device) * cumulative[-1]
        candidates = torch.searchsorted(cumulative, draws).clamp_(max=n - 1)
        candidate_closest = torch.minimum(closest[:, None], _sq_distances(x, x_sq, x[candidates], chunk_size))
        best = torch.argmin(candidate_closest.sum(0, dtype=torch.float64))
        chosen[i] = candidates[best]
        closest = candidate_closest[:, best]
    return x[chosen].clone()


def kmeans(
    x: torch.Tensor,
    k: int,
    n_iters: int = 20,
    init: str = "k-means++",
    generator: GeneratorLike = None,
    chunk_size: int | None = None,
    tol: float | None = None,
    float64_accumulation: bool = False,
) -> KMeansResult:
    """Lloyd k-means with squared L2 distance.

    Every iteration assigns all points to their nearest centroid (chunked matmul) and moves each centroid to the
    mean of its points; a centroid whose cluster became empty keeps its previous position. A final assignment pass
    makes ``assignment``/``distances``/``inertia`` consistent with the returned centroids.

    Args:
        x: (N, D) float points (half precision is computed in float32).
        k: number of clusters, 1 ≤ k ≤ N.
        n_iters: number of Lloyd updates.
        init: ``"k-means++"`` (greedy, see :func:`kmeans_plus_plus_init`) or ``"random"`` (k distinct points).
        generator: CPU ``torch.Generator`` or int seed; results are deterministic given it (on CPU).
        chunk_size: points per distance block; default ``budget // k`` (see module docstring).
        tol: stop early when an iteration lowers the inertia by at most ``tol`` × the previous inertia
            (``None``: always run ``n_iters``).
        float64_accumulation: accumulate per-cluster sums in float64 (about 5× slower on CPU); otherwise in the
            input dtype, accurate enough for float32 features of similar magnitude.
    """
    x = _check_points(x, k)
    if n_iters < 0:
        raise ValueError(f"n_iters must be >= 0, got {n_iters}")
    gen = as_generator(generator)
    chunk_size = chunk_size or default_chunk_size(k, x.device)
    if init == "k-means++":
        centroids = kmeans_plus_plus_init(x, k, gen, chunk_size=chunk_size)
    elif init == "random":
        centroids = x[torch.randperm(x.shape[0], generator=gen)[:k].to(x.device)].clone()
    else:
        raise ValueError(f"init must be 'k-means++' or 'random', got {init!r}")
    x_sq = (x * x).sum(1)
    sum_dtype = torch.float64 if float64_accumulation else x.dtype
    previous_inertia = math.inf
    n_run = 0
    for _ in range(n_iters):
        assignment, distances = _nearest(x, x_sq, centroids, chunk_size)
        sums = _cluster_sums(x, assignment, k, sum_dtype, chunk_size)
        counts = torch.bincount(assignment, minlength=k)
        filled = counts > 0
        centroids[filled] = (sums[filled] / counts[filled, None]).to(x.dtype)
        n_run += 1
        if tol is not None:
            inertia = float(distances.sum(dtype=torch.float64))
            if previous_inertia - inertia <= tol * previous_inertia:
                break
            previous_inertia = inertia
    assignment, distances = _nearest(x, x_sq, centroids, chunk_size)
    return KMeansResult(centroids, assignment, distances, float(distances.sum(dtype=torch.float64)), n_run)


def _per_level(value: int | Sequence[int], n_levels: int, name: str) -> list[int]:
    """Broadcast an int to every level, or check a per-level sequence has one entry per level."""
    values = [int(value)] * n_levels if isinstance(value, int) else [int(v) for v in value]
    if len(values) != n_levels:
        raise ValueError(f"{name} needs one value per level ({n_levels}), got {len(values)}")
    return values


def _level(assignment: torch.Tensor, distances: torch.Tensor, centroids: torch.Tensor) -> LevelResult:
    """Group inputs by cluster, nearest first, into a :class:`LevelResult`."""
    by_distance = torch.argsort(distances, stable=True)
    order = by_distance[torch.argsort(assignment[by_distance], stable=True)]
    sizes = torch.bincount(assignment, minlength=centroids.shape[0])
    offsets = torch.cat([sizes.new_zeros(1), torch.cumsum(sizes, 0)])
    return LevelResult(centroids, assignment, distances, order, offsets)


def _closest_per_cluster(level: LevelResult, sample_size: int) -> torch.Tensor:
    """Input positions of the ``sample_size`` members nearest to the centroid of every cluster."""
    cluster_of_slot = torch.repeat_interleave(torch.arange(level.n_clusters, device=level.offsets.device), level.sizes)
    rank = torch.arange(level.sorted_members.shape[0], device=level.offsets.device) - level.offsets[cluster_of_slot]
    return level.sorted_members[rank < sample_size]


def hierarchical_kmeans(
    x: torch.Tensor,
    n_clusters: Sequence[int],
    n_iters: int = 20,
    n_resampling_steps: int | Sequence[int] = 0,
    sample_size: int | Sequence[int] = 1,
    generator: GeneratorLike = None,
    init: str = "k-means++",
    chunk_size: int | None = None,
    float64_accumulation: bool = False,
) -> list[LevelResult]:
    """Hierarchical k-means with resampling (Vo et al. 2024).

    Level 1 clusters the (N, D) points into ``n_clusters[0]`` clusters; level l > 1 clusters the centroids of level
    l − 1 into ``n_clusters[l-1]`` clusters. Within a level, each resampling step takes the ``sample_size`` inputs
    closest to every current centroid, runs a fresh k-means (same k) on that set only, and re-assigns all the level's
    inputs to the new centroids. Resampling is skipped when ``sample_size <= 1`` and stops early (with a warning)
    if fewer than k inputs are sampled (too many empty clusters).

    Args:
        x: (N, D) points. n_clusters: clusters per level, non-increasing, n_clusters[0] ≤ N.
        n_iters: Lloyd iterations of every k-means run.
        n_resampling_steps, sample_size: per level (a list) or the same for all levels (an int).
        generator, init, chunk_size, float64_accumulation: as in :func:`kmeans`.

    Returns:
        One :class:`LevelResult` per level, level 1 first.
    """
    n_levels = len(n_clusters)
    if n_levels == 0:
        raise ValueError("n_clusters must list at least one level, e.g. [100, 10]")
    ks = _per_level(n_clusters, n_levels, "n_clusters")
    if any(b > a for a, b in itertools.pairwise(ks)):
        raise ValueError(
            f"n_clusters must be non-increasing across levels (each level clusters the previous centroids), got {ks}"
        )
    steps = _per_level(n_resampling_steps, n_levels, "n_resampling_steps")
    sizes = _per_level(sample_size, n_levels, "sample_size")
    gen = as_generator(generator)
    levels: list[LevelResult] = []
    inputs = x
    for depth, (k, n_steps, size) in enumerate(zip(ks, steps, sizes, strict=True), start=1):
        fit = dict(
            n_iters=n_iters, init=init, generator=gen, chunk_size=chunk_size, float64_accumulation=float64_accumulation
        )
        result = kmeans(inputs, k, **fit)
        level = _level(result.assignment, result.distances, result.centroids)
        for step in range(n_steps if size > 1 else 0):
            sample = _closest_per_cluster(level, size)
            if sample.shape[0] < k:
                logger.warning(
                    "level %d: resampling step %d drew %d < k=%d inputs; stopping resampling",
                    depth,
                    step,
                    sample.shape[0],
                    k,
                )
                break
            centroids = kmeans(inputs[sample], k, **fit).centroids
            level = _level(*assign(inputs, centroids, chunk_size), centroids)
        levels.append(level)
        inputs = level.centroids
    return levels

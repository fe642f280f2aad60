"""Benchmark: our PyTorch Lloyd k-means (training/pruning/kmeans.py) against faiss-cpu's ``faiss.Kmeans``.

Both run the same number of Lloyd iterations from a random-point initialisation on the same float32 data, with the
same number of threads, in the same process. Each timing covers training plus the final assignment of every point to
the final centroids (ours returns it; for faiss, one ``index.search``). Inertia = Σ squared distance of every point to
its final centroid. faiss subsamples to ``max_points_per_centroid`` (default 256) × k points; it is run both with its
default and with the limit lifted so that it uses every point like ours.

Data: a Gaussian mixture (2·k latent centres, unit noise) so that clusters exist, as in embedding data.

Usage: ``python benchmarks/bench_kmeans.py`` (200,000 × 256, k = 1000, 20 iterations) or ``--quick``.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import faiss
import numpy as np
import torch

from training.pruning.kmeans import kmeans


def mixture(n: int, dim: int, n_centres: int, seed: int) -> np.ndarray:
    """(n, dim) float32 points around ``n_centres`` random centres (centre std 1, noise std 0.5)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_centres, dim), dtype=np.float32)
    return centres[rng.integers(0, n_centres, n)] + 0.5 * rng.standard_normal((n, dim), dtype=np.float32)


def timed(fit: Callable[[], float]) -> tuple[float, float, float]:
    """(wall seconds, process CPU seconds, inertia) of one call of ``fit`` (which returns the inertia)."""
    wall, cpu = time.perf_counter(), time.process_time()
    inertia = fit()
    return time.perf_counter() - wall, time.process_time() - cpu, inertia


def run_ours(x: np.ndarray, k: int, iters: int, init: str, seed: int) -> float:
    """Inertia of our k-means."""
    return kmeans(torch.from_numpy(x), k, n_iters=iters, init=init, generator=seed).inertia


def run_faiss(x: np.ndarray, k: int, iters: int, seed: int, max_points_per_centroid: int) -> float:
    """Inertia of faiss.Kmeans (train + final assignment)."""
    km = faiss.Kmeans(x.shape[1], k, niter=iters, seed=seed, max_points_per_centroid=max_points_per_centroid)
    km.train(x)
    distances, _ = km.index.search(x, 1)
    return float(distances.astype(np.float64).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000, help="number of points")
    parser.add_argument("--dim", type=int, default=256, help="dimension")
    parser.add_argument("--k", type=int, default=1000, help="number of clusters")
    parser.add_argument("--iters", type=int, default=20, help="Lloyd iterations (both)")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="threads for torch and faiss")
    parser.add_argument("--init", default="random", choices=["random", "k-means++"], help="our initialisation")
    parser.add_argument("--repeats", type=int, default=1, help="interleaved repeats; the best time of each is kept")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="50,000 × 128, k = 256, 10 iterations")
    args = parser.parse_args()
    if args.quick:
        args.n, args.dim, args.k, args.iters = 50_000, 128, 256, 10
    torch.set_num_threads(args.threads)
    faiss.omp_set_num_threads(args.threads)
    x = mixture(args.n, args.dim, 2 * args.k, args.seed)
    all_points = -(-args.n // args.k) + 1
    runs = {
        f"ours ({args.init} init)": lambda: run_ours(x, args.k, args.iters, args.init, args.seed),
        f"faiss, max_points_per_centroid=256 ({min(args.n, 256 * args.k)} points used)": lambda: run_faiss(
            x, args.k, args.iters, args.seed, 256
        ),
        f"faiss, max_points_per_centroid={all_points} (all points)": lambda: run_faiss(
            x, args.k, args.iters, args.seed, all_points
        ),
    }
    print(
        f"k-means: N={args.n} D={args.dim} k={args.k} iters={args.iters} threads={args.threads} "
        f"repeats={args.repeats} (torch {torch.__version__}, faiss {faiss.__version__})"
    )
    best: dict[str, tuple[float, float, float]] = {}
    for repeat in range(args.repeats):
        for name, run in runs.items():
            wall, cpu, inertia = timed(run)
            print(f"  repeat {repeat}: {name}: {wall:.2f} s wall, {cpu:.2f} s CPU")
            best[name] = min(best.get(name, (wall, cpu, inertia)), (wall, cpu, inertia))
    ours_wall, ours_cpu, ours_inertia = next(iter(best.values()))
    print("best of the repeats; ratios are ours / this row")
    for name, (wall, cpu, inertia) in best.items():
        print(
            f"{name:<62} {wall:7.2f} s wall ({ours_wall / wall:.2f})  {cpu:7.2f} s CPU ({ours_cpu / cpu:.2f})  "
            f"inertia {inertia:.6e} ({ours_inertia / inertia:.4f})"
        )


if __name__ == "__main__":
    main()

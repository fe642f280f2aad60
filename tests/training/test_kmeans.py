"""k-means, k-means++ and hierarchical k-means (training/pruning/kmeans.py)."""

import pytest
import torch
from sklearn.metrics import adjusted_rand_score

from training.pruning.kmeans import assign, hierarchical_kmeans, kmeans, kmeans_plus_plus_init


def blobs(
    n_per_blob: list[int], dim: int = 8, spread: float = 20.0, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Well-separated Gaussian blobs (unit std, centres ~spread apart): points (N, dim) and blob labels (N,)."""
    gen = torch.Generator().manual_seed(seed)
    centres = torch.randn(len(n_per_blob), dim, generator=gen) * spread
    points = [centres[i] + torch.randn(n, dim, generator=gen) for i, n in enumerate(n_per_blob)]
    labels = torch.cat([torch.full((n,), i) for i, n in enumerate(n_per_blob)])
    return torch.cat(points), labels


def test_kmeans_recovers_separated_blobs():
    x, labels = blobs([120, 80, 150, 60, 100, 90])
    result = kmeans(x, 6, n_iters=20, generator=0)
    assert adjusted_rand_score(labels.numpy(), result.assignment.numpy()) == 1.0
    assert result.centroids.shape == (6, 8)
    expected = ((x - result.centroids[result.assignment]) ** 2).sum(1)
    torch.testing.assert_close(result.distances, expected, rtol=1e-4, atol=1e-3)
    assert result.inertia == pytest.approx(float(expected.sum()), rel=1e-4)
    assert result.n_iters_run == 20


def test_chunked_assignment_equals_unchunked():
    x, _ = blobs([300, 200, 250], dim=16, spread=3.0)
    full = kmeans(x, 7, n_iters=5, generator=3, chunk_size=len(x))
    chunked = kmeans(x, 7, n_iters=5, generator=3, chunk_size=13)
    assert torch.equal(full.assignment, chunked.assignment)
    torch.testing.assert_close(full.centroids, chunked.centroids)
    brute = torch.cdist(x, full.centroids).argmin(1)
    assert torch.equal(assign(x, full.centroids, chunk_size=17)[0], brute)


def test_float64_accumulation_matches_float32():
    x, _ = blobs([300, 200, 250], dim=16, spread=3.0)
    single = kmeans(x, 7, n_iters=5, generator=3, chunk_size=50)
    double = kmeans(x, 7, n_iters=5, generator=3, chunk_size=50, float64_accumulation=True)
    assert double.centroids.dtype == torch.float32
    assert torch.equal(single.assignment, double.assignment)
    torch.testing.assert_close(single.centroids, double.centroids, rtol=1e-5, atol=1e-5)


def test_empty_cluster_keeps_its_centroid():
    # Only 3 distinct points but k = 5: duplicated initial centroids leave clusters empty; they must stay finite.
    distinct = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    x = distinct.repeat(10, 1)
    result = kmeans(x, 5, n_iters=5, init="random", generator=1)
    assert torch.isfinite(result.centroids).all()
    assert int((torch.bincount(result.assignment, minlength=5) > 0).sum()) == 3
    assert result.inertia == 0.0
    assert all(bool((distinct == c).all(1).any()) for c in result.centroids)


def test_deterministic_given_seed():
    x, _ = blobs([200, 200, 200], spread=2.0)
    a = kmeans(x, 10, n_iters=5, generator=7)
    b = kmeans(x, 10, n_iters=5, generator=torch.Generator().manual_seed(7))
    c = kmeans(x, 10, n_iters=5, generator=8)
    assert torch.equal(a.centroids, b.centroids) and torch.equal(a.assignment, b.assignment)
    assert not torch.equal(a.centroids, c.centroids)


def test_kmeans_plus_plus_seeds_one_point_per_blob():
    x, labels = blobs([200, 20, 100, 10])
    centres = kmeans_plus_plus_init(x, 4, generator=0)
    picked = [int(torch.nonzero((x == c).all(1))[0]) for c in centres]
    assert sorted(labels[picked].tolist()) == [0, 1, 2, 3]


def test_tol_stops_early_once_converged():
    x, _ = blobs([100, 100, 100])
    result = kmeans(x, 3, n_iters=50, generator=0, tol=1e-6)
    assert result.n_iters_run < 50


@pytest.mark.parametrize(
    ("points", "k", "message"),
    [
        (torch.zeros(5), 2, "2-D"),
        (torch.zeros(5, 3), 6, "number of clusters"),
        (torch.tensor([[0.0, float("nan")], [1.0, 1.0]]), 1, "NaN"),
        (torch.zeros(4, 3, dtype=torch.long), 2, "floating-point"),
    ],
)
def test_bad_input_raises(points, k, message):
    with pytest.raises(ValueError, match=message):
        kmeans(points, k)


def test_bad_init_raises():
    with pytest.raises(ValueError, match="init"):
        kmeans(torch.zeros(5, 2), 2, init="kmeans||")


def test_hierarchical_levels_are_consistent():
    x, _ = blobs([400, 300, 200, 100, 50, 30], dim=8, spread=6.0)
    levels = hierarchical_kmeans(x, [24, 6], n_iters=10, n_resampling_steps=2, sample_size=[8, 2], generator=0)
    assert [level.n_clusters for level in levels] == [24, 6]
    assert levels[0].assignment.shape == (len(x),) and levels[0].centroids.shape == (24, 8)
    assert levels[1].assignment.shape == (24,) and levels[1].centroids.shape == (6, 8)
    for level, inputs in zip(levels, [x, levels[0].centroids], strict=True):
        n_inputs = level.assignment.shape[0]
        assert torch.equal(torch.sort(level.sorted_members).values, torch.arange(n_inputs))
        assert torch.equal(level.sizes, torch.bincount(level.assignment, minlength=level.n_clusters))
        for cluster in range(level.n_clusters):
            members = level.members(cluster)
            assert (level.assignment[members] == cluster).all()
            assert (torch.diff(level.distances[members]) >= 0).all()
        assert torch.equal(level.assignment, torch.cdist(inputs, level.centroids).argmin(1))


def test_resampling_moves_centroids():
    x, _ = blobs([600, 40, 40, 40], dim=4, spread=3.0)
    plain = hierarchical_kmeans(x, [12], n_iters=10, generator=0)
    resampled = hierarchical_kmeans(x, [12], n_iters=10, n_resampling_steps=3, sample_size=[5], generator=0)
    assert not torch.allclose(plain[0].centroids, resampled[0].centroids)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_clusters": [5, 10]}, "non-increasing"),
        ({"n_clusters": []}, "at least one level"),
        ({"n_clusters": [10, 5], "sample_size": [3]}, "one value per level"),
    ],
)
def test_hierarchical_bad_config_raises(kwargs, message):
    with pytest.raises(ValueError, match=message):
        hierarchical_kmeans(torch.randn(50, 3), **kwargs)

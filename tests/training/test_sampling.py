"""Balanced budgets, hierarchical sampling, archive selection and diagnostics (training/pruning/sampling.py)."""

import itertools
import logging
import math

import numpy as np
import pytest
import torch

from training.pruning.kmeans import hierarchical_kmeans
from training.pruning.sampling import (
    SelectionConfig,
    balanced_budget,
    balanced_hierarchical_sample,
    cluster_size_summary,
    draw_subset,
    flat_sizes,
    label_entropy,
    select_from_archive,
)

SKEWED = [1500, 600, 250, 120, 60, 40, 30, 20]


def labelled_mixture(n_per_class: list[int], dim: int = 16, seed: int = 0) -> tuple[torch.Tensor, np.ndarray]:
    """Separated Gaussian classes with the given (skewed) sizes: points (N, dim), labels (N,)."""
    gen = torch.Generator().manual_seed(seed)
    centres = torch.randn(len(n_per_class), dim, generator=gen) * 8
    points = torch.cat([centres[i] + torch.randn(n, dim, generator=gen) for i, n in enumerate(n_per_class)])
    return points, np.repeat(np.arange(len(n_per_class)), n_per_class)


@pytest.fixture(scope="module")
def skewed_levels():
    x, labels = labelled_mixture(SKEWED)
    levels = hierarchical_kmeans(x, [32, 8], n_iters=10, n_resampling_steps=2, sample_size=[20, 2], generator=0)
    return x, labels, levels


@pytest.mark.parametrize("seed", range(5))
def test_balanced_budget_properties(seed):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(0, 50, size=30)
    target = int(rng.integers(0, sizes.sum() + 1))
    budget = balanced_budget(sizes, target, rng)
    assert budget.sum() == target
    assert (budget >= 0).all() and (budget <= sizes).all()
    cut = budget[budget < sizes].max(initial=0)
    assert (budget[sizes <= cut - 1] == sizes[sizes <= cut - 1]).all()  # clusters below the cut are taken whole
    not_full = budget[budget < sizes]
    if not_full.size:
        assert budget.max() - not_full.min() <= 1  # no cluster gets more than one above a cluster that still has room


def test_balanced_budget_takes_small_clusters_whole():
    budget = balanced_budget(np.array([2, 100, 5, 100, 1]), 30, np.random.default_rng(0))
    assert budget.tolist()[::2] == [2, 5, 1]
    assert sorted(budget.tolist()[1::2]) == [11, 11]


def test_balanced_budget_extremes_and_errors():
    rng = np.random.default_rng(0)
    sizes = np.array([3, 0, 7])
    assert balanced_budget(sizes, 0, rng).tolist() == [0, 0, 0]
    assert balanced_budget(sizes, 10, rng).tolist() == [3, 0, 7]
    with pytest.raises(ValueError, match="target must be in"):
        balanced_budget(sizes, 11, rng)
    with pytest.raises(ValueError, match="non-negative integers"):
        balanced_budget(np.array([1.5, 2.0]), 1, rng)


def test_flat_sizes_count_raw_points_under_each_cluster(skewed_levels):
    x, _, levels = skewed_levels
    sizes = flat_sizes(levels)
    top_of_point = levels[1].assignment[levels[0].assignment].numpy()
    assert np.array_equal(sizes[1], np.bincount(top_of_point, minlength=8))
    assert sizes[0].sum() == sizes[1].sum() == len(x)


def test_balanced_sampling_flattens_skewed_classes(skewed_levels):
    _, labels, levels = skewed_levels
    selected = balanced_hierarchical_sample(levels, 400, eta=0.0, rng=np.random.default_rng(0))
    assert selected.size == 400 and np.unique(selected).size == 400
    assert (np.diff(selected) > 0).all() and selected.max() < labels.size
    assert label_entropy(labels[selected]) > label_entropy(labels) + 0.4
    uniform = np.random.default_rng(0).choice(labels.size, 400, replace=False)
    assert label_entropy(labels[selected]) > label_entropy(labels[uniform]) + 0.4


def test_eta_moves_selection_towards_centroids(skewed_levels):
    _, _, levels = skewed_levels
    leaf = levels[0]
    mean_distance = []
    for eta in [0.0, 0.25, 0.5, 0.75, 1.0]:
        selected = balanced_hierarchical_sample(levels, 300, eta=eta, rng=np.random.default_rng(1))
        mean_distance.append(float(leaf.distances[selected].mean()))
    assert all(a > b for a, b in itertools.pairwise(mean_distance))
    selected = set(balanced_hierarchical_sample(levels, 300, eta=1.0, rng=np.random.default_rng(1)).tolist())
    largest = int(torch.argmax(leaf.sizes))
    members = leaf.members(largest).tolist()
    quota = sum(m in selected for m in members)
    assert 0 < quota < len(members) and set(members[:quota]) <= selected  # the quota nearest points exactly


def test_sampling_is_deterministic_given_seed(skewed_levels):
    _, _, levels = skewed_levels
    a = balanced_hierarchical_sample(levels, 250, eta=0.3, rng=np.random.default_rng(5))
    b = balanced_hierarchical_sample(levels, 250, eta=0.3, rng=np.random.default_rng(5))
    c = balanced_hierarchical_sample(levels, 250, eta=0.3, rng=np.random.default_rng(6))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_sampling_rejects_bad_eta(skewed_levels):
    with pytest.raises(ValueError, match="eta"):
        balanced_hierarchical_sample(skewed_levels[2], 10, eta=1.5, rng=np.random.default_rng(0))


def test_select_from_archive_maps_back_to_archive_indices():
    archive_size = 20_000
    subset = draw_subset(archive_size, 2000, np.random.default_rng(0))
    assert subset.size == 2000 and np.unique(subset).size == 2000 and (np.diff(subset) > 0).all()
    features, _ = labelled_mixture([800, 600, 400, 200], dim=8)
    config = SelectionConfig(rho=0.05, clusters=(20, 4), kmeans_iters=5, resampling_steps=(1, 1), sample_size=(10, 2))
    selection = select_from_archive(features, subset, archive_size, config, seed=0)
    assert selection.target == 1000 and not selection.clipped
    assert set(selection.timings) == {"clustering_s", "sampling_s"} and min(selection.timings.values()) >= 0
    assert selection.indices.size == 1000 and np.isin(selection.indices, subset).all()
    assert np.unique(selection.indices).size == 1000
    again = select_from_archive(features, subset, archive_size, config, seed=0)
    assert np.array_equal(selection.indices, again.indices)


def test_select_from_archive_clips_when_subset_too_small(caplog):
    features, _ = labelled_mixture([100, 100], dim=4)
    subset = np.arange(0, 400, 2)
    config = SelectionConfig(rho=0.6, clusters=(4,), kmeans_iters=3, resampling_steps=(0,), sample_size=(1,))
    with caplog.at_level(logging.WARNING, logger="training.pruning.sampling"):
        selection = select_from_archive(features, subset, 400, config, seed=0)
    assert selection.clipped and selection.target == 240
    assert np.array_equal(selection.indices, subset)
    assert "exceeds the 200 embedded samples" in caplog.text


@pytest.mark.parametrize(
    ("indices", "archive_size", "message"),
    [(np.arange(5), 100, "one row per archive index"), (np.arange(95, 105), 100, r"\[0, 100\)")],
)
def test_select_from_archive_rejects_bad_indices(indices, archive_size, message):
    config = SelectionConfig(clusters=(2,), resampling_steps=(0,), sample_size=(1,))
    with pytest.raises(ValueError, match=message):
        select_from_archive(torch.randn(10, 3), indices, archive_size, config, seed=0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rho": 0.0}, "rho"),
        ({"eta": -0.1}, "eta"),
        ({"subset_size": 0}, "subset_size"),
        ({"clusters": (10, 5), "resampling_steps": (1,), "sample_size": (2, 2)}, "one entry per level"),
    ],
)
def test_selection_config_validates(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SelectionConfig(**kwargs)


def test_cluster_size_summary():
    equal = cluster_size_summary(np.full(4, 10))
    assert equal["gini"] == pytest.approx(0.0) and equal["entropy"] == pytest.approx(math.log(4))
    assert (equal["count"], equal["min"], equal["median"], equal["max"]) == (4, 10, 10, 10)
    one = cluster_size_summary(np.array([0, 0, 0, 12]))
    assert one["gini"] == pytest.approx(0.75) and one["entropy"] == 0.0 and one["empty"] == 3


def test_label_entropy():
    assert label_entropy(np.array([0, 1, 2, 3] * 5)) == pytest.approx(math.log(4))
    assert label_entropy(np.array([2, 2, -1, -1, 5, 5])) == pytest.approx(math.log(2))
    assert label_entropy(np.array([-1, -1])) == 0.0
    with pytest.raises(ValueError, match="integer"):
        label_entropy(np.array([0.5, 1.0]))

"""The hand-crafted spectral baseline and the independent renderer it is compared on."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from training.data import SyntheticArchiveConfig, balanced_split
from training.probes.baseline import NUM_BANDS, dataset_features, spectral_features

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "data"))
from independent_render import CLASSES, LABELS, IndependentSAR


def test_spectral_features_see_texture_scale_and_ignore_calibration() -> None:
    n = 64
    x = np.mgrid[0:n, 0:n][1]
    rng = np.random.default_rng(0)
    speckle = rng.gamma(6.0, 1 / 6.0, (n, n))
    fine = np.sqrt(10 ** (0.3 * np.cos(2 * np.pi * x / 4)) * speckle)  # 4-px waves
    coarse = np.sqrt(10 ** (0.3 * np.cos(2 * np.pi * x / 16)) * speckle)  # 16-px waves
    f_fine, f_coarse = spectral_features(fine), spectral_features(coarse)
    assert f_fine.shape == (2 * NUM_BANDS + 11,) and np.isfinite(f_fine).all()
    assert np.argmax(f_fine[:NUM_BANDS]) > np.argmax(f_coarse[:NUM_BANDS])  # shorter waves, higher band
    assert f_fine[NUM_BANDS : 2 * NUM_BANDS].max() > 1.0  # the waves are directional
    brighter = spectral_features(3.0 * fine)  # a calibration gain shifts the dB level only
    np.testing.assert_allclose(brighter[: 2 * NUM_BANDS], f_fine[: 2 * NUM_BANDS], rtol=1e-6, atol=1e-6)
    assert brighter[2 * NUM_BANDS] == pytest.approx(f_fine[2 * NUM_BANDS] + 20 * np.log10(3.0))
    with pytest.raises(ValueError, match="non-negative"):
        spectral_features(-fine)
    with pytest.raises(ValueError, match="at least 8 x 8"):
        spectral_features(np.ones((4, 64)))


def test_dataset_features_carry_the_labels() -> None:
    archive = balanced_split(SyntheticArchiveConfig(image_size=32), 1)
    features, labels = dataset_features(archive)
    assert features.shape == (10, 2 * NUM_BANDS + 11)
    np.testing.assert_array_equal(labels["label"], archive.labels())
    assert np.isnan(labels["wind_speed"][archive.labels() == 5]).all()  # sea ice: no sea state


def test_independent_renderer_is_deterministic_balanced_and_physical() -> None:
    data = IndependentSAR(12, size=32, seed=3)
    again = IndependentSAR(12, size=32, seed=3)
    labels = data.labels()
    assert sorted(set(labels.tolist())) == sorted(LABELS) and np.bincount(labels).max() == 2
    for i in range(12):
        sample = data[i]
        assert sample["label"] == labels[i] and sample["image"].shape == (32, 32)
        assert np.isfinite(sample["image"]).all() and (sample["image"] > 0).all()
        np.testing.assert_array_equal(sample["image"], again[i]["image"])
    ocean = [data[i] for i in range(12) if CLASSES[i % len(CLASSES)] == "pure ocean waves"]
    low = [data[i] for i in range(12) if CLASSES[i % len(CLASSES)] == "low wind area"]
    assert min(np.mean(s["image"] ** 2) for s in ocean) > max(np.mean(s["image"] ** 2) for s in low)
    assert not np.array_equal(data[0]["image"], IndependentSAR(12, size=32, seed=4)[0]["image"])

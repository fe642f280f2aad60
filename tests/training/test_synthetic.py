"""The synthetic WV archive: determinism, labels, physics, separability, and writing it to disk and back."""

from __future__ import annotations

import pickle
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from oceansar_hf.tasks import TENGEOP_CLASSES
from training.data import (
    GeoTiffFolder,
    HFDatasetReader,
    NpyFolder,
    RegressionTable,
    SyntheticArchiveConfig,
    SyntheticWVArchive,
    balanced_split,
)
from training.data.synthetic import DEFAULT_CLASS_WEIGHTS, SEA_ICE, RenderStyle, _speckle, draw_style
from training.data.write_archive import CLASS_FOLDER_TO_LABEL, main, write_archive

ONLY_OCEAN = (1.0,) + (0.0,) * 9


def db(image: np.ndarray) -> np.ndarray:
    return 10.0 * np.log10(np.maximum(image.astype(np.float64) ** 2, 1e-6))


def test_samples_follow_the_contract_and_are_deterministic() -> None:
    config = SyntheticArchiveConfig(num_samples=50, image_size=32, seed=7)
    archive = SyntheticWVArchive(config)
    again = pickle.loads(pickle.dumps(SyntheticWVArchive(config)))  # what a dataloader worker gets
    for index in (0, 13, 49):
        sample = archive[index]
        assert set(sample) == {"image", "index", "label", "wind_speed", "wave_height", "incidence_angle"}
        image = sample["image"]
        assert image.shape == (32, 32) and image.dtype == np.float32
        assert np.isfinite(image).all() and (image >= 0).all() and image.mean() > 1.0
        assert sample["index"] == index and 0 <= sample["label"] < 10
        np.testing.assert_array_equal(image, again[index]["image"])
        assert sample["label"] == again[index]["label"]
    assert not np.array_equal(archive[0]["image"], archive[1]["image"])
    other_seed = SyntheticWVArchive(SyntheticArchiveConfig(num_samples=50, image_size=32, seed=8))
    assert not np.array_equal(archive[0]["image"], other_seed[0]["image"])
    assert "seed=7" in archive.describe(3) and "[3]" in archive.describe(3)
    with pytest.raises(IndexError):
        archive[50]


def test_labels_match_samples_and_follow_the_class_weights() -> None:
    archive = SyntheticWVArchive(SyntheticArchiveConfig(num_samples=60, image_size=16))
    labels = archive.labels()
    assert labels.dtype == np.int64 and labels.shape == (60,)
    assert [archive[i]["label"] for i in range(60)] == labels.tolist()
    big = SyntheticWVArchive(SyntheticArchiveConfig(num_samples=50_000))
    counts = big.class_counts()
    assert counts.sum() == 50_000
    np.testing.assert_allclose(counts / 50_000, np.asarray(DEFAULT_CLASS_WEIGHTS), atol=0.01)
    assert counts.argmax() == TENGEOP_CLASSES.index("pure ocean waves")


def test_balanced_split_has_equal_classes_and_a_distinct_seed() -> None:
    config = SyntheticArchiveConfig(num_samples=100, image_size=32, seed=3)
    test = balanced_split(config, num_per_class=4)
    assert len(test) == 40 and test.config.seed != config.seed
    np.testing.assert_array_equal(test.class_counts(), [4] * 10)
    train = SyntheticWVArchive(config)
    assert not any(np.array_equal(test[i]["image"], train[i]["image"]) for i in range(10))
    with pytest.raises(ValueError, match="must differ from the training seed"):
        balanced_split(config, 4, seed=3)


def test_sea_ice_has_unknown_sea_state_and_incidence_is_wv1_or_wv2() -> None:
    archive = balanced_split(SyntheticArchiveConfig(image_size=16), num_per_class=3)
    for index in range(len(archive)):
        sample = archive[index]
        assert min(abs(sample["incidence_angle"] - 23.0), abs(sample["incidence_angle"] - 36.5)) < 1.5
        unknown = np.isnan(sample["wind_speed"]) and np.isnan(sample["wave_height"])
        assert unknown == (sample["label"] == SEA_ICE)
        if not unknown:
            assert 0.5 <= sample["wind_speed"] <= 25 and 0.5 <= sample["wave_height"] <= 8


def test_backscatter_level_carries_wind_and_texture_carries_wave_height() -> None:
    archive = SyntheticWVArchive(SyntheticArchiveConfig(num_samples=120, image_size=32, class_weights=ONLY_OCEAN))
    samples = [archive[i] for i in range(len(archive))]
    wv1 = [s for s in samples if s["incidence_angle"] < 30]
    wind = np.log([s["wind_speed"] for s in wv1])
    level = [np.log(np.mean(s["image"].astype(np.float64) ** 2)) for s in wv1]
    assert np.corrcoef(wind, level)[0, 1] > 0.9
    hs = [s["wave_height"] for s in wv1]
    contrast = [db(s["image"]).std() for s in wv1]
    assert np.corrcoef(hs, contrast)[0, 1] > 0.8
    # same wind: WV2 (36.5 deg) is darker than WV1 (23 deg)
    ratio = [np.mean(s["image"].astype(np.float64) ** 2) / s["wind_speed"] ** 1.177 for s in samples]
    wv2 = np.array([s["incidence_angle"] > 30 for s in samples])
    assert np.median(np.log10(ratio)[wv2]) < np.median(np.log10(ratio)[~wv2]) - 0.2


def _features(image: np.ndarray) -> np.ndarray:
    """Radially averaged power spectrum of the dB image + dB statistics."""
    image_db = db(image)
    n = image_db.shape[0]
    power = np.abs(np.fft.fft2(image_db - image_db.mean())) ** 2
    ky, kx = np.meshgrid(np.fft.fftfreq(n), np.fft.fftfreq(n), indexing="ij")
    radius = np.minimum((np.hypot(kx, ky) * 16).astype(int), 7)
    spectrum = np.bincount(radius.ravel(), power.ravel(), 8) / np.bincount(radius.ravel(), None, 8)
    return np.concatenate([np.log(spectrum), [image_db.mean(), image_db.std()], np.percentile(image_db, [1, 50, 99])])


def test_classes_are_separable_but_not_trivially() -> None:
    config = SyntheticArchiveConfig(image_size=32)
    data = {}
    for name, seed in (("train", 101), ("test", 102)):
        archive = balanced_split(config, 30, seed=seed)
        data[name] = (np.stack([_features(archive[i]["image"]) for i in range(len(archive))]), archive.labels())
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000)).fit(*data["train"])
    accuracy = model.score(*data["test"])
    assert 0.5 < accuracy < 1.0


@pytest.mark.parametrize("looks", [2.0, 6.0])
def test_speckle_has_unit_mean_and_variance_one_over_looks(looks: float) -> None:
    raw = _speckle(np.random.default_rng(0), 512, looks)
    assert raw.dtype == np.float32 and raw.shape == (512, 512) and (raw >= 0).all()
    speckle = raw.astype(np.float64)
    assert speckle.mean() == pytest.approx(1.0, abs=0.01)
    assert speckle.var() == pytest.approx(1.0 / looks, rel=0.03)


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="class_weights must be 10 non-negative"):
        SyntheticArchiveConfig(class_weights=(1.0, 2.0))
    with pytest.raises(ValueError, match="image_size must be >= 16"):
        SyntheticArchiveConfig(image_size=8)
    with pytest.raises(ValueError, match="num_samples must be >= 1"):
        SyntheticArchiveConfig(num_samples=0)
    with pytest.raises(ValueError, match="looks must be > 1"):
        SyntheticArchiveConfig(looks=1.0)
    assert SyntheticArchiveConfig(class_weights=[1] * 10).class_weights == (1.0,) * 10  # YAML gives lists


@pytest.mark.parametrize("fmt", ["geotiff", "npy", "parquet", "arrow"])
def test_written_archive_reads_back_identically(tmp_path: Path, fmt: str) -> None:
    config = SyntheticArchiveConfig(num_samples=12, image_size=16, seed=5)
    out = write_archive(tmp_path / "archive", fmt, config, progress=False)
    assert [p.name for p in tmp_path.iterdir()] == ["archive"]  # the staging folder was renamed
    archive = SyntheticWVArchive(config)
    if fmt in ("parquet", "arrow"):
        ds = HFDatasetReader(out, cache_dir=str(tmp_path / "cache"))
        index_of = [ds[j]["index"] for j in range(len(ds))]
    else:
        reader = GeoTiffFolder if fmt == "geotiff" else NpyFolder
        ds = reader(out, class_to_label=CLASS_FOLDER_TO_LABEL)
        index_of = [int(Path(ds.describe(j)).stem) for j in range(len(ds))]
    assert sorted(index_of) == list(range(12))
    for j, i in enumerate(index_of):
        read, original = ds[j], archive[i]
        np.testing.assert_array_equal(read["image"], original["image"])
        assert read["label"] == original["label"]
        if fmt in ("parquet", "arrow"):
            for key in ("wind_speed", "wave_height", "incidence_angle"):
                np.testing.assert_equal(read[key], original[key])
    if fmt == "geotiff":  # labels.csv feeds RegressionTable; sea-ice rows (NaN Hs) are skipped and counted
        n_ice = int((archive.labels() == SEA_ICE).sum())
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            table = RegressionTable(out / "labels.csv", target="wave_height")
        assert table.n_skipped == n_ice and len(table) == 12 - n_ice
        assert len(record) == (1 if n_ice else 0)
        for j in range(len(table)):
            i = int(Path(table.describe(j)).stem)
            assert table[j]["wave_height"] == pytest.approx(archive[i]["wave_height"], rel=1e-12)
            assert table[j]["label"] == archive[i]["label"]


def test_write_archive_cli_and_refusals(tmp_path: Path) -> None:
    out = tmp_path / "a"
    argv = ["--out", str(out), "--format", "npy", "--synthetic_num_samples", "20", "--synthetic_image_size", "16"]
    assert main([*argv, "--synthetic_seed", "2", "--num-samples", "20", "--balanced", "--quiet"]) == 0  # old names too
    ds = NpyFolder(out, class_to_label=CLASS_FOLDER_TO_LABEL)
    np.testing.assert_array_equal(np.bincount(ds.labels()), [2] * 10)
    with pytest.raises(ValueError, match="already exists and is not an empty folder"):
        write_archive(out, "npy", SyntheticArchiveConfig(num_samples=2, image_size=16))
    with pytest.raises(ValueError, match="unknown format 'tiff'; valid formats: geotiff, npy, parquet, arrow"):
        write_archive(tmp_path / "b", "tiff", SyntheticArchiveConfig(num_samples=2, image_size=16))


def _block_db(image: np.ndarray, block: int) -> np.ndarray:
    """dB image averaged over block x block pixels (speckle averages out, the scene stays)."""
    n = image.shape[0] // block
    return db(image).reshape(n, block, n, block).mean(axis=(1, 3))


def _aligned_correlation(a: np.ndarray, b: np.ndarray, max_shift: int = 2) -> float:
    """Largest correlation of b with a circularly shifted by up to max_shift blocks (duplicates are shifted)."""
    shifts = range(-max_shift, max_shift + 1)
    return max(np.corrcoef(np.roll(a, (i, j), (0, 1)).ravel(), b.ravel())[0, 1] for i in shifts for j in shifts)


def test_redundancy_gives_the_stated_share_of_near_duplicates() -> None:
    config = SyntheticArchiveConfig(num_samples=20_000, image_size=64, redundancy=0.6, redundancy_bases=4, seed=5)
    archive = SyntheticWVArchive(config)
    base = archive.duplicate_of()
    assert abs((base >= 0).mean() - 0.6) < 3 * (0.6 * 0.4 / 20_000) ** 0.5
    assert set(base[base >= 0].tolist()) == {0, 1, 2, 3}
    labels = archive.labels()
    assert (labels[base >= 0] == TENGEOP_CLASSES.index("pure ocean waves")).all()
    independent = np.bincount(labels[base < 0], minlength=10) / (base < 0).sum()
    np.testing.assert_allclose(independent, DEFAULT_CLASS_WEIGHTS, atol=0.015)  # the rest follow the weights
    same = np.flatnonzero(base == 0)[:3]
    others = [*np.flatnonzero(base == 1)[:2], *np.flatnonzero(base < 0)[:3]]
    first, second = archive[same[0]], archive[same[1]]
    assert first["wind_speed"] == second["wind_speed"] and first["wave_height"] == second["wave_height"]
    assert not np.array_equal(first["image"], second["image"])  # new speckle, shift and gain
    ref = _block_db(first["image"], 4)
    near = [_aligned_correlation(ref, _block_db(archive[i]["image"], 4)) for i in same[1:]]
    far = [_aligned_correlation(ref, _block_db(archive[i]["image"], 4)) for i in others]
    assert min(near) > 0.6 and max(far) < 0.5, (near, far)
    assert (SyntheticWVArchive(replace(config, redundancy=0.0)).duplicate_of() == -1).all()
    assert (balanced_split(config, 2).duplicate_of() == -1).all()
    with pytest.raises(ValueError, match="redundancy in"):
        SyntheticArchiveConfig(redundancy=1.0)


def test_variety_draws_the_rendering_per_scene_and_keeps_labels() -> None:
    ocean = (1.0,) + (0.0,) * 9
    plain = SyntheticArchiveConfig(num_samples=60, image_size=32, seed=2, class_weights=ocean)
    varied = replace(plain, variety=1.0)
    assert draw_style(np.random.default_rng(0), 3, plain) == RenderStyle(looks=6.0, noise_floor_db=-27.0)
    styles = [draw_style(np.random.default_rng(i), 3, varied) for i in range(300)]
    assert min(s.looks for s in styles) < 4.0 and max(s.looks for s in styles) > 9.0
    assert 0.15 < np.mean([s.secondary is not None for s in styles]) < 0.35
    assert all(s.secondary != 3 for s in styles)  # never the scene's own class
    spread = {}
    for name, config in (("plain", plain), ("varied", varied)):
        archive = SyntheticWVArchive(config)
        images = [archive[i]["image"] for i in range(len(archive))]
        assert all(np.isfinite(im).all() and (im >= 0).all() for im in images)
        roughness = [np.std(db(im) - np.roll(db(im), 1, 0)) for im in images]  # speckle + fine texture, dB
        spread[name] = np.std(roughness)
    assert spread["varied"] > 2 * spread["plain"]  # the speckle's look differs from scene to scene
    again = SyntheticWVArchive(varied)
    np.testing.assert_array_equal(again[7]["image"], SyntheticWVArchive(varied)[7]["image"])
    np.testing.assert_array_equal(again.labels(), SyntheticWVArchive(plain).labels())

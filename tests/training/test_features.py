"""Batched feature extraction, skip-and-count of corrupt samples, the feature cache and k-NN evaluation
(training/features.py, training/probes/knn.py)."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from oceansar_hf import OceanSARConfig, OceanSARImageProcessor, OceanSARModel
from training.data import CorruptSampleError, ImageFolder, SyntheticArchiveConfig, SyntheticWVArchive
from training.features import (
    FeatureSet,
    cache_features,
    cache_key,
    extract_features,
    extract_or_load,
    folder_fingerprint,
    load_cached_features,
)
from training.probes import knn_accuracy, knn_evaluate

SIZE = 32


def tiny_model(seed: int = 0) -> OceanSARModel:
    torch.manual_seed(seed)
    return OceanSARModel(OceanSARConfig(backbone="resnet_tiny", image_size=SIZE)).eval()


def archive(num_samples: int = 24, seed: int = 0) -> SyntheticWVArchive:
    return SyntheticWVArchive(SyntheticArchiveConfig(num_samples=num_samples, image_size=SIZE, seed=seed))


PROCESSOR = OceanSARImageProcessor(size=SIZE)


class Flaky:
    """A dataset whose listed indices are corrupt (raise) or have no valid pixel (all NaN); no regression targets."""

    def __init__(self, base: SyntheticWVArchive, corrupt: set[int], all_nan: set[int]) -> None:
        self.base, self.corrupt, self.all_nan = base, corrupt, all_nan

    def __len__(self) -> int:
        return len(self.base)

    def describe(self, index: int) -> str:
        return f"flaky[{index}]"

    def __getitem__(self, index: int) -> dict:
        if index in self.corrupt:
            raise CorruptSampleError(self.describe(index), "truncated file")
        image = self.base[index]["image"]
        if index in self.all_nan:
            image = np.full_like(image, np.nan)
        return {"image": image, "index": index, "label": -1}


def test_features_match_a_direct_forward_and_restore_train_mode():
    model, ds = tiny_model(), archive()
    model.train()
    result = extract_features(model, ds, processor=PROCESSOR, batch_size=5, progress=False)
    assert model.training, "the model's mode must be restored"
    pixels = torch.stack([PROCESSOR.to_pixel_values(ds[i]["image"]) for i in range(len(ds))])
    with torch.no_grad():
        expected = model.eval()(pixels).pooler_output
    assert result.features.dtype == torch.float32 and result.features.device.type == "cpu"
    torch.testing.assert_close(result.features, expected, atol=1e-5, rtol=1e-4)
    assert result.indices.tolist() == list(range(len(ds)))
    assert result.n_skipped == 0
    assert np.array_equal(result.labels["label"], ds.labels())
    wave = np.array([ds[i]["wave_height"] for i in range(len(ds))])
    np.testing.assert_allclose(result.labels["wave_height"], wave, rtol=1e-6)  # NaN (sea ice) where NaN


def test_indices_are_deduplicated_sorted_and_checked():
    model, ds = tiny_model(), archive()
    result = extract_features(model, ds, indices=[7, 3, 7, 11], processor=PROCESSOR, progress=False)
    assert result.indices.tolist() == [3, 7, 11]
    whole = extract_features(model, ds, processor=PROCESSOR, batch_size=64, progress=False)
    torch.testing.assert_close(result.features, whole.features[[3, 7, 11]], atol=1e-5, rtol=1e-4)
    with pytest.raises(IndexError, match=r"\[0, 24\)"):
        extract_features(model, ds, indices=[24], processor=PROCESSOR, progress=False)


def test_corrupt_and_empty_samples_are_skipped_and_counted():
    ds = Flaky(archive(), corrupt={2, 9}, all_nan={5})
    with pytest.warns(UserWarning, match="flaky"):
        result = extract_features(tiny_model(), ds, processor=PROCESSOR, batch_size=4, progress=False)
    assert result.n_skipped == 3
    assert sorted(result.skipped) == ["flaky[2]", "flaky[5]", "flaky[9]"]
    assert 2 not in result.indices.tolist() and len(result) == len(ds) - 3
    assert result.labels == {}, "labels nobody knows (-1, no targets) are not reported"
    with pytest.raises(KeyError, match="available labels"):
        result.target("wave_height")
    # Worker processes read the samples: the skipped names still travel with their batches.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        workers = extract_features(tiny_model(), ds, processor=PROCESSOR, batch_size=4, num_workers=2, progress=False)
    assert sorted(workers.skipped) == sorted(result.skipped) and workers.n_skipped == 3
    torch.testing.assert_close(workers.features, result.features)


def test_real_quicklooks_with_a_corrupt_png(tmp_path, quicklook_paths):
    for path in quicklook_paths[:3]:
        shutil.copy(path, tmp_path / path.name)
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    ds = ImageFolder(tmp_path)
    processor = OceanSARImageProcessor(size=SIZE, normalization="per_image")
    with pytest.warns(UserWarning, match="broken.png"):
        result = extract_features(tiny_model(), ds, processor=processor, progress=False)
    assert len(result) == 3 and result.n_skipped == 1
    assert result.skipped[0].endswith("broken.png")
    assert torch.isfinite(result.features).all() and result.features.shape == (3, 256)


def test_cache_round_trip_and_stale_keys(tmp_path):
    model, ds = tiny_model(), archive()
    key = cache_key("model-a", "synthetic seed 0", np.arange(len(ds)), PROCESSOR)
    first = extract_or_load(model, ds, tmp_path / "cache" / "train", key, processor=PROCESSOR, progress=False)
    loaded = load_cached_features(tmp_path / "cache" / "train", key)
    assert loaded is not None
    assert torch.equal(loaded.features, first.features) and torch.equal(loaded.indices, first.indices)
    assert loaded.labels.keys() == first.labels.keys()
    np.testing.assert_array_equal(loaded.labels["wind_speed"], first.labels["wind_speed"])
    # A hit does not run the model: a different model with the same key gives the cached rows.
    again = extract_or_load(tiny_model(seed=1), ds, tmp_path / "cache" / "train", key, processor=PROCESSOR)
    assert torch.equal(again.features, first.features)
    # Any change of model, data, indices or transform makes the cache stale.
    for stale in (
        cache_key("model-b", "synthetic seed 0", np.arange(len(ds)), PROCESSOR),
        cache_key("model-a", "synthetic seed 1", np.arange(len(ds)), PROCESSOR),
        cache_key("model-a", "synthetic seed 0", np.arange(len(ds) - 1), PROCESSOR),
        cache_key("model-a", "synthetic seed 0", np.arange(len(ds)), OceanSARImageProcessor(size=SIZE + 8)),
    ):
        assert load_cached_features(tmp_path / "cache" / "train", stale) is None
    assert load_cached_features(tmp_path / "missing", key) is None


def test_cache_keeps_skip_counts(tmp_path):
    features = FeatureSet(torch.ones(2, 3), torch.tensor([0, 4]), {"label": np.array([1, -1])}, 1, ["bad.tif"])
    path = cache_features(features, tmp_path / "f")
    assert path.suffix == ".safetensors" and path.with_suffix(".json").is_file()
    loaded = load_cached_features(path)
    assert loaded.n_skipped == 1 and loaded.skipped == ["bad.tif"]
    assert loaded.labels["label"].tolist() == [1, -1]


def test_folder_fingerprint_follows_the_weights(tmp_path):
    tiny_model(seed=0).save_pretrained(tmp_path / "a")
    tiny_model(seed=0).save_pretrained(tmp_path / "b")
    tiny_model(seed=1).save_pretrained(tmp_path / "c")
    assert folder_fingerprint(tmp_path / "a") == folder_fingerprint(tmp_path / "b")
    assert folder_fingerprint(tmp_path / "a") != folder_fingerprint(tmp_path / "c")
    with pytest.raises(ValueError, match="not a model folder"):
        folder_fingerprint(tmp_path / "nope")


def test_knn_evaluate_equals_knn_on_extracted_features():
    from accelerate import Accelerator

    model, bank, test = tiny_model(), archive(40, seed=0), archive(20, seed=7)
    metrics = knn_evaluate(model, bank, test, PROCESSOR, accelerator=Accelerator(cpu=True), k=5, temperature=0.1)
    bank_features = extract_features(model, bank, processor=PROCESSOR, progress=False)
    test_features = extract_features(model, test, processor=PROCESSOR, progress=False)
    expected = knn_accuracy(
        bank_features.features,
        bank_features.labels["label"],
        test_features.features,
        test_features.labels["label"],
        k=5,
        temperature=0.1,
    )
    assert metrics["knn_accuracy"] == pytest.approx(expected)
    assert metrics["knn_num_train"] == 40 and metrics["knn_num_test"] == 20 and metrics["knn_skipped"] == 0


class _RankAccelerator:
    """The parts of `accelerate.Accelerator` extract_features uses, for a process of a gloo group."""

    def __init__(self, rank: int, world: int) -> None:
        self.process_index, self.num_processes = rank, world
        self.is_main_process = rank == 0
        self.device = torch.device("cpu")

    def unwrap_model(self, model: torch.nn.Module) -> torch.nn.Module:
        return model

    def autocast(self):
        return torch.autocast("cpu", enabled=False)


def _worker(rank: int, init_file: str, out_dir: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=2)
    try:
        ds = Flaky(archive(), corrupt={4}, all_nan=set())
        result = extract_features(
            tiny_model(),
            ds,
            indices=np.arange(1, 20),
            processor=PROCESSOR,
            batch_size=3,
            accelerator=_RankAccelerator(rank, 2),
            progress=False,
        )
        torch.save(
            {
                "features": result.features,
                "indices": result.indices,
                "skipped": result.skipped,
                "n_skipped": result.n_skipped,
            },
            Path(out_dir) / f"rank{rank}.pt",
        )
    finally:
        dist.destroy_process_group()


def test_two_processes_get_identical_sorted_features(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mp.start_processes(_worker, args=(str(tmp_path / "init"), str(tmp_path)), nprocs=2, start_method="fork")
        single = extract_features(
            tiny_model(), Flaky(archive(), {4}, set()), indices=np.arange(1, 20), processor=PROCESSOR, progress=False
        )
    ranks = [torch.load(tmp_path / f"rank{r}.pt") for r in range(2)]
    for result in ranks:
        assert result["indices"].tolist() == [i for i in range(1, 20) if i != 4]
        assert result["n_skipped"] == 1 and result["skipped"] == ["flaky[4]"]
        torch.testing.assert_close(result["features"], single.features, atol=1e-5, rtol=1e-4)
    assert torch.equal(ranks[0]["features"], ranks[1]["features"])

"""`python -m training.probe` end to end on tiny synthetic archives and real files on disk (training/probe.py)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile
import torch
from transformers import AutoModelForImageClassification, ResNetConfig, ResNetModel

from conversion.model_card import load_results
from oceansar_hf import OceanSARConfig, OceanSARForImageClassification, OceanSARImageProcessor, OceanSARModel
from training.data import SyntheticArchiveConfig, SyntheticWVArchive, balanced_split
from training.probe import main
from training.probes.data import build_probe_data
from training.probes.models import load_backbone

REPO_ROOT = Path(__file__).resolve().parents[2]
SIZE = 32
SMALL = ["--num-train", "100", "200", "--num-val", "50", "--num-test", "50", "--batch-size", "50"]
REGRESSION_KEYS = {"rmse", "mae", "bias"}
METRIC_KEYS = {"tengeop": {"accuracy", "knn_accuracy"}, "wave": REGRESSION_KEYS, "wind": REGRESSION_KEYS}
UNITS = {"tengeop": None, "wave": "m", "wind": "m/s"}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    """A tiny random OceanSAR backbone folder (resnet_tiny, 32 px) with its image processor."""
    folder = tmp_path_factory.mktemp("tiny-model")
    torch.manual_seed(0)
    OceanSARModel(OceanSARConfig(backbone="resnet_tiny", image_size=SIZE)).save_pretrained(folder)
    OceanSARImageProcessor(size=SIZE).save_pretrained(folder)
    return folder


def read_results(output: Path, task: str) -> dict:
    """The results.json `run_probe` wrote, read back by the model cards' loader (writer and reader joined)."""
    loaded = load_results(output / "results.json")
    assert loaded.task == task and set(loaded.metrics) == METRIC_KEYS[task]
    return json.loads((output / "results.json").read_text())


@pytest.mark.parametrize("task", ["tengeop", "wave", "wind"])
def test_each_task_end_to_end_on_the_synthetic_archive(tmp_path, model_dir, task):
    output = tmp_path / "out"
    assert main(["--model", str(model_dir), "--task", task, "--output", str(output), *SMALL]) == 0
    results = read_results(output, task)
    details = results["details"]
    assert results["model"] == str(model_dir)
    assert results["dataset"] == {
        "name": "synthetic-wv",
        "split": "test",
        "num_samples": details["num_samples"]["test"],
        "synthetic": True,
    }
    assert [row["num_train"] for row in details["by_num_train"]] == [100, details["num_train_used"]]
    assert details["export_max_abs_diff"] < 1e-4
    assert (output / details["figure"]).stat().st_size > 1000
    head = AutoModelForImageClassification.from_pretrained(output / "model")
    assert type(head) is OceanSARForImageClassification and head.config.finetuning_task == task
    if task == "tengeop":
        assert details["figure"] == "confusion_matrix.png"
        assert results["dataset"]["num_samples"] == 50  # class-balanced: 5 per class
        assert details["support"] == [5] * 10
        assert 0.0 <= results["metrics"]["accuracy"] <= 1.0 and len(details["confusion_matrix"]) == 10
    else:
        assert details["figure"] == "scatter.png"
        # sea-ice vignettes carry no sea state: dropped and counted, never fed to the probe
        assert sum(details["dropped_without_target"].values()) > 0
        assert results["dataset"]["num_samples"] + details["dropped_without_target"]["test"] == 50
        assert results["metrics"]["rmse"] >= results["metrics"]["mae"] > 0


def test_exported_probe_folder_is_a_loadable_backbone(tmp_path, model_dir):
    output = tmp_path / "out"
    main(["--model", str(model_dir), "--task", "wave", "--output", str(output), "--no-cache", *SMALL])
    reloaded, processor, _ = load_backbone(str(output / "model"), SIZE)
    original, _, _ = load_backbone(str(model_dir), SIZE)
    x = torch.randn(2, 1, SIZE, SIZE)
    with torch.no_grad():
        torch.testing.assert_close(reloaded(x).pooler_output, original(x).pooler_output)
    assert processor.size == {"height": SIZE, "width": SIZE}
    assert not (output / "feature_cache").exists()


def test_released_resnet_format_is_converted(tmp_path):
    config = ResNetConfig(num_channels=1, embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1], layer_type="basic")
    torch.manual_seed(0)
    released = ResNetModel(config).eval()
    released.save_pretrained(tmp_path)
    backbone, processor, fingerprint = load_backbone(str(tmp_path), 256)
    assert isinstance(backbone, OceanSARModel) and len(fingerprint) == 64
    assert processor.size == {"height": 256, "width": 256}  # no preprocessor_config.json: the input_size given
    x = torch.randn(2, 1, 40, 40)
    with torch.no_grad():
        torch.testing.assert_close(backbone(x).pooler_output, released(x).pooler_output.flatten(1))


def test_subprocess_run_with_random_weights_and_cache_reuse(tmp_path):
    output = tmp_path / "out"
    args = ["--model", "random:resnet_tiny", "--input_size", str(SIZE), "--task", "wind", "--output", str(output)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO_ROOT)}
    command = [sys.executable, "-m", "training.probe", *args, *SMALL]
    done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1])["task"] == "wind"
    first = read_results(output, "wind")
    cached = {p.name: p.stat().st_mtime_ns for p in (output / "feature_cache").iterdir()}
    assert set(cached) == {f"{s}.{e}" for s in ("train", "val", "test") for e in ("safetensors", "json")}
    main([*args, *SMALL])  # same model spec, data and transform: the features come from the cache
    assert {p.name: p.stat().st_mtime_ns for p in (output / "feature_cache").iterdir()} == cached
    assert read_results(output, "wind")["metrics"] == pytest.approx(first["metrics"])


# ----------------------------------------------------------------------------------------------- real files


def write_tengeop_folder(root: Path, per_class: int = 6) -> None:
    """TenGeoP layout (class letters F..O) of GeoTIFF vignettes rendered from the balanced synthetic archive."""
    ds = balanced_split(SyntheticArchiveConfig(image_size=SIZE), num_per_class=per_class)
    for i in range(len(ds)):
        sample = ds[i]
        folder = root / "FGHIJKLMNO"[sample["label"]]
        folder.mkdir(parents=True, exist_ok=True)
        tifffile.imwrite(folder / f"vignette_{i:03d}.tiff", sample["image"].astype(np.uint16))


def test_tengeop_folder_end_to_end(tmp_path, model_dir):
    write_tengeop_folder(tmp_path / "tengeop")
    output = tmp_path / "out"
    split = ["--split-fractions", "0.5", "0.25", "0.25"]
    main(
        [
            "--model",
            str(model_dir),
            "--task",
            "tengeop",
            "--data",
            f"tengeop:{tmp_path / 'tengeop'}",
            "--output",
            str(output),
            *split,
        ]
    )
    results = read_results(output, "tengeop")
    assert results["dataset"]["synthetic"] is False and results["dataset"]["name"] == "TenGeoP-SARwv (tengeop)"
    assert results["details"]["num_samples"] == {"train": 30, "val": 20, "test": 10}
    assert results["details"]["support"] == [1] * 10


def test_unknown_tengeop_class_folder_is_named(tmp_path, model_dir):
    write_tengeop_folder(tmp_path / "tengeop", per_class=2)
    (tmp_path / "tengeop" / "X").mkdir()
    with pytest.raises(ValueError, match="unknown TenGeoP class folder 'X'"):
        main(
            [
                "--model",
                str(model_dir),
                "--task",
                "tengeop",
                "--data",
                f"tengeop:{tmp_path / 'tengeop'}",
                "--output",
                str(tmp_path / "out"),
            ]
        )


def test_regression_table_with_missing_file_nan_target_and_corrupt_image(tmp_path, model_dir):
    only_waves = (1.0,) + (0.0,) * 9  # no sea ice, so every vignette has a wave height
    ds = SyntheticWVArchive(SyntheticArchiveConfig(num_samples=70, image_size=SIZE, seed=3, class_weights=only_waves))
    rows = []
    for i in range(len(ds)):
        sample = ds[i]
        np.save(tmp_path / f"v{i:03d}.npy", sample["image"])
        rows.append({"path": f"v{i:03d}.npy", "wave_height": sample["wave_height"]})
    rows.append({"path": "missing.npy", "wave_height": 2.0})
    rows.append({"path": "v000.npy", "wave_height": "nan"})
    (tmp_path / "corrupt.npy").write_bytes(b"garbage, not an npy file")
    rows.append({"path": "corrupt.npy", "wave_height": 1.0})
    with (tmp_path / "table.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["path", "wave_height"])
        writer.writeheader()
        writer.writerows(rows)
    output = tmp_path / "out"
    with pytest.warns(UserWarning):
        main(
            [
                "--model",
                str(model_dir),
                "--task",
                "wave",
                "--data",
                f"table:{tmp_path / 'table.csv'}",
                "--output",
                str(output),
                "--split-fractions",
                "0.6",
                "0.2",
                "0.2",
            ]
        )
    details = read_results(output, "wave")["details"]
    skipped_rows = " ".join(details["skipped_records"])
    assert len(details["skipped_records"]) == 2
    assert "missing.npy" in skipped_rows and "row 71 (v000.npy)" in skipped_rows  # NaN read as a missing value
    assert sum(details["skipped_corrupt"].values()) == 1
    assert details["skipped_corrupt_names"][0].endswith("corrupt.npy")
    assert sum(details["num_samples"].values()) == 70


def test_bad_specs_give_clear_errors(tmp_path, model_dir):
    sizes = {"train": 10, "val": 10, "test": 10}
    with pytest.raises(ValueError, match="unknown data spec 'foo'"):
        build_probe_data("foo", "wave", SIZE, sizes)
    with pytest.raises(ValueError, match="class labels only"):
        build_probe_data(f"tengeop:{tmp_path}", "wave", SIZE, sizes)
    with pytest.raises(ValueError, match="no TenGeoP classes"):
        build_probe_data(f"table:{tmp_path}/t.csv", "tengeop", SIZE, sizes)
    with pytest.raises(ValueError, match="unknown task 'waves'"):
        main(["--model", str(model_dir), "--task", "waves"])
    with pytest.raises(FileNotFoundError, match="no config.json"):
        main(["--model", str(tmp_path), "--task", "wave", "--output", str(tmp_path / "out")])

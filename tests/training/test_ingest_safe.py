"""`python -m training.data.ingest_safe`: a mixed folder of SAFE products → parquet shards (good products all there,
bad ones named and counted), resumable, read back by `--dataset hf` and by a pretraining run."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from tests.conftest import REPO_ROOT
from tests.training.s1_products import IW_SLC, Imagette, make_wv_product, zip_product
from tests.training.test_trainer import run, tiny_config
from training.data import HFDatasetReader
from training.data.ingest_safe import main
from training.data.sentinel1 import SafeArchive


@pytest.fixture(scope="module")
def mixed(tmp_path_factory) -> Path:
    """Two good WV products (a folder, a zip), one with a truncated TIFF, one without calibration XML, and the IW
    SLC fixture whose TIFF tifffile cannot decode."""
    root = tmp_path_factory.mktemp("mixed")
    build = tmp_path_factory.mktemp("build")
    folder = root / "archive"
    folder.mkdir()
    wv = [Imagette("WV1"), Imagette("WV2", incidence=36.5)]
    good = make_wv_product(build / "a", wv, product_id="AAAA", seed=1)
    shutil.move(good, folder / good.name)
    zipped = make_wv_product(build / "b", wv, product_id="BBBB", seed=2)
    zip_product(zipped, folder)
    truncated = make_wv_product(build / "c", [Imagette("WV1")], product_id="CCCC", seed=3)
    (tiff,) = (truncated / "measurement").glob("*.tiff")
    tiff.write_bytes(tiff.read_bytes()[:4000])
    shutil.move(truncated, folder / truncated.name)
    uncalibrated = make_wv_product(build / "d", [Imagette("WV1")], product_id="DDDD", calibration=False)
    shutil.move(uncalibrated, folder / uncalibrated.name)
    shutil.copy(IW_SLC, folder / IW_SLC.name)
    return folder


def ingest(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "training.data.ingest_safe", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_mixed_folder_ingests_good_products_names_and_counts_bad_ones_and_resumes(mixed, tmp_path, capsys):
    out = tmp_path / "shards"
    done = ingest([str(mixed), "--out", str(out), "--workers", "2", "--quiet"])
    assert done.returncode == 0, done.stderr
    assert "5 products: 2 written (4 vignettes" in done.stdout
    assert "0 already ingested (skipped), 3 failed" in done.stdout
    assert "CCCC.SAFE/measurement/s1b-wv1" in done.stdout and "truncated TIFF" in done.stdout
    assert "DDDD.SAFE/measurement/s1b-wv1" in done.stdout and "calibration XML" in done.stdout
    assert "s1a-iw1-slc-vv" in done.stdout and "PREDICTOR" in done.stdout.upper()
    shards = sorted(p.name for p in (out / "shards").iterdir())
    assert shards == [
        "S1B_WV_SLC__1SSV_20210403T083025_20210403T084452_026300_032390_AAAA.parquet",
        "S1B_WV_SLC__1SSV_20210403T083025_20210403T084452_026300_032390_BBBB.parquet",
    ]
    report = json.loads((out / "ingest_report.json").read_text())
    assert [p["status"] for p in report["products"]].count("failed") == 3

    dataset = HFDatasetReader(out)
    assert len(dataset) == 4
    sample = dataset[0]
    assert sample["image"].dtype == np.float32 and sample["image"].shape == (40, 30)
    assert sample["incidence_angle"] == pytest.approx(23.0)
    assert 10 * np.log10(sample["image"].mean()) == pytest.approx(-10.0, abs=0.3)  # σ0 = 0.1, 1200 looks
    rows = dataset._rows.row(1, ["product", "swath", "imagette", "pixel_spacing_m", "time", "latitude", "polarisation"])
    assert rows["swath"] == "wv2" and rows["imagette"] == 2 and rows["pixel_spacing_m"] == 50.0
    assert rows["product"].endswith("AAAA") and rows["polarisation"] == "VV" and rows["time"].startswith("2021-04-03")

    # The same vignettes as `--dataset safe` reads lazily from the products.
    lazy = SafeArchive(mixed)
    first = next(i for i in range(len(lazy)) if "AAAA.SAFE" in lazy.describe(i))
    np.testing.assert_array_equal(lazy[first]["image"], sample["image"])

    assert main([str(mixed), "--out", str(out), "--workers", "1", "--quiet"]) == 0  # resumed in this process
    assert "2 already ingested (skipped), 3 failed" in capsys.readouterr().out


@pytest.mark.parametrize("dataset", ["hf", "safe"])
def test_pretraining_reads_the_ingested_shards_or_the_products(mixed, tmp_path, dataset):
    if dataset == "hf":
        data_path = tmp_path / "shards"
        assert main([str(mixed), "--out", str(data_path), "--workers", "1", "--quiet"]) == 0
    else:  # read lazily from the SAFE product, with the same code
        data_path = mixed / "S1B_WV_SLC__1SSV_20210403T083025_20210403T084452_026300_032390_AAAA.SAFE"
    run_dir = tmp_path / "run"
    argv = tiny_config(
        tmp_path,
        dataset=dataset,
        data_path=str(data_path),
        epochs=1,
        steps_per_epoch=2,
        batch_size=2,
        output_dir=str(run_dir),
        fit_normalization_samples=2,
    )
    run(argv)
    assert (run_dir / "final_model" / "model.safetensors").is_file()
    processor = json.loads((run_dir / "final_model" / "preprocessor_config.json").read_text())
    assert processor["input_kind"] == "sigma0" and -15 < processor["image_mean"][0] < -5  # σ0 0.1 → -10 dB


def test_a_folder_without_products_is_an_error(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no product here")
    with pytest.raises(ValueError, match=r"no files matching \['\*\*/manifest.safe', '\*\*/\*.zip'\]"):
        main([str(empty), "--out", str(tmp_path / "out")])


def test_kill_9_mid_ingest_leaves_whole_shards_and_the_rerun_completes(tmp_path):
    products = tmp_path / "products"
    for number in range(4):
        build = tmp_path / f"build{number}"
        product = make_wv_product(build, [Imagette("WV1")], product_id=f"K{number:03d}")
        products.mkdir(exist_ok=True)
        shutil.move(product, products / product.name)
    out = tmp_path / "out"
    job = subprocess.Popen(
        [sys.executable, "-m", "training.data.ingest_safe", str(products), "--out", str(out), "--workers", "1"],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list((out / "shards").glob("*.parquet")) and job.poll() is None:
        time.sleep(0.02)
    job.send_signal(signal.SIGKILL)
    job.wait()
    written = sorted((out / "shards").glob("*.parquet"))
    for shard in written:  # every shard present is whole: its footer reads and its rows decode
        assert len(pq.read_table(shard)) == 1
    # whether or not the kill came mid-write, a killed writer's temporary file is removed by the rerun
    (out / "shards" / f".unfinished.parquet.tmp-{job.pid}").write_bytes(b"PAR1 half a shard")
    assert main([str(products), "--out", str(out), "--workers", "1", "--quiet"]) == 0
    assert len(list((out / "shards").glob("*.parquet"))) == 4
    assert not [p for p in (out / "shards").iterdir() if not p.name.endswith(".parquet")]  # no temporary left over
    report = json.loads((out / "ingest_report.json").read_text())
    assert [p["status"] for p in report["products"]].count("existing") == len(written)
    assert len(HFDatasetReader(out)) == 4

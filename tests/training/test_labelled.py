"""Labelled downstream sets: the TenGeoP-SARwv folder layout and regression tables, with real files on disk."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import tifffile
from PIL import Image
from pyarrow import parquet

from oceansar_hf.tasks import TENGEOP_LETTERS
from tests.training.test_data_readers import centre_crop, real_quicklooks
from training.data import RegressionTable, TenGeoPFolder

PER_CLASS = 20


def write_tengeop_folder(root: Path) -> Path:
    """Ten class folders F..O of 16x16 uint16 GeoTIFFs whose pixel value encodes (class, file); F gets a real one.

    Values start at 1: an all-zero image is no-data, which the processor refuses (a counted skip).
    """
    for label, letter in enumerate(TENGEOP_LETTERS):
        (root / letter).mkdir(parents=True)
        for k in range(PER_CLASS):
            tifffile.imwrite(root / letter / f"{letter}{k:03d}.tif", np.full((16, 16), 100 * label + k + 1, np.uint16))
    real = centre_crop(np.asarray(Image.open(real_quicklooks()[0])), 48).astype(np.uint16) * 257
    tifffile.imwrite(root / "F" / "F_real_quicklook.tif", real)
    return root


@pytest.fixture
def tengeop_root(tmp_path: Path) -> Path:
    return write_tengeop_folder(tmp_path / "TenGeoP-SARwv")


def test_splits_are_disjoint_per_class_and_reproducible(tengeop_root: Path) -> None:
    splits = {name: TenGeoPFolder(tengeop_root, split=name) for name in ("train", "val", "test")}
    files = {name: set(ds.files) for name, ds in splits.items()}
    assert not files["train"] & files["val"] and not files["train"] & files["test"] and not files["val"] & files["test"]
    assert len(files["train"] | files["val"] | files["test"]) == 10 * PER_CLASS + 1
    # per class: 20 files -> 16 / 1 / 3 (F has 21 -> 17 / 1 / 3)
    train_counts = np.bincount(splits["train"].labels(), minlength=10)
    np.testing.assert_array_equal(train_counts, [17] + [16] * 9)
    np.testing.assert_array_equal(np.bincount(splits["val"].labels(), minlength=10), [1] * 10)
    np.testing.assert_array_equal(np.bincount(splits["test"].labels(), minlength=10), [3] * 10)
    assert set(TenGeoPFolder(tengeop_root, split="test").files) == files["test"]
    assert set(TenGeoPFolder(tengeop_root, split="test", seed=7).files) != files["test"]
    for i in range(len(splits["train"])):
        path = Path(splits["train"].describe(i))
        if "real" in path.name:
            continue
        sample = splits["train"][i]
        label = TENGEOP_LETTERS.index(path.parent.name)
        assert sample["label"] == label
        assert sample["image"][0, 0] == 100 * label + int(path.stem[1:]) + 1


def test_real_quicklook_reads_through_tengeop_folder(tengeop_root: Path) -> None:
    all_files = TenGeoPFolder(tengeop_root, split="train", fractions=(1.0, 0.0, 0.0))
    assert len(all_files) == 10 * PER_CLASS + 1
    index = [Path(f).name for f in all_files.files].index("F_real_quicklook.tif")
    sample = all_files[index]
    assert sample["label"] == 0 and sample["image"].shape == (48, 48) and sample["image"].max() > 255


def test_unknown_class_folders(tengeop_root: Path) -> None:
    (tengeop_root / "X").mkdir()
    tifffile.imwrite(tengeop_root / "X" / "x.tif", np.zeros((8, 8), np.uint16))
    with pytest.raises(ValueError, match=r"unknown TenGeoP class folder 'X'; valid class letters: F \(pure ocean"):
        TenGeoPFolder(tengeop_root)
    with pytest.warns(UserWarning, match="'X'.*skipped"):
        ds = TenGeoPFolder(tengeop_root, strict=False)
    assert all(Path(f).parent.name != "X" for f in ds.files)
    shutil.move(tengeop_root / "G", tengeop_root / "g")  # letters are matched case-insensitively
    shutil.rmtree(tengeop_root / "X")
    assert 1 in TenGeoPFolder(tengeop_root).labels()


def test_bad_split_arguments(tengeop_root: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="split must be one of"):
        TenGeoPFolder(tengeop_root, split="validation")
    with pytest.raises(ValueError, match="summing to 1"):
        TenGeoPFolder(tengeop_root, fractions=(0.8, 0.1, 0.2))
    (tmp_path / "empty" / "F").mkdir(parents=True)
    with pytest.raises(ValueError, match=r"no files matching '\*\.tif\*'"):
        TenGeoPFolder(tmp_path / "empty")


@pytest.fixture
def regression_files(tmp_path: Path) -> Path:
    """Vignettes: a real PNG quicklook, a real quicklook as float32 GeoTIFF, a .npy."""
    images = tmp_path / "images"
    images.mkdir()
    shutil.copy(real_quicklooks()[1], images / "real.png")
    tifffile.imwrite(images / "real.tif", centre_crop(np.asarray(Image.open(real_quicklooks()[2]))).astype(np.float32))
    np.save(images / "synthetic.npy", np.full((16, 16), 3.0, np.float32))
    return images


ROWS = [  # path, wave_height, wind_speed, incidence_angle
    ("real.png", 2.5, 7.0, 23.1),
    ("real.tif", 1.25, None, 36.4),
    ("missing.tif", 3.0, 5.0, 23.0),
    ("synthetic.npy", float("nan"), 4.0, 23.0),
    ("synthetic.npy", None, 4.0, 23.0),
    ("synthetic.npy", float("inf"), 4.0, 23.0),
    ("synthetic.npy", 0.75, 9.0, None),
]


def test_regression_table_csv_skips_bad_rows_with_a_warning(tmp_path: Path, regression_files: Path) -> None:
    lines = ["path,wave_height,wind_speed,incidence_angle"]
    lines += [",".join("" if v is None else str(v) for v in row) for row in ROWS]
    table_path = tmp_path / "hs.csv"
    table_path.write_text("\n".join(lines) + "\n")
    with pytest.warns(UserWarning, match=r"skipped 4 rows: row 2 \(missing.tif\): file not found") as record:
        ds = RegressionTable(table_path, target="wave_height", image_root=regression_files)
    message = str(record[0].message)
    assert all(f"row {r}" in message for r in (2, 3, 4, 5))
    assert ds.n_skipped == 4 and len(ds.skipped) == 4 and len(ds) == 3
    assert [ds[i]["wave_height"] for i in range(3)] == [2.5, 1.25, 0.75]
    first = ds[0]
    np.testing.assert_array_equal(first["image"], np.asarray(Image.open(real_quicklooks()[1]), np.float32))
    assert first["wind_speed"] == 7.0 and first["incidence_angle"] == pytest.approx(23.1) and first["label"] == -1
    assert np.isnan(ds[1]["wind_speed"]) and np.isnan(ds[2]["incidence_angle"])
    assert ds[1]["image"].shape == (64, 64)


def test_regression_table_parquet_wind_target_and_errors(tmp_path: Path, regression_files: Path) -> None:
    table = pa.table(
        {
            "image_path": [str(regression_files / r[0]) for r in ROWS],  # absolute paths
            "wind_speed": [r[2] for r in ROWS],
            "label": [0, 5, 0, 0, 0, 0, 7],
        }
    )
    parquet.write_table(table, tmp_path / "wind.parquet")
    with pytest.warns(UserWarning, match="skipped 2 rows"):
        ds = RegressionTable(tmp_path / "wind.parquet", target="wind_speed", path_column="image_path")
    assert len(ds) == 5 and ds.n_skipped == 2
    assert ds[len(ds) - 1]["wind_speed"] == 9.0 and ds[len(ds) - 1]["label"] == 7
    assert np.isnan(ds[0]["wave_height"])
    with pytest.raises(ValueError, match="no column 'path'"):
        RegressionTable(tmp_path / "wind.parquet", target="wind_speed")
    with pytest.raises(ValueError, match="target must be one of"):
        RegressionTable(tmp_path / "wind.parquet", target="swh")
    (tmp_path / "bad.csv").write_text("path,wave_height\nmissing.tif,1.0\n")
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="no usable rows"):
        RegressionTable(tmp_path / "bad.csv")

"""Readers, corrupt-sample handling and collation, on real Sentinel-1 WV quicklooks written to disk in every format."""

from __future__ import annotations

import pickle
import shutil
import warnings
from pathlib import Path

import datasets
import numpy as np
import pytest
import tifffile
import torch
from PIL import Image

from oceansar_hf.tasks import TENGEOP_CLASSES
from tests.conftest import QUICKLOOK_DIR
from training.data import (
    CorruptSampleError,
    CorruptSampleWarning,
    GeoTiffFolder,
    HFDatasetReader,
    ImageFolder,
    NpyFolder,
    SkipCorrupt,
    Skipped,
    SyntheticWVArchive,
    build_dataset,
    collate_samples,
)

# two open-ocean WV1 scenes, the sea-ice scene and one WV2 scene
QUICKLOOK_NAMES = (
    "s1a-wv1-QL-vv-20190302t112956-20190302t112959-026158-02eb64-043.png",
    "s1a-wv1-QL-vv-20191120t154256-20191120t154259-029996-036c8f-101.png",
    "s1a-wv1-QL-vv-20190730t055109-20190730t055112-028342-0333dd-081.png",
    "s1a-wv2-QL-vv-20191013t033709-20191013t033712-029434-035914-050.png",
)


def real_quicklooks() -> list[Path]:
    paths = [QUICKLOOK_DIR / name for name in QUICKLOOK_NAMES]
    assert all(p.is_file() for p in paths), f"real quicklooks missing from {QUICKLOOK_DIR}"
    return paths


def centre_crop(image: np.ndarray, size: int = 64) -> np.ndarray:
    """A crop keeps the files small and the tests fast while keeping real SAR texture."""
    top, left = (image.shape[0] - size) // 2, (image.shape[1] - size) // 2
    return image[top : top + size, left : left + size]


@pytest.fixture
def quicklook_arrays() -> list[np.ndarray]:
    return [np.asarray(Image.open(path)) for path in real_quicklooks()]


def test_image_folder_reads_real_png_quicklooks(tmp_path: Path, quicklook_arrays: list[np.ndarray]) -> None:
    for path in real_quicklooks()[:2]:
        shutil.copy(path, tmp_path / path.name)
    ds = ImageFolder(tmp_path)
    assert len(ds) == 2
    sample = ds[1]
    assert sample["image"].dtype == np.float32 and sample["image"].ndim == 2
    np.testing.assert_array_equal(sample["image"], quicklook_arrays[1].astype(np.float32))
    assert sample["index"] == 1 and sample["label"] == -1
    assert np.isnan(sample["wind_speed"]) and np.isnan(sample["wave_height"]) and np.isnan(sample["incidence_angle"])
    assert QUICKLOOK_NAMES[1] in ds.describe(1)


def test_geotiff_folder_keeps_16_bit_values_and_labels_from_class_folders(
    tmp_path: Path, quicklook_arrays: list[np.ndarray]
) -> None:
    expected = {}
    for name, array, folder in zip(QUICKLOOK_NAMES[:3], quicklook_arrays[:3], ("ocean", "ocean", "ice"), strict=True):
        (tmp_path / folder).mkdir(exist_ok=True)
        dn = centre_crop(array).astype(np.uint16) * 257  # 16-bit DN, up to 65535
        tifffile.imwrite(tmp_path / folder / f"{name}.tif", dn)
        expected[f"{name}.tif"] = dn
    tifffile.imwrite(tmp_path / "ocean" / "channel_first.tiff", expected[f"{QUICKLOOK_NAMES[0]}.tif"][None])
    ds = GeoTiffFolder(tmp_path, class_to_label={"ocean": 0, "ice": 5})
    assert len(ds) == 4
    for i in range(len(ds)):
        sample = ds[i]
        name = Path(ds.describe(i)).name
        reference = expected.get(name, expected[f"{QUICKLOOK_NAMES[0]}.tif"])
        np.testing.assert_array_equal(sample["image"], reference.astype(np.float32))
        assert sample["label"] == (5 if "/ice/" in ds.describe(i) else 0)
    assert max(ds[i]["image"].max() for i in range(len(ds))) > 255
    np.testing.assert_array_equal(np.sort(ds.labels()), [0, 0, 0, 5])


def test_npy_folder_squeezes_a_trailing_channel(tmp_path: Path, quicklook_arrays: list[np.ndarray]) -> None:
    crop = centre_crop(quicklook_arrays[2]).astype(np.float32)
    np.save(tmp_path / "a.npy", crop)
    np.save(tmp_path / "b.npy", crop[..., None])
    ds = NpyFolder(tmp_path)
    for i in range(2):
        np.testing.assert_array_equal(ds[i]["image"], crop)
        assert ds[i]["image"].shape == crop.shape


def _image_table(quicklook_arrays: list[np.ndarray]) -> datasets.Dataset:
    """Real quicklook crops as a datasets Image column: 8-bit "L" and 16-bit "I;16" PNG, with sea-state columns."""
    crop8 = centre_crop(quicklook_arrays[0])
    crop16 = centre_crop(quicklook_arrays[3]).astype(np.uint16) * 257
    features = datasets.Features(
        {
            "image": datasets.Image(),
            "wave_height": datasets.Value("float32"),
            "wind_speed": datasets.Value("float32"),
            "label": datasets.ClassLabel(names=list(TENGEOP_CLASSES)),
        }
    )
    return datasets.Dataset.from_dict(
        {
            "image": [Image.fromarray(crop8), Image.fromarray(crop16)],
            "wave_height": [1.5, None],
            "wind_speed": [7.0, 12.5],
            "label": [0, 5],
        },
        features=features,
    )


def test_hf_parquet_image_feature_8_and_16_bit(tmp_path: Path, quicklook_arrays: list[np.ndarray]) -> None:
    table = _image_table(quicklook_arrays)
    assert Image.fromarray(centre_crop(quicklook_arrays[3]).astype(np.uint16) * 257).mode == "I;16"
    table.to_parquet(str(tmp_path / "vignettes.parquet"))
    ds = HFDatasetReader(tmp_path / "vignettes.parquet", cache_dir=str(tmp_path / "cache"))
    assert len(ds) == 2
    first, second = ds[0], ds[1]
    np.testing.assert_array_equal(first["image"], centre_crop(quicklook_arrays[0]).astype(np.float32))
    np.testing.assert_array_equal(second["image"], centre_crop(quicklook_arrays[3]).astype(np.float32) * 257)
    assert second["image"].max() > 255  # never squeezed to 8 bits
    assert (first["label"], second["label"]) == (0, 5)
    assert first["wave_height"] == pytest.approx(1.5) and np.isnan(second["wave_height"])
    assert second["wind_speed"] == pytest.approx(12.5) and np.isnan(second["incidence_angle"])
    np.testing.assert_array_equal(ds.labels(), [0, 5])
    assert "vignettes.parquet" in ds.describe(1)


def test_hf_arrow_folder_with_array_column_and_splits(tmp_path: Path, quicklook_arrays: list[np.ndarray]) -> None:
    crops = [centre_crop(a, 32).astype(np.float32) for a in quicklook_arrays]
    table = datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_dict(
                {"sar": [c.tolist() for c in crops[:3]], "incidence_angle": [23.0] * 3}
            ),
            "test": datasets.Dataset.from_dict({"sar": [crops[3].tolist()], "incidence_angle": [36.5]}),
        }
    )
    table.save_to_disk(str(tmp_path / "arrow"))
    with pytest.raises(ValueError, match=r"choose split= one of \['train', 'test'\]"):
        HFDatasetReader(tmp_path / "arrow", image_column="sar")
    ds = HFDatasetReader(tmp_path / "arrow", image_column="sar", split="test")
    assert len(ds) == 1
    sample = ds[0]
    np.testing.assert_array_equal(sample["image"], crops[3])
    assert sample["incidence_angle"] == 36.5 and sample["label"] == -1
    with pytest.raises(ValueError, match="no image column 'image'"):
        HFDatasetReader(tmp_path / "arrow", split="train")
    with pytest.raises(IndexError):
        ds[1]


def test_hf_reader_rejects_bad_label_columns(tmp_path: Path) -> None:
    image = np.ones((8, 8), np.float32).tolist()
    text_labels = datasets.Dataset.from_dict({"image": [image], "label": ["rain"]})
    with pytest.raises(ValueError, match="must hold integer class ids"):
        HFDatasetReader(text_labels)
    out_of_range = HFDatasetReader(datasets.Dataset.from_dict({"image": [image], "label": [12]}))
    with pytest.raises(CorruptSampleError, match="label 12 outside -1..9"):
        out_of_range[0]
    with pytest.raises(ValueError, match="arrow folder saved by save_to_disk"):
        HFDatasetReader(tmp_path)


@pytest.fixture
def mixed_folder(tmp_path: Path, quicklook_arrays: list[np.ndarray]) -> Path:
    """Good and corrupt .npy/.tif files: names sort as a_good, b_*, c_good, ..."""
    good = centre_crop(quicklook_arrays[0], 32).astype(np.float32)
    np.save(tmp_path / "a_good.npy", good)
    (tmp_path / "b_garbage.npy").write_bytes(b"not a numpy file at all")
    np.save(tmp_path / "c_good.npy", good * 2)
    np.save(tmp_path / "d_rgb.npy", np.stack([good] * 3, axis=-1))
    np.save(tmp_path / "e_all_nan.npy", np.full((8, 8), np.nan, np.float32))
    np.save(tmp_path / "f_1d.npy", np.ones(10, np.float32))
    return tmp_path


def test_corrupt_files_raise_corrupt_sample_error_naming_the_file(mixed_folder: Path, tmp_path: Path) -> None:
    ds = NpyFolder(mixed_folder)
    expected = {1: "unreadable .npy", 3: r"got \(32, 32, 3\)", 4: "all pixels are NaN", 5: r"got \(10,\)"}
    for index, reason in expected.items():
        with pytest.raises(CorruptSampleError, match=reason) as info:
            ds[index]
        assert Path(ds.describe(index)).name in str(info.value)
        assert isinstance(info.value, ValueError)
    tif = tmp_path / "tiffs" / "broken.tif"
    tif.parent.mkdir()
    tifffile.imwrite(tif, np.ones((64, 64), np.uint16))
    tif.write_bytes(tif.read_bytes()[:100])  # truncated
    tifffile.imwrite(tmp_path / "tiffs" / "rgb.tif", np.ones((16, 16, 3), np.uint8))
    tiffs = GeoTiffFolder(tmp_path / "tiffs")
    for index in range(2):
        with pytest.raises(CorruptSampleError, match=Path(tiffs.describe(index)).name):
            tiffs[index]
    (tmp_path / "pngs").mkdir()
    (tmp_path / "pngs" / "x.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(CorruptSampleError, match="x.png"):
        ImageFolder(tmp_path / "pngs")[0]


def test_skip_corrupt_and_collate_count_and_name_skipped_samples(mixed_folder: Path) -> None:
    ds = SkipCorrupt(NpyFolder(mixed_folder))
    assert len(ds) == 6
    with pytest.warns(CorruptSampleWarning) as record:
        samples = [ds[i] for i in range(4)]
    messages = [str(w.message) for w in record]
    assert (
        len(messages) == 2 and "b_garbage.npy" in messages[0] and "d_rgb.npy: expected a single-channel" in messages[1]
    )
    assert isinstance(samples[1], Skipped) and isinstance(samples[3], Skipped)
    assert Path(samples[1].description).name == "b_garbage.npy" and "single-channel" in samples[3].reason
    batch = collate_samples(samples)
    assert batch["n_skipped"] == 2 and batch["batch_size"] == 2
    assert [Path(name).name for name in batch["skipped"]] == ["b_garbage.npy", "d_rgb.npy"]
    assert batch["image"].shape == (2, 32, 32) and batch["image"].dtype == np.float32
    np.testing.assert_array_equal(batch["index"], [0, 2])
    assert batch["label"].dtype == np.int64 and batch["wave_height"].dtype == np.float32
    assert np.isnan(batch["wave_height"]).all()
    np.testing.assert_array_equal(batch["image"][1], 2 * batch["image"][0])
    with pytest.warns(CorruptSampleWarning):
        all_bad = collate_samples([ds[4], ds[5]])
    assert all_bad == {
        "n_skipped": 2,
        "skipped": [str(mixed_folder / "e_all_nan.npy"), str(mixed_folder / "f_1d.npy")],
        "batch_size": 0,
    }
    assert ds.labels().tolist() == [-1] * 6  # other attributes come from the wrapped dataset
    restored = pickle.loads(pickle.dumps(ds))  # what a spawned dataloader worker gets
    with pytest.warns(CorruptSampleWarning, match="b_garbage.npy"):
        assert isinstance(restored[1], Skipped)
    assert restored[0]["index"] == 0


def test_skip_corrupt_through_a_multiprocess_dataloader(mixed_folder: Path) -> None:
    loader = torch.utils.data.DataLoader(
        SkipCorrupt(NpyFolder(mixed_folder)), batch_size=3, num_workers=2, collate_fn=collate_samples
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CorruptSampleWarning)
        batches = list(loader)
    assert [b["batch_size"] for b in batches] == [2, 0]
    assert [b["n_skipped"] for b in batches] == [1, 3]
    names = [Path(name).name for b in batches for name in b["skipped"]]
    assert names == ["b_garbage.npy", "d_rgb.npy", "e_all_nan.npy", "f_1d.npy"]


def test_collate_keeps_mixed_shapes_as_a_list_and_stacks_tensors() -> None:
    samples = [
        {"image": np.zeros((4, 4), np.float32), "pixel_values": torch.ones(1, 8, 8), "name": "a"},
        {"image": np.zeros((5, 4), np.float32), "pixel_values": torch.zeros(1, 8, 8), "name": "b"},
    ]
    batch = collate_samples(samples)
    assert isinstance(batch["image"], list) and [a.shape for a in batch["image"]] == [(4, 4), (5, 4)]
    assert isinstance(batch["pixel_values"], torch.Tensor) and batch["pixel_values"].shape == (2, 1, 8, 8)
    assert batch["name"] == ["a", "b"]
    with pytest.raises(ValueError, match="different keys"):
        collate_samples([{"image": np.zeros(2)}, {"label": 1}])


def test_empty_or_missing_folders_raise_naming_path_and_patterns(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no images here")
    with pytest.raises(ValueError, match=r"no files matching \['\*\*/\*\.tif\*'\] under .*empty"):
        GeoTiffFolder(tmp_path / "empty")
    with pytest.raises(ValueError, match=r"missing is not a directory.*\*\*/\*\.npy"):
        NpyFolder(tmp_path / "missing")


def test_build_dataset_kinds(tmp_path: Path, quicklook_arrays: list[np.ndarray]) -> None:
    synthetic = build_dataset("synthetic", None, num_samples=5, image_size=32, seed=1)
    assert isinstance(synthetic, SyntheticWVArchive) and len(synthetic) == 5
    Image.fromarray(centre_crop(quicklook_arrays[0])).save(tmp_path / "q.png")
    np.save(tmp_path / "q.npy", centre_crop(quicklook_arrays[0]))
    tifffile.imwrite(tmp_path / "q.tif", centre_crop(quicklook_arrays[0]))
    datasets.Dataset.from_dict({"image": [centre_crop(quicklook_arrays[0]).tolist()]}).save_to_disk(
        str(tmp_path / "arrow")
    )
    for kind, path in (("png", tmp_path), ("npy", tmp_path), ("geotiff", tmp_path), ("hf", tmp_path / "arrow")):
        ds = build_dataset(kind, str(path))
        assert len(ds) == 1
        np.testing.assert_array_equal(ds[0]["image"], centre_crop(quicklook_arrays[0]).astype(np.float32))
    with pytest.raises(ValueError, match="unknown dataset kind 'tiff'; valid kinds: synthetic, geotiff, npy, png, hf"):
        build_dataset("tiff", str(tmp_path))
    with pytest.raises(ValueError, match="needs a path"):
        build_dataset("npy")
    with pytest.raises(ValueError, match="takes no path"):
        build_dataset("synthetic", str(tmp_path))

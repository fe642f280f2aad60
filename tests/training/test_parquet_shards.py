# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Parquet shards read in place: same rows as `datasets`, deterministic random access, nothing copied to a cache,
and truncated or corrupt shards named."""

from __future__ import annotations

import logging
import pickle
from pathlib import Path

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

import training.data.parquet as parquet_module
from training.build import build_dataset
from training.config import DataArguments
from training.data import (
    CorruptSampleError,
    HFDatasetReader,
    ParquetShards,
    SkipCorrupt,
    SyntheticArchiveConfig,
    collate_samples,
)

ROWS_PER_SHARD, ROW_GROUP, SIDE = 7, 3, 8


def images(count: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((count, SIDE, SIDE), dtype=np.float32)


def write_shards(folder: Path, shards: int = 3, checksums: bool = False) -> np.ndarray:
    """``shards`` parquet files of 7 rows in row groups of 3 (3 + 3 + 1): a 2-D float32 ``image`` column written by
    ``datasets`` (Array2D), labels and wave heights. Returns all images in dataset order."""
    folder.mkdir(parents=True, exist_ok=True)
    everything = images(shards * ROWS_PER_SHARD)
    features = datasets.Features(
        {
            "image": datasets.Array2D((SIDE, SIDE), "float32"),
            "label": datasets.Value("int64"),
            "wave_height": datasets.Value("float32"),
        }
    )
    for shard in range(shards):
        rows = range(shard * ROWS_PER_SHARD, (shard + 1) * ROWS_PER_SHARD)
        table = datasets.Dataset.from_dict(
            {
                "image": [everything[i] for i in rows],
                "label": [i % 10 for i in rows],
                "wave_height": [i / 4 for i in rows],
            },
            features=features,
        ).data.table
        pq.write_table(
            table, folder / f"shard-{shard:03d}.parquet", row_group_size=ROW_GROUP, write_page_checksum=checksums
        )
    return everything


@pytest.fixture
def isolated_cache(tmp_path: Path, monkeypatch) -> Path:
    """The `datasets` cache moved to an empty folder, to see whether anything is copied into it."""
    cache = tmp_path / "hf-datasets-cache"
    cache.mkdir()
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", cache)
    return cache


def test_rows_in_place_match_the_source_in_any_order_without_a_copy(tmp_path: Path, isolated_cache: Path) -> None:
    expected = write_shards(tmp_path / "shards")
    before = sorted(p for p in tmp_path.rglob("*"))
    ds = HFDatasetReader(tmp_path / "shards")
    assert len(ds) == 21 and ds.listing_report.files == 3
    order = np.random.default_rng(1).permutation(len(ds))
    shuffled = {int(i): ds[int(i)] for i in order}
    for i in range(len(ds)):
        sample = ds[i]
        np.testing.assert_array_equal(sample["image"], expected[i])
        np.testing.assert_array_equal(shuffled[i]["image"], sample["image"])  # random access is deterministic
        assert sample["index"] == i and sample["label"] == i % 10 and sample["wave_height"] == pytest.approx(i / 4)
    np.testing.assert_array_equal(ds.labels(), np.arange(21) % 10)
    assert ds.describe(10) == f"{tmp_path / 'shards' / 'shard-001.parquet'}[row group 1, row 0]"
    assert sorted(p for p in tmp_path.rglob("*")) == before  # nothing written: no Arrow cache, anywhere

    reference = datasets.load_dataset(  # what the reader replaces: a full copy of the shards into the cache
        "parquet", data_files=sorted(str(p) for p in (tmp_path / "shards").glob("*.parquet")), split="train"
    ).with_format("numpy")
    assert sum(p.stat().st_size for p in isolated_cache.rglob("*.arrow")) > expected.nbytes
    for i in (0, 6, 7, 20):
        np.testing.assert_array_equal(ds[i]["image"], reference[i]["image"])


def test_workers_get_a_picklable_reader(tmp_path: Path) -> None:
    expected = write_shards(tmp_path, shards=2)
    reader = HFDatasetReader(tmp_path)
    reader[3]  # an open file and a decoded row group must not travel to the workers
    restored = pickle.loads(pickle.dumps(reader))
    np.testing.assert_array_equal(restored[12]["image"], expected[12])
    loader = torch.utils.data.DataLoader(SkipCorrupt(reader), batch_size=5, num_workers=2, collate_fn=collate_samples)
    batches = list(loader)
    np.testing.assert_array_equal(np.concatenate([b["image"] for b in batches]), expected)


def test_cache_dir_converts_once_into_the_chosen_folder(tmp_path: Path, isolated_cache: Path) -> None:
    expected = write_shards(tmp_path / "shards", shards=2)
    chosen = tmp_path / "my-cache"
    ds = HFDatasetReader(tmp_path / "shards", cache_dir=str(chosen))
    np.testing.assert_array_equal(ds[9]["image"], expected[9])
    assert list(chosen.rglob("*.arrow")) and not list(isolated_cache.rglob("*.arrow"))


def test_a_truncated_shard_is_named(tmp_path: Path) -> None:
    write_shards(tmp_path, shards=2)
    shard = tmp_path / "shard-001.parquet"
    shard.write_bytes(shard.read_bytes()[:-40])
    with pytest.raises(
        ValueError, match=r"shard-001\.parquet: not a readable parquet shard \(.*\)\. It may be truncated"
    ):
        HFDatasetReader(tmp_path)


def test_a_corrupt_row_group_is_a_counted_skip_naming_the_shard(tmp_path: Path) -> None:
    expected = write_shards(tmp_path, shards=1, checksums=True)
    shard = tmp_path / "shard-000.parquet"
    metadata = pq.ParquetFile(shard).metadata
    column = metadata.row_group(1).column(0)
    data = bytearray(shard.read_bytes())
    middle = (column.dictionary_page_offset or column.data_page_offset) + column.total_compressed_size // 2
    data[middle : middle + 16] = b"\xff" * 16  # bit rot inside row group 1's image pages
    shard.write_bytes(bytes(data))
    ds = HFDatasetReader(tmp_path)
    np.testing.assert_array_equal(ds[0]["image"], expected[0])
    with pytest.raises(CorruptSampleError, match=r"shard-000\.parquet\[row group 1\]: undecodable parquet row group"):
        ds[4]
    np.testing.assert_array_equal(ds[6]["image"], expected[6])


def test_large_row_groups_are_announced_with_the_remedy(tmp_path: Path, monkeypatch, caplog) -> None:
    write_shards(tmp_path, shards=1)
    monkeypatch.setattr(parquet_module, "LARGE_ROW_GROUP_BYTES", 100)
    with caplog.at_level(logging.WARNING, logger=parquet_module.__name__):
        ParquetShards(sorted(tmp_path.glob("*.parquet")))
    (record,) = caplog.records
    assert "shard-000.parquet row group " in record.getMessage() and "row_group_size=" in record.getMessage()
    assert "--hf_cache_dir" in record.getMessage()


def test_shards_with_different_columns_and_plain_nested_lists(tmp_path: Path) -> None:
    crops = images(2)
    pq.write_table(pa.table({"image": [c.tolist() for c in crops]}), tmp_path / "a.parquet")  # list<list<double>>
    ds = HFDatasetReader(tmp_path)
    np.testing.assert_allclose(ds[1]["image"], crops[1])
    assert ds[0]["label"] == -1
    pq.write_table(pa.table({"sar": [crops[0].tolist()]}), tmp_path / "b.parquet")
    with pytest.raises(ValueError, match=r"b\.parquet: columns \['sar'\] differ from those of .*a\.parquet"):
        HFDatasetReader(tmp_path)
    (tmp_path / "b.parquet").unlink()
    pq.write_table(pa.table({"image": [[[1.0, 2.0], [3.0]]]}), tmp_path / "c.parquet")
    with pytest.raises(CorruptSampleError, match=r"c\.parquet\[row group 0, row 0\]: ragged image rows"):
        HFDatasetReader(tmp_path)[2]


def test_a_truncated_arrow_shard_is_named(tmp_path: Path) -> None:
    datasets.Dataset.from_dict({"image": list(images(8))}).save_to_disk(str(tmp_path / "arrow"), num_shards=2)
    shard = tmp_path / "arrow" / "data-00001-of-00002.arrow"
    shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])
    with pytest.raises(ValueError, match=r"cannot load the saved dataset \(unreadable Arrow shards: .*data-00001-of"):
        HFDatasetReader(tmp_path / "arrow")


def test_the_run_setting_hf_cache_dir_reaches_the_reader(tmp_path: Path, isolated_cache: Path) -> None:
    expected = write_shards(tmp_path / "shards", shards=1)
    for cache_dir in (None, tmp_path / "scratch"):
        data = DataArguments(
            dataset="hf", data_path=str(tmp_path / "shards"), hf_cache_dir=cache_dir and str(cache_dir)
        )
        dataset = build_dataset(data, SyntheticArchiveConfig())
        np.testing.assert_array_equal(dataset[5]["image"], expected[5])
    assert list((tmp_path / "scratch").rglob("*.arrow")) and not list(isolated_cache.rglob("*"))

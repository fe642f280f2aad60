# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Benchmark: reading an archive of parquet shards in place (`HFDatasetReader`, `ParquetShards`) against
``datasets.load_dataset("parquet")``, which converts every shard into Arrow files in a cache first.

Same shards, same run. For each row-group size written: bytes copied into a cache and the time before the first
row can be read; then the mean time per row read in random order (what shuffled training does) and in order
(evaluation, feature extraction). The ``datasets`` reference is read after its conversion, memory-mapped, in the same
orders. Shards: float32 vignettes as a ``datasets`` Array2D column with labels, written with pyarrow. Last row: the
same rows saved as an Arrow folder (``save_to_disk``), which `HFDatasetReader` memory-maps without any copy.

Usage: ``python benchmarks/bench_parquet_reading.py`` (8 shards × 512 rows of 256², 1 GiB, row groups 8/64/512) or
``--quick`` (4 × 128 rows of 128², 32 MiB, row groups 8/128).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import datasets
import numpy as np
import pyarrow.parquet as pq

from training.data import HFDatasetReader


def write_archive(folder: Path, shards: int, rows: int, side: int, row_group: int) -> None:
    features = datasets.Features({"image": datasets.Array2D((side, side), "float32"), "label": datasets.Value("int64")})
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    for shard in range(shards):
        vignettes = rng.random((rows, side, side), dtype=np.float32)
        table = datasets.Dataset.from_dict(
            {"image": list(vignettes), "label": [i % 10 for i in range(rows)]}, features=features
        ).data.table
        pq.write_table(table, folder / f"shard-{shard:04d}.parquet", row_group_size=row_group)


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def per_row_ms(read, indices: np.ndarray) -> float:
    start = time.perf_counter()
    for index in indices:
        read(int(index))
    return (time.perf_counter() - start) / len(indices) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small archive (32 MiB), under a minute")
    parser.add_argument(
        "--reads",
        type=int,
        default=200,
        help="rows read per order and reader (random order: at most 4096 / rows per group)",
    )
    args = parser.parse_args()
    shards, rows, side, groups = (4, 128, 128, (8, 128)) if args.quick else (8, 512, 256, (8, 64, 512))
    datasets.disable_progress_bars()
    rng = np.random.default_rng(1)
    total = shards * rows
    shuffled = rng.permutation(total)
    in_order = np.arange(min(args.reads, total))
    print(f"{shards} shards x {rows} rows of {side}x{side} float32 ({total * side * side * 4 / 2**20:.0f} MiB)")
    columns = ("rows / row group", "reader", "copied to cache (MiB)", "before first row (s)", "random", "in order")
    print("| " + " | ".join(columns) + " |  (random / in order: ms per row)")
    print("|---|---|---|---|---|---|")
    for row_group in groups:
        with tempfile.TemporaryDirectory() as tmp:
            archive, cache = Path(tmp) / "archive", Path(tmp) / "cache"
            write_archive(archive, shards, rows, side, row_group)
            files = sorted(str(p) for p in archive.glob("*.parquet"))

            start = time.perf_counter()
            ours = HFDatasetReader(archive)
            ours_ready = time.perf_counter() - start
            random_rows = shuffled[: min(args.reads, max(10, 4096 // row_group))]  # bounded: large groups are slow
            ours_random, ours_order = per_row_ms(ours.__getitem__, random_rows), per_row_ms(ours.__getitem__, in_order)

            start = time.perf_counter()
            reference = datasets.load_dataset("parquet", data_files=files, split="train", cache_dir=str(cache))
            reference = reference.with_format("numpy")
            reference_ready = time.perf_counter() - start
            copied = folder_bytes(cache) / 2**20
            ref_random = per_row_ms(reference.__getitem__, random_rows)
            ref_order = per_row_ms(reference.__getitem__, in_order)
            shutil.rmtree(cache)
            if row_group == groups[0]:  # the same rows saved as an Arrow folder: memory-mapped in place, no decoding
                reference.with_format(None).save_to_disk(str(Path(tmp) / "arrow"))
                arrow = HFDatasetReader(Path(tmp) / "arrow")
                arrow_rows = (per_row_ms(arrow.__getitem__, random_rows), per_row_ms(arrow.__getitem__, in_order))
        print(f"| {row_group} | in place (ours) | 0 | {ours_ready:.2f} | {ours_random:.2f} | {ours_order:.2f} |")
        print(
            f"| {row_group} | load_dataset (reference) | {copied:.0f} | {reference_ready:.2f} | {ref_random:.2f} | "
            f"{ref_order:.2f} |"
        )
    print(f"| - | Arrow folder (save_to_disk), in place (ours) | 0 | - | {arrow_rows[0]:.2f} | {arrow_rows[1]:.2f} |")


if __name__ == "__main__":
    main()

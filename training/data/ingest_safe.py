# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Ingest Sentinel-1 SAFE products into parquet shards of calibrated σ0 vignettes at a target ground spacing.

    python -m training.data.ingest_safe INPUT... --out DIR [--pixel-spacing 50] [--vignette-size 256]
        [--remove-noise] [--polarisation VV] [--workers N] [--quiet]

INPUT: SAFE product folders, product ``.zip`` files, or folders holding them. Each product becomes one shard
``DIR/shards/<product>.parquet`` (row groups of `ROW_GROUP_SIZE` rows) with the columns ``image`` (2-D float32 σ0,
linear, at ``pixel_spacing_m``), ``product``, ``measurement``, ``swath`` (wv1/wv2/iw/ew/...), ``imagette`` (the WV
imagette number or the tile number), ``polarisation``, ``time`` (UTC, ISO 8601, at the vignette's centre line),
``latitude``, ``longitude``, ``incidence_angle`` (deg, at its centre), ``pixel_spacing_m`` and ``nodata_fraction``.
Read them with ``--dataset hf --data_path DIR`` (in place: `training.data.ParquetShards`).

Products are read in parallel worker processes, with a progress bar. The job is resumable: a product whose shard
exists is skipped, and shards are written to a temporary name, fsynced and renamed, so a killed job leaves only whole
shards. A product that cannot be read (truncated TIFF, missing calibration XML, undecodable TIFF compression...) is
named, counted and left without a shard (it is retried by the next run); a product of which only some measurements
fail keeps its good vignettes and its failures are named. ``DIR/ingest_report.json`` records the last run.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from .errors import CorruptSampleError
from .sentinel1 import ProductReport, Sentinel1Options, Vignette, find_products, iterate_product

logger = logging.getLogger(__name__)

ROW_GROUP_SIZE = 16
"""Rows per parquet row group: a random read decodes one group (16 × 400² float32 ≈ 10 MiB)."""
METADATA_COLUMNS = {
    "product": pa.string(),
    "measurement": pa.string(),
    "swath": pa.string(),
    "imagette": pa.int32(),
    "polarisation": pa.string(),
    "time": pa.string(),
    "latitude": pa.float64(),
    "longitude": pa.float64(),
    "incidence_angle": pa.float64(),
    "pixel_spacing_m": pa.float64(),
    "nodata_fraction": pa.float64(),
}
SCHEMA = pa.schema([pa.field("image", pa.list_(pa.list_(pa.float32()))), *METADATA_COLUMNS.items()])


def _images(images: list[np.ndarray]) -> pa.Array:
    """2-D float32 arrays (any sizes) as a list<list<float32>> column, without going through Python lists."""
    rows = np.concatenate([[0], np.cumsum([image.shape[0] for image in images])]).astype(np.int32)
    row_lengths = [np.full(image.shape[0], image.shape[1]) for image in images]
    cells = np.concatenate([[0], np.cumsum(np.concatenate(row_lengths))]).astype(np.int32)
    values = pa.array(np.concatenate([image.ravel() for image in images]).astype(np.float32))
    return pa.ListArray.from_arrays(pa.array(rows), pa.ListArray.from_arrays(pa.array(cells), values))


def write_shard(vignettes: list[Vignette], path: Path) -> None:
    """One product's vignettes as a parquet shard at ``path``, atomically (temporary name, fsync, rename)."""
    columns = {
        "image": _images([v.image for v in vignettes]) if vignettes else pa.array([], SCHEMA.field("image").type)
    }
    for name, kind in METADATA_COLUMNS.items():
        columns[name] = pa.array([v.metadata[name] for v in vignettes], kind)
    table = pa.table(columns, schema=SCHEMA)
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(temporary, "wb") as handle:
            pq.write_table(table, handle, row_group_size=ROW_GROUP_SIZE, write_page_checksum=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _remove_stale_temporaries(shards: Path) -> None:
    """Delete the temporary shards of killed runs (``.NAME.parquet.tmp-PID`` whose process no longer exists)."""
    for temporary in shards.glob(".*.parquet.tmp-*"):
        pid = temporary.name.rsplit("-", 1)[-1]
        try:
            os.kill(int(pid), 0)
        except (ValueError, OverflowError, ProcessLookupError):
            logger.info("removing %s, left by a run that was killed", temporary)
            temporary.unlink(missing_ok=True)
        except PermissionError:  # the process exists (another user's): leave its file
            continue


def shard_path(out: Path, product: Path) -> Path:
    """Where the shard of ``product`` (a folder or zip) goes."""
    name = product.name.removesuffix(".zip").removesuffix(".SAFE")
    return out / "shards" / f"{name}.parquet"


@dataclass
class ProductResult:
    """The outcome of one product: ``status`` "written", "existing" (shard already there) or "failed"."""

    path: str
    status: str
    vignettes: int = 0
    nodata_tiles: int = 0
    failures: list[str] = field(default_factory=list)


def ingest_product(path: str, out: str, options: Sentinel1Options) -> ProductResult:
    """Read one product and write its shard (the work of one worker process)."""
    import torch

    torch.set_num_threads(1)  # one product per process: parallelism is across products
    target = shard_path(Path(out), Path(path))
    if target.exists():
        return ProductResult(path, "existing")
    report = ProductReport(Path(path).name)
    try:
        vignettes = list(iterate_product(path, options, report))
    except CorruptSampleError as error:
        return ProductResult(path, "failed", failures=[*report.failed, str(error)])
    if not vignettes and report.failed:
        return ProductResult(path, "failed", 0, report.nodata_tiles, report.failed)
    write_shard(vignettes, target)
    return ProductResult(path, "written", len(vignettes), report.nodata_tiles, report.failed)


def ingest(
    inputs: Sequence[str | Path], out: str | Path, options: Sentinel1Options, workers: int = 1, progress: bool = True
) -> list[ProductResult]:
    """Ingest every product of ``inputs`` into ``out`` (see the module docstring); ``workers`` processes (1: in this
    process). Returns one `ProductResult` per product, in product order, and writes ``out/ingest_report.json``."""
    products, reports = find_products(inputs)
    for report in reports:
        report.log()
    if not products:
        raise ValueError(f"no SAFE product found in {list(map(str, inputs))}")
    out = Path(out)
    (out / "shards").mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(out / "shards")
    results: dict[str, ProductResult] = {}
    bar = tqdm(total=len(products), desc="SAFE products", unit="product", disable=not progress)
    with bar:
        if workers <= 1:
            for path in products:
                results[str(path)] = _count(bar, ingest_product(str(path), str(out), options))
        else:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                futures = [pool.submit(ingest_product, str(path), str(out), options) for path in products]
                for future in as_completed(futures):
                    result = _count(bar, future.result())
                    results[result.path] = result
    ordered = [results[str(path)] for path in products]
    _write_report(out, ordered, options)
    return ordered


def _count(bar: tqdm, result: ProductResult) -> ProductResult:
    bar.update(1)
    bar.set_postfix_str(f"{result.vignettes} vignettes from {Path(result.path).name[:40]} ({result.status})")
    return result


def _write_report(out: Path, results: list[ProductResult], options: Sentinel1Options) -> None:
    report = {"options": asdict(options), "products": [asdict(r) for r in results]}
    temporary = out / ".ingest_report.json.tmp"
    temporary.write_text(json.dumps(report, indent=1))
    os.replace(temporary, out / "ingest_report.json")


def summary(results: list[ProductResult]) -> str:
    """Counts per outcome, and every failure named."""
    by_status = {status: [r for r in results if r.status == status] for status in ("written", "existing", "failed")}
    partial = [r for r in by_status["written"] if r.failures]
    lines = [
        f"{len(results)} products: {len(by_status['written'])} written "
        f"({sum(r.vignettes for r in by_status['written'])} vignettes, "
        f"{sum(r.nodata_tiles for r in results)} no-data tiles skipped), {len(by_status['existing'])} already "
        f"ingested (skipped), {len(by_status['failed'])} failed, {len(partial)} with failed measurements"
    ]
    lines += [f"  failed: {failure}" for r in by_status["failed"] + partial for failure in r.failures]
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m training.data.ingest_safe",
        description="Sentinel-1 SAFE products (WV SLC imagettes, IW/EW GRD or SLC) → parquet shards of calibrated "
        "σ0 vignettes at a target ground pixel spacing.",
    )
    defaults = Sentinel1Options()
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="SAFE folders, .zip products or folders of them.")
    parser.add_argument("--out", required=True, help="Output folder (shards/ and ingest_report.json); resumable.")
    parser.add_argument(
        "--pixel-spacing", type=float, default=defaults.target_pixel_spacing, help="Target ground pixel spacing (m)."
    )
    parser.add_argument(
        "--vignette-size",
        type=int,
        default=defaults.vignette_size,
        help="Side (px at the target spacing) of IW/EW/SM tiles; WV imagettes are kept whole.",
    )
    parser.add_argument(
        "--remove-noise", action="store_true", help="Subtract the thermal noise LUT before calibrating."
    )
    parser.add_argument(
        "--polarisation", nargs="+", default=list(defaults.polarisations), help="Polarisations read (e.g. VV VH)."
    )
    parser.add_argument(
        "--max-nodata-fraction",
        type=float,
        default=defaults.max_nodata_fraction,
        help="Tiles with a larger share of zero (no-data) pixels are skipped and counted.",
    )
    parser.add_argument(
        "--workers", type=int, default=0, help="Worker processes, one product each (0: one per available CPU)."
    )
    parser.add_argument("--quiet", action="store_true", help="No progress bar.")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ingest; exit status 1 when no product gave a vignette, else 0 (failures are named in the summary)."""
    args = _parser().parse_args(argv)
    options = Sentinel1Options(
        target_pixel_spacing=args.pixel_spacing,
        vignette_size=args.vignette_size,
        remove_noise=args.remove_noise,
        polarisations=tuple(p.upper() for p in args.polarisation),
        max_nodata_fraction=args.max_nodata_fraction,
    )
    workers = args.workers or len(os.sched_getaffinity(0))
    results = ingest(args.inputs, args.out, options, workers=workers, progress=not args.quiet)
    print(summary(results))
    done = any(r.status == "existing" or r.vignettes for r in results)
    return 0 if done else 1


if __name__ == "__main__":
    sys.exit(main())

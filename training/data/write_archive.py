# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Write the synthetic WV archive to disk once, in a format one of the readers reads back.

    python -m training.data.write_archive --out DIR --format geotiff|npy|parquet|arrow \\
        --synthetic_num_samples N --synthetic_image_size S --synthetic_seed K [--synthetic_balanced] [--quiet]

Every `--synthetic_*` flag of pretraining applies (the same `SyntheticArchiveConfig`).

Layouts (images are float32 amplitude DN, identical to ``SyntheticWVArchive(config)[i]["image"]``):

- ``geotiff`` / ``npy``: ``DIR/<class folder>/<index:07d>.tif|.npy`` with class folders ``0_pure_ocean_waves`` ...
  (`CLASS_FOLDERS`; read back with ``GeoTiffFolder(DIR, class_to_label=CLASS_FOLDER_TO_LABEL)`` / `NpyFolder`), plus
  ``DIR/labels.csv`` (path, index, label, wind_speed, wave_height, incidence_angle) usable by `RegressionTable`.
- ``parquet``: ``DIR/data.parquet``; ``arrow``: ``DIR`` is a ``save_to_disk`` folder. Columns: ``image``
  (Array2D float32), ``index``, ``label`` (ClassLabel), ``wind_speed``, ``wave_height``, ``incidence_angle``
  (float64). Read back with `HFDatasetReader(DIR)`.

Everything is written under a temporary sibling folder that is renamed to ``DIR`` at the end, so an interrupted run
leaves no half-written archive. ``DIR`` must not exist or be empty.
"""

from __future__ import annotations

import csv
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tifffile
from tqdm import tqdm

from oceansar_hf.tasks import TENGEOP_CLASSES

from ..arguments import ArgumentGroup, parse_groups
from .synthetic import SyntheticArchiveConfig, SyntheticWVArchive

FORMATS = ("geotiff", "npy", "parquet", "arrow")
CLASS_FOLDERS: tuple[str, ...] = tuple(f"{i}_{name.replace(' ', '_')}" for i, name in enumerate(TENGEOP_CLASSES))
"""Class folder names of the file layouts, in class-id order."""
CLASS_FOLDER_TO_LABEL = {folder: label for label, folder in enumerate(CLASS_FOLDERS)}
LABEL_COLUMNS = ("index", "label", "wind_speed", "wave_height", "incidence_angle")


def _samples(archive: SyntheticWVArchive, progress: bool) -> Iterator[dict]:
    for index in tqdm(range(len(archive)), desc="synthetic WV archive", unit="img", disable=not progress):
        yield archive[index]


def _write_files(archive: SyntheticWVArchive, folder: Path, fmt: str, progress: bool) -> None:
    suffix = ".tif" if fmt == "geotiff" else ".npy"
    for name in CLASS_FOLDERS:
        (folder / name).mkdir()
    with open(folder / "labels.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", *LABEL_COLUMNS])
        for sample in _samples(archive, progress):
            relative = f"{CLASS_FOLDERS[sample['label']]}/{sample['index']:07d}{suffix}"
            if fmt == "geotiff":
                tifffile.imwrite(folder / relative, sample["image"])
            else:
                np.save(folder / relative, sample["image"], allow_pickle=False)
            writer.writerow([relative, *(repr(sample[key]) for key in LABEL_COLUMNS)])


def _write_table(archive: SyntheticWVArchive, folder: Path, fmt: str, progress: bool) -> None:
    import datasets

    size = archive.config.image_size
    features = datasets.Features(
        {
            "image": datasets.Array2D(shape=(size, size), dtype="float32"),
            "index": datasets.Value("int64"),
            "label": datasets.ClassLabel(names=list(TENGEOP_CLASSES)),
            "wind_speed": datasets.Value("float64"),
            "wave_height": datasets.Value("float64"),
            "incidence_angle": datasets.Value("float64"),
        }
    )
    bars_were_enabled = datasets.is_progress_bar_enabled()
    if not progress:
        datasets.disable_progress_bars()
    try:
        with tempfile.TemporaryDirectory(dir=folder.parent, prefix=".hf-cache-") as cache:
            table = datasets.Dataset.from_generator(
                _samples, gen_kwargs={"archive": archive, "progress": progress}, features=features, cache_dir=cache
            )
            if fmt == "parquet":
                table.to_parquet(str(folder / "data.parquet"))
            else:
                table.save_to_disk(str(folder))
            del table
    finally:
        if bars_were_enabled and not progress:
            datasets.enable_progress_bars()


def write_archive(out: str | Path, fmt: str, config: SyntheticArchiveConfig, progress: bool = True) -> Path:
    """Write ``SyntheticWVArchive(config)`` to the folder ``out`` in format ``fmt`` (see the module docstring)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; valid formats: {', '.join(FORMATS)}")
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ValueError(f"{out} already exists and is not an empty folder; choose a new --out")
    out.parent.mkdir(parents=True, exist_ok=True)
    archive = SyntheticWVArchive(config)
    staging = out.parent / f".{out.name}.tmp-{uuid.uuid4().hex[:12]}"
    staging.mkdir()
    try:
        if fmt in ("geotiff", "npy"):
            _write_files(archive, staging, fmt, progress)
        else:
            _write_table(archive, staging, fmt, progress)
        if out.exists():
            out.rmdir()
        os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out


@dataclass
class WriteArchiveArguments:
    """Where and how `python -m training.data.write_archive` writes the synthetic archive."""

    out: str = field(metadata={"help": "Output folder (must not exist or be empty)."})
    format: str = field(metadata={"help": f"File layout: {', '.join(FORMATS)}."})
    quiet: bool = field(default=False, metadata={"help": "No progress bar."})


WRITE_ARCHIVE_GROUPS = (
    ArgumentGroup(WriteArchiveArguments),
    ArgumentGroup(SyntheticArchiveConfig, prefix="synthetic_"),
)


def main(argv: Sequence[str] | None = None) -> int:
    """Write the synthetic archive rendered with the `--synthetic_*` settings (the pretraining flags) to disk."""
    renamed = {name: f"synthetic_{name}" for name in ("num_samples", "image_size", "seed", "balanced")}
    args, config = parse_groups(
        WRITE_ARCHIVE_GROUPS,
        sys.argv[1:] if argv is None else argv,
        prog="python -m training.data.write_archive",
        description="Write the synthetic Sentinel-1 WV archive to disk (GeoTIFF/npy class folders, parquet, arrow).",
        renamed=renamed,
    )
    if args.format not in FORMATS:
        raise SystemExit(f"error: --format must be one of {', '.join(FORMATS)}, got {args.format!r}")
    out = write_archive(Path(args.out), args.format, config, progress=not args.quiet)
    print(f"wrote {len(SyntheticWVArchive(config))} samples to {out} ({args.format})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Train / validation / test splits for the probes, from a data spec:

- ``synthetic``: three `SyntheticWVArchive`s with distinct seeds (seed, seed + 1, seed + 2); for TenGeoP the test
  archive is class-balanced (`balanced_split`), as the real TenGeoP evaluation reports accuracy over all classes;
- ``tengeop:DIR``: a TenGeoP-SARwv folder (class letters F..O), split per class by `TenGeoPFolder`;
- ``table:FILE``: a CSV / parquet `RegressionTable` (image path + wave height or wind speed), split at random.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from oceansar_hf.tasks import TASKS

from ..data import (
    SPLITS,
    RegressionTable,
    SyntheticArchiveConfig,
    SyntheticWVArchive,
    TenGeoPFolder,
    balanced_split,
    split_indices,
)

DATA_KINDS = ("synthetic", "tengeop", "table")


@dataclass
class ProbeSplit:
    """One split: a dataset, the indices of it that belong to the split (None = all) and a description that
    identifies the data for the feature cache."""

    dataset: Any
    indices: np.ndarray | None
    description: str

    def __len__(self) -> int:
        return len(self.dataset) if self.indices is None else len(self.indices)

    def all_indices(self) -> np.ndarray:
        return np.arange(len(self.dataset), dtype=np.int64) if self.indices is None else self.indices


@dataclass
class ProbeData:
    """The three splits of a probe run, how to name the dataset in results.json, and the records dropped while
    listing it (e.g. table rows with a missing file or target)."""

    name: str
    synthetic: bool
    splits: dict[str, ProbeSplit]
    skipped_records: list[str] = field(default_factory=list)


def _files_digest(dataset: Any) -> str:
    """SHA-256 over the file names, sizes and modification times of a file-backed dataset."""
    digest = hashlib.sha256()
    for path in getattr(dataset, "files", []):
        stat = Path(path).stat()
        digest.update(f"{path}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _cap(indices: np.ndarray, limit: int | None, rng: np.random.Generator) -> np.ndarray:
    """At most `limit` of `indices`, drawn at random (sorted), or all of them."""
    if limit is None or limit >= len(indices):
        return indices
    return np.sort(rng.choice(indices, size=limit, replace=False))


def _synthetic(task: str, synthetic: SyntheticArchiveConfig, sizes: dict[str, int], seed: int) -> ProbeData:
    train_config = replace(synthetic, num_samples=sizes["train"], seed=seed, balanced=False)
    val_config = replace(synthetic, num_samples=sizes["val"], seed=seed + 1, balanced=False)
    if task == "tengeop":
        test = balanced_split(train_config, num_per_class=max(1, sizes["test"] // 10), seed=seed + 2)
    else:
        test = SyntheticWVArchive(replace(synthetic, num_samples=sizes["test"], seed=seed + 2, balanced=False))
    archives = {"train": SyntheticWVArchive(train_config), "val": SyntheticWVArchive(val_config), "test": test}
    splits = {name: ProbeSplit(ds, None, f"synthetic-wv {ds.config!r}") for name, ds in archives.items()}
    return ProbeData(name="synthetic-wv", synthetic=True, splits=splits)


def _tengeop(root: str, sizes: dict[str, int | None], seed: int, fractions: Sequence[float]) -> ProbeData:
    splits = {}
    for name in SPLITS:
        dataset = TenGeoPFolder(root, split=name, seed=seed, fractions=fractions)
        rng = np.random.default_rng([seed, SPLITS.index(name)])
        indices = _cap(np.arange(len(dataset), dtype=np.int64), sizes[name], rng)
        description = f"tengeop-folder {Path(root).resolve()} split={name} seed={seed} files={_files_digest(dataset)}"
        splits[name] = ProbeSplit(dataset, indices, description)
    return ProbeData(name=f"TenGeoP-SARwv ({Path(root).name})", synthetic=False, splits=splits)


def _table(path: str, task: str, sizes: dict[str, int | None], seed: int, fractions: Sequence[float]) -> ProbeData:
    table = RegressionTable(path, target=TASKS[task]["target"])
    description = f"table {Path(path).resolve()} target={table.target} seed={seed} files={_files_digest(table)}"
    splits = {}
    for name in SPLITS:
        chosen = split_indices(len(table), name, fractions, np.random.default_rng(seed))
        indices = _cap(chosen, sizes[name], np.random.default_rng([seed, SPLITS.index(name)]))
        splits[name] = ProbeSplit(table, indices, f"{description} split={name}")
    return ProbeData(name=Path(path).name, synthetic=False, splits=splits, skipped_records=list(table.skipped))


def build_probe_data(
    spec: str,
    task: str,
    synthetic: SyntheticArchiveConfig,
    sizes: dict[str, int | None],
    seed: int = 0,
    fractions: Sequence[float] = (0.8, 0.05, 0.15),
) -> ProbeData:
    """Parse `spec` ("synthetic", "tengeop:DIR" or "table:FILE") into train/val/test splits for `task`.

    Args:
        synthetic: how synthetic vignettes are rendered (its size and seed are set per split).
        sizes: samples per split ("train", "val", "test"); None = the whole split (synthetic: 2000 / 500 / 500).
        seed: archive seeds (synthetic) or the shuffle seed of the file splits.
        fractions: train/val/test fractions of the file-backed splits.
    """
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; valid tasks: {sorted(TASKS)}")
    kind, _, location = spec.partition(":")
    if kind not in DATA_KINDS:
        raise ValueError(f"unknown data spec {spec!r}; expected 'synthetic', 'tengeop:DIR' or 'table:FILE'")
    if kind == "synthetic":
        if location:
            raise ValueError(f"the synthetic archive takes no location (got {spec!r})")
        defaults = {"train": 2000, "val": 500, "test": 500}
        return _synthetic(task, synthetic, {k: sizes.get(k) or v for k, v in defaults.items()}, seed)
    if not location:
        raise ValueError(f"data spec {spec!r} needs a location: '{kind}:PATH'")
    if kind == "tengeop":
        if task != "tengeop":
            raise ValueError(f"a TenGeoP folder has class labels only; task {task!r} needs 'table:FILE' or synthetic")
        return _tengeop(location, sizes, seed, fractions)
    if task == "tengeop":
        raise ValueError("a regression table has no TenGeoP classes; use 'tengeop:DIR' or synthetic for tengeop")
    return _table(location, task, sizes, seed, fractions)

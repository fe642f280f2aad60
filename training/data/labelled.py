"""Labelled downstream datasets for the probes: TenGeoP-SARwv class folders and regression tables (Hs, wind)."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from oceansar_hf.tasks import REGRESSION_TARGETS, TENGEOP_CLASSES, TENGEOP_LETTERS

from .readers import READERS_BY_SUFFIX, FileDataset, read_tiff

LETTER_TO_LABEL = {letter: label for label, letter in enumerate(TENGEOP_LETTERS)}
SPLITS = ("train", "val", "test")
"""The splits of labelled data, in the order of `split_indices`' fractions."""


def split_indices(count: int, split: str, fractions: Sequence[float], rng: np.random.Generator) -> np.ndarray:
    """Indices of ``split`` among ``count`` items after a shuffle by ``rng``; sizes round(f·count), test the rest."""
    order = rng.permutation(count)
    n_train = round(fractions[0] * count)
    n_val = min(round(fractions[1] * count), count - n_train)
    bounds = {"train": (0, n_train), "val": (n_train, n_train + n_val), "test": (n_train + n_val, count)}
    start, stop = bounds[split]
    return np.sort(order[start:stop])


class TenGeoPFolder(FileDataset):
    """The TenGeoP-SARwv layout: one folder per class named by its letter (`TENGEOP_LETTERS`), GeoTIFF vignettes.

    Each class is split on its own (files sorted by name, shuffled with ``default_rng([seed, class_id])``) into
    train/val/test by ``fractions``, so every split keeps the class proportions and the split is reproducible.
    Folder names are matched case-insensitively; hidden folders and plain files at the root are ignored. A folder
    that is not a class letter raises ``ValueError`` (``strict=True``) or is skipped with a warning.
    """

    def __init__(
        self,
        root: str | Path,
        split: str = "train",
        seed: int = 42,
        fractions: Sequence[float] = (0.8, 0.05, 0.15),
        strict: bool = True,
        pattern: str = "*.tif*",
    ) -> None:
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        if len(fractions) != 3 or min(fractions) < 0 or not math.isclose(sum(fractions), 1.0, abs_tol=1e-6):
            raise ValueError(
                f"fractions must be three non-negative numbers (train, val, test) summing to 1, got {tuple(fractions)}"
            )
        self.root = Path(root)
        if not self.root.is_dir():
            raise ValueError(f"{self.root} is not a directory (expected class folders {', '.join(TENGEOP_LETTERS)})")
        self.split = split
        files: list[Path] = []
        labels: list[int] = []
        for folder in sorted(p for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            label = LETTER_TO_LABEL.get(folder.name.upper())
            if label is None:
                message = f"{folder}: unknown TenGeoP class folder {folder.name!r}; valid class letters: " + ", ".join(
                    f"{k} ({n})" for k, n in zip(TENGEOP_LETTERS, TENGEOP_CLASSES, strict=True)
                )
                if strict:
                    raise ValueError(message)
                warnings.warn(message + " -- skipped", stacklevel=2)
                continue
            class_files = sorted(p for p in folder.glob(pattern) if p.is_file())
            chosen = split_indices(len(class_files), split, fractions, np.random.default_rng([seed, label]))
            files.extend(class_files[i] for i in chosen)
            labels.extend([label] * len(chosen))
        if not files:
            raise ValueError(f"no files matching {pattern!r} in the class folders of {self.root} for split {split!r}")
        super().__init__(files, read_tiff, labels)


class RegressionTable(FileDataset):
    """Vignettes listed in a CSV or parquet table with a regression target (``wave_height`` or ``wind_speed``).

    Args:
        table_path: ``.csv`` or ``.parquet`` file with a column of image paths and the target column (optional
            columns: ``incidence_angle``, ``label``, the other target).
        target: the column to regress, ``"wave_height"`` (m) or ``"wind_speed"`` (m/s).
        image_root: folder that relative image paths are resolved against (default: the table's folder).
        path_column: the image path column.

    Rows with an empty path, a missing file, an unsupported file type or a missing/non-finite target are skipped at
    construction with one warning naming the rows; ``n_skipped`` counts them and ``skipped`` lists them.
    """

    def __init__(
        self,
        table_path: str | Path,
        target: str = "wave_height",
        image_root: str | Path | None = None,
        path_column: str = "path",
    ) -> None:
        if target not in REGRESSION_TARGETS:
            raise ValueError(f"target must be one of {REGRESSION_TARGETS}, got {target!r}")
        self.table_path = Path(table_path)
        columns = _read_table(self.table_path)
        for needed in (path_column, target):
            if needed not in columns:
                raise ValueError(f"{self.table_path}: no column {needed!r}; columns are {list(columns)}")
        root = Path(image_root) if image_root is not None else self.table_path.parent
        float_keys = [k for k in ("wave_height", "wind_speed", "incidence_angle") if k in columns]
        files: list[Path] = []
        kept_rows: list[int] = []
        self.skipped: list[str] = []
        for row, (raw_path, value) in enumerate(zip(columns[path_column], columns[target], strict=True)):
            reason = _row_problem(raw_path, value, root)
            if reason:
                self.skipped.append(f"row {row} ({raw_path}): {reason}")
                continue
            files.append(_resolve(raw_path, root))
            kept_rows.append(row)
        self.n_skipped = len(self.skipped)
        if self.skipped:
            shown = "; ".join(self.skipped[:20]) + (" ..." if self.n_skipped > 20 else "")
            warnings.warn(f"{self.table_path}: skipped {self.n_skipped} rows: {shown}", stacklevel=2)
        if not files:
            raise ValueError(f"{self.table_path}: no usable rows (all {self.n_skipped} skipped)")
        self.target = target
        targets = {k: [_to_float(columns[k][r]) for r in kept_rows] for k in float_keys}
        label_values = columns.get("label")
        labels = None if label_values is None else [_to_label(label_values[r]) for r in kept_rows]
        super().__init__(files, _read_by_suffix, labels, targets)


def _read_table(path: Path) -> dict[str, list]:
    """Columns of a CSV or parquet table as Python lists (nulls as None)."""
    if not path.is_file():
        raise ValueError(f"{path}: table file not found")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        from pyarrow import csv

        table = csv.read_csv(path)
    elif suffix in (".parquet", ".pq"):
        from pyarrow import parquet

        table = parquet.read_table(path)
    else:
        raise ValueError(f"{path}: expected a .csv or .parquet table, got {suffix!r}")
    return table.to_pydict()


def _resolve(raw_path: str, root: Path) -> Path:
    path = Path(raw_path)
    return path if path.is_absolute() else root / path


def _to_float(value: object) -> float:
    return math.nan if value is None else float(value)  # type: ignore[arg-type]


def _to_label(value: object) -> int:
    return -1 if value is None else int(value)  # type: ignore[call-overload]


def _row_problem(raw_path: object, value: object, root: Path) -> str:
    """Why a table row is unusable ("" when it is fine)."""
    if raw_path is None or str(raw_path) == "":
        return "empty image path"
    if value is None:
        return "missing target"
    try:
        if not math.isfinite(float(value)):  # type: ignore[arg-type]
            return f"non-finite target {value}"
    except (TypeError, ValueError):
        return f"non-numeric target {value!r}"
    path = _resolve(str(raw_path), root)
    if path.suffix.lower() not in READERS_BY_SUFFIX:
        return f"unsupported file type (readable: {sorted(READERS_BY_SUFFIX)})"
    if not path.is_file():
        return f"file not found: {path}"
    return ""


def _read_by_suffix(path: Path) -> np.ndarray:
    return READERS_BY_SUFFIX[path.suffix.lower()](path)

"""Lazy readers of SAR vignettes: GeoTIFF, ``.npy`` and 8/16-bit image folders, Hugging Face ``datasets``.

Every reader lists its records at construction and reads one image per ``ds[i]`` (random access by index), returning
the sample dict of the data contract: ``image`` (H, W) float32 in the raw units of the source, ``index``, ``label``
(TenGeoP id or -1) and ``wind_speed`` / ``wave_height`` / ``incidence_angle`` (NaN when unknown). An unreadable file,
a wrong shape or an all-NaN image raises `CorruptSampleError`; an empty dataset raises ``ValueError`` at construction.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import tifffile
from PIL import Image

from oceansar_hf.tasks import TENGEOP_CLASSES, UNKNOWN_LABEL

from .errors import CorruptSampleError
from .synthetic import SyntheticArchiveConfig, SyntheticWVArchive

TARGET_KEYS = ("wind_speed", "wave_height", "incidence_angle")
"""Optional float sample keys (NaN when unknown): wind speed (m/s), significant wave height (m), incidence (deg)."""


def validate_image(array: Any, description: str) -> np.ndarray:
    """Check and convert a decoded image to (H, W) float32.

    A (1, H, W) or (H, W, 1) array is squeezed; anything else that is not 2-D, an empty, complex or non-numeric array,
    or an image whose pixels are all NaN raises `CorruptSampleError` naming ``description``.
    """
    arr = np.asarray(array)
    if arr.ndim == 3 and arr.shape[0] == 1:
        arr = arr[0]
    elif arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim != 2 or arr.size == 0:
        raise CorruptSampleError(
            description, f"expected a single-channel image of shape (H, W), (1, H, W) or (H, W, 1), got {arr.shape}"
        )
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating) or arr.dtype == bool):
        raise CorruptSampleError(description, f"expected real-valued pixels, got dtype {arr.dtype}")
    image = arr.astype(np.float32)
    if np.isnan(image).all():
        raise CorruptSampleError(description, "all pixels are NaN")
    return image


def make_sample(index: int, image: np.ndarray, label: int = -1, **targets: float) -> dict:
    """The contract's sample dict; targets not given are NaN."""
    sample: dict[str, Any] = {"image": image, "index": int(index), "label": int(label)}
    for key in TARGET_KEYS:
        value = targets.get(key)
        sample[key] = math.nan if value is None else float(value)
    return sample


# --------------------------------------------------------------------------------------------- file decoders


def read_tiff(path: Path) -> np.ndarray:
    """First image of a (Geo)TIFF file, any dtype, via tifffile."""
    try:
        return tifffile.imread(path)
    except Exception as error:  # tifffile raises many types (TiffFileError, ValueError, OSError, struct.error...)
        raise CorruptSampleError(str(path), f"unreadable TIFF ({type(error).__name__}: {error})") from error


def read_npy(path: Path) -> np.ndarray:
    """A ``.npy`` array, memory-mapped (``allow_pickle=False``); `validate_image` copies the pixels out."""
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise CorruptSampleError(str(path), f"unreadable .npy ({type(error).__name__}: {error})") from error


def pil_to_array(image: Image.Image, description: str) -> np.ndarray:
    """Pixels of a PIL image at their full bit depth: "L" -> uint8, "I;16" -> uint16, "I" -> int32, "F" -> float32.

    Palette images ("P") are converted to "L"; multi-band images stay (H, W, C) and are rejected by `validate_image`.
    """
    try:
        image.load()
    except (OSError, ValueError, SyntaxError) as error:
        raise CorruptSampleError(description, f"undecodable image ({type(error).__name__}: {error})") from error
    if image.mode == "P":
        image = image.convert("L")
    return np.asarray(image)


def read_pil(path: Path) -> np.ndarray:
    """An image file readable by Pillow (PNG quicklooks, 8 or 16 bit)."""
    try:
        with Image.open(path) as image:
            return pil_to_array(image, str(path))
    except CorruptSampleError:
        raise
    except (OSError, ValueError, SyntaxError) as error:
        raise CorruptSampleError(str(path), f"unreadable image ({type(error).__name__}: {error})") from error


READERS_BY_SUFFIX: dict[str, Callable[[Path], np.ndarray]] = {
    ".tif": read_tiff,
    ".tiff": read_tiff,
    ".npy": read_npy,
    ".png": read_pil,
    ".jpg": read_pil,
    ".jpeg": read_pil,
}
"""File readers by lower-case suffix (used by tables that mix file types)."""


def list_files(root: str | Path, patterns: str | Sequence[str]) -> list[Path]:
    """Sorted files under ``root`` matching any glob pattern; ValueError naming both if there are none."""
    root = Path(root)
    patterns = [patterns] if isinstance(patterns, str) else list(patterns)
    if not root.is_dir():
        raise ValueError(f"{root} is not a directory (looked for files matching {patterns})")
    files = sorted({path for pattern in patterns for path in root.glob(pattern) if path.is_file()})
    if not files:
        raise ValueError(f"no files matching {patterns} under {root}")
    return files


# ------------------------------------------------------------------------------------------------ datasets


class FileDataset:
    """A dataset over an explicit list of image files, one sample per file.

    Args:
        files: the image files, in dataset order.
        read: decoder of one file to an array (raises `CorruptSampleError` when unreadable).
        labels: class id per file (default -1 for all).
        targets: optional per-file float columns keyed by `TARGET_KEYS` names.
    """

    def __init__(
        self,
        files: Sequence[Path],
        read: Callable[[Path], np.ndarray],
        labels: Sequence[int] | None = None,
        targets: Mapping[str, Sequence[float]] | None = None,
    ) -> None:
        if not files:
            raise ValueError("a FileDataset needs at least one file")
        unknown = set(targets or {}) - set(TARGET_KEYS)
        if unknown:
            raise ValueError(f"unknown target columns {sorted(unknown)}; valid: {TARGET_KEYS}")
        self.files = list(files)
        self._read = read
        self._labels = np.asarray(labels if labels is not None else [-1] * len(self.files), dtype=np.int64)
        self.targets = {key: list(values) for key, values in (targets or {}).items()}

    def __len__(self) -> int:
        return len(self.files)

    def describe(self, index: int) -> str:
        return str(self.files[index])

    def labels(self) -> np.ndarray:
        """Class id of every sample, (N,) int64 (-1 when unknown), without reading any image."""
        return self._labels.copy()

    def __getitem__(self, index: int) -> dict:
        index = int(index)
        path = self.files[index]
        image = validate_image(self._read(path), str(path))
        targets = {key: values[index] for key, values in self.targets.items()}
        return make_sample(index, image, int(self._labels[index]), **targets)


class _FolderDataset(FileDataset):
    """Files under ``root`` matching ``pattern`` (default: the class's ``DEFAULT_PATTERN``), sorted by path.

    ``class_to_label`` maps a file's parent folder name to its class id; files whose parent folder is not in the
    mapping (or all files, without a mapping) get label -1.
    """

    DEFAULT_PATTERN: str = ""
    READ: Callable[[Path], np.ndarray]

    def __init__(
        self,
        root: str | Path,
        pattern: str | Sequence[str] | None = None,
        class_to_label: Mapping[str, int] | None = None,
    ) -> None:
        self.root = Path(root)
        files = list_files(self.root, pattern or self.DEFAULT_PATTERN)
        labels = [(class_to_label or {}).get(path.parent.name, -1) for path in files]
        super().__init__(files, type(self).READ, labels)


class GeoTiffFolder(_FolderDataset):
    """(Geo)TIFF vignettes (any dtype: uint16 DN, float32 σ0 ...) read with tifffile; pattern ``**/*.tif*``."""

    DEFAULT_PATTERN = "**/*.tif*"
    READ = staticmethod(read_tiff)


class NpyFolder(_FolderDataset):
    """``.npy`` vignettes, memory-mapped on read; pattern ``**/*.npy``."""

    DEFAULT_PATTERN = "**/*.npy"
    READ = staticmethod(read_npy)


class ImageFolder(_FolderDataset):
    """PNG (or other Pillow-readable) vignettes at full bit depth, e.g. 8-bit "L" quicklooks; pattern ``**/*.png``."""

    DEFAULT_PATTERN = "**/*.png"
    READ = staticmethod(read_pil)


# -------------------------------------------------------------------------------------- Hugging Face datasets

_ARROW_MARKERS = ("dataset_info.json", "state.json", "dataset_dict.json")


def _select_split(dataset: Any, split: str | None, source: str) -> Any:
    """The ``split`` of a DatasetDict (the only one when ``split`` is None); a Dataset passes through."""
    import datasets

    if not isinstance(dataset, datasets.DatasetDict):
        return dataset
    names = list(dataset.keys())
    if split is None and len(names) == 1:
        return dataset[names[0]]
    if split not in dataset:
        raise ValueError(f"{source}: choose split= one of {names} (got {split!r})")
    return dataset[split]


def _load_hf_dataset(path_or_dataset: Any, split: str | None, cache_dir: str | None) -> tuple[Any, str]:
    """(datasets.Dataset, source name) from a Dataset/DatasetDict, an arrow folder or parquet file(s)."""
    import datasets

    if isinstance(path_or_dataset, datasets.Dataset | datasets.DatasetDict):
        return _select_split(path_or_dataset, split, "dataset"), "dataset"
    path = Path(path_or_dataset)
    source = str(path)
    if path.is_dir() and any((path / marker).exists() for marker in _ARROW_MARKERS):
        return _select_split(datasets.load_from_disk(str(path)), split, source), source
    if path.is_file() and path.suffix == ".parquet":
        files = [path]
    elif path.is_dir():
        files = sorted(path.glob("**/*.parquet"))
    else:
        files = []
    if not files:
        raise ValueError(
            f"{path}: expected an arrow folder saved by save_to_disk (with one of {list(_ARROW_MARKERS)}), "
            "a .parquet file or a folder with files matching ['**/*.parquet']"
        )
    if split not in (None, "train"):
        raise ValueError(f"{source}: parquet files load as a single split; pass the files of split {split!r} instead")
    data_files = [str(f) for f in files]
    return datasets.load_dataset("parquet", data_files=data_files, split="train", cache_dir=cache_dir), source


class HFDatasetReader:
    """A Hugging Face ``datasets`` table of vignettes.

    Args:
        path_or_dataset: a ``datasets.Dataset``/``DatasetDict``, a folder saved with ``save_to_disk``, a ``.parquet``
            file or a folder of parquet files (loaded offline with ``load_dataset("parquet", ...)``).
        image_column: either a ``datasets.Image`` feature (decoded here with Pillow at full bit depth: "L", "I;16",
            "I", "F"; never reduced to 8 bits) or an array / nested-list column.
        label_column: integer class column (default: ``"label"`` when present); values outside -1..9 make the row
            corrupt.
        split: which split of a DatasetDict (optional when there is only one).
        cache_dir: ``datasets`` cache for parquet conversion (default: the ``datasets`` cache).

    Columns named ``wind_speed``, ``wave_height`` and ``incidence_angle`` become the sample's targets (None -> NaN).
    """

    def __init__(
        self,
        path_or_dataset: Any,
        image_column: str = "image",
        label_column: str | None = None,
        split: str | None = None,
        cache_dir: str | None = None,
    ) -> None:
        import datasets

        dataset, self.source = _load_hf_dataset(path_or_dataset, split, cache_dir)
        columns = dataset.column_names
        if len(dataset) == 0:
            raise ValueError(f"{self.source}: the dataset has no rows")
        if image_column not in columns:
            raise ValueError(f"{self.source}: no image column {image_column!r}; columns are {columns}")
        if label_column is None and "label" in columns:
            label_column = "label"
        if label_column is not None:
            _check_label_feature(dataset.features.get(label_column), label_column, self.source, columns)
        self.image_column = image_column
        self.label_column = label_column
        self._is_image_feature = isinstance(dataset.features[image_column], datasets.Image)
        images = dataset.select_columns([image_column])
        if self._is_image_feature:
            self._images = images.cast_column(image_column, datasets.Image(decode=False))
        else:
            self._images = images.with_format("numpy")
        meta_columns = [c for c in (label_column, *TARGET_KEYS) if c is not None and c in columns]
        self._meta = dataset.select_columns(meta_columns) if meta_columns else None
        self._length = len(dataset)

    def __len__(self) -> int:
        return self._length

    def describe(self, index: int) -> str:
        return f"{self.source}[row {index}]"

    def labels(self) -> np.ndarray:
        """Class id of every row, (N,) int64 (-1 when unknown or without a label column), without decoding images."""
        if self.label_column is None or self._meta is None:
            return np.full(self._length, -1, dtype=np.int64)
        values = self._meta[self.label_column]
        return np.asarray([-1 if v is None else v for v in values], dtype=np.int64)

    def __getitem__(self, index: int) -> dict:
        index = int(index)
        if not 0 <= index < self._length:
            raise IndexError(f"row {index} out of range for {self.source} with {self._length} rows")
        description = self.describe(index)
        value = self._images[index][self.image_column]
        image = validate_image(self._decode(value, description), description)
        row = self._meta[index] if self._meta is not None else {}
        label = row.get(self.label_column) if self.label_column else None
        label = -1 if label is None else int(label)
        if not UNKNOWN_LABEL <= label < len(TENGEOP_CLASSES):
            raise CorruptSampleError(description, f"label {label} outside {UNKNOWN_LABEL}..{len(TENGEOP_CLASSES) - 1}")
        return make_sample(index, image, label, **{key: row[key] for key in TARGET_KEYS if key in row})

    def _decode(self, value: Any, description: str) -> np.ndarray:
        if value is None:
            raise CorruptSampleError(description, "the image cell is empty")
        if not self._is_image_feature:
            return _nested_to_array(value, description)
        try:
            if value.get("bytes"):
                image = Image.open(io.BytesIO(value["bytes"]))
            elif value.get("path"):
                image = Image.open(value["path"])
            else:
                raise CorruptSampleError(description, "the image cell has neither bytes nor path")
        except (OSError, ValueError, SyntaxError) as error:
            raise CorruptSampleError(description, f"undecodable image ({type(error).__name__}: {error})") from error
        return pil_to_array(image, description)


def _nested_to_array(value: Any, description: str) -> np.ndarray:
    """An array cell; ragged rows (an object array of 1-D arrays) are stacked, failing as corrupt."""
    if isinstance(value, np.ndarray) and value.dtype == object:
        try:
            return np.stack([np.asarray(row) for row in value])
        except ValueError as error:
            raise CorruptSampleError(description, f"ragged image rows ({error})") from error
    return np.asarray(value)


def _check_label_feature(feature: Any, column: str, source: str, columns: list[str]) -> None:
    import datasets

    if feature is None:
        raise ValueError(f"{source}: no label column {column!r}; columns are {columns}")
    integer = isinstance(feature, datasets.ClassLabel) or (
        isinstance(feature, datasets.Value) and feature.dtype.startswith(("int", "uint"))
    )
    if not integer:
        raise ValueError(f"{source}: label column {column!r} must hold integer class ids, got {feature}")


# ------------------------------------------------------------------------------------------------- factory

DATASET_KINDS = ("synthetic", "geotiff", "npy", "png", "hf")
_FILE_READERS: dict[str, Callable[..., Any]] = {
    "geotiff": GeoTiffFolder,
    "npy": NpyFolder,
    "png": ImageFolder,
    "hf": HFDatasetReader,
}


def build_dataset(kind: str, path: str | None = None, **kwargs: Any) -> Any:
    """A dataset from the trainer config.

    ``synthetic``: `SyntheticWVArchive` with ``SyntheticArchiveConfig(**kwargs)`` (no path); ``geotiff``, ``npy``,
    ``png``: `GeoTiffFolder`, `NpyFolder`, `ImageFolder` over the folder ``path``; ``hf``: `HFDatasetReader` over an
    arrow folder or parquet file(s). ``kwargs`` go to the reader's constructor.
    """
    if kind not in DATASET_KINDS:
        raise ValueError(f"unknown dataset kind {kind!r}; valid kinds: {', '.join(DATASET_KINDS)}")
    if kind == "synthetic":
        if path is not None:
            raise ValueError(f"the synthetic archive is generated on the fly and takes no path (got {path!r})")
        return SyntheticWVArchive(SyntheticArchiveConfig(**kwargs))
    if path is None:
        raise ValueError(f"dataset kind {kind!r} needs a path")
    return _FILE_READERS[kind](path, **kwargs)

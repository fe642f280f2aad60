"""Lazy readers of SAR vignettes: GeoTIFF, ``.npy`` and 8/16-bit image folders, Hugging Face ``datasets``.

Every reader lists its records at construction and reads one image per ``ds[i]`` (random access by index), returning
the sample dict of the data contract: ``image`` (H, W) float32 in the raw units of the source, ``index``, ``label``
(TenGeoP id or -1) and ``wind_speed`` / ``wave_height`` / ``incidence_angle`` (NaN when unknown). Complex pixels
(Sentinel-1 SLC: CInt16 or complex64 TIFFs) are detected to intensity |z|² (see `detect_intensity`).

What goes wrong is counted, never silent: an unreadable file, a header that claims more than ``max_pixels`` values
(checked before anything is allocated), a wrong shape, an all-NaN image or a ``MemoryError`` while decoding raise
`CorruptSampleError` naming the file (a counted skip under `SkipCorrupt`); folder readers keep the `ListingReport` of
their listing (unreadable sub-folders, symlink loops, dangling symlinks) as ``listing_report`` and log it once; an
empty dataset raises ``ValueError`` at construction.
"""

from __future__ import annotations

import functools
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
from .listing import ListingReport, scan_files
from .parquet import ParquetShards
from .synthetic import SyntheticArchiveConfig, SyntheticWVArchive

TARGET_KEYS = ("wind_speed", "wave_height", "incidence_angle")
"""Optional float sample keys (NaN when unknown): wind speed (m/s), significant wave height (m), incidence (deg)."""

DEFAULT_MAX_PIXELS = 8192 * 8192
"""Largest image, in array elements, that a reader decodes (67,108,864: a 8192² float32 image is 256 MiB). A
Sentinel-1 WV SLC imagette (≈ 4,900 × 5,600) fits; a larger header is a counted skip, read before any allocation."""


def detect_intensity(array: np.ndarray) -> np.ndarray:
    """Detected intensity |z|² = re² + im² of complex pixels, as float32.

    Unit: the square of the source's unit. For a Sentinel-1 SLC measurement TIFF (complex digital numbers DN) this is
    |DN|², *uncalibrated*: σ0 (linear) = |DN|² / A² with A the product's sigmaNought calibration LUT.
    """
    real, imag = array.real.astype(np.float32, copy=False), array.imag.astype(np.float32, copy=False)
    intensity = np.square(real)
    intensity += np.square(imag)
    return intensity


def validate_image(array: Any, description: str) -> np.ndarray:
    """Check and convert a decoded image to (H, W) float32.

    A (1, H, W) or (H, W, 1) array is squeezed; complex pixels become their intensity (`detect_intensity`). Anything
    else that is not 2-D, an empty or non-numeric array, or an image whose pixels are all NaN raises
    `CorruptSampleError` naming ``description``.
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
    if np.iscomplexobj(arr):
        image = detect_intensity(arr)
    elif np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating) or arr.dtype == bool:
        image = arr.astype(np.float32)
    else:
        raise CorruptSampleError(description, f"expected real or complex pixels, got dtype {arr.dtype}")
    if np.isnan(image).all():
        raise CorruptSampleError(description, "all pixels are NaN")
    return image


def check_size(shape: Sequence[int], dtype: Any, max_pixels: int, description: str) -> None:
    """Refuse, before decoding, an image whose header claims more than ``max_pixels`` array elements.

    Raises `CorruptSampleError` naming the shape, dtype, element count and the limit.
    """
    count = math.prod(int(n) for n in shape)
    if count > max_pixels:
        dtype = np.dtype(dtype)
        raise CorruptSampleError(
            description,
            f"the header claims a {' x '.join(map(str, shape))} {dtype} image ({count:,} values, "
            f"{count * dtype.itemsize / 2**30:.1f} GiB), more than max_pixels={max_pixels:,}; skipped without reading "
            "(raise max_pixels to read it)",
        )


def make_sample(index: int, image: np.ndarray, label: int = -1, **targets: float) -> dict:
    """The contract's sample dict; targets not given are NaN."""
    sample: dict[str, Any] = {"image": image, "index": int(index), "label": int(label)}
    for key in TARGET_KEYS:
        value = targets.get(key)
        sample[key] = math.nan if value is None else float(value)
    return sample


# --------------------------------------------------------------------------------------------- file decoders


def read_tiff(path: Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """First image series of a (Geo)TIFF file, any dtype, via tifffile; its size is checked from the header first.

    Complex TIFFs come back complex: complex64/complex128 (SampleFormat 6) and complex integers (SampleFormat 5,
    e.g. Sentinel-1 SLC CInt16: two int16 per pixel), which tifffile widens to complex64.
    """
    try:
        with tifffile.TiffFile(path) as tiff:
            series = tiff.series[0]
            check_size(series.shape, series.dtype, max_pixels, str(path))
            return series.asarray()
    except CorruptSampleError:
        raise
    except MemoryError as error:
        raise CorruptSampleError(str(path), "out of memory while decoding the TIFF") from error
    except Exception as error:  # tifffile raises many types (TiffFileError, ValueError, OSError, struct.error...)
        raise CorruptSampleError(str(path), f"unreadable TIFF ({type(error).__name__}: {error})") from error


_NPY_HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}


def read_npy(path: Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """A ``.npy`` array, memory-mapped (``allow_pickle=False``) after its header's shape and dtype are checked;
    `validate_image` copies the pixels out."""
    try:
        with open(path, "rb") as file:
            version = np.lib.format.read_magic(file)
            if version not in _NPY_HEADER_READERS:
                raise CorruptSampleError(str(path), f"unsupported .npy format version {version}")
            shape, _, dtype = _NPY_HEADER_READERS[version](file)
        if dtype.hasobject:
            raise CorruptSampleError(str(path), f"the array holds Python objects (dtype {dtype}); not read")
        check_size(shape, dtype, max_pixels, str(path))
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except CorruptSampleError:
        raise
    except (ValueError, OSError, EOFError) as error:
        raise CorruptSampleError(str(path), f"unreadable .npy ({type(error).__name__}: {error})") from error


def pil_to_array(image: Image.Image, description: str, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Pixels of a PIL image at their full bit depth: "L" -> uint8, "I;16" -> uint16, "I" -> int32, "F" -> float32.

    The size in the header is checked against ``max_pixels`` before decoding. Palette images ("P") are converted to
    "L"; multi-band images stay (H, W, C) and are rejected by `validate_image`.
    """
    width, height = image.size
    check_size((height, width, len(image.getbands())), np.uint8, max_pixels, description)
    try:
        image.load()
    except (OSError, ValueError, SyntaxError) as error:
        raise CorruptSampleError(description, f"undecodable image ({type(error).__name__}: {error})") from error
    if image.mode == "P":
        image = image.convert("L")
    return np.asarray(image)


def open_pil(source: Path | io.BytesIO, description: str) -> Image.Image:
    """`PIL.Image.open` (lazy: reads the header only) with clear errors, Pillow's decompression-bomb refusal too."""
    try:
        return Image.open(source)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise CorruptSampleError(description, f"unreadable image ({type(error).__name__}: {error})") from error


def read_pil(path: Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """An image file readable by Pillow (PNG quicklooks, 8 or 16 bit)."""
    with open_pil(path, str(path)) as image:
        return pil_to_array(image, str(path), max_pixels)


READERS_BY_SUFFIX: dict[str, Callable[..., np.ndarray]] = {
    ".tif": read_tiff,
    ".tiff": read_tiff,
    ".npy": read_npy,
    ".png": read_pil,
    ".jpg": read_pil,
    ".jpeg": read_pil,
}
"""File readers by lower-case suffix (used by tables that mix file types); each takes ``(path, max_pixels=...)``."""


# ------------------------------------------------------------------------------------------------ datasets


class FileDataset:
    """A dataset over an explicit list of image files, one sample per file.

    Args:
        files: the image files, in dataset order.
        read: decoder of one file to an array (raises `CorruptSampleError` when unreadable).
        labels: class id per file (default -1 for all).
        targets: optional per-file float columns keyed by `TARGET_KEYS` names.

    Attributes:
        listing_report: the `ListingReport` of the folder listing that found the files (None for an explicit list).
    """

    listing_report: ListingReport | None = None

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
        try:
            image = validate_image(self._read(path), str(path))
        except MemoryError as error:
            raise CorruptSampleError(str(path), "out of memory while reading it") from error
        targets = {key: values[index] for key, values in self.targets.items()}
        return make_sample(index, image, int(self._labels[index]), **targets)


class _FolderDataset(FileDataset):
    """Files under ``root`` matching ``pattern`` (default: the class's ``DEFAULT_PATTERN``), sorted by path.

    ``class_to_label`` maps a file's parent folder name to its class id; files whose parent folder is not in the
    mapping (or all files, without a mapping) get label -1. ``max_pixels`` bounds the image size a header may claim.
    The listing's `ListingReport` is kept as ``listing_report`` and logged once.
    """

    DEFAULT_PATTERN: str = ""
    READ: Callable[..., np.ndarray]

    def __init__(
        self,
        root: str | Path,
        pattern: str | Sequence[str] | None = None,
        class_to_label: Mapping[str, int] | None = None,
        max_pixels: int = DEFAULT_MAX_PIXELS,
    ) -> None:
        if max_pixels < 1:
            raise ValueError(f"max_pixels must be >= 1, got {max_pixels}")
        self.root = Path(root)
        files, self.listing_report = scan_files(self.root, pattern or self.DEFAULT_PATTERN)
        self.listing_report.log()
        labels = [(class_to_label or {}).get(path.parent.name, -1) for path in files]
        super().__init__(files, functools.partial(type(self).READ, max_pixels=max_pixels), labels)


class GeoTiffFolder(_FolderDataset):
    """(Geo)TIFF vignettes (uint16 DN, float32 σ0, complex SLC detected to |z|² ...) read with tifffile; pattern
    ``**/*.tif*``."""

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


def _load_from_disk(path: Path) -> Any:
    """`datasets.load_from_disk` (memory-mapped Arrow files), naming the unreadable shard when it fails."""
    import datasets

    try:
        return datasets.load_from_disk(str(path))
    except (OSError, ValueError) as error:
        bad = []
        for shard in sorted(path.glob("**/*.arrow")):
            try:
                datasets.Dataset.from_file(str(shard))
            except (OSError, ValueError) as shard_error:
                bad.append(f"{shard} ({shard_error})")
        where = f"unreadable Arrow shards: {'; '.join(bad)}" if bad else f"{type(error).__name__}: {error}"
        raise ValueError(f"{path}: cannot load the saved dataset ({where})") from error


class _DatasetRows:
    """`ParquetShards`' ``row`` / ``column`` interface over a ``datasets.Dataset`` (memory-mapped when on disk).

    The image column is read undecoded (an ``Image`` feature as its bytes/path dict, arrays as numpy) and apart
    from the other columns, which come as Python values.
    """

    def __init__(self, dataset: Any, image_column: str) -> None:
        import datasets

        images = dataset.select_columns([image_column])
        if isinstance(dataset.features.get(image_column), datasets.Image):
            self._images = images.cast_column(image_column, datasets.Image(decode=False))
        else:
            self._images = images.with_format("numpy")
        self._others = dataset.remove_columns([image_column])
        self._image_column, self._length = image_column, len(dataset)

    def __len__(self) -> int:
        return self._length

    def row(self, index: int, columns: Sequence[str]) -> dict[str, Any]:
        values = self._images[index] if list(columns) == [self._image_column] else self._others[index]
        return {column: values[column] for column in columns}

    def column(self, name: str) -> list[Any]:
        return list(self._others[name])


def _parquet_files(path: Path) -> tuple[list[Path], ListingReport | None]:
    """The parquet file ``path`` or the ``**/*.parquet`` files under the folder ``path`` (with their listing)."""
    if path.is_file() and path.suffix == ".parquet":
        return [path], None
    expected = (
        f"{path}: expected an arrow folder saved by save_to_disk (with one of {list(_ARROW_MARKERS)}), "
        "a .parquet file or a folder with files matching ['**/*.parquet']"
    )
    if not path.is_dir():
        raise ValueError(expected)
    try:
        return scan_files(path, "**/*.parquet")
    except ValueError as error:
        raise ValueError(f"{expected} ({error})") from error


class HFDatasetReader:
    """A Hugging Face ``datasets`` table of vignettes.

    Args:
        path_or_dataset: a ``datasets.Dataset``/``DatasetDict``, a folder saved with ``save_to_disk`` (Arrow files,
            memory-mapped), a ``.parquet`` file or a folder of parquet shards.
        image_column: either a ``datasets.Image`` feature (decoded here with Pillow at full bit depth: "L", "I;16",
            "I", "F"; never reduced to 8 bits) or an array / nested-list column (complex arrays are detected).
        label_column: integer class column (default: ``"label"`` when present); values outside -1..9 make the row
            corrupt.
        split: which split of a DatasetDict (optional when there is only one).
        cache_dir: parquet only. None (default): the shards are read in place (`ParquetShards`: memory-mapped, row
            group by row group, nothing copied). A folder: the shards are converted once into Arrow files there
            (``datasets.Dataset.from_parquet``; a full copy, reused by later runs) for fast random access to shards
            with large row groups.
        max_pixels: largest encoded image (``Image`` feature) decoded, in pixels; see `DEFAULT_MAX_PIXELS`.

    Columns named ``wind_speed``, ``wave_height`` and ``incidence_angle`` become the sample's targets (None -> NaN).
    ``listing_report`` is the `ListingReport` of a parquet folder's listing (None otherwise).
    """

    def __init__(
        self,
        path_or_dataset: Any,
        image_column: str = "image",
        label_column: str | None = None,
        split: str | None = None,
        cache_dir: str | None = None,
        max_pixels: int = DEFAULT_MAX_PIXELS,
    ) -> None:
        import datasets

        self.listing_report: ListingReport | None = None
        rows: Any
        if isinstance(path_or_dataset, datasets.Dataset | datasets.DatasetDict):
            self.source = "dataset"
            rows = _select_split(path_or_dataset, split, self.source)
        elif (path := Path(path_or_dataset)).is_dir() and any((path / m).exists() for m in _ARROW_MARKERS):
            self.source = str(path)
            rows = _select_split(_load_from_disk(path), split, self.source)
        else:
            self.source = str(path)
            files, self.listing_report = _parquet_files(path)
            if self.listing_report is not None:
                self.listing_report.log()
            if split not in (None, "train"):
                raise ValueError(
                    f"{self.source}: parquet files load as a single split; pass the files of split {split!r} instead"
                )
            if cache_dir is None:
                rows = ParquetShards(files)
            else:
                rows = datasets.Dataset.from_parquet([str(f) for f in files], cache_dir=cache_dir)
        columns = rows.column_names
        if len(rows) == 0:
            raise ValueError(f"{self.source}: the dataset has no rows")
        if image_column not in columns:
            raise ValueError(f"{self.source}: no image column {image_column!r}; columns are {columns}")
        if label_column is None and "label" in columns:
            label_column = "label"
        if label_column is not None:
            _check_label_feature(rows.features.get(label_column), label_column, self.source, columns)
        self.image_column, self.label_column = image_column, label_column
        self._is_image_feature = isinstance(rows.features[image_column], datasets.Image)
        self._meta_columns = [c for c in (label_column, *TARGET_KEYS) if c is not None and c in columns]
        if not isinstance(rows, ParquetShards):
            rows = _DatasetRows(rows, image_column)
        self._rows, self._length, self._max_pixels = rows, len(rows), max_pixels

    def __len__(self) -> int:
        return self._length

    def describe(self, index: int) -> str:
        if isinstance(self._rows, ParquetShards):
            return self._rows.describe(index)
        return f"{self.source}[row {index}]"

    def labels(self) -> np.ndarray:
        """Class id of every row, (N,) int64 (-1 when unknown or without a label column), without decoding images."""
        if self.label_column is None:
            return np.full(self._length, -1, dtype=np.int64)
        return np.asarray([-1 if v is None else v for v in self._rows.column(self.label_column)], dtype=np.int64)

    def __getitem__(self, index: int) -> dict:
        index = int(index)
        if not 0 <= index < self._length:
            raise IndexError(f"row {index} out of range for {self.source} with {self._length} rows")
        description = self.describe(index)
        try:
            cell = self._rows.row(index, [self.image_column])[self.image_column]
            image = validate_image(self._decode(cell, description), description)
        except MemoryError as error:
            raise CorruptSampleError(description, "out of memory while reading it") from error
        row = self._rows.row(index, self._meta_columns) if self._meta_columns else {}
        label = row.get(self.label_column) if self.label_column else None
        label = -1 if label is None else int(label)
        if not UNKNOWN_LABEL <= label < len(TENGEOP_CLASSES):
            raise CorruptSampleError(description, f"label {label} outside {UNKNOWN_LABEL}..{len(TENGEOP_CLASSES) - 1}")
        return make_sample(index, image, label, **{key: row[key] for key in TARGET_KEYS if key in row})

    def _decode(self, value: Any, description: str) -> np.ndarray:
        if value is None:
            raise CorruptSampleError(description, "the image cell is empty")
        if not self._is_image_feature:
            return nested_to_array(value, description)
        if value.get("bytes"):
            source: Path | io.BytesIO = io.BytesIO(value["bytes"])
        elif value.get("path"):
            source = Path(value["path"])
        else:
            raise CorruptSampleError(description, "the image cell has neither bytes nor path")
        with open_pil(source, description) as image:
            return pil_to_array(image, description, self._max_pixels)


def nested_to_array(value: Any, description: str) -> np.ndarray:
    """An array cell as one numpy array: object arrays of rows (how pyarrow and ``datasets`` return nested lists)
    are stacked level by level; ragged rows raise `CorruptSampleError`."""
    if not (isinstance(value, np.ndarray) and value.dtype == object):
        return np.asarray(value)
    rows = [nested_to_array(row, description) for row in value]
    if not rows:
        return np.empty((0,), np.float32)  # refused by `validate_image` as an empty image
    try:
        return np.stack(rows)
    except ValueError as error:
        raise CorruptSampleError(description, f"ragged image rows ({error})") from error


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

DATASET_KINDS = ("synthetic", "geotiff", "npy", "png", "hf", "safe")
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
    if kind == "safe":
        from .sentinel1 import SafeArchive  # imports this module: imported on use

        return SafeArchive(path, **kwargs)
    return _FILE_READERS[kind](path, **kwargs)

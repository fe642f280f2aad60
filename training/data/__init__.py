"""Data room: readers (GeoTIFF, .npy, PNG, Hugging Face datasets), the synthetic WV archive, skip-and-count collation
and labelled downstream sets. See ARCHITECTURE.md, "Samples (training/data)", for the sample contract."""

from .collate import CorruptSampleWarning, SkipCorrupt, collate_samples
from .errors import CorruptSampleError
from .labelled import TENGEOP_LETTERS, RegressionTable, TenGeoPFolder
from .readers import (
    DATASET_KINDS,
    FileDataset,
    GeoTiffFolder,
    HFDatasetReader,
    ImageFolder,
    NpyFolder,
    build_dataset,
    validate_image,
)
from .synthetic import (
    CLASS_NAMES,
    NUM_CLASSES,
    SyntheticArchiveConfig,
    SyntheticWVArchive,
    balanced_split,
)

__all__ = [
    "CLASS_NAMES",
    "DATASET_KINDS",
    "NUM_CLASSES",
    "TENGEOP_LETTERS",
    "CorruptSampleError",
    "CorruptSampleWarning",
    "FileDataset",
    "GeoTiffFolder",
    "HFDatasetReader",
    "ImageFolder",
    "NpyFolder",
    "RegressionTable",
    "SkipCorrupt",
    "SyntheticArchiveConfig",
    "SyntheticWVArchive",
    "TenGeoPFolder",
    "balanced_split",
    "build_dataset",
    "collate_samples",
    "validate_image",
]

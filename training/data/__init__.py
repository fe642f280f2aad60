# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Data room: readers (GeoTIFF, .npy, PNG, Hugging Face datasets, parquet shards read in place) with counted listings,
the synthetic WV archive, skip-and-count collation and labelled downstream sets. See ARCHITECTURE.md, "Samples
(training/data)", for the sample contract."""

from .collate import CorruptSampleWarning, SkipCorrupt, Skipped, collate_samples
from .errors import CorruptSampleError
from .labelled import SPLITS, RegressionTable, TenGeoPFolder, split_indices
from .listing import ListingReport, scan_files
from .parquet import ParquetShards
from .readers import (
    DATASET_KINDS,
    DEFAULT_MAX_PIXELS,
    FileDataset,
    GeoTiffFolder,
    HFDatasetReader,
    ImageFolder,
    NpyFolder,
    build_dataset,
    detect_intensity,
    validate_image,
)
from .synthetic import SyntheticArchiveConfig, SyntheticWVArchive, balanced_split

__all__ = [
    "DATASET_KINDS",
    "DEFAULT_MAX_PIXELS",
    "SPLITS",
    "CorruptSampleError",
    "CorruptSampleWarning",
    "FileDataset",
    "GeoTiffFolder",
    "HFDatasetReader",
    "ImageFolder",
    "ListingReport",
    "NpyFolder",
    "ParquetShards",
    "RegressionTable",
    "SkipCorrupt",
    "Skipped",
    "SyntheticArchiveConfig",
    "SyntheticWVArchive",
    "TenGeoPFolder",
    "balanced_split",
    "build_dataset",
    "collate_samples",
    "detect_intensity",
    "scan_files",
    "split_indices",
    "validate_image",
]

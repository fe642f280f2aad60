# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Sentinel-1 SAFE products as a dataset of σ0 vignettes (`--dataset safe`), read lazily, and the per-product
iteration the ingest job (`training.data.ingest_safe`) writes to parquet shards: the same code path for both."""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import CorruptSampleError
from ..listing import ListingReport
from ..readers import make_sample
from .product import SafeProduct, find_products
from .vignettes import MeasurementMetadata, Sentinel1Options, Vignette, VignetteSpec, plan, read_metadata, read_vignette

logger = logging.getLogger(__name__)


@dataclass
class ProductReport:
    """What reading one product gave: vignettes written or listed, measurements that failed (named, with the reason)
    and tiles skipped for no-data."""

    product: str
    vignettes: int = 0
    failed: list[str] = field(default_factory=list)
    nodata_tiles: int = 0


def plan_product(
    product: SafeProduct, options: Sentinel1Options, report: ProductReport
) -> list[tuple[MeasurementMetadata, VignetteSpec]]:
    """Every vignette of a product; a measurement whose metadata is unreadable is recorded in ``report.failed``.
    Raises `CorruptSampleError` when the product has no usable measurement at all."""
    planned = []
    for measurement in product.measurements(options.polarisations):
        try:
            metadata = read_metadata(product, measurement, options.remove_noise)
        except CorruptSampleError as error:
            report.failed.append(str(error))
            continue
        planned.extend((metadata, spec) for spec in plan(metadata, options))
    if report.failed and not planned:
        raise CorruptSampleError(str(product.path), "; ".join(report.failed))
    return planned


def iterate_product(path: str | Path, options: Sentinel1Options, report: ProductReport) -> Iterator[Vignette]:
    """The vignettes of one product, in order. A measurement that fails (unreadable TIFF, XML) is named in
    ``report.failed`` and the others go on; tiles with too much no-data are counted in ``report.nodata_tiles``."""
    product = SafeProduct(path)
    broken: set[str] = set()
    for metadata, spec in plan_product(product, options, report):
        if spec.measurement.tiff in broken:
            continue
        try:
            vignette = read_vignette(product, metadata, spec, options)
        except CorruptSampleError as error:
            broken.add(spec.measurement.tiff)
            report.failed.append(str(error))
            continue
        if vignette is None:
            report.nodata_tiles += 1
            continue
        report.vignettes += 1
        yield vignette


@functools.lru_cache(maxsize=8)
def _metadata(path: Path, tiff: str, options: Sentinel1Options) -> tuple[SafeProduct, MeasurementMetadata]:
    product = SafeProduct(path)
    measurement = next(m for m in product.measurements(options.polarisations) if m.tiff == tiff)
    return product, read_metadata(product, measurement, options.remove_noise)


class SafeArchive:
    """σ0 vignettes of Sentinel-1 SAFE products (folders or zips), listed at construction from the XML metadata
    alone and read one by one on ``ds[i]`` (the sample contract: ``image`` (H, W) float32 σ0 linear at
    ``options.target_pixel_spacing``, ``incidence_angle`` in degrees).

    A product whose metadata cannot be read is skipped, named in ``failed_products`` and logged at construction; a
    vignette whose pixels cannot be read raises `CorruptSampleError` naming the file (a counted skip under
    `SkipCorrupt`), as does a tile that turns out to be mostly no-data.

    Args:
        paths: product folders, zips, or folders holding them (see `find_products`).
        options: `Sentinel1Options`; ``max_pixels`` overrides its ``max_pixels``.
    """

    def __init__(
        self,
        paths: str | Path | Sequence[str | Path],
        options: Sentinel1Options | None = None,
        max_pixels: int | None = None,
    ) -> None:
        options = options or Sentinel1Options()
        if max_pixels is not None:
            options = Sentinel1Options(**{**vars(options), "max_pixels": max_pixels})
        self.options = options
        products, reports = find_products(paths)
        self.listing_report: ListingReport | None = reports[0] if len(reports) == 1 else None
        self.failed_products: list[str] = []
        self._specs: list[tuple[Path, VignetteSpec]] = []
        for path in products:
            report = ProductReport(path.name)
            try:
                planned = plan_product(SafeProduct(path), options, report)
            except CorruptSampleError as error:
                self.failed_products.append(str(error))
                continue
            self.failed_products.extend(report.failed)
            self._specs.extend((path, spec) for _, spec in planned)
        if self.failed_products:
            logger.warning(
                "%d SAFE product(s) or measurement(s) skipped: %s",
                len(self.failed_products),
                "; ".join(self.failed_products[:3]),
            )
        if not self._specs:
            raise ValueError(f"no readable Sentinel-1 vignette in {paths} ({'; '.join(self.failed_products[:3])})")

    def __len__(self) -> int:
        return len(self._specs)

    def describe(self, index: int) -> str:
        path, spec = self._specs[index]
        return f"{path}/{spec.measurement.tiff}[{spec.number}]"

    def labels(self) -> np.ndarray:
        return np.full(len(self), -1, dtype=np.int64)

    def __getitem__(self, index: int) -> dict:
        index = int(index)
        path, spec = self._specs[index]
        product, metadata = _metadata(path, spec.measurement.tiff, self.options)
        vignette = read_vignette(product, metadata, spec, self.options)
        if vignette is None:
            raise CorruptSampleError(self.describe(index), f"more than {self.options.max_nodata_fraction:.0%} no-data")
        return make_sample(index, vignette.image, incidence_angle=vignette.metadata["incidence_angle"])

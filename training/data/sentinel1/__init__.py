# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Sentinel-1 SAFE products → calibrated σ0 vignettes at a target ground pixel spacing (default 50 m).

`product` (folders and zips, measurement ↔ metadata pairing), `annotation` (geometry, geolocation, bursts), `luts`
(calibration and noise LUTs, bilinear interpolation), `pixels` (windowed TIFF reads with tifffile), `vignettes`
(calibration, multilooking in linear units, WV imagettes and IW/EW tiles) and `dataset` (`SafeArchive` for
`--dataset safe`, and the per-product iteration of the ingest job). Only the standard library, numpy, torch and
tifffile are needed; `imagecodecs` (the `[sar]` extra) adds compressed TIFFs.
"""

from .annotation import Annotation, parse_annotation
from .dataset import ProductReport, SafeArchive, iterate_product
from .luts import NodeGrid, NoiseLut, parse_calibration, parse_noise
from .product import Measurement, SafeProduct, find_products
from .vignettes import Sentinel1Options, Vignette, calibrate, multilook, read_vignette

__all__ = [
    "Annotation",
    "Measurement",
    "NodeGrid",
    "NoiseLut",
    "ProductReport",
    "SafeArchive",
    "SafeProduct",
    "Sentinel1Options",
    "Vignette",
    "calibrate",
    "find_products",
    "iterate_product",
    "multilook",
    "parse_annotation",
    "parse_calibration",
    "parse_noise",
    "read_vignette",
]

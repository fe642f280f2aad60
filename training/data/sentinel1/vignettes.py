# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Sentinel-1 measurements → σ0 vignettes at a target ground pixel spacing, with their metadata.

Wave Mode (WV1/WV2 SLC): every imagette is one vignette (≈ 20 × 20 km → ≈ 400 × 400 px at 50 m). IW/EW (GRD, or
SLC burst by burst) and SM: the image is cut into vignettes of ``vignette_size`` pixels at the target spacing (a ground
size of ``vignette_size × target_pixel_spacing``; incomplete edge tiles are dropped).

Each vignette: pixels → |DN|² (complex SLC: re² + im²) → minus the thermal noise η (optional) → divided by A² of
the sigmaNought LUT (bilinear over the pixel grid): σ0 linear → averaged in linear units to the target spacing
(`oceansar_hf.image_processing_oceansar.resample_intensity`; slant range → ground range for SLC via the incidence
angle at the window's centre). Zero DN pixels are no-data: left out of the averages (an output pixel with none valid
is NaN), and a tile with more than ``max_nodata_fraction`` of them is skipped and counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from oceansar_hf.image_processing_oceansar import resample_intensity

from ..errors import CorruptSampleError
from ..readers import DEFAULT_MAX_PIXELS, detect_intensity
from .annotation import Annotation, parse_annotation
from .luts import NodeGrid, NoiseLut, parse_calibration, parse_noise
from .pixels import Window, read_window
from .product import Measurement, SafeProduct


@dataclass(frozen=True)
class Sentinel1Options:
    """How products become vignettes.

    Attributes:
        target_pixel_spacing: ground pixel spacing of the vignettes (m; OceanSAR-1: 50).
        vignette_size: side (px at the target spacing) of the tiles cut from IW/EW/SM images (WV: whole imagettes).
        remove_noise: subtract the thermal noise LUT η before calibrating (σ0 may then be slightly negative where
            the signal is at the noise floor: kept, unbiased).
        polarisations: measurements read (None: all).
        max_nodata_fraction: tiles with a larger share of zero (no-data) pixels are skipped and counted.
        max_pixels: largest window (values) decoded at once.
    """

    target_pixel_spacing: float = 50.0
    vignette_size: int = 256
    remove_noise: bool = False
    polarisations: tuple[str, ...] | None = ("VV",)
    max_nodata_fraction: float = 0.1
    max_pixels: int = DEFAULT_MAX_PIXELS

    def __post_init__(self) -> None:
        if not self.target_pixel_spacing > 0 or self.vignette_size < 1:
            raise ValueError("target_pixel_spacing and vignette_size must be positive")
        if not 0.0 <= self.max_nodata_fraction <= 1.0:
            raise ValueError(f"max_nodata_fraction must be in [0, 1], got {self.max_nodata_fraction}")


@dataclass(frozen=True)
class MeasurementMetadata:
    """The parsed XML of one measurement."""

    measurement: Measurement
    annotation: Annotation
    calibration: NodeGrid
    noise: NoiseLut | None


@dataclass(frozen=True)
class VignetteSpec:
    """One vignette to read: a window of a measurement, known from the metadata alone. ``number``: the WV imagette
    number, or the tile number in the measurement."""

    measurement: Measurement
    window: Window
    number: int


@dataclass
class Vignette:
    """A σ0 vignette (H, W) float32, linear, at ``pixel_spacing_m``, and its metadata columns."""

    image: np.ndarray
    metadata: dict[str, Any] = field(default_factory=dict)


def read_metadata(product: SafeProduct, measurement: Measurement, remove_noise: bool) -> MeasurementMetadata:
    """Parse a measurement's annotation, calibration and (when ``remove_noise``) noise XML; errors name the file."""
    parsed: dict[str, Any] = {}
    for key, member, parse in (
        ("annotation", measurement.annotation, parse_annotation),
        ("calibration", measurement.calibration, parse_calibration),
        ("noise", measurement.noise if remove_noise else None, parse_noise),
    ):
        if member is None:
            if remove_noise and key == "noise":
                raise CorruptSampleError(product.describe(measurement.tiff), "noise removal asked, no noise XML")
            parsed[key] = None
            continue
        try:
            parsed[key] = parse(product.read(member), where=product.describe(member))
        except CorruptSampleError:
            raise
        except Exception as error:  # ParseError, ValueError, TypeError (a missing element read as None)...
            raise CorruptSampleError(
                product.describe(member), f"unreadable XML ({type(error).__name__}: {error})"
            ) from error
    return MeasurementMetadata(measurement, parsed["annotation"], parsed["calibration"], parsed["noise"])


def plan(metadata: MeasurementMetadata, options: Sentinel1Options) -> list[VignetteSpec]:
    """The vignettes of one measurement: the whole WV imagette, or the tiles of the image (of each TOPS burst)."""
    annotation = metadata.annotation
    if annotation.mode == "WV":
        return [
            VignetteSpec(metadata.measurement, (0, annotation.lines, 0, annotation.samples), annotation.image_number)
        ]
    az, rg = annotation.ground_pixel_spacing()
    tile_rows = max(1, round(options.vignette_size * options.target_pixel_spacing / az))
    tile_cols = max(1, round(options.vignette_size * options.target_pixel_spacing / rg))
    blocks = [(b.first_line, b.stop_line, b.first_sample, b.stop_sample) for b in annotation.bursts] or [
        (0, annotation.lines, 0, annotation.samples)
    ]
    specs = []
    for row0, row1, col0, col1 in blocks:
        for top in range(row0, row1 - tile_rows + 1, tile_rows):
            for left in range(col0, col1 - tile_cols + 1, tile_cols):
                specs.append(
                    VignetteSpec(metadata.measurement, (top, top + tile_rows, left, left + tile_cols), len(specs))
                )
    return specs


def calibrate(raw: np.ndarray, window: Window, calibration: NodeGrid, noise: NoiseLut | None = None) -> np.ndarray:
    """σ0 (linear, float32) of the raw pixels of ``window``: (|DN|² − η) / A², A and η interpolated on its pixels."""
    rows, cols = np.arange(window[0], window[1]), np.arange(window[2], window[3])
    power = detect_intensity(raw) if np.iscomplexobj(raw) else np.square(raw.astype(np.float32))
    if noise is not None:
        power -= noise.interpolate(rows, cols, np.float32)
    lut = calibration.interpolate(rows, cols, np.float32)
    power /= np.square(lut, out=lut)
    return power


def multilook(sigma0: np.ndarray, valid: np.ndarray, pixel_spacing: tuple[float, float], target: float) -> np.ndarray:
    """Average σ0 (linear) over the valid pixels to the target spacing (``sigma0`` is zeroed where not valid, in
    place); output pixels with no valid input are NaN."""
    if valid.all():
        return resample_intensity(torch.from_numpy(sigma0), pixel_spacing, target).numpy()
    sigma0[~valid] = 0.0
    total = resample_intensity(torch.from_numpy(sigma0), pixel_spacing, target).numpy()
    share = resample_intensity(torch.from_numpy(valid.astype(np.float32)), pixel_spacing, target).numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(share > 0, total / share, np.float32(np.nan)).astype(np.float32)


def read_vignette(
    product: SafeProduct, metadata: MeasurementMetadata, spec: VignetteSpec, options: Sentinel1Options
) -> Vignette | None:
    """The σ0 vignette of ``spec`` with its metadata; None when more than ``max_nodata_fraction`` of it is no-data.
    Errors (unreadable TIFF, ...) raise `CorruptSampleError` naming the file."""
    annotation, window = metadata.annotation, spec.window
    description = product.describe(spec.measurement.tiff)
    with product.open(spec.measurement.tiff) as handle:
        raw = read_window(handle, window, (annotation.lines, annotation.samples), description, options.max_pixels)
    valid = raw != 0
    nodata = 1.0 - float(valid.mean())
    if annotation.mode != "WV" and nodata > options.max_nodata_fraction:
        return None
    if not valid.any():
        raise CorruptSampleError(description, f"window {window}: every pixel is zero (no data)")
    sigma0 = calibrate(raw, window, metadata.calibration, metadata.noise)
    line, pixel = (window[0] + window[1] - 1) / 2, (window[2] + window[3] - 1) / 2
    latitude, longitude, incidence = annotation.at(line, pixel)
    image = multilook(sigma0, valid, annotation.ground_pixel_spacing(incidence), options.target_pixel_spacing)
    return Vignette(
        image,
        {
            "product": spec.measurement.product,
            "measurement": spec.measurement.stem,
            "swath": annotation.swath.lower(),
            "imagette": spec.number,
            "polarisation": annotation.polarisation,
            "time": annotation.time_at(line).isoformat(),
            "latitude": latitude,
            "longitude": longitude,
            "incidence_angle": incidence,
            "pixel_spacing_m": float(options.target_pixel_spacing),
            "nodata_fraction": nodata,
        },
    )


__all__ = [
    "Sentinel1Options",
    "Vignette",
    "VignetteSpec",
    "calibrate",
    "multilook",
    "plan",
    "read_metadata",
    "read_vignette",
]

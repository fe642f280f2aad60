# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""SAR image processor: Sentinel-1 backscatter (σ0, σ0 dB, √σ0 or calibrated DN) → `pixel_values` (B, 1, S, S).

Steps, in order, each configurable:

1. units → σ0 linear intensity (float32): `input_kind` says what the pixels hold (see `INPUT_KINDS`); complex SLC
   samples are detected to |z|² first (for `"digital_number"`, σ0 = |DN|² / A² with `calibration_constant` A);
2. invalid pixels: non-finite values, raw values equal to `nodata_value` and non-positive σ0 (zero borders, negative
   values) are replaced by the median σ0 of the valid pixels. They are counted (`PixelReport`), logged, and returned
   with `return_invalid_counts=True`; an image with no valid pixel is refused;
3. resampling to `target_pixel_spacing` (default 50 m) when the image's pixel spacing is known (the `pixel_spacing`
   setting, or per image as a call argument): box averaging of σ0 for integer factors, antialiased bilinear otherwise
   — intensity is averaged in linear units, *before* the log (the mean of log-speckle is biased: ≈ −2.5 dB for
   single-look speckle);
4. resize (bilinear, antialiased) or centre crop to `size`, still in linear σ0;
5. 10·log10(σ0) in dB (values below `log_floor`, in σ0 units, are raised to it first);
6. normalisation: `"fixed"` (default) subtracts the dataset mean and divides by the dataset std stored in the config,
   which keeps the absolute backscatter level that wind speed depends on; `"per_image"` standardises every image on its
   own and so DISCARDS that level (texture-only tasks); `"none"` leaves dB values.

The output always has one channel: SAR is never broadcast to 3 channels and 16-bit data is never squeezed to 8 bits.
Training imports this same transform (`OceanSARImageProcessor.to_pixel_values`).
"""

from __future__ import annotations

import copy
import logging
import math
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from transformers.image_processing_utils import BaseImageProcessor, BatchFeature

logger = logging.getLogger(__name__)

INPUT_KINDS = ("sigma0", "sigma0_db", "sigma0_amplitude", "digital_number")
"""What the pixels hold: `"sigma0"` σ0 linear intensity (what the SAFE ingest writes; the default), `"sigma0_db"`
10·log10 σ0, `"sigma0_amplitude"` √σ0, `"digital_number"` uncalibrated amplitude DN of a Sentinel-1 product, with
σ0 = DN² / A² for the `calibration_constant` A (a complex SLC DN gives |DN|² / A²)."""
LEGACY_INPUT_KINDS = {"amplitude": "sigma0_amplitude", "intensity": "sigma0", "db": "sigma0_db"}
"""Names of earlier versions, still read from saved configs with a warning. Each maps to the kind whose transform is
identical (20·log10 x, 10·log10 x, x), so a saved processor gives the same `pixel_values` as before."""
RESIZE_MODES = ("resize", "center_crop", "none")
NORMALIZATIONS = ("fixed", "per_image", "none")

DEFAULT_TARGET_PIXEL_SPACING = 50.0
"""Ground pixel spacing (m) OceanSAR-1 was trained at ("spatially downsampled to 50 m", model card)."""
# Mean and std of σ0 in dB over the built-in synthetic WV archive (256 px, seed 0, its first 300 images, DN calibrated
# with A = 400): `OceanSARImageProcessor(input_kind="digital_number", calibration_constant=400.0)`, then
# `.fit_normalization(...)`, gave -14.51 dB and 4.13 dB. Refit them for real data: they are properties of the data,
# not of the model.
DEFAULT_MEAN_DB = -14.5
DEFAULT_STD_DB = 4.1

PixelSpacing = float | tuple[float, float]
"""Pixel spacing in metres: one number (square pixels) or (row, column) = (azimuth, ground range)."""


def _size_tuple(size: int | dict[str, int] | tuple[int, int] | list[int]) -> tuple[int, int]:
    if isinstance(size, int):
        pair = size, size
    elif isinstance(size, dict):
        if "height" in size and "width" in size:
            pair = int(size["height"]), int(size["width"])
        elif "shortest_edge" in size:
            pair = int(size["shortest_edge"]), int(size["shortest_edge"])
        else:
            raise ValueError(f"size dict must have 'height' and 'width', got {size}.")
    elif len(size) == 2:
        pair = int(size[0]), int(size[1])
    else:
        raise ValueError(f"size must be an int, (height, width) or {{'height', 'width'}}, got {size!r}.")
    if min(pair) < 1:
        raise ValueError(f"size must be positive (pixels), got {size!r}.")
    return pair


def spacing_pair(spacing: Any, name: str = "pixel_spacing") -> tuple[float, float]:
    """A pixel spacing (one number or a (row, column) pair, metres) as a (row, column) pair of positive floats."""
    values = [float(v) for v in (spacing if isinstance(spacing, (tuple, list, np.ndarray)) else [spacing])]
    if len(values) == 1:
        values *= 2
    if len(values) != 2 or not all(math.isfinite(v) and v > 0 for v in values):
        raise ValueError(
            f"{name} must be a positive number of metres or a (row, column) pair of them, got {spacing!r}."
        )
    return values[0], values[1]


def resample_intensity(
    intensity: torch.Tensor, pixel_spacing: PixelSpacing, target_pixel_spacing: PixelSpacing
) -> torch.Tensor:
    """Resample linear intensity (..., H, W) from `pixel_spacing` to `target_pixel_spacing` (metres).

    Integer factors (e.g. 5 m → 50 m) average boxes of factor² pixels (multilooking; a remainder of fewer than
    `factor` rows or columns at the bottom/right is dropped); other factors use antialiased bilinear resampling (a
    triangle filter as wide as the factor) to `round(H · spacing / target)` pixels. Both are weighted means of
    intensity, so the mean σ0 is kept. Always average intensity, never dB or amplitude.
    """
    rows, cols = spacing_pair(pixel_spacing)
    target_rows, target_cols = spacing_pair(target_pixel_spacing, "target_pixel_spacing")
    factors = (target_rows / rows, target_cols / cols)
    height, width = intensity.shape[-2:]
    batch = intensity.reshape(-1, 1, height, width)
    kernel = tuple(round(f) for f in factors)
    if all(abs(f - k) < 1e-6 * k and k >= 1 for f, k in zip(factors, kernel, strict=True)):
        if kernel == (1, 1):
            return intensity
        if height < kernel[0] or width < kernel[1]:
            raise ValueError(
                f"a {height} x {width} image at {rows:g} x {cols:g} m is smaller than one {target_rows:g} x "
                f"{target_cols:g} m pixel."
            )
        out = F.avg_pool2d(batch, kernel_size=kernel, stride=kernel)
    else:
        new = (max(1, round(height / factors[0])), max(1, round(width / factors[1])))
        out = F.interpolate(batch, size=new, mode="bilinear", align_corners=False, antialias=True)
    return out.reshape(*intensity.shape[:-2], *out.shape[-2:])


@dataclass(frozen=True)
class PixelReport:
    """What step 2 found in one image: pixel counts by kind of invalid value (each pixel counted once, in this order).

    Attributes:
        total: pixels in the image.
        nonfinite: NaN or ±inf.
        nodata: equal to `nodata_value` (and finite).
        nonpositive: σ0 ≤ 0 (zero or negative; finite, not no-data): no log exists; e.g. zero borders.
    """

    total: int
    nonfinite: int = 0
    nodata: int = 0
    nonpositive: int = 0

    @property
    def invalid(self) -> int:
        """Pixels replaced by the median of the valid ones."""
        return self.nonfinite + self.nodata + self.nonpositive

    @property
    def invalid_fraction(self) -> float:
        """Share of the image replaced (the no-data fraction), in [0, 1]."""
        return self.invalid / self.total if self.total else 0.0

    def describe(self) -> str:
        return (
            f"{self.invalid} of {self.total} pixels invalid ({100 * self.invalid_fraction:.1f} %: {self.nonfinite} "
            f"non-finite, {self.nodata} no-data, {self.nonpositive} non-positive)"
        )


def _collapse_channels(array: np.ndarray, where: str) -> np.ndarray:
    """(H, W, C) grey-as-colour image (e.g. a PNG a pipeline turned into RGB) → (H, W); real colour is refused."""
    colour = array[..., :3] if array.shape[-1] in (3, 4) else array
    if colour.shape[-1] > 1 and not np.array_equal(colour.min(axis=-1), colour.max(axis=-1)):
        raise ValueError(
            f"{where}: expected a single-channel SAR image but got {array.shape[-1]} channels with different content "
            f"(shape {array.shape}). Pass the VV backscatter as a 2-D array or a single-channel image."
        )
    return colour[..., 0]


ACCEPTED_SHAPES = "(H, W), (1, H, W), (H, W, 1), (B, H, W) with B not 3 or 4, (B, 1, H, W), (B, H, W, 1)"


def _split_images(images: Any, where: str = "images") -> list[np.ndarray | torch.Tensor]:
    """Flatten what SAR users hold into a list of 2-D arrays/tensors (H, W).

    Accepts `ACCEPTED_SHAPES`, PIL images of any single-channel mode (L, I;16, I, F) or grey RGB(A), and lists of any
    of these. (3, H, W) and (4, H, W) are refused: a channel-first colour image or a batch of 3 or 4 cannot be told
    apart.
    """
    if isinstance(images, (list, tuple)):
        if not images:
            raise ValueError(f"{where}: got an empty list of images.")
        return [img for i, item in enumerate(images) for img in _split_images(item, f"{where}[{i}]")]
    if hasattr(images, "getbands") and hasattr(images, "mode"):  # PIL.Image
        array = np.asarray(images)
        return [array if array.ndim == 2 else _collapse_channels(array, where)]
    if isinstance(images, (np.ndarray, torch.Tensor)):
        shape = tuple(images.shape)
        if 0 in shape:
            raise ValueError(f"{where}: empty image array of shape {shape}.")
        if images.ndim == 2:
            return [images]
        if images.ndim == 3:
            if shape[0] == 1:
                return [images[0]]
            if shape[-1] == 1:
                return [images[..., 0]]
            if shape[-1] in (3, 4) and shape[0] > 4:
                array = images.cpu().numpy() if isinstance(images, torch.Tensor) else images
                return [_collapse_channels(array, where)]
            if shape[0] in (3, 4):
                raise ValueError(
                    f"{where}: shape {shape} is ambiguous (a channel-first {shape[0]}-channel image or a batch of "
                    f"{shape[0]}?). Accepted shapes: {ACCEPTED_SHAPES}; pass a batch as (B, 1, H, W) or a list."
                )
            return list(images)  # (B, H, W)
        if images.ndim == 4:
            if shape[1] == 1:
                return list(images[:, 0])
            if shape[-1] == 1:
                return list(images[..., 0])
            raise ValueError(
                f"{where}: a 4-D batch must be (B, 1, H, W) or (B, H, W, 1) single-channel SAR, got shape {shape}."
            )
        raise ValueError(f"{where}: expected a 2-D SAR image (H, W) or a batch of them, got shape {shape}.")
    raise TypeError(
        f"{where}: unsupported image type {type(images).__name__}; expected numpy arrays, torch tensors, PIL images "
        "or lists of them."
    )


def _spacings(pixel_spacing: Any, count: int) -> list[Any]:
    """One spacing per image: a number or a (row, column) tuple applies to all, a list or array gives one each."""
    if isinstance(pixel_spacing, (list, np.ndarray, torch.Tensor)):
        values = list(pixel_spacing.tolist() if not isinstance(pixel_spacing, list) else pixel_spacing)
        if len(values) != count:
            raise ValueError(
                f"pixel_spacing: a list gives one spacing per image; got {len(values)} for {count} images (pass a "
                "number or a (row, column) tuple to use one spacing for all)."
            )
        return values
    return [pixel_spacing] * count


class OceanSARImageProcessor(BaseImageProcessor):
    """Turns single-channel SAR backscatter into OceanSAR `pixel_values` (B, 1, H, W) float32.

    Args:
        input_kind: what the pixels hold, one of `INPUT_KINDS`: `"sigma0"` (default: σ0 linear intensity),
            `"sigma0_db"`, `"sigma0_amplitude"` (√σ0) or `"digital_number"` (uncalibrated amplitude DN; needs
            `calibration_constant`). Earlier names (`LEGACY_INPUT_KINDS`) are read with a warning.
        calibration_constant: A, for `"digital_number"` only: σ0 = DN² / A² (Sentinel-1: the sigmaNought LUT value,
            ≈ 332 for IW SLC, ≈ 664 for IW GRD; it varies across the swath, so calibrate real products with their
            LUT, e.g. with `oceansar-ingest-safe`, and use a constant only for data calibrated that way).
        pixel_spacing: pixel spacing of the input in metres (a number or (row, column)), or None when unknown (then
            no resampling; it can also be given per image when calling the processor).
        target_pixel_spacing: spacing (m) images of known spacing are resampled to, by averaging σ0 (default 50).
        do_log_scale: convert σ0 to dB; False gives linear σ0.
        log_floor: smallest σ0 (linear, > 0) before the log.
        nodata_value: a raw value that marks missing pixels (e.g. 0 in some GeoTIFF products), or `None`.
        do_resize: bring images to `size`; `resize_mode` says how.
        size: output size, `{"height": 256, "width": 256}` by default.
        resize_mode: `"resize"` (bilinear with antialiasing, whole vignette kept, pixel spacing changes),
            `"center_crop"` (pixel spacing kept, e.g. 50 m after resampling; images smaller than `size` are resized up
            first) or `"none"`.
        do_normalize: apply `normalization`.
        normalization: `"fixed"` (dataset mean/std, keeps the absolute level), `"per_image"` (discards it) or `"none"`.
        image_mean, image_std: one-element lists, dB; the fixed normalisation constants.
        per_image_eps: lower bound on the std in per-image standardisation (a constant image gives zeros).
    """

    model_input_names = ["pixel_values"]

    def __init__(
        self,
        input_kind: str = "sigma0",
        calibration_constant: float | None = None,
        pixel_spacing: PixelSpacing | None = None,
        target_pixel_spacing: PixelSpacing = DEFAULT_TARGET_PIXEL_SPACING,
        do_log_scale: bool = True,
        log_floor: float = 1e-6,
        nodata_value: float | None = None,
        do_resize: bool = True,
        size: int | dict[str, int] | None = None,
        resize_mode: str = "resize",
        do_normalize: bool = True,
        normalization: str = "fixed",
        image_mean: float | list[float] | None = None,
        image_std: float | list[float] | None = None,
        per_image_eps: float = 1e-6,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if input_kind in LEGACY_INPUT_KINDS:
            new = LEGACY_INPUT_KINDS[input_kind]
            warnings.warn(
                f"input_kind={input_kind!r} is deprecated and read as {new!r} (same transform). If the pixels are "
                "uncalibrated digital numbers, use input_kind='digital_number' with calibration_constant, and refit "
                "the normalisation.",
                FutureWarning,
                stacklevel=2,
            )
            input_kind = new
        for name, value, valid in (
            ("input_kind", input_kind, INPUT_KINDS),
            ("resize_mode", resize_mode, RESIZE_MODES),
            ("normalization", normalization, NORMALIZATIONS),
        ):
            if value not in valid:
                raise ValueError(f"{name}={value!r} is not valid; choose one of {valid}.")
        if input_kind == "digital_number":
            if calibration_constant is None or not (math.isfinite(calibration_constant) and calibration_constant > 0):
                raise ValueError(
                    "input_kind='digital_number' needs calibration_constant A > 0 (σ0 = DN² / A²), got "
                    f"{calibration_constant!r}: digital numbers are not σ0."
                )
        elif calibration_constant is not None:
            raise ValueError(f"calibration_constant applies to input_kind='digital_number' only, not {input_kind!r}.")
        if not (math.isfinite(log_floor) and log_floor > 0):
            raise ValueError(f"log_floor must be a positive σ0 (the log of {log_floor!r} is not finite).")
        self.input_kind = input_kind
        self.calibration_constant = None if calibration_constant is None else float(calibration_constant)
        self.pixel_spacing = None if pixel_spacing is None else list(spacing_pair(pixel_spacing))
        self.target_pixel_spacing = list(spacing_pair(target_pixel_spacing, "target_pixel_spacing"))
        self.do_log_scale = do_log_scale
        self.log_floor = float(log_floor)
        self.nodata_value = nodata_value
        self.do_resize = do_resize
        height, width = _size_tuple(256 if size is None else size)
        self.size = {"height": height, "width": width}
        self.resize_mode = resize_mode
        self.do_normalize = do_normalize
        self.normalization = normalization
        self.image_mean = self._one_element(DEFAULT_MEAN_DB if image_mean is None else image_mean, "image_mean")
        self.image_std = self._one_element(DEFAULT_STD_DB if image_std is None else image_std, "image_std")
        if not self.image_std[0] > 0:
            raise ValueError(f"image_std must be positive, got {self.image_std}.")
        self.per_image_eps = float(per_image_eps)

    @staticmethod
    def _one_element(value: float | list[float], name: str) -> list[float]:
        values = [float(v) for v in (value if isinstance(value, (list, tuple)) else [value])]
        if len(values) != 1 or not math.isfinite(values[0]):
            raise ValueError(f"{name} must be one finite number (single-channel SAR), got {value!r}.")
        return values

    # --- per-image steps -------------------------------------------------------------------------------------------

    def _to_sigma0(self, image: np.ndarray | torch.Tensor) -> tuple[torch.Tensor, PixelReport]:
        """Steps 1-2: raw pixels → σ0 linear (H, W) float32 with invalid pixels replaced, and what was replaced."""
        tensor = image if isinstance(image, torch.Tensor) else torch.from_numpy(np.array(image))
        tensor = tensor.detach()
        if tensor.ndim != 2 or tensor.numel() == 0:
            raise ValueError(f"expected one non-empty 2-D image (H, W), got shape {tuple(tensor.shape)}.")
        if tensor.dtype == torch.bool:
            raise ValueError("boolean images are masks, not SAR backscatter.")
        if tensor.is_complex():
            if self.input_kind == "sigma0_db":
                raise ValueError("complex (SLC) pixels cannot be dB; set input_kind to 'digital_number' or 'sigma0'.")
            raw = tensor.abs().to(torch.float32)
            intensity = raw.square()  # |z|²: σ0 for calibrated samples, |DN|² for digital numbers
        else:
            raw = tensor.to(torch.float32)
            intensity = {
                "sigma0": lambda x: x,
                "sigma0_db": lambda x: torch.pow(10.0, x / 10.0),
                "sigma0_amplitude": torch.square,
                "digital_number": torch.square,
            }[self.input_kind](raw)
        if self.input_kind == "digital_number":
            intensity = intensity / (self.calibration_constant**2)
        nonfinite = ~torch.isfinite(raw)
        nodata = (
            (raw == self.nodata_value) & ~nonfinite if self.nodata_value is not None else torch.zeros_like(nonfinite)
        )
        nonpositive = ~(intensity > 0) & ~nonfinite & ~nodata
        report = PixelReport(raw.numel(), int(nonfinite.sum()), int(nodata.sum()), int(nonpositive.sum()))
        if report.invalid == 0:
            return intensity, report
        if report.invalid == report.total:
            raise ValueError(
                f"image of shape {tuple(raw.shape)} has no valid pixel ({report.describe()}; nodata_value="
                f"{self.nodata_value}, input_kind={self.input_kind!r}); it cannot be processed."
            )
        invalid = nonfinite | nodata | nonpositive
        fill = intensity[~invalid].median()
        return torch.where(invalid, fill, intensity), report

    def _resample(self, intensity: torch.Tensor, pixel_spacing: PixelSpacing | None) -> torch.Tensor:
        spacing = self.pixel_spacing if pixel_spacing is None else pixel_spacing
        if spacing is None:
            return intensity
        return resample_intensity(intensity, spacing, self.target_pixel_spacing)

    def _resize(self, image: torch.Tensor) -> torch.Tensor:
        height, width = self.size["height"], self.size["width"]
        if not self.do_resize or self.resize_mode == "none" or tuple(image.shape) == (height, width):
            return image
        batch = image[None, None]
        if self.resize_mode == "center_crop":
            scale = max(height / image.shape[0], width / image.shape[1])
            if scale > 1:
                new = (math.ceil(image.shape[0] * scale), math.ceil(image.shape[1] * scale))
                batch = F.interpolate(batch, size=new, mode="bilinear", align_corners=False)
            top = (batch.shape[-2] - height) // 2
            left = (batch.shape[-1] - width) // 2
            return batch[0, 0, top : top + height, left : left + width]
        antialias = image.shape[0] > height or image.shape[1] > width
        return F.interpolate(batch, size=(height, width), mode="bilinear", align_corners=False, antialias=antialias)[
            0, 0
        ]

    def _log_scale(self, intensity: torch.Tensor) -> torch.Tensor:
        if not self.do_log_scale:
            return intensity
        return 10.0 * torch.log10(intensity.clamp_min(self.log_floor))

    def _normalize(self, image: torch.Tensor) -> torch.Tensor:
        if not self.do_normalize or self.normalization == "none":
            return image
        if self.normalization == "fixed":
            return (image - self.image_mean[0]) / self.image_std[0]
        std = image.std(unbiased=False).clamp_min(self.per_image_eps)
        return (image - image.mean()) / std

    def scale_image(
        self, image: np.ndarray | torch.Tensor, pixel_spacing: PixelSpacing | None = None
    ) -> tuple[torch.Tensor, PixelReport]:
        """Steps 1-5 on one 2-D image: σ0, invalid pixels, resampling, resize, dB → (H', W') float32 and its
        `PixelReport`. `pixel_spacing` (m) overrides the configured one for this image."""
        intensity, report = self._to_sigma0(image)
        return self._log_scale(self._resize(self._resample(intensity, pixel_spacing))), report

    def to_pixel_values(
        self, image: np.ndarray | torch.Tensor, pixel_spacing: PixelSpacing | None = None
    ) -> torch.Tensor:
        """One 2-D SAR image (H, W) in raw units → (1, H', W') float32 model input (the training transform)."""
        if image.ndim != 2:
            raise ValueError(f"to_pixel_values takes one 2-D image (H, W), got shape {tuple(image.shape)}.")
        scaled, report = self.scale_image(image, pixel_spacing)
        if report.invalid:
            logger.debug("replaced %s", report.describe())
        return self._normalize(scaled)[None]

    # --- transformers API ------------------------------------------------------------------------------------------

    def preprocess(
        self,
        images: Any,
        pixel_spacing: Any = None,
        return_tensors: str | None = "pt",
        return_invalid_counts: bool = False,
        **kwargs: Any,
    ) -> BatchFeature:
        """Process one image or a batch into `{"pixel_values": (B, 1, H, W) float32}`.

        Args:
            images: 2-D numpy arrays or torch tensors (float, integer or complex), single-channel PIL images, batches
                (B, H, W) / (B, 1, H, W), or lists of these (sizes may differ when resizing).
            pixel_spacing: metres; a number or a (row, column) tuple for all images, or a list (or array) with one
                per image; None uses the configured `pixel_spacing`.
            return_tensors: "pt" (torch, default) or "np".
            return_invalid_counts: also return, per image (B,), `invalid_pixel_count` (pixels replaced in step 2),
                `nonpositive_pixel_count` (σ0 ≤ 0 among them) and `invalid_fraction` (the no-data fraction).
            kwargs: any constructor argument, overriding it for this call (e.g. `normalization="per_image"`).
        """
        processor = self._with_overrides(kwargs) if kwargs else self
        arrays = _split_images(images)
        processed, reports = [], []
        for i, (array, spacing) in enumerate(zip(arrays, _spacings(pixel_spacing, len(arrays)), strict=True)):
            try:
                scaled, report = processor.scale_image(array, spacing)
            except ValueError as error:
                raise ValueError(f"images[{i}]: {error}") from error
            processed.append(processor._normalize(scaled))
            reports.append(report)
        invalid = sum(r.invalid for r in reports)
        if invalid:
            total = sum(r.total for r in reports)
            logger.warning(
                "replaced %d invalid pixels (%.1f %% no-data: %d non-finite, %d no-data, %d non-positive) by the "
                "median σ0 in %d of %d image(s)",
                invalid,
                100 * invalid / total,
                sum(r.nonfinite for r in reports),
                sum(r.nodata for r in reports),
                sum(r.nonpositive for r in reports),
                sum(1 for r in reports if r.invalid),
                len(reports),
            )
        shapes = {tuple(p.shape) for p in processed}
        if len(shapes) > 1:
            raise ValueError(f"images have different sizes {sorted(shapes)} after processing; enable do_resize.")
        data: dict[str, Any] = {"pixel_values": torch.stack(processed)[:, None]}
        if return_invalid_counts:
            data["invalid_pixel_count"] = torch.tensor([r.invalid for r in reports])
            data["nonpositive_pixel_count"] = torch.tensor([r.nonpositive for r in reports])
            data["invalid_fraction"] = torch.tensor([r.invalid_fraction for r in reports], dtype=torch.float32)
        if return_tensors == "np":
            data = {key: value.numpy() for key, value in data.items()}
        elif return_tensors not in (None, "pt"):
            raise ValueError(f"return_tensors must be 'pt', 'np' or None, got {return_tensors!r}.")
        return BatchFeature(data=data)

    def __call__(self, images: Any, **kwargs: Any) -> BatchFeature:
        return self.preprocess(images, **kwargs)

    def _with_overrides(self, overrides: dict[str, Any]) -> OceanSARImageProcessor:
        params = {**self.to_dict(), **overrides}
        for key in ("image_processor_type", "processor_class", "auto_map"):
            params.pop(key, None)
        return type(self)(**params)

    def fit_normalization(
        self, images: Iterable[Any], max_images: int | None = None, pixel_spacing: PixelSpacing | None = None
    ) -> OceanSARImageProcessor:
        """A copy of this processor whose fixed `image_mean`/`image_std` (dB) are the pixel mean/std of `images`.

        Statistics are taken after steps 1-5 (σ0, invalid pixels, resampling, resize, dB) in float64 over all pixels
        of up to `max_images` images, so they match what `"fixed"` normalisation will see.
        """
        total = total_sq = 0.0
        count = 0
        for i, image in enumerate(images):
            if max_images is not None and i >= max_images:
                break
            for array in _split_images(image):
                scaled = self.scale_image(array, pixel_spacing)[0].double()
                total += float(scaled.sum())
                total_sq += float((scaled * scaled).sum())
                count += scaled.numel()
        if count == 0:
            raise ValueError("fit_normalization got no images.")
        mean = total / count
        std = math.sqrt(max(total_sq / count - mean * mean, 0.0))
        if not std > 0:
            raise ValueError("fit_normalization: the images are constant; the std is zero.")
        fitted = copy.deepcopy(self)
        fitted.image_mean, fitted.image_std = [mean], [std]
        return fitted


OceanSARImageProcessor.register_for_auto_class("AutoImageProcessor")

__all__ = ["INPUT_KINDS", "OceanSARImageProcessor", "PixelReport", "resample_intensity"]

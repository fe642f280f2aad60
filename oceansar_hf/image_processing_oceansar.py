# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""SAR image processor: raw Sentinel-1 backscatter (amplitude, intensity or dB) → `pixel_values` (B, 1, S, S).

Steps, in order, each configurable:

1. cast to float32 (integer digital numbers are converted exactly; complex SLC samples become their modulus);
2. non-finite pixels and pixels equal to `nodata_value` are replaced by the median of the valid pixels (the count is
   logged, and returned with `return_invalid_counts=True`);
3. log scaling to decibels: 20·log10(amplitude) or 10·log10(intensity), values below `log_floor` clipped first;
4. resize (bilinear, antialiased) or centre crop to `size`;
5. normalisation: `"fixed"` (default) subtracts the dataset mean and divides by the dataset std stored in the config,
   which keeps the absolute backscatter level that wind speed depends on; `"per_image"` standardises every image on its
   own and so DISCARDS that level (texture-only tasks); `"none"` leaves dB values.

The output always has one channel: SAR is never broadcast to 3 channels and 16-bit data is never squeezed to 8 bits.
Training imports this same transform (`OceanSARImageProcessor.to_pixel_values`).
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from transformers.image_processing_utils import BaseImageProcessor, BatchFeature

logger = logging.getLogger(__name__)

INPUT_KINDS = ("amplitude", "intensity", "db")
RESIZE_MODES = ("resize", "center_crop", "none")
NORMALIZATIONS = ("fixed", "per_image", "none")

# Mean and std (dB) of 20·log10(amplitude DN) over the built-in synthetic WV archive (256 px, seed 0, 2,000 images);
# see `fit_normalization`. Refit them for real data: they are properties of the data, not of the model.
DEFAULT_MEAN_DB = 40.0
DEFAULT_STD_DB = 6.0


def _size_tuple(size: int | dict[str, int] | tuple[int, int] | list[int]) -> tuple[int, int]:
    if isinstance(size, int):
        return size, size
    if isinstance(size, dict):
        if "height" in size and "width" in size:
            return int(size["height"]), int(size["width"])
        if "shortest_edge" in size:
            return int(size["shortest_edge"]), int(size["shortest_edge"])
        raise ValueError(f"size dict must have 'height' and 'width', got {size}.")
    if len(size) == 2:
        return int(size[0]), int(size[1])
    raise ValueError(f"size must be an int, (height, width) or {{'height', 'width'}}, got {size!r}.")


def _collapse_channels(array: np.ndarray, where: str) -> np.ndarray:
    """(H, W, C) grey-as-colour image (e.g. a PNG a pipeline turned into RGB) → (H, W); real colour is refused."""
    colour = array[..., :3] if array.shape[-1] in (3, 4) else array
    if colour.shape[-1] > 1 and not np.array_equal(colour.min(axis=-1), colour.max(axis=-1)):
        raise ValueError(
            f"{where}: expected a single-channel SAR image but got {array.shape[-1]} channels with different content "
            f"(shape {array.shape}). Pass the VV backscatter as a 2-D array or a single-channel image."
        )
    return colour[..., 0]


def _split_images(images: Any, where: str = "images") -> list[np.ndarray | torch.Tensor]:
    """Flatten what SAR users hold into a list of 2-D arrays/tensors (H, W).

    Accepts 2-D arrays/tensors, (1, H, W) / (H, W, 1), batches (B, H, W) / (B, 1, H, W) / (B, H, W, 1), PIL images of
    any single-channel mode (L, I;16, I, F) or grey RGB(A), and lists of any of these.
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


class OceanSARImageProcessor(BaseImageProcessor):
    """Turns single-channel SAR backscatter into OceanSAR `pixel_values` (B, 1, H, W) float32.

    Args:
        input_kind: what the pixels hold: `"amplitude"` (digital numbers or √σ0, the OceanSAR-1 training input),
            `"intensity"` (σ0 or DN², linear) or `"db"` (already 10·log10 σ0).
        do_log_scale: convert amplitude/intensity to dB (ignored for `"db"` input).
        log_floor: smallest linear value before the log (smaller values, e.g. zeros, are clipped to it).
        nodata_value: a raw value that marks missing pixels (e.g. 0 in some GeoTIFF products), or `None`.
        do_resize: bring images to `size`; `resize_mode` says how.
        size: output size, `{"height": 256, "width": 256}` by default.
        resize_mode: `"resize"` (bilinear with antialiasing, whole vignette kept, pixel spacing changes),
            `"center_crop"` (native pixel spacing kept; images smaller than `size` are resized up first) or `"none"`.
        do_normalize: apply `normalization`.
        normalization: `"fixed"` (dataset mean/std, keeps the absolute level), `"per_image"` (discards it) or `"none"`.
        image_mean, image_std: one-element lists, dB; the fixed normalisation constants.
        per_image_eps: lower bound on the std in per-image standardisation (a constant image gives zeros).
    """

    model_input_names = ["pixel_values"]

    def __init__(
        self,
        input_kind: str = "amplitude",
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
        for name, value, valid in (
            ("input_kind", input_kind, INPUT_KINDS),
            ("resize_mode", resize_mode, RESIZE_MODES),
            ("normalization", normalization, NORMALIZATIONS),
        ):
            if value not in valid:
                raise ValueError(f"{name}={value!r} is not valid; choose one of {valid}.")
        self.input_kind = input_kind
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

    def _cast(self, image: np.ndarray | torch.Tensor) -> torch.Tensor:
        tensor = image if isinstance(image, torch.Tensor) else torch.from_numpy(np.array(image))
        tensor = tensor.detach()
        if tensor.is_complex():
            if self.input_kind != "amplitude":
                raise ValueError("complex (SLC) input gives amplitude; set input_kind='amplitude'.")
            tensor = tensor.abs()
        if tensor.dtype == torch.bool:
            raise ValueError("boolean images are masks, not SAR backscatter.")
        return tensor.to(torch.float32)

    def _replace_invalid(self, image: torch.Tensor) -> tuple[torch.Tensor, int]:
        invalid = ~torch.isfinite(image)
        if self.nodata_value is not None:
            invalid |= image == self.nodata_value
        n_invalid = int(invalid.sum())
        if n_invalid == 0:
            return image, 0
        if n_invalid == image.numel():
            raise ValueError(
                f"image of shape {tuple(image.shape)} has no valid pixel (all non-finite or equal to nodata_value="
                f"{self.nodata_value}); it cannot be processed."
            )
        fill = image[~invalid].median()
        return torch.where(invalid, fill, image), n_invalid

    def _log_scale(self, image: torch.Tensor) -> torch.Tensor:
        if not self.do_log_scale or self.input_kind == "db":
            return image
        factor = 20.0 if self.input_kind == "amplitude" else 10.0
        return factor * torch.log10(image.clamp_min(self.log_floor))

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

    def _normalize(self, image: torch.Tensor) -> torch.Tensor:
        if not self.do_normalize or self.normalization == "none":
            return image
        if self.normalization == "fixed":
            return (image - self.image_mean[0]) / self.image_std[0]
        std = image.std(unbiased=False).clamp_min(self.per_image_eps)
        return (image - image.mean()) / std

    def _scaled(self, image: np.ndarray | torch.Tensor) -> tuple[torch.Tensor, int]:
        """Steps 1-4: cast, invalid pixels, dB, resize → (H', W') float32 and the number of replaced pixels."""
        image, n_invalid = self._replace_invalid(self._cast(image))
        return self._resize(self._log_scale(image)), n_invalid

    def to_pixel_values(self, image: np.ndarray | torch.Tensor) -> torch.Tensor:
        """One 2-D SAR image (H, W) in raw units → (1, H', W') float32 model input (the training transform)."""
        if image.ndim != 2:
            raise ValueError(f"to_pixel_values takes one 2-D image (H, W), got shape {tuple(image.shape)}.")
        scaled, n_invalid = self._scaled(image)
        if n_invalid:
            logger.debug("replaced %d invalid pixels", n_invalid)
        return self._normalize(scaled)[None]

    # --- transformers API ------------------------------------------------------------------------------------------

    def preprocess(
        self,
        images: Any,
        return_tensors: str | None = "pt",
        return_invalid_counts: bool = False,
        **kwargs: Any,
    ) -> BatchFeature:
        """Process one image or a batch into `{"pixel_values": (B, 1, H, W) float32}`.

        Args:
            images: 2-D numpy arrays or torch tensors (float or integer), single-channel PIL images, batches
                (B, H, W) / (B, 1, H, W), or lists of these (sizes may differ when resizing).
            return_tensors: "pt" (torch, default) or "np".
            return_invalid_counts: also return `invalid_pixel_count` (B,), the pixels replaced in step 2.
            kwargs: any constructor argument, overriding it for this call (e.g. `normalization="per_image"`).
        """
        processor = self._with_overrides(kwargs) if kwargs else self
        arrays = _split_images(images)
        processed, counts = [], []
        for i, array in enumerate(arrays):
            try:
                scaled, n_invalid = processor._scaled(array)
            except ValueError as error:
                raise ValueError(f"images[{i}]: {error}") from error
            processed.append(processor._normalize(scaled))
            counts.append(n_invalid)
        if sum(counts):
            logger.warning(
                "replaced %d invalid (non-finite or no-data) pixels in %d image(s)", sum(counts), len(arrays)
            )
        shapes = {tuple(p.shape) for p in processed}
        if len(shapes) > 1:
            raise ValueError(f"images have different sizes {sorted(shapes)} after processing; enable do_resize.")
        data: dict[str, Any] = {"pixel_values": torch.stack(processed)[:, None]}
        if return_invalid_counts:
            data["invalid_pixel_count"] = torch.tensor(counts)
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

    def fit_normalization(self, images: Iterable[Any], max_images: int | None = None) -> OceanSARImageProcessor:
        """A copy of this processor whose fixed `image_mean`/`image_std` (dB) are the pixel mean/std of `images`.

        Statistics are taken after steps 1-4 (cast, invalid pixels, dB, resize) in float64 over all pixels of up to
        `max_images` images, so they match what `"fixed"` normalisation will see.
        """
        total = total_sq = 0.0
        count = 0
        for i, image in enumerate(images):
            if max_images is not None and i >= max_images:
                break
            for array in _split_images(image):
                scaled = self._scaled(array)[0].double()
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

__all__ = ["OceanSARImageProcessor"]

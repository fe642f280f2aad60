"""Batched DINO multi-crop augmentation for single-channel SAR, in plain torch.

Input: a batch of normalised model inputs ``(B, 1, H, W)`` (the output of ``OceanSARImageProcessor``: fixed mean/std on
dB backscatter, so roughly zero-mean unit-variance, with the absolute level carrying wind speed), on any device.
Output: ``[global_1, global_2, local_1, …, local_N]``, globals ``(B, 1, G, G)``, locals ``(B, 1, L, L)``, same device
and dtype as the input.

Per crop, the whole batch is processed at once:

1. geometry — random-resized-crop box, horizontal/vertical flips and quarter turns are folded into one per-sample affine
   map and applied with a single bilinear ``F.grid_sample`` (``align_corners=False``, border padding). Anti-aliasing:
   a crop shrunk by more than 1.5 input pixels per output pixel is sampled from a 2×2-average-pooled level of an image
   pyramid (built once per batch and shared by all crops), so bilinear sampling never skips more than half the
   pixels of the level it reads — without this, speckle aliases into spurious texture in small local crops.
2. photometric — contrast about the crop's own mean and an additive brightness offset, per sample by broadcasting.
   In dB a contrast factor is a power law (gamma) on linear intensity, so no separate gamma is offered.
3. Gaussian blur — per-sample sigma (in output pixels), separable grouped convolution, replicate padding.
4. optional additive Gaussian noise — in normalised dB, multiplicative speckle-like noise becomes additive.

Randomness comes only from the ``generator`` passed in (CPU by default), so a seed reproduces the crops exactly.
No loop over images; loops are over crops and over the (at most a few) pyramid levels used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor

_MAX_BILINEAR_DOWNSCALE = 1.5
"""Largest input-pixels-per-output-pixel ratio sampled bilinearly from one pyramid level before moving to the next."""

_CROP_TRIES = 10
"""Candidate boxes drawn per sample before falling back to a box clamped to the image (as torchvision does)."""


@dataclass
class MultiCropConfig:
    """DINO multi-crop settings for single-channel SAR. Sizes are in pixels; intensities are in normalised units."""

    global_crop_size: int = field(
        default=224,
        metadata={
            "help": "Side G of the two global crops (output pixels). 224 for 256-px inputs: DINO's/ResNet's "
            "standard size, a mild ≤1.14× downscale of a full 256-px view (no pyramid needed) and ~23% less "
            "compute than 256. "
            "Must not exceed the input side; tiny demos use e.g. 64→56."
        },
    )
    local_crop_size: int = field(
        default=96, metadata={"help": "Side L of the local crops (output pixels); DINO default 96."}
    )
    num_local_crops: int = field(
        default=8,
        metadata={
            "help": "Number N of local crops; 8 is DINO's ViT default (its ResNet-50 recipe uses 6 or more). 0 = none."
        },
    )
    global_crop_scale: list[float] = field(
        default_factory=lambda: [0.4, 1.0],
        metadata={
            "help": "Range of the global crop area as a fraction of the input area; DINO ViT default (0.4, 1.0). "
            "DINO's ResNet-50 recipe uses (0.14, 1.0)."
        },
    )
    local_crop_scale: list[float] = field(
        default_factory=lambda: [0.05, 0.4],
        metadata={
            "help": "Range of the local crop area as a fraction of the input area; DINO ViT default (0.05, 0.4) "
            "(ResNet-50 recipe: (0.05, 0.14))."
        },
    )
    aspect_ratio: list[float] = field(
        default_factory=lambda: [3 / 4, 4 / 3],
        metadata={
            "help": "Range of the crop box width/height ratio, drawn log-uniformly; the box is then resized to a "
            "square."
        },
    )
    hflip_prob: float = field(
        default=0.5,
        metadata={
            "help": "Probability of a left-right flip. Ocean texture has no preferred side; note a flip swaps the SAR "
            "look direction (range axis), a mirror geometry that never occurs in real acquisitions."
        },
    )
    vflip_prob: float = field(
        default=0.5,
        metadata={
            "help": "Probability of an up-down flip (azimuth axis reversed: ascending ↔ descending-like geometry). "
            "Same caveat as hflip: phenomena tied to the look direction (e.g. wind-streak/wave azimuth cut-off) "
            "lose their orientation; keep the default when the targets (class, wind speed, wave height) are "
            "orientation-free, set 0 to keep orientation."
        },
    )
    rot90: bool = field(
        default=True,
        metadata={
            "help": "Apply a uniformly random quarter turn (0/90/180/270°). With hflip this covers all 8 symmetries of "
            "the square. Swaps range and azimuth axes (the pixel grid is square at 50 m, so only the "
            "radar-geometry caveat of the flips applies)."
        },
    )
    antialias: bool = field(
        default=True,
        metadata={
            "help": "Sample strongly shrunk crops from an average-pooled image pyramid (see module docstring). "
            "False: plain bilinear sampling from the input, faster but aliases speckle when a crop is shrunk "
            "by more than ~1.5×."
        },
    )
    global_blur_prob: list[float] = field(
        default_factory=lambda: [1.0, 0.1],
        metadata={
            "help": "Gaussian blur probability of the first and second global crop: DINO's asymmetric (1.0, 0.1)."
        },
    )
    local_blur_prob: float = field(
        default=0.5, metadata={"help": "Gaussian blur probability of each local crop (DINO: 0.5)."}
    )
    blur_sigma: list[float] = field(
        default_factory=lambda: [0.1, 2.0],
        metadata={
            "help": "Range of the blur standard deviation, in output pixels of the crop (DINO: (0.1, 2.0)). Kernel "
            "truncated at 3 sigma."
        },
    )
    jitter_prob: float = field(
        default=0.8,
        metadata={
            "help": "Probability of brightness/contrast jitter per crop (DINO applies its colour jitter with 0.8)."
        },
    )
    brightness: list[float] = field(
        default_factory=lambda: [-0.1, 0.1],
        metadata={
            "help": "Range of the additive offset, in normalised units (1 unit = the processor's dB std, so 0.1 is a "
            "fraction of a dB). Kept small on purpose: the absolute backscatter level encodes wind speed, "
            "which the features should keep. (0, 0) disables."
        },
    )
    contrast: list[float] = field(
        default_factory=lambda: [0.8, 1.2],
        metadata={
            "help": "Range of the factor scaling each crop about its own mean (a gamma on linear intensity, since the "
            "input is in dB). (1, 1) disables."
        },
    )
    noise_prob: float = field(
        default=0.0,
        metadata={
            "help": "Probability of additive Gaussian noise per crop (speckle-like: multiplicative noise in linear "
            "intensity is additive in dB). Off by default: real speckle is already in the data."
        },
    )
    noise_std: float = field(
        default=0.1, metadata={"help": "Standard deviation of the additive noise, in normalised units."}
    )

    def __post_init__(self) -> None:
        for name in ("global_crop_size", "local_crop_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"MultiCropConfig.{name} must be a positive int, got {value!r}")
        if not isinstance(self.num_local_crops, int) or self.num_local_crops < 0:
            raise ValueError(f"MultiCropConfig.num_local_crops must be an int >= 0, got {self.num_local_crops!r}")
        for name in _PAIR_FIELDS:  # lists (e.g. from YAML) become (low, high) tuples of floats
            setattr(self, name, _as_pair(name, getattr(self, name)))
        for name in ("global_crop_scale", "local_crop_scale"):
            lo, hi = getattr(self, name)
            if not 0 < lo <= hi <= 1:
                raise ValueError(f"MultiCropConfig.{name} must satisfy 0 < low <= high <= 1, got {(lo, hi)}")
        for name in ("aspect_ratio", "blur_sigma", "contrast"):
            lo, hi = getattr(self, name)
            if not 0 < lo <= hi:
                raise ValueError(f"MultiCropConfig.{name} must satisfy 0 < low <= high, got {(lo, hi)}")
        if not self.brightness[0] <= self.brightness[1]:
            raise ValueError(f"MultiCropConfig.brightness must satisfy low <= high, got {self.brightness}")
        probs = {
            "hflip_prob": self.hflip_prob,
            "vflip_prob": self.vflip_prob,
            "local_blur_prob": self.local_blur_prob,
            "jitter_prob": self.jitter_prob,
            "noise_prob": self.noise_prob,
        }
        probs.update({f"global_blur_prob[{i}]": p for i, p in enumerate(self.global_blur_prob)})
        for name, p in probs.items():
            if not 0 <= p <= 1:
                raise ValueError(f"MultiCropConfig.{name} must be a probability in [0, 1], got {p!r}")
        if not self.noise_std >= 0:
            raise ValueError(f"MultiCropConfig.noise_std must be >= 0, got {self.noise_std!r}")


_PAIR_FIELDS = (
    "global_crop_scale",
    "local_crop_scale",
    "aspect_ratio",
    "global_blur_prob",
    "blur_sigma",
    "brightness",
    "contrast",
)


def _as_pair(name: str, value: object) -> tuple[float, float]:
    try:
        low, high = value  # type: ignore[misc]
        return float(low), float(high)
    except (TypeError, ValueError):
        raise ValueError(f"MultiCropConfig.{name} must be a pair of two numbers, got {value!r}") from None


@dataclass
class _CropSpec:
    """What distinguishes one crop of the list: output side, area-scale range, blur probability."""

    size: int
    scale: tuple[float, float]
    blur_prob: float


@dataclass
class _CropParams:
    """Random parameters of one crop for a batch of B samples; CPU tensors of length B unless stated."""

    theta: Tensor  # (B, 2, 3) float64: output normalised coords → input normalised coords (affine_grid convention)
    level: Tensor  # int64: pyramid level to sample from (0 = input)
    brightness: Tensor  # float64: additive offset (0 where not jittered)
    contrast: Tensor  # float64: factor about the crop mean (1 where not jittered)
    jitter: bool  # whether any sample is jittered
    blur_sigma: Tensor  # float64: output pixels (0 where not blurred)
    noise: Tensor  # bool: add noise to this sample
    noise_seed: int  # seed of the noise generator on the images' device


class MultiCropAugmentation:
    """DINO multi-crop on batches: ``aug(images (B, 1, H, W), generator) -> [g1, g2, l1, …, lN]``.

    Globals are ``(B, 1, G, G)``, locals ``(B, 1, L, L)`` with G, L from the config; device and dtype follow the input.
    Every sample gets its own crop box, flips, quarter turn, jitter, blur and noise for every crop.
    """

    def __init__(self, config: MultiCropConfig | None = None) -> None:
        self.config = config or MultiCropConfig()
        c = self.config
        self.specs = [
            _CropSpec(c.global_crop_size, c.global_crop_scale, c.global_blur_prob[0]),
            _CropSpec(c.global_crop_size, c.global_crop_scale, c.global_blur_prob[1]),
        ] + [_CropSpec(c.local_crop_size, c.local_crop_scale, c.local_blur_prob)] * c.num_local_crops

    @property
    def num_crops(self) -> int:
        """Length of the returned list: 2 globals + ``num_local_crops`` locals."""
        return len(self.specs)

    def __call__(self, images: Tensor, generator: torch.Generator | None = None) -> list[Tensor]:
        """Return the crops ``[g1, g2, l1, …, lN]`` of a normalised batch ``images`` (B, 1, H, W).

        Random numbers are drawn from ``generator`` (on its own device; torch's default CPU generator when None).
        Raises ValueError for a wrongly shaped, non-float, empty or non-finite batch, or one smaller than a crop.
        """
        self._check(images)
        batch, _, height, width = images.shape
        params = [self._sample(spec, batch, height, width, generator) for spec in self.specs]
        max_level = max(int(p.level.max()) for p in params)
        pyramid = [images]
        for _ in range(max_level):
            pyramid.append(F.avg_pool2d(pyramid[-1], 2))
        return [self._apply(pyramid, spec.size, p) for spec, p in zip(self.specs, params, strict=True)]

    def _check(self, images: Tensor) -> None:
        if not isinstance(images, Tensor):
            raise ValueError(f"MultiCropAugmentation expects a torch.Tensor (B, 1, H, W), got {type(images).__name__}")
        if images.ndim != 4:
            raise ValueError(
                f"MultiCropAugmentation expects a batch of shape (B, 1, H, W), got shape "
                f"{tuple(images.shape)}; add the missing batch/channel dimensions (e.g. x[None, None])"
            )
        if images.shape[1] != 1:
            raise ValueError(
                f"MultiCropAugmentation expects 1 channel (single-polarisation SAR), got "
                f"{images.shape[1]} channels in shape {tuple(images.shape)}"
            )
        if not images.is_floating_point():
            raise ValueError(f"MultiCropAugmentation expects normalised floating-point images, got {images.dtype}")
        if images.shape[0] == 0:
            raise ValueError("MultiCropAugmentation got an empty batch (B = 0)")
        side = min(images.shape[2:])
        largest = max(spec.size for spec in self.specs)
        if largest > side:
            raise ValueError(
                f"crop size {largest} is larger than the input ({images.shape[2]}×{images.shape[3]}); "
                f"set global_crop_size/local_crop_size <= {side}"
            )
        bad = 0 if torch.isfinite(images.sum()) else int((~torch.isfinite(images)).sum())  # sum: one cheap pass
        if bad:
            raise ValueError(
                f"MultiCropAugmentation got {bad} non-finite values (NaN/inf) in a batch of shape "
                f"{tuple(images.shape)}; no-data must be filled before normalisation"
            )

    def _sample(
        self, spec: _CropSpec, batch: int, height: int, width: int, generator: torch.Generator | None
    ) -> _CropParams:
        """Draw one crop's parameters for every sample (pixel units of the input)."""
        c = self.config

        def uniform(bounds: tuple[float, float], *shape: int) -> Tensor:
            device = generator.device if generator is not None else None
            u = torch.rand(*shape, generator=generator, device=device, dtype=torch.float64).cpu()
            return bounds[0] + (bounds[1] - bounds[0]) * u

        def bernoulli(p: float) -> Tensor:
            return uniform((0.0, 1.0), batch) < p

        area = uniform(spec.scale, batch, _CROP_TRIES) * (height * width)
        ratio = torch.exp(uniform((math.log(c.aspect_ratio[0]), math.log(c.aspect_ratio[1])), batch, _CROP_TRIES))
        w, h = torch.sqrt(area * ratio), torch.sqrt(area / ratio)
        first_fit = ((w <= width) & (h <= height)).to(torch.int8).argmax(1, keepdim=True)  # 0 when none fits
        w = w.gather(1, first_fit).squeeze(1).clamp(max=width)
        h = h.gather(1, first_fit).squeeze(1).clamp(max=height)
        x0, y0 = uniform((0.0, 1.0), batch) * (width - w), uniform((0.0, 1.0), batch) * (height - h)

        quarter = uniform((0.0, 4.0), batch).floor() if c.rot90 else torch.zeros(batch, dtype=torch.float64)
        cos, sin = torch.cos(quarter * math.pi / 2).round(), torch.sin(quarter * math.pi / 2).round()
        fx = torch.where(bernoulli(c.hflip_prob), -1.0, 1.0).double()
        fy = torch.where(bernoulli(c.vflip_prob), -1.0, 1.0).double()
        # input = diag(w/W, h/H) · R(quarter) · diag(fx, fy) · output + box centre (all normalised to [-1, 1])
        theta = torch.zeros(batch, 2, 3, dtype=torch.float64)
        theta[:, 0, 0], theta[:, 0, 1] = w / width * cos * fx, -w / width * sin * fy
        theta[:, 1, 0], theta[:, 1, 1] = h / height * sin * fx, h / height * cos * fy
        theta[:, 0, 2], theta[:, 1, 2] = (2 * x0 + w) / width - 1, (2 * y0 + h) / height - 1

        level = torch.zeros(batch, dtype=torch.int64)
        if c.antialias:
            shrink = torch.maximum(w, h) / spec.size
            max_level = int(math.log2(min(height, width)))
            level = torch.log2(shrink / _MAX_BILINEAR_DOWNSCALE).ceil().clamp(0, max_level).long()

        jitter = bernoulli(c.jitter_prob)
        brightness = torch.where(jitter, uniform(c.brightness, batch), 0.0)
        contrast = torch.where(jitter, uniform(c.contrast, batch), 1.0)
        blur_sigma = torch.where(bernoulli(spec.blur_prob), uniform(c.blur_sigma, batch), 0.0)
        noise = bernoulli(c.noise_prob)
        noise_seed = int(uniform((0.0, 2.0**53), 1)) if bool(noise.any()) else 0
        return _CropParams(theta, level, brightness, contrast, bool(jitter.any()), blur_sigma, noise, noise_seed)

    def _apply(self, pyramid: list[Tensor], size: int, p: _CropParams) -> Tensor:
        """Warp, jitter, blur and add noise for one crop; returns (B, 1, size, size)."""
        out = _warp(pyramid, p.theta, p.level, size)
        device, dtype = out.device, out.dtype
        if p.jitter:
            contrast = p.contrast.to(device=device, dtype=dtype).view(-1, 1, 1, 1)
            brightness = p.brightness.to(device=device, dtype=dtype).view(-1, 1, 1, 1)
            shift = brightness + (1 - contrast) * out.mean(dim=(2, 3), keepdim=True)
            out = torch.addcmul(shift, out, contrast)  # mean + contrast · (out - mean) + brightness, one pass
        blurred = p.blur_sigma > 0
        if bool(blurred.all()):
            out = _gaussian_blur(out, p.blur_sigma)
        elif bool(blurred.any()):
            idx = blurred.nonzero().squeeze(1)
            on_device = idx.to(device)
            out = out.index_copy(0, on_device, _gaussian_blur(out.index_select(0, on_device), p.blur_sigma[idx]))
        if bool(p.noise.any()):
            noise_gen = torch.Generator(device=device).manual_seed(p.noise_seed)
            noise = torch.randn(out.shape, generator=noise_gen, device=device, dtype=dtype)
            out = out + noise * (self.config.noise_std * p.noise.to(device=device, dtype=dtype)).view(-1, 1, 1, 1)
        return out


def _warp(pyramid: list[Tensor], theta: Tensor, level: Tensor, size: int) -> Tensor:
    """Bilinear affine resampling of ``pyramid[level[i]][i]`` onto a ``size``² grid, for every sample i.

    ``theta`` (B, 2, 3) maps output to input normalised coordinates of the full-resolution image. A pooled level ``l``
    of size ``(H_l, W_l)`` covers the first ``2^l · W_l <= W`` input columns (floor on odd sizes), so each row of
    ``theta`` is mapped to that level's coordinates by ``x_l = a · x + (a - 1)`` with ``a = W / (2^l · W_l)``.
    """
    base = pyramid[0]
    batch, _, height, width = base.shape
    spans = torch.tensor(
        [[height / (p.shape[2] * 2**lvl), width / (p.shape[3] * 2**lvl)] for lvl, p in enumerate(pyramid)],
        dtype=torch.float64,
    )[level]  # (B, 2): a_y, a_x
    th = theta * spans.flip(1)[:, :, None]
    th[:, :, 2] += spans.flip(1) - 1
    grid = _affine_grid(th.to(device=base.device, dtype=base.dtype), size)
    levels = level.unique().tolist()
    if len(levels) == 1:
        return F.grid_sample(pyramid[levels[0]], grid, mode="bilinear", padding_mode="border", align_corners=False)
    out = base.new_empty(batch, 1, size, size)
    for lvl in levels:
        idx = (level == lvl).nonzero().squeeze(1).to(base.device)
        out.index_copy_(
            0,
            idx,
            F.grid_sample(
                pyramid[lvl].index_select(0, idx),
                grid.index_select(0, idx),
                mode="bilinear",
                padding_mode="border",
                align_corners=False,
            ),
        )
    return out


def _affine_grid(theta: Tensor, size: int) -> Tensor:
    """Same as ``F.affine_grid(theta, (B, 1, size, size), align_corners=False)``, several times faster on CPU.

    Output pixel centres sit at ``(2i + 1) / size - 1``; the grid (B, size, size, 2) holding (x, y) is the broadcast
    sum of a per-row term ``theta[:, :, 1] · v_i + theta[:, :, 2]`` and a per-column term ``theta[:, :, 0] · u_j``.
    """
    centres = (torch.arange(size, device=theta.device, dtype=theta.dtype) * 2 + 1) / size - 1
    rows = centres.view(1, size, 1) * theta[:, None, :, 1] + theta[:, None, :, 2]  # (B, size, 2)
    cols = centres.view(1, size, 1) * theta[:, None, :, 0]  # (B, size, 2)
    return rows[:, :, None, :] + cols[:, None, :, :]


def _gaussian_blur(images: Tensor, sigma: Tensor) -> Tensor:
    """Blur each of ``images`` (n, 1, S, S) with its own Gaussian ``sigma`` (n,) CPU tensor, in pixels.

    Separable grouped convolution (one group per sample), kernel truncated at 3 sigma, replicate padding.
    """
    n, _, height, width = images.shape
    radius = max(1, math.ceil(3 * float(sigma.max())))
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float64)
    kernel = torch.exp(-0.5 * (offsets / sigma[:, None]) ** 2)
    kernel = (kernel / kernel.sum(1, keepdim=True)).to(device=images.device, dtype=images.dtype)
    x = F.pad(images.reshape(1, n, height, width), (radius, radius, radius, radius), mode="replicate")
    x = F.conv2d(x, kernel.view(n, 1, 1, -1), groups=n)
    x = F.conv2d(x, kernel.view(n, 1, -1, 1), groups=n)
    return x.view(n, 1, height, width)

# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Block-wise random masking of ViT patch grids for iBOT's masked-image modelling (BEiT, Bao et al. 2022; iBOT, Zhou
et al. 2022; DINOv2, Oquab et al. 2023).

A share ``probability`` of the images of a batch is masked. The masked images' target ratios are stratified over
``ratio = (lo, hi)``: with M masked images the range is cut into M equal bins and image m draws its ratio uniformly in
bin m (so one batch always spans the whole range), then the masks are dealt to random images. An image's mask is
grown from rectangular blocks until it covers ``int(N · ratio)`` of its N patches: each block draws an area (patches)
uniformly between ``min_block_patches`` and what is still allowed (at most ``max_block_share · N``) and a height/width
ratio log-uniformly in ``[min_aspect, max_aspect]``, and is placed uniformly in the grid; a block is kept when it
covers at least one new patch and not more than the patches still missing. Ten failed draws in a row end the image's
mask (it may then fall short of the target, as in BEiT/DINOv2).

Randomness comes only from the ``numpy.random.Generator`` passed in, so the trainer's per-step seed reproduces every
mask (and a resumed run draws the masks an uninterrupted one would).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

_BLOCK_TRIES = 10
"""Block draws per block before the image's mask is considered complete (BEiT/DINOv2)."""


@dataclass
class MaskingConfig:
    """iBOT's block-wise masking of the student's global crops (used when ``ibot_loss_weight > 0``)."""

    ratio: list[float] = field(
        default_factory=lambda: [0.1, 0.5],
        metadata={"help": "Range of the share of patches masked in a masked image (DINOv2 and iBOT: 0.1 0.5)."},
    )
    probability: float = field(
        default=0.5,
        metadata={"help": "Share of the global crops of a batch that are masked (DINOv2 and iBOT: 0.5)."},
    )
    min_block_patches: int = field(
        default=4, metadata={"help": "Smallest area of a mask block, in patches (BEiT and DINOv2: 4)."}
    )
    max_block_share: float = field(
        default=0.5,
        metadata={"help": "Largest area of a mask block, as a share of the patch grid (DINOv2: 0.5)."},
    )
    min_aspect: float = field(
        default=0.3, metadata={"help": "Smallest height/width ratio of a mask block (BEiT and DINOv2: 0.3)."}
    )
    max_aspect: float | None = field(
        default=None, metadata={"help": "Largest height/width ratio of a mask block; None = 1 / min_aspect."}
    )

    def __post_init__(self) -> None:
        lo, hi = _pair("ratio", self.ratio)
        if not 0.0 <= lo <= hi <= 1.0:
            raise ValueError(f"mask ratio must satisfy 0 <= lo <= hi <= 1, got {self.ratio}")
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError(f"mask probability must be in [0, 1], got {self.probability}")
        if self.min_block_patches < 1 or not 0.0 < self.max_block_share <= 1.0:
            raise ValueError(
                f"need min_block_patches >= 1 and 0 < max_block_share <= 1, got {self.min_block_patches}, "
                f"{self.max_block_share}"
            )
        if not 0.0 < self.min_aspect <= self.aspect_range[1]:
            raise ValueError(
                f"need 0 < min_aspect <= max_aspect, got min_aspect={self.min_aspect}, max_aspect={self.max_aspect}"
            )

    @property
    def aspect_range(self) -> tuple[float, float]:
        """(min, max) height/width ratio of a block."""
        return self.min_aspect, self.max_aspect if self.max_aspect is not None else 1.0 / self.min_aspect


def _pair(name: str, value: object) -> tuple[float, float]:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ValueError(f"mask {name} must be two numbers (lo, hi), got {value!r}")
    return float(value[0]), float(value[1])


class BlockMaskGenerator:
    """Masks of a ``grid = (rows, columns)`` patch grid; see the module docstring for the rule."""

    def __init__(self, config: MaskingConfig, grid: tuple[int, int]) -> None:
        self.config = config
        self.height, self.width = grid
        if self.height < 1 or self.width < 1:
            raise ValueError(f"BlockMaskGenerator: the patch grid must be at least 1×1, got {grid}")
        self.num_patches = self.height * self.width
        self.max_block_patches = config.max_block_share * self.num_patches
        lo, hi = config.aspect_range
        self.log_aspect = (math.log(lo), math.log(hi))

    def __call__(self, n_images: int, rng: np.random.Generator) -> torch.Tensor:
        """(n_images, N) bool masks, True = masked patch (row-major over the grid, the ViT's patch order).

        ``int(n_images · probability)`` of the rows are masked (at stratified target ratios, in random rows); the
        others are all False.
        """
        n_masked = int(n_images * self.config.probability)
        bounds = np.linspace(*self.config.ratio, n_masked + 1)
        masks = np.zeros((n_images, self.height, self.width), dtype=bool)
        for row in range(n_masked):
            target = int(self.num_patches * rng.uniform(bounds[row], bounds[row + 1]))
            self._fill(masks[row], target, rng)
        return torch.from_numpy(masks[rng.permutation(n_images)].reshape(n_images, self.num_patches))

    def _fill(self, mask: np.ndarray, target: int, rng: np.random.Generator) -> None:
        """Add blocks to the (H, W) `mask` in place until `target` patches are masked or no block fits."""
        count = 0
        while count < target:
            added = self._add_block(mask, min(target - count, self.max_block_patches), rng)
            if added == 0:
                return
            count += added

    def _add_block(self, mask: np.ndarray, max_new: float, rng: np.random.Generator) -> int:
        """Mask one block covering between 1 and `max_new` new patches; returns how many it added (0: none fit)."""
        for _ in range(_BLOCK_TRIES):
            # a + (b − a)·u also for a > b (fewer patches missing than min_block_patches), as BEiT's random.uniform
            low = self.config.min_block_patches
            area = low + (max_new - low) * rng.random()
            aspect = math.exp(self.log_aspect[0] + (self.log_aspect[1] - self.log_aspect[0]) * rng.random())
            h, w = round(math.sqrt(area * aspect)), round(math.sqrt(area / aspect))
            if not (h < self.height and w < self.width):
                continue
            top, left = int(rng.integers(0, self.height - h + 1)), int(rng.integers(0, self.width - w + 1))
            box = mask[top : top + h, left : left + w]
            new = h * w - int(box.sum())
            if 0 < new <= max_new:
                box[...] = True
                return new
        return 0

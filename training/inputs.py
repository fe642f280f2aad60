# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Samples → model inputs: applies `oceansar_hf`'s image processor (the one SAR transform) inside dataloader workers."""

from __future__ import annotations

from typing import Any

from oceansar_hf import OceanSARImageProcessor

from .data import CorruptSampleError, SkipCorrupt, Skipped


class ModelInputs:
    """Dataset wrapper: sample `"image"` (H, W) raw → `"pixel_values"` (1, S, S) float32; other keys kept.

    Corrupt samples (unreadable, wrong shape, all NaN, no valid pixel) come back as `Skipped` markers with a warning
    (see `SkipCorrupt`), which `collate_samples` drops, counts and names.
    """

    def __init__(self, dataset: Any, processor: OceanSARImageProcessor) -> None:
        self.dataset = dataset
        self.processor = processor
        self._safe = SkipCorrupt(_Processed(dataset, processor))

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> dict | Skipped:
        return self._safe[index]


class _Processed:
    def __init__(self, dataset: Any, processor: OceanSARImageProcessor) -> None:
        self.dataset, self.processor = dataset, processor

    def __len__(self) -> int:
        return len(self.dataset)

    def describe(self, index: int) -> str:
        return self.dataset.describe(index)

    def __getitem__(self, index: int) -> dict:
        sample = dict(self.dataset[index])
        image = sample.pop("image")
        try:
            sample["pixel_values"] = self.processor.to_pixel_values(image)
        except ValueError as error:  # e.g. no valid pixel left after no-data masking
            raise CorruptSampleError(self.dataset.describe(index), str(error)) from error
        return sample

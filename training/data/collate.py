# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Skip-and-count handling of corrupt samples: `SkipCorrupt` (dataset wrapper) and `collate_samples` (collate_fn).

`SkipCorrupt` turns a `CorruptSampleError` into a `Skipped` marker naming the sample (and warns); `collate_samples`
drops the markers, counts them and keeps their names, so the names travel with their batch in the data itself.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import CorruptSampleError


class CorruptSampleWarning(UserWarning):
    """A corrupt sample was skipped (the message names it and says why)."""


@dataclass(frozen=True)
class Skipped:
    """What a dataset wrapped in `SkipCorrupt` returns for a corrupt sample: its description and why it was skipped."""

    description: str
    reason: str


class SkipCorrupt:
    """Wrap a dataset so that samples raising `CorruptSampleError` come back as `Skipped` markers, with a warning.

    Other attributes (``describe``, ``labels``, ``class_counts``, ...) are those of the wrapped dataset.
    """

    def __init__(self, dataset: Any) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> dict | Skipped:
        try:
            return self.dataset[index]
        except CorruptSampleError as error:
            skipped = Skipped(self.dataset.describe(index), error.reason or str(error))
            warnings.warn(
                f"skipping corrupt sample {skipped.description}: {skipped.reason}", CorruptSampleWarning, stacklevel=2
            )
            return skipped

    def __getattr__(self, name: str) -> Any:
        if name == "dataset":  # not yet set (e.g. while unpickling): avoid infinite recursion
            raise AttributeError(name)
        return getattr(self.dataset, name)


def collate_samples(samples: Sequence[dict | Skipped]) -> dict:
    """Drop the `Skipped` markers and stack the other samples, key by key.

    Returns a dict with ``"n_skipped"`` (int), ``"skipped"`` (descriptions of the skipped samples), ``"batch_size"``
    (samples kept) and, when at least one sample is kept, one entry per sample key:

    - numpy arrays -> ``np.stack`` (B, ...) and torch tensors -> ``torch.stack`` when all shapes agree; otherwise the
      list of arrays (e.g. vignettes of different sizes: resize them with the image processor before batching);
    - ints/bools -> int64 array (B,); floats -> float32 array (B,), NaN kept; anything else -> list.

    A batch whose samples were all skipped has only the three counting keys (``batch_size`` 0).
    """
    skipped = [sample.description for sample in samples if isinstance(sample, Skipped)]
    kept = [sample for sample in samples if not isinstance(sample, Skipped)]
    batch: dict[str, Any] = {"n_skipped": len(skipped), "skipped": skipped, "batch_size": len(kept)}
    if not kept:
        return batch
    keys = list(kept[0])
    for sample in kept[1:]:
        if list(sample) != keys:
            raise ValueError(f"samples have different keys: {keys} vs {list(sample)}")
    for key in keys:
        batch[key] = _stack([sample[key] for sample in kept])
    return batch


def _stack(values: list[Any]) -> Any:
    first = values[0]
    if isinstance(first, np.ndarray):
        same = all(isinstance(v, np.ndarray) and v.shape == first.shape for v in values)
        return np.stack(values) if same else values
    if type(first).__module__.startswith("torch"):
        import torch

        if isinstance(first, torch.Tensor):
            same = all(isinstance(v, torch.Tensor) and v.shape == first.shape for v in values)
            return torch.stack(values) if same else values
    if all(isinstance(v, bool | int | np.integer) for v in values):
        return np.asarray(values, dtype=np.int64)
    if all(isinstance(v, float | int | np.floating | np.integer) for v in values):
        return np.asarray(values, dtype=np.float32)
    return values

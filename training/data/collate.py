"""Skip-and-count handling of corrupt samples: `SkipCorrupt` (dataset wrapper) and `collate_samples` (collate_fn).

`SkipCorrupt` turns a `CorruptSampleError` into a ``None`` sample and a `CorruptSampleWarning` naming the file. It
also records the skipped sample's description in a thread-local list that the next `collate_samples` call in the same
thread takes as the batch's ``"skipped"`` names. A ``torch.utils.data.DataLoader`` fetches a batch and collates it in
the same worker thread, so the names travel with their batch whatever ``num_workers`` is.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from .errors import CorruptSampleError

_local = threading.local()
_MAX_PENDING = 100_000


class CorruptSampleWarning(UserWarning):
    """A corrupt sample was skipped (the message names it and says why)."""


def _pending() -> list[str]:
    if not hasattr(_local, "skipped"):
        _local.skipped = []
    return _local.skipped


class SkipCorrupt:
    """Wrap a dataset so that samples raising `CorruptSampleError` come back as ``None`` with a warning.

    Other attributes (``describe``, ``labels``, ``class_counts``, ...) are those of the wrapped dataset.
    """

    def __init__(self, dataset: Any) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> dict | None:
        try:
            return self.dataset[index]
        except CorruptSampleError as error:
            description = self.dataset.describe(index)
            reason = error.reason or str(error)
            warnings.warn(f"skipping corrupt sample {description}: {reason}", CorruptSampleWarning, stacklevel=2)
            pending = _pending()
            if len(pending) < _MAX_PENDING:
                pending.append(description)
            return None

    def __getattr__(self, name: str) -> Any:
        if name == "dataset":  # not yet set (e.g. while unpickling): avoid infinite recursion
            raise AttributeError(name)
        return getattr(self.dataset, name)


def collate_samples(samples: Sequence[dict | None]) -> dict:
    """Drop the ``None`` samples and stack the rest, key by key.

    Returns a dict with ``"n_skipped"`` (int), ``"skipped"`` (descriptions of the skipped samples, from `SkipCorrupt`;
    ``"<unnamed>"`` when a ``None`` did not come from it), ``"batch_size"`` (samples kept) and, when at least one
    sample is kept, one entry per sample key:

    - numpy arrays -> ``np.stack`` (B, ...) and torch tensors -> ``torch.stack`` when all shapes agree; otherwise the
      list of arrays (e.g. vignettes of different sizes: resize them with the image processor before batching);
    - ints/bools -> int64 array (B,); floats -> float32 array (B,), NaN kept; anything else -> list.

    A batch whose samples were all skipped has only the three counting keys (``batch_size`` 0).
    """
    kept = [sample for sample in samples if sample is not None]
    n_skipped = len(samples) - len(kept)
    pending = _pending()
    names = pending[-n_skipped:] if n_skipped else []
    pending.clear()
    names = ["<unnamed>"] * (n_skipped - len(names)) + names
    batch: dict[str, Any] = {"n_skipped": n_skipped, "skipped": names, "batch_size": len(kept)}
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

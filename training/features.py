# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Batched feature extraction with a frozen backbone, and an on-disk cache so several probes share one pass.

`extract_features` is the one embedding routine of the project: the offline probes (`training.probe`), the trainer's
periodic k-NN evaluation (`training.probes.knn_evaluate`) and the pruning callback all call it. Its signature is
stable:

    extract_features(model, dataset, indices=None, processor=None, batch_size=64, accelerator=None,
                     num_workers=0, progress=True, desc="features") -> FeatureSet

Samples follow the data contract (ARCHITECTURE.md, "Samples"): ``ds[i]["image"]`` (H, W) raw SAR, ``"index"``,
``"label"`` and optional ``"wind_speed"`` / ``"wave_height"``. Corrupt samples are skipped and counted, never fatal.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from safetensors.torch import load_file, save_file
from torch.utils.data import DataLoader, Subset
from tqdm.auto import tqdm

from oceansar_hf import OceanSARImageProcessor

from .data import collate_samples
from .distributed import deduplicate_by_index, gather_features
from .inputs import ModelInputs

logger = logging.getLogger(__name__)

LABEL_KEYS = ("label", "wind_speed", "wave_height")
"""Per-sample labels carried next to the features: TenGeoP class id (-1 unknown), wind speed (m/s), Hs (m)."""

CACHE_FORMAT = 1


@dataclass
class FeatureSet:
    """Frozen-backbone features of a dataset, one row per successfully read sample, sorted by dataset index.

    Attributes:
        features: (N, D) float32 CPU tensor (`pooler_output`).
        indices: (N,) int64 dataset indices of the rows.
        labels: per-row arrays for the keys of `LABEL_KEYS` that at least one sample knows: ``"label"`` int64
            (-1 = unknown), ``"wind_speed"`` float64 m/s and ``"wave_height"`` float64 m (NaN = unknown).
        n_skipped: number of requested samples that were corrupt and skipped (over all processes).
        skipped: descriptions of the skipped samples (`ds.describe(i)`).
        meta: free-form description (cache key, model, dataset).
    """

    features: torch.Tensor
    indices: torch.Tensor
    labels: dict[str, np.ndarray] = field(default_factory=dict)
    n_skipped: int = 0
    skipped: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.indices.shape[0])

    def select(self, rows: np.ndarray | torch.Tensor | Sequence[int]) -> FeatureSet:
        """The rows at positions `rows` (a boolean mask or integer positions), labels included."""
        rows_np = np.asarray(rows.cpu() if isinstance(rows, torch.Tensor) else rows)
        if rows_np.dtype == bool:
            rows_np = np.flatnonzero(rows_np)
        position = torch.as_tensor(rows_np, dtype=torch.long)
        return FeatureSet(
            features=self.features[position],
            indices=self.indices[position],
            labels={key: values[rows_np] for key, values in self.labels.items()},
            n_skipped=self.n_skipped,
            skipped=list(self.skipped),
            meta=dict(self.meta),
        )

    def target(self, key: str) -> np.ndarray:
        """The label array `key`; `KeyError` naming the available keys when no sample carries it."""
        if key not in self.labels:
            raise KeyError(f"no sample carries {key!r}; available labels: {sorted(self.labels)}")
        return self.labels[key]


def _pooled(outputs: Any) -> torch.Tensor:
    """(B, D) features from a model output: `pooler_output` (flattened if (B, D, 1, 1)) or a plain tensor."""
    pooled = outputs if isinstance(outputs, torch.Tensor) else getattr(outputs, "pooler_output", None)
    if pooled is None:
        raise TypeError(
            f"the model returned {type(outputs).__name__} without `pooler_output`; extract_features needs an "
            "OceanSARModel-like backbone (output.pooler_output of shape (B, D)) or a module returning (B, D)."
        )
    return pooled.flatten(1)


def _default_processor(model: torch.nn.Module) -> OceanSARImageProcessor:
    size = getattr(getattr(model, "config", None), "image_size", 256)
    logger.warning("extract_features: no processor given; using OceanSARImageProcessor(size=%d) defaults", size)
    return OceanSARImageProcessor(size=size)


def _label_columns(batch: dict, count: int) -> torch.Tensor:
    """(B, 3) float64: label, wind speed, wave height of a collated batch (-1 / NaN when the key is absent)."""
    columns = np.empty((count, len(LABEL_KEYS)), dtype=np.float64)
    for position, (key, missing) in enumerate(zip(LABEL_KEYS, (-1.0, math.nan, math.nan), strict=True)):
        values = batch.get(key)
        columns[:, position] = missing if values is None else np.asarray(values, dtype=np.float64)
    return torch.from_numpy(columns)


def _labels_dict(columns: torch.Tensor) -> dict[str, np.ndarray]:
    """Label arrays from the gathered (N, 3) columns; keys no sample knows are dropped."""
    labels: dict[str, np.ndarray] = {}
    class_ids = columns[:, 0].numpy().astype(np.int64)
    if (class_ids >= 0).any():
        labels["label"] = class_ids
    for position, key in enumerate(LABEL_KEYS[1:], start=1):
        values = columns[:, position].numpy().copy()
        if np.isfinite(values).any():
            labels[key] = values
    return labels


def extract_features(
    model: torch.nn.Module,
    dataset: Any,
    indices: Sequence[int] | np.ndarray | torch.Tensor | None = None,
    processor: OceanSARImageProcessor | None = None,
    batch_size: int = 64,
    accelerator: Any = None,
    num_workers: int = 0,
    progress: bool = True,
    desc: str = "features",
) -> FeatureSet:
    """Embed `dataset[indices]` with a frozen backbone.

    Args:
        model: backbone whose output has `pooler_output` (B, D) (e.g. `OceanSARModel`), or returns (B, D). Run in eval
            mode under `torch.inference_mode`; its training mode is restored afterwards.
        dataset: indexable dataset following the sample contract (raw (H, W) images).
        indices: dataset indices to embed (default: all). Duplicates are embedded once.
        processor: image processor whose `to_pixel_values` makes the model input (default: one built from
            `model.config.image_size`, with a warning).
        batch_size: images per forward pass (per process).
        accelerator: an `accelerate.Accelerator`; each process embeds its share of `indices` on
            `accelerator.device` (under its autocast) and the shares are all-gathered. Without it the model runs on
            the device of its parameters in one process.
        num_workers: dataloader workers reading and processing images.
        progress: show a tqdm bar (main process only).
        desc: the progress bar's label.

    Returns:
        A `FeatureSet` sorted by dataset index, identical on every process. Corrupt samples (unreadable file,
        wrong shape, no valid pixel) are skipped, counted in `n_skipped` and named in `skipped`.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    wanted = np.arange(len(dataset), dtype=np.int64) if indices is None else np.unique(np.asarray(indices, np.int64))
    if wanted.size and (wanted[0] < 0 or wanted[-1] >= len(dataset)):
        raise IndexError(f"indices must lie in [0, {len(dataset)}), got range [{wanted[0]}, {wanted[-1]}]")
    processor = processor if processor is not None else _default_processor(model)
    rank, world = (accelerator.process_index, accelerator.num_processes) if accelerator is not None else (0, 1)
    if accelerator is not None:
        model = accelerator.unwrap_model(model)
        device = accelerator.device
    else:
        device = next(model.parameters()).device
    loader = DataLoader(
        Subset(ModelInputs(dataset, processor), wanted[rank::world].tolist()),
        batch_size=batch_size,
        num_workers=num_workers,
        collate_fn=collate_samples,
        pin_memory=torch.device(device).type == "cuda",
    )
    is_main = accelerator is None or accelerator.is_main_process
    features, rows, columns, skipped = [], [], [], []
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            for batch in tqdm(loader, desc=desc, disable=not (progress and is_main), leave=False):
                skipped.extend(batch["skipped"])
                if batch["batch_size"] == 0:
                    continue
                pixels = batch["pixel_values"].to(device, non_blocking=True)
                if accelerator is not None:
                    with accelerator.autocast():
                        pooled = _pooled(model(pixel_values=pixels))
                else:
                    pooled = _pooled(model(pixel_values=pixels))
                features.append(pooled.float().cpu())
                rows.append(torch.as_tensor(batch["index"], dtype=torch.long))
                columns.append(_label_columns(batch, batch["batch_size"]))
    finally:
        model.train(was_training)
    width = features[0].shape[1] if features else _feature_width(model)
    local = torch.cat(features) if features else torch.zeros(0, width)
    local_rows = torch.cat(rows) if rows else torch.zeros(0, dtype=torch.long)
    local_columns = torch.cat(columns) if columns else torch.zeros(0, len(LABEL_KEYS), dtype=torch.float64)
    if world > 1:  # collectives only when the caller asked for a multi-process pass
        gathered, order = gather_features(local, local_rows)
        gathered_columns, _ = gather_features(local_columns, local_rows)
        shards: list[list[str]] = [[] for _ in range(world)]
        dist.all_gather_object(shards, skipped)
        skipped = [name for shard in shards for name in shard]
    else:
        gathered, order = deduplicate_by_index(local, local_rows)
        gathered_columns, _ = deduplicate_by_index(local_columns, local_rows)
    n_skipped = int(wanted.size - order.shape[0])
    if n_skipped:
        shown = ", ".join(skipped[:5]) + (" ..." if len(skipped) > 5 else "")
        logger.warning("%s: skipped %d corrupt sample(s) of %d: %s", desc, n_skipped, wanted.size, shown)
    return FeatureSet(
        features=gathered.contiguous(),
        indices=order,
        labels=_labels_dict(gathered_columns),
        n_skipped=n_skipped,
        skipped=skipped,
    )


def _feature_width(model: torch.nn.Module) -> int:
    """D of a model whose every sample was skipped (so no output told us)."""
    config = getattr(model, "config", None)
    width = getattr(config, "num_features", None)
    return int(width) if width is not None else 0


# ------------------------------------------------------------------------------------------------------ cache


def folder_fingerprint(folder: str | Path) -> str:
    """SHA-256 over the names and contents of the files of a model folder (weights, configs): the cache key."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a model folder")
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        digest.update(path.name.encode())
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 22), b""):
                digest.update(chunk)
    return digest.hexdigest()


def cache_key(
    model_fingerprint: str,
    dataset_description: str,
    indices: Sequence[int] | np.ndarray,
    processor: OceanSARImageProcessor | None = None,
) -> dict[str, Any]:
    """The metadata that identifies a feature pass: model, data, requested indices and the image transform."""
    wanted = np.unique(np.asarray(indices, dtype=np.int64))
    processor_json = json.dumps(processor.to_dict(), sort_keys=True, default=str) if processor is not None else ""
    return {
        "format": CACHE_FORMAT,
        "model": model_fingerprint,
        "dataset": dataset_description,
        "num_indices": int(wanted.size),
        "indices_sha256": hashlib.sha256(wanted.tobytes()).hexdigest(),
        "processor_sha256": hashlib.sha256(processor_json.encode()).hexdigest(),
    }


def _meta_path(path: Path) -> Path:
    return path.with_suffix(".json")


def cache_features(feature_set: FeatureSet, path: str | Path, key: dict[str, Any] | None = None) -> Path:
    """Write `feature_set` to `path` (`.safetensors`: features, indices, labels) and `path`.json (key, skips).

    Returns the safetensors path.
    """
    path = Path(path).with_suffix(".safetensors")
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {"features": feature_set.features.contiguous(), "indices": feature_set.indices.contiguous()}
    for name, values in feature_set.labels.items():
        tensors[f"labels.{name}"] = torch.from_numpy(np.ascontiguousarray(values))
    save_file(tensors, str(path))
    meta = {
        "key": key if key is not None else feature_set.meta.get("key"),
        "n_skipped": feature_set.n_skipped,
        "skipped": feature_set.skipped,
        "meta": feature_set.meta,
    }
    _meta_path(path).write_text(json.dumps(meta, indent=2, default=str))
    return path


def load_cached_features(path: str | Path, key: dict[str, Any] | None = None) -> FeatureSet | None:
    """The `FeatureSet` cached at `path`, or None when there is none or (with `key`) its key differs."""
    path = Path(path).with_suffix(".safetensors")
    meta_path = _meta_path(path)
    if not (path.is_file() and meta_path.is_file()):
        return None
    meta = json.loads(meta_path.read_text())
    if key is not None and meta.get("key") != json.loads(json.dumps(key, default=str)):
        logger.info("feature cache %s is stale (different model, data or transform); recomputing", path)
        return None
    tensors = load_file(str(path))
    labels = {name.split(".", 1)[1]: value.numpy() for name, value in tensors.items() if name.startswith("labels.")}
    return FeatureSet(
        features=tensors["features"],
        indices=tensors["indices"],
        labels=labels,
        n_skipped=int(meta.get("n_skipped", 0)),
        skipped=list(meta.get("skipped", [])),
        meta=dict(meta.get("meta") or {}),
    )


def extract_or_load(
    model: torch.nn.Module,
    dataset: Any,
    cache_path: str | Path | None,
    key: dict[str, Any] | None,
    **kwargs: Any,
) -> FeatureSet:
    """`load_cached_features(cache_path, key)` if it matches, else `extract_features(model, dataset, **kwargs)` and
    cache the result (written by the main process only when `accelerator` is given). `cache_path=None`: no cache."""
    if cache_path is not None:
        cached = load_cached_features(cache_path, key)
        if cached is not None:
            logger.info("loaded cached features %s (%d rows)", cache_path, len(cached))
            return cached
    feature_set = extract_features(model, dataset, **kwargs)
    feature_set.meta["key"] = key
    accelerator = kwargs.get("accelerator")
    if cache_path is not None and (accelerator is None or accelerator.is_main_process):
        cache_features(feature_set, cache_path, key)
    return feature_set

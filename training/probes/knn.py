# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Weighted k-nearest-neighbour classification on frozen features (the DINO protocol: cosine similarity, k = 20,
votes weighted by exp(similarity / T) with T = 0.07), and the k-NN evaluation the trainer runs periodically."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from oceansar_hf.tasks import TENGEOP_CLASSES

from ..features import extract_features


def _as_tensor(values: torch.Tensor | np.ndarray, dtype: torch.dtype) -> torch.Tensor:
    return torch.as_tensor(np.asarray(values) if not isinstance(values, torch.Tensor) else values).to(dtype)


def knn_classify(
    train_features: torch.Tensor | np.ndarray,
    train_labels: torch.Tensor | np.ndarray,
    test_features: torch.Tensor | np.ndarray,
    k: int = 20,
    temperature: float = 0.07,
    num_classes: int | None = None,
    batch_size: int = 1024,
) -> torch.Tensor:
    """Predict the class of every test point by a similarity-weighted vote of its k nearest training points.

    Features are L2-normalised; the similarity is the cosine s; each of the k most similar training points votes for
    its class with weight exp(s / temperature); the class with the largest total wins.

    Args:
        train_features: (N, D). train_labels: (N,) class ids in [0, num_classes).
        test_features: (M, D).
        k: neighbours (clipped to N). temperature: vote temperature T.
        num_classes: C (default: max train label + 1). batch_size: test points per similarity block.

    Returns:
        (M,) int64 predicted class ids.
    """
    train = F.normalize(_as_tensor(train_features, torch.float32), dim=1)
    test = F.normalize(_as_tensor(test_features, torch.float32), dim=1)
    labels = _as_tensor(train_labels, torch.long)
    if train.ndim != 2 or test.ndim != 2 or train.shape[1] != test.shape[1] or labels.shape != (train.shape[0],):
        raise ValueError(
            f"expected train (N, D), labels (N,), test (M, D); got {tuple(train.shape)}, {tuple(labels.shape)}, "
            f"{tuple(test.shape)}"
        )
    if train.shape[0] == 0:
        raise ValueError("k-NN needs at least one labelled training point")
    if labels.min() < 0:
        raise ValueError("train labels must be class ids >= 0 (drop unlabelled points, label -1, first)")
    if k < 1 or temperature <= 0:
        raise ValueError(f"k must be >= 1 and temperature > 0, got k={k}, temperature={temperature}")
    num_classes = int(labels.max()) + 1 if num_classes is None else num_classes
    k = min(k, train.shape[0])
    predictions = []
    for start in range(0, test.shape[0], batch_size):
        similarity = test[start : start + batch_size] @ train.T  # (B, N)
        top_similarity, top_index = similarity.topk(k, dim=1)
        weights = (top_similarity / temperature).exp()
        votes = torch.zeros(top_index.shape[0], num_classes).scatter_add_(1, labels[top_index], weights)
        predictions.append(votes.argmax(dim=1))
    return torch.cat(predictions) if predictions else torch.zeros(0, dtype=torch.long)


def knn_accuracy(
    train_features: torch.Tensor | np.ndarray,
    train_labels: torch.Tensor | np.ndarray,
    test_features: torch.Tensor | np.ndarray,
    test_labels: torch.Tensor | np.ndarray,
    k: int = 20,
    temperature: float = 0.07,
    num_classes: int | None = None,
) -> float:
    """Fraction (0..1) of test points whose `knn_classify` prediction equals `test_labels` (M,)."""
    targets = _as_tensor(test_labels, torch.long)
    if targets.numel() == 0:
        raise ValueError("k-NN accuracy needs at least one labelled test point")
    predictions = knn_classify(train_features, train_labels, test_features, k, temperature, num_classes)
    return float((predictions == targets).float().mean())


def knn_evaluate(
    model: torch.nn.Module,
    train_dataset: Any,
    test_dataset: Any,
    processor: Any,
    accelerator: Any = None,
    k: int = 20,
    temperature: float = 0.07,
    train_indices: np.ndarray | None = None,
    test_indices: np.ndarray | None = None,
    batch_size: int = 64,
    num_workers: int = 0,
) -> dict[str, float]:
    """Weighted k-NN accuracy of a backbone on the TenGeoP classes: embed a labelled bank and a test set, classify
    the test set.

    Used by the trainer's `KNNEvaluationCallback`; works in every process of a multi-process run (each embeds its
    share, all get the same result). Samples with label -1 and corrupt samples are left out.

    Returns:
        ``{"knn_accuracy": 0..1, "knn_num_train": int, "knn_num_test": int, "knn_skipped": int}``.
    """
    common = {
        "processor": processor,
        "batch_size": batch_size,
        "accelerator": accelerator,
        "num_workers": num_workers,
        "progress": False,
    }
    bank = extract_features(model, train_dataset, train_indices, desc="k-NN bank", **common)
    test = extract_features(model, test_dataset, test_indices, desc="k-NN test", **common)
    for name, feature_set in (("train", bank), ("test", test)):
        if "label" not in feature_set.labels:
            raise ValueError(f"k-NN evaluation needs class labels; the {name} dataset has none")
    bank_mask, test_mask = bank.labels["label"] >= 0, test.labels["label"] >= 0
    accuracy = knn_accuracy(
        bank.features[torch.from_numpy(bank_mask)],
        bank.labels["label"][bank_mask],
        test.features[torch.from_numpy(test_mask)],
        test.labels["label"][test_mask],
        k=k,
        temperature=temperature,
        num_classes=len(TENGEOP_CLASSES),
    )
    return {
        "knn_accuracy": accuracy,
        "knn_num_train": int(bank_mask.sum()),
        "knn_num_test": int(test_mask.sum()),
        "knn_skipped": bank.n_skipped + test.n_skipped,
    }

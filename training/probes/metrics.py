# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""The probes' metrics through Hugging Face `evaluate`, loaded from the local modules in `training/metrics/`
(by path, so nothing is fetched from the Hub)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

METRICS_DIR = Path(__file__).resolve().parents[1] / "metrics"
"""Folder of the local `evaluate` modules: `sar_classification/`, `sar_regression/`."""


@cache
def load_metric(name: str) -> Any:
    """`evaluate.load` of the local module `training/metrics/<name>` (e.g. "sar_classification")."""
    import evaluate

    path = METRICS_DIR / name
    if not (path / f"{name}.py").is_file():
        available = sorted(p.name for p in METRICS_DIR.iterdir() if (p / f"{p.name}.py").is_file())
        raise ValueError(f"no local metric {name!r} in {METRICS_DIR}; available: {available}")
    return evaluate.load(str(path))


def classification_metrics(predictions: np.ndarray, references: np.ndarray, num_classes: int) -> dict[str, Any]:
    """Accuracy, balanced accuracy, per-class accuracy, support and confusion matrix (see `sar_classification`)."""
    return load_metric("sar_classification").compute(
        predictions=np.asarray(predictions).tolist(),
        references=np.asarray(references).tolist(),
        num_classes=num_classes,
    )


def regression_metrics(predictions: np.ndarray, references: np.ndarray) -> dict[str, Any]:
    """RMSE, MAE, bias (target units), R² and Pearson correlation (see `sar_regression`)."""
    return load_metric("sar_regression").compute(
        predictions=np.asarray(predictions, dtype=np.float64).tolist(),
        references=np.asarray(references, dtype=np.float64).tolist(),
    )

# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Downstream evaluation on frozen features: weighted k-NN, logistic and ridge linear probes, metrics, figures and
the export of a probe as an `OceanSARForImageClassification` head.
The CLI is `python -m training.probe` (`probes/cli.py`)."""

from .export import export_probe, probe_head_model
from .knn import knn_accuracy, knn_classify, knn_evaluate
from .linear import (
    DEFAULT_RIDGE_LAMBDAS,
    DEFAULT_WEIGHT_DECAYS,
    LinearProbe,
    Standardizer,
    fit_logistic_probe,
    fit_ridge_probe,
)
from .metrics import classification_metrics, load_metric, regression_metrics

__all__ = [
    "DEFAULT_RIDGE_LAMBDAS",
    "DEFAULT_WEIGHT_DECAYS",
    "LinearProbe",
    "Standardizer",
    "classification_metrics",
    "export_probe",
    "fit_logistic_probe",
    "fit_ridge_probe",
    "knn_accuracy",
    "knn_classify",
    "knn_evaluate",
    "load_metric",
    "probe_head_model",
    "regression_metrics",
]

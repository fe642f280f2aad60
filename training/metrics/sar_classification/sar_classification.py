# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""`evaluate` metric: classification accuracy with per-class accuracy (recall) and the confusion matrix.

Load it by path (works offline): ``evaluate.load("/abs/path/training/metrics/sar_classification")``.
"""

import datasets
import evaluate
import numpy as np

_DESCRIPTION = """Overall accuracy, per-class accuracy (the fraction of each true class predicted correctly, i.e. the
recall), their mean (balanced accuracy) and the confusion matrix (rows: true class, columns: predicted class)."""

_INPUTS = """
Args:
    predictions (list of int): predicted class ids.
    references (list of int): true class ids.
    num_classes (int, optional): C; default max(predictions, references) + 1.
Returns:
    accuracy (float, 0..1), balanced_accuracy (float, mean per-class accuracy over classes present in the
    references), per_class_accuracy (list of C floats, NaN for classes absent from the references),
    support (list of C ints), confusion_matrix (C x C list of ints), num_samples (int).
"""


class SarClassification(evaluate.Metric):
    """Accuracy, per-class accuracy and confusion matrix for TenGeoP-style single-label classification."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_INPUTS,
            features=datasets.Features({"predictions": datasets.Value("int64"), "references": datasets.Value("int64")}),
        )

    def _compute(self, predictions, references, num_classes=None):
        predicted = np.asarray(predictions, dtype=np.int64)
        truth = np.asarray(references, dtype=np.int64)
        if predicted.size == 0:
            raise ValueError("sar_classification needs at least one prediction")
        if min(predicted.min(), truth.min()) < 0:
            raise ValueError("class ids must be >= 0")
        size = int(max(predicted.max(), truth.max())) + 1 if num_classes is None else int(num_classes)
        if max(predicted.max(), truth.max()) >= size:
            raise ValueError(f"class ids must be < num_classes={size}")
        matrix = np.zeros((size, size), dtype=np.int64)
        np.add.at(matrix, (truth, predicted), 1)
        support = matrix.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            per_class = np.where(support > 0, np.diag(matrix) / support, np.nan)
        return {
            "accuracy": float(np.trace(matrix) / predicted.size),
            "balanced_accuracy": float(np.nanmean(per_class)),
            "per_class_accuracy": [float(v) for v in per_class],
            "support": [int(v) for v in support],
            "confusion_matrix": matrix.tolist(),
            "num_samples": int(predicted.size),
        }

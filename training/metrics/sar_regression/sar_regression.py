# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""`evaluate` metric: regression errors in physical units (RMSE, MAE, bias), plus R² and the correlation.

Load it by path (works offline): ``evaluate.load("/abs/path/training/metrics/sar_regression")``.
"""

import datasets
import evaluate
import numpy as np

_DESCRIPTION = """Errors of a regression in the units of the target (m for wave height, m/s for wind speed):
RMSE = sqrt(mean((p - t)^2)), MAE = mean(|p - t|), bias = mean(p - t) (positive: over-estimation), R^2 = 1 - SSE / SST
and the Pearson correlation of predictions and targets."""

_INPUTS = """
Args:
    predictions (list of float): predicted values.
    references (list of float): true values (finite).
Returns:
    rmse, mae, bias (floats, target units), r2 (float; NaN for constant references), pearson (float; NaN when
    either side is constant), num_samples (int).
"""


class SarRegression(evaluate.Metric):
    """RMSE, MAE and bias of wave-height or wind-speed predictions."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_INPUTS,
            features=datasets.Features(
                {"predictions": datasets.Value("float64"), "references": datasets.Value("float64")}
            ),
        )

    def _compute(self, predictions, references):
        predicted = np.asarray(predictions, dtype=np.float64)
        truth = np.asarray(references, dtype=np.float64)
        if predicted.size == 0:
            raise ValueError("sar_regression needs at least one prediction")
        if not (np.isfinite(predicted).all() and np.isfinite(truth).all()):
            raise ValueError("predictions and references must be finite (drop samples without a target first)")
        error = predicted - truth
        spread = float(((truth - truth.mean()) ** 2).sum())
        both_vary = predicted.std() > 0 and truth.std() > 0
        return {
            "rmse": float(np.sqrt(np.mean(error**2))),
            "mae": float(np.mean(np.abs(error))),
            "bias": float(np.mean(error)),
            "r2": float(1.0 - (error**2).sum() / spread) if spread > 0 else float("nan"),
            "pearson": float(np.corrcoef(predicted, truth)[0, 1]) if both_vary else float("nan"),
            "num_samples": int(predicted.size),
        }

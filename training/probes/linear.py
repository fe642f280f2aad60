# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Linear probes on frozen, standardised features: logistic regression (TenGeoP) and ridge regression (Hs, wind).

Both fit on the training split and choose their regularisation on the validation split. A fitted `LinearProbe` maps
raw features x (N, D) to outputs (N, C) = ((x - mean) / std) @ weight.T + bias; `folded()` gives the equivalent
single linear layer on raw features, which is what the exported `OceanSARForImageClassification` head holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

DEFAULT_WEIGHT_DECAYS: tuple[float, ...] = (1e-5, 1e-4, 1e-3, 1e-2, 1e-1)
"""L2 penalties swept by the logistic probe (on the mean cross-entropy, standardised features)."""

DEFAULT_RIDGE_LAMBDAS: tuple[float, ...] = (1e-8, 1e-6, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0, 1000.0)
"""Ridge penalties λ swept by the regression probe (on the mean squared error, standardised features)."""


def _float64(values: torch.Tensor | np.ndarray) -> torch.Tensor:
    return torch.as_tensor(np.asarray(values) if not isinstance(values, torch.Tensor) else values).double()


@dataclass
class Standardizer:
    """Per-feature standardisation z = (x - mean) / std fitted on training features; constant features get std 1."""

    mean: torch.Tensor
    std: torch.Tensor

    @classmethod
    def fit(cls, features: torch.Tensor, eps: float = 1e-6) -> Standardizer:
        """Mean and std (D,) float64 of (N, D) `features`."""
        x = _float64(features)
        std = x.std(dim=0, unbiased=False)
        return cls(mean=x.mean(dim=0), std=torch.where(std > eps, std, torch.ones_like(std)))

    def __call__(self, features: torch.Tensor | np.ndarray) -> torch.Tensor:
        return (_float64(features) - self.mean) / self.std


@dataclass
class LinearProbe:
    """A fitted linear probe: outputs = standardise(x) @ weight.T + bias.

    Attributes:
        weight: (C, D) float64 on standardised features. bias: (C,) float64.
        standardizer: the training-feature standardisation.
        kind: "classification" (C classes, outputs are logits) or "regression" (C = 1, outputs in target units).
        sweep: one record per regularisation value tried, with its validation score.
        chosen: the selected record.
    """

    weight: torch.Tensor
    bias: torch.Tensor
    standardizer: Standardizer
    kind: str
    sweep: list[dict[str, float]] = field(default_factory=list)
    chosen: dict[str, float] = field(default_factory=dict)

    def outputs(self, features: torch.Tensor | np.ndarray) -> torch.Tensor:
        """(N, C) float64 logits (classification) or predictions (regression) for raw features (N, D)."""
        return self.standardizer(features) @ self.weight.T + self.bias

    def predict(self, features: torch.Tensor | np.ndarray) -> np.ndarray:
        """(N,) int64 classes or float64 target values."""
        out = self.outputs(features)
        return out.argmax(dim=1).numpy() if self.kind == "classification" else out[:, 0].numpy()

    def folded(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(C, D) weight and (C,) bias of the same map on raw features: W/std and b - (W/std)·mean."""
        weight = self.weight / self.standardizer.std
        return weight, self.bias - weight @ self.standardizer.mean


def _check_xy(features: torch.Tensor, targets: torch.Tensor, name: str) -> None:
    if features.ndim != 2 or targets.shape != (features.shape[0],):
        raise ValueError(
            f"{name}: expected features (N, D) and targets (N,), got {tuple(features.shape)} and {tuple(targets.shape)}"
        )
    if features.shape[0] == 0:
        raise ValueError(f"{name}: no samples")


def _class_weights(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Inverse-frequency weights (C,) with mean 1 over present classes (absent classes weigh 0)."""
    counts = torch.bincount(labels, minlength=num_classes).double()
    weights = torch.where(counts > 0, 1.0 / counts.clamp_min(1), torch.zeros_like(counts))
    return weights * (counts > 0).sum() / weights.sum()


def _fit_logistic_once(
    z: torch.Tensor,
    y: torch.Tensor,
    num_classes: int,
    weight_decay: float,
    class_weight: torch.Tensor | None,
    max_iter: int,
    start: tuple[torch.Tensor, torch.Tensor] | None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Full-batch L-BFGS on mean cross-entropy + weight_decay/2·||W||² (bias not penalised), from zeros or `start`."""
    if start is None:
        start = torch.zeros(num_classes, z.shape[1], dtype=torch.float64), torch.zeros(num_classes, dtype=torch.float64)
    weight = start[0].clone().requires_grad_(True)
    bias = start[1].clone().requires_grad_(True)
    optimizer = torch.optim.LBFGS(
        [weight, bias],
        lr=1.0,
        max_iter=max_iter,
        history_size=20,
        tolerance_grad=1e-7,
        tolerance_change=1e-10,
        line_search_fn="strong_wolfe",
    )

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = F.cross_entropy(z @ weight.T + bias, y, weight=class_weight) + 0.5 * weight_decay * weight.pow(2).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        optimizer.step(closure)
    return weight.detach(), bias.detach()


def fit_logistic_probe(
    train_features: torch.Tensor | np.ndarray,
    train_labels: torch.Tensor | np.ndarray,
    val_features: torch.Tensor | np.ndarray,
    val_labels: torch.Tensor | np.ndarray,
    num_classes: int,
    weight_decays: tuple[float, ...] = DEFAULT_WEIGHT_DECAYS,
    class_balanced: bool = True,
    max_iter: int = 100,
) -> LinearProbe:
    """Multinomial logistic regression on standardised features; the weight decay with the best validation accuracy
    wins (ties: lower validation cross-entropy). Penalties are fitted from the largest down, each warm-started from
    the previous solution (a regularisation path), and reported in that order in `sweep`.

    Args:
        train_features: (N, D); train_labels: (N,) ids in [0, num_classes). val_*: the same for validation.
        weight_decays: L2 penalties to try. class_balanced: weight the loss by inverse class frequency (useful when
            the training split is long-tailed and the test split is balanced). max_iter: L-BFGS iterations.
    """
    x, y = _float64(train_features), torch.as_tensor(np.asarray(train_labels), dtype=torch.long)
    xv, yv = _float64(val_features), torch.as_tensor(np.asarray(val_labels), dtype=torch.long)
    _check_xy(x, y, "train")
    _check_xy(xv, yv, "validation")
    for name, labels in (("train", y), ("validation", yv)):
        if labels.min() < 0 or labels.max() >= num_classes:
            raise ValueError(
                f"{name} labels must lie in [0, {num_classes}), got [{int(labels.min())}, {int(labels.max())}]"
            )
    standardizer = Standardizer.fit(x)
    z, zv = standardizer(x), standardizer(xv)
    class_weight = _class_weights(y, num_classes) if class_balanced else None
    if not weight_decays or min(weight_decays) < 0:
        raise ValueError(f"weight_decays must be non-negative penalties, got {weight_decays}")
    best: tuple[Any, ...] | None = None
    sweep = []
    start = None
    for weight_decay in sorted(weight_decays, reverse=True):
        weight, bias = _fit_logistic_once(z, y, num_classes, weight_decay, class_weight, max_iter, start)
        start = weight, bias
        logits = zv @ weight.T + bias
        record = {
            "weight_decay": float(weight_decay),
            "val_accuracy": float((logits.argmax(1) == yv).double().mean()),
            "val_loss": float(F.cross_entropy(logits, yv)),
        }
        sweep.append(record)
        score = (record["val_accuracy"], -record["val_loss"])
        if best is None or score > best[0]:
            best = (score, weight, bias, record)
    assert best is not None
    return LinearProbe(best[1], best[2], standardizer, "classification", sweep, best[3])


def fit_ridge_probe(
    train_features: torch.Tensor | np.ndarray,
    train_targets: torch.Tensor | np.ndarray,
    val_features: torch.Tensor | np.ndarray,
    val_targets: torch.Tensor | np.ndarray,
    lambdas: tuple[float, ...] = DEFAULT_RIDGE_LAMBDAS,
) -> LinearProbe:
    """Ridge regression on standardised features, closed form for every λ from one SVD; the λ with the lowest
    validation RMSE wins.

    Minimises mean((z·w + b - y)²) + λ·||w||² with b = mean(y) (the intercept is not penalised), so
    w = V diag(s / (s² + N·λ)) Uᵀ (y - ȳ) for the thin SVD z = U diag(s) Vᵀ (z is centred). Targets are in
    physical units (m or m/s) and so are the predictions.
    """
    x, y = _float64(train_features), _float64(train_targets)
    xv, yv = _float64(val_features), _float64(val_targets)
    _check_xy(x, y, "train")
    _check_xy(xv, yv, "validation")
    for name, values in (("train", y), ("validation", yv)):
        if not torch.isfinite(values).all():
            raise ValueError(f"{name} targets contain NaN/inf; drop samples without a target first")
    if not lambdas or min(lambdas) <= 0:
        raise ValueError(f"lambdas must be positive penalties, got {lambdas}")
    standardizer = Standardizer.fit(x)
    z, zv = standardizer(x), standardizer(xv)  # z has zero column means by construction
    intercept = y.mean()
    u, s, vh = torch.linalg.svd(z, full_matrices=False)
    projected = u.T @ (y - intercept)
    best: tuple[Any, ...] | None = None
    sweep = []
    for lam in lambdas:
        w = vh.T @ (s / (s * s + x.shape[0] * lam) * projected)
        rmse = float(((zv @ w + intercept - yv) ** 2).mean().sqrt())
        record = {"lambda": float(lam), "val_rmse": rmse}
        sweep.append(record)
        if best is None or rmse < best[0]:
            best = (rmse, w, record)
    assert best is not None
    return LinearProbe(best[1][None, :], intercept.reshape(1), standardizer, "regression", sweep, best[2])

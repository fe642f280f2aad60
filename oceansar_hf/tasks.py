# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""The project's task vocabulary, written once: the TenGeoP taxonomy, and per downstream task its head settings, the
sample key it predicts, its unit, display name and metrics. Training, evaluation, model cards and the readers of
labelled data all take them from here."""

from __future__ import annotations

from typing import Any

from .configuration_oceansar import OceanSARConfig

TENGEOP_CLASSES: tuple[str, ...] = (
    "pure ocean waves",
    "wind streaks",
    "micro convective cells",
    "rain cells",
    "biological slicks",
    "sea ice",
    "icebergs",
    "low wind area",
    "atmospheric front",
    "oceanic front",
)
"""TenGeoP-SARwv phenomena (Wang et al. 2019); the class id is the position in this tuple."""

TENGEOP_LETTERS: tuple[str, ...] = ("F", "G", "H", "I", "J", "K", "L", "M", "N", "O")
"""TenGeoP-SARwv class folder letters, in class-id order (F pure ocean waves ... O oceanic front)."""

UNKNOWN_LABEL = -1
"""Class id of a sample whose TenGeoP class is unknown (ignored by losses and probes)."""

HEAD_KEYS = ("num_labels", "problem_type", "id2label")
"""The keys of a `TASKS` entry that configure an `OceanSARForImageClassification` head."""

TASKS: dict[str, dict[str, Any]] = {
    "tengeop": {
        "num_labels": len(TENGEOP_CLASSES),
        "problem_type": "single_label_classification",
        "id2label": dict(enumerate(TENGEOP_CLASSES)),
        "target": "label",
        "unit": None,
        "name": "TenGeoP classification (10 geophysical phenomena)",
        "metrics": ("accuracy",),
        "optional_metrics": ("knn_accuracy",),
        "hub_task": "image-classification",
    },
    "wave": {
        "num_labels": 1,
        "problem_type": "regression",
        "id2label": {0: "wave_height"},
        "target": "wave_height",
        "unit": "m",
        "name": "Significant wave height regression",
        "metrics": ("rmse", "mae", "bias"),
        "optional_metrics": (),
        "hub_task": "image-regression",
    },
    "wind": {
        "num_labels": 1,
        "problem_type": "regression",
        "id2label": {0: "wind_speed"},
        "target": "wind_speed",
        "unit": "m/s",
        "name": "Wind speed regression",
        "metrics": ("rmse", "mae", "bias"),
        "optional_metrics": (),
        "hub_task": "image-regression",
    },
}
"""Per task: head settings (`HEAD_KEYS`), the sample key it predicts (`target`), its unit, display name, required and
optional metrics of its probe results, and the Hub model-index task type."""

REGRESSION_TARGETS: tuple[str, ...] = tuple(t["target"] for t in TASKS.values() if t["problem_type"] == "regression")
"""Sample keys of the regression targets: significant wave height (m), wind speed (m/s)."""


def task_config(task: str, backbone: str | OceanSARConfig = "resnet50", **overrides: Any) -> OceanSARConfig:
    """Config for an `OceanSARForImageClassification` head on `task` ("tengeop", "wave" or "wind").

    `backbone` is a preset name or an existing backbone config whose architecture is kept.
    """
    if task not in TASKS:
        raise ValueError(f"Unknown task {task!r}; valid tasks are {sorted(TASKS)}.")
    spec = {key: TASKS[task][key] for key in HEAD_KEYS}
    spec["label2id"] = {name: i for i, name in spec["id2label"].items()}
    spec["finetuning_task"] = task
    if isinstance(backbone, OceanSARConfig):
        return OceanSARConfig.from_dict({**backbone.to_dict(), **spec, **overrides})
    return OceanSARConfig(backbone=backbone, **{**spec, **overrides})

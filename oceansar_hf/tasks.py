# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""The paper's three downstream tasks and the head configurations they need."""

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
"""TenGeoP-SARwv phenomena (Wang et al. 2019), in the class-id order used throughout this project (folders F..O)."""

TASKS: dict[str, dict[str, Any]] = {
    "tengeop": {
        "num_labels": len(TENGEOP_CLASSES),
        "problem_type": "single_label_classification",
        "id2label": dict(enumerate(TENGEOP_CLASSES)),
    },
    "wave": {"num_labels": 1, "problem_type": "regression", "id2label": {0: "wave_height"}, "unit": "m"},
    "wind": {"num_labels": 1, "problem_type": "regression", "id2label": {0: "wind_speed"}, "unit": "m/s"},
}
"""Head settings per task: TenGeoP 10-class classification, significant wave height (m), wind speed (m/s)."""


def task_config(task: str, backbone: str | OceanSARConfig = "resnet50", **overrides: Any) -> OceanSARConfig:
    """Config for an `OceanSARForImageClassification` head on `task` ("tengeop", "wave" or "wind").

    `backbone` is a preset name or an existing backbone config whose architecture is kept.
    """
    if task not in TASKS:
        raise ValueError(f"Unknown task {task!r}; valid tasks are {sorted(TASKS)}.")
    spec = {k: v for k, v in TASKS[task].items() if k != "unit"}
    spec["label2id"] = {name: i for i, name in spec["id2label"].items()}
    spec["finetuning_task"] = task
    if isinstance(backbone, OceanSARConfig):
        base = backbone.to_dict()
        for key in (
            "num_labels",
            "id2label",
            "label2id",
            "problem_type",
            "finetuning_task",
            "auto_map",
            "architectures",
        ):
            base.pop(key, None)
        base.pop("model_type", None)
        base.pop("transformers_version", None)
        base.pop("architecture", None)
        return OceanSARConfig(**{**base, **spec, **overrides})
    return OceanSARConfig(backbone=backbone, **{**spec, **overrides})

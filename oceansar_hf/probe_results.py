# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""`ProbeResults`: the results of one downstream probe, the contract between the probes (which write it) and the
model cards (which read it). The schema is this class; `to_dict` writes it and `from_dict` validates it exactly.

JSON layout: `{"task": "tengeop"|"wave"|"wind", "model": str, "dataset": {"name": str, "split": str, "num_samples":
int >= 1, "synthetic": bool}, "metrics": {...}, "units": str | null, "details": {...} (optional, free-form)}`.
`metrics` holds exactly the task's required metrics (`TASKS[task]["metrics"]`) plus any of its optional ones;
accuracies are fractions in [0, 1], regression metrics are in `units` (`TASKS[task]["unit"]`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from .tasks import TASKS


class ProbeResultsError(ValueError):
    """A probe results file that does not follow the schema (the message names the field and what was expected)."""


@dataclass(frozen=True)
class ProbeResults:
    """One probe's results (see the module docstring for the JSON schema)."""

    task: str
    model: str
    dataset_name: str
    split: str
    num_samples: int
    synthetic: bool
    metrics: dict[str, float]
    units: str | None
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _validated(self.to_dict(), "ProbeResults")  # the writer and the reader share one validation

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of the schema (`details` included when not empty)."""
        data = {
            "task": self.task,
            "model": self.model,
            "dataset": {
                "name": self.dataset_name,
                "split": self.split,
                "num_samples": self.num_samples,
                "synthetic": self.synthetic,
            },
            "metrics": dict(self.metrics),
            "units": self.units,
        }
        return {**data, "details": self.details} if self.details else data

    def write(self, path: str | Path) -> Path:
        """Write the JSON file (indented) and return its path."""
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=2))
        return path

    @classmethod
    def read(cls, path: str | Path) -> ProbeResults:
        """Read and validate one results file."""
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ProbeResultsError(f"{path}: cannot read probe results JSON ({error}).") from error
        return cls.from_dict(data, source=str(path))

    @classmethod
    def from_dict(cls, data: Any, source: str = "results") -> ProbeResults:
        """Validate `data` against the schema; `ProbeResultsError` names the offending field and what was expected."""
        return cls(**_validated(data, source))


def _validated(data: Any, source: str) -> dict[str, Any]:
    """The constructor values of a results object, after checking every field of the schema."""

    def fail(message: str) -> NoReturn:
        raise ProbeResultsError(f"{source}: {message}")

    def keys(obj: Any, where: str, required: set[str], optional: set[str] = frozenset()) -> None:
        if not isinstance(obj, dict):
            fail(f"{where} must be a JSON object, got {type(obj).__name__}.")
        if missing := sorted(required - set(obj)):
            fail(f"{where} is missing {missing} (required: {sorted(required)}).")
        if unknown := sorted(set(obj) - required - optional):
            fail(f"{where} has unknown keys {unknown} (allowed: {sorted(required | optional)}).")

    keys(data, "the results", {"task", "model", "dataset", "metrics", "units"}, {"details"})
    task = data["task"]
    if task not in TASKS:
        fail(f"task must be one of {sorted(TASKS)}, got {task!r}.")
    spec = TASKS[task]
    if not isinstance(data["model"], str) or not data["model"]:
        fail(f"model must be a non-empty string, got {data['model']!r}.")
    dataset = data["dataset"]
    keys(dataset, "dataset", {"name", "split", "num_samples", "synthetic"})
    for name in ("name", "split"):
        if not isinstance(dataset[name], str) or not dataset[name]:
            fail(f"dataset.{name} must be a non-empty string, got {dataset[name]!r}.")
    if isinstance(dataset["num_samples"], bool) or not isinstance(dataset["num_samples"], int):
        fail(f"dataset.num_samples must be an integer, got {dataset['num_samples']!r}.")
    if dataset["num_samples"] < 1:
        fail(f"dataset.num_samples must be >= 1, got {dataset['num_samples']}.")
    if not isinstance(dataset["synthetic"], bool):
        fail(f"dataset.synthetic must be true or false, got {dataset['synthetic']!r}.")
    metrics = data["metrics"]
    keys(metrics, f"metrics (task {task})", set(spec["metrics"]), set(spec["optional_metrics"]))
    for name, value in metrics.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            fail(f"metrics.{name} must be a finite number, got {value!r}.")
        if name.endswith("accuracy") and not 0.0 <= value <= 1.0:
            fail(f"metrics.{name} must be a fraction in [0, 1], got {value} (percentages are not accepted).")
        if name in ("rmse", "mae") and value < 0:
            fail(f"metrics.{name} must be >= 0, got {value}.")
    if data["units"] != spec["unit"]:
        fail(f"units must be {spec['unit']!r} for task {task!r}, got {data['units']!r}.")
    details = data.get("details", {})
    if not isinstance(details, dict):
        fail(f"details must be a JSON object, got {type(details).__name__}.")
    return {
        "task": task,
        "model": data["model"],
        "dataset_name": dataset["name"],
        "split": dataset["split"],
        "num_samples": dataset["num_samples"],
        "synthetic": dataset["synthetic"],
        "metrics": {k: float(v) for k, v in metrics.items()},
        "units": data["units"],
        "details": details,
    }

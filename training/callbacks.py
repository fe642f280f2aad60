# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""The trainer's callback interface (`TrainerView`, `TrainerCallback`, `CallbackList`) and the metrics log.

A callback overrides any of the hooks below; each receives the trainer through the `TrainerView` protocol, the whole of
what a callback may use. Hooks run on every process (callbacks that do collective work, such as embedding the archive,
need all processes); a callback that only writes files checks `trainer.accelerator.is_main_process`.
`state_dict()` / `load_state_dict()` are saved in and restored from checkpoints (JSON values, numpy arrays and
tensors; nothing is pickled).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np


class TrainerState(Protocol):
    epoch: int
    global_step: int
    metrics: dict[str, float]


class TrainerView(Protocol):
    """What callbacks may use of the trainer."""

    accelerator: Any  # accelerate.Accelerator
    state: TrainerState
    dataset: Any  # the whole archive (the sample contract of training/data)
    processor: Any  # the OceanSARImageProcessor of the run
    seed: int
    epochs: int
    num_workers: int

    @property
    def teacher_backbone(self) -> Any:
        """The unwrapped teacher `OceanSARModel` (what is evaluated and exported)."""

    def set_active_indices(self, indices: np.ndarray | None) -> None:
        """Train on these dataset indices from the next epoch on (None = the whole archive)."""

    def log(self, values: dict[str, float]) -> None:
        """Send values to the trackers at the current step."""

    def evaluate(self, fn: Callable[[TrainerView], dict[str, float]]) -> dict[str, float]:
        """Run an evaluation on the teacher; record and broadcast its metrics to the callbacks."""


class TrainerCallback:
    """Base class: every hook is a no-op."""

    def on_train_begin(self, trainer: TrainerView) -> None:
        """After models, data and (on resume) state are ready, before the first step."""

    def on_epoch_begin(self, trainer: TrainerView) -> None:
        """Before the sampler of epoch `trainer.state.epoch` is built: the place to change the active indices."""

    def on_step_end(self, trainer: TrainerView, logs: dict[str, float]) -> None:
        """After each logged optimisation step; `logs` holds the step's metrics."""

    def on_epoch_end(self, trainer: TrainerView) -> None:
        """After the last step of an epoch (`trainer.state.epoch` is the finished epoch)."""

    def on_evaluate(self, trainer: TrainerView, metrics: dict[str, float]) -> None:
        """After an evaluation produced `metrics`."""

    def on_save(self, trainer: TrainerView, checkpoint_dir: Path) -> None:
        """After a checkpoint is complete on disk."""

    def on_train_end(self, trainer: TrainerView) -> None:
        """After the last step (not called when the run stops early: `stop_after_steps`, SIGTERM)."""

    def planned_active_size(self, epoch: int, archive_size: int) -> int | None:
        """How many samples this callback will have the trainer train on in `epoch` (None: it does not change the
        active set). Asked once, before training, to plan `epoch_length: active_set` runs."""
        return None

    def state_dict(self) -> dict[str, Any]:
        """What must survive a resume (JSON values, numpy arrays, tensors)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what `state_dict` returned."""


class CallbackList:
    """Calls a hook on every callback in order; their states are keyed by class name."""

    def __init__(self, callbacks: list[TrainerCallback]) -> None:
        self.callbacks = list(callbacks)
        names = [type(cb).__name__ for cb in self.callbacks]
        if len(set(names)) != len(names):
            raise ValueError(
                f"callbacks must be of distinct classes (their checkpoint states are keyed by it): {names}"
            )

    def __call__(self, hook: str, trainer: TrainerView, *args: Any) -> None:
        for callback in self.callbacks:
            getattr(callback, hook)(trainer, *args)

    def planned_active_size(self, epoch: int, archive_size: int) -> int | None:
        """The first size a callback plans for `epoch` (None when none changes the active set)."""
        sizes = (cb.planned_active_size(epoch, archive_size) for cb in self.callbacks)
        return next((size for size in sizes if size is not None), None)

    def state_dict(self) -> dict[str, Any]:
        return {type(cb).__name__: cb.state_dict() for cb in self.callbacks}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for callback in self.callbacks:
            if type(callback).__name__ in state:
                callback.load_state_dict(state[type(callback).__name__])


class MetricsLogger(TrainerCallback):
    """Writes every logged record to `output_dir/metrics.jsonl` (main process).

    On resume the records after the checkpoint's step are dropped first (they belong to the interrupted run's lost
    steps), so the file holds each step once.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _write(self, trainer: TrainerView, record: dict[str, Any]) -> None:
        if trainer.accelerator.is_main_process:
            with self.path.open("a") as handle:
                handle.write(json.dumps(record) + "\n")

    def on_train_begin(self, trainer: TrainerView) -> None:
        if not (trainer.accelerator.is_main_process and self.path.is_file()):
            return
        step = trainer.state.global_step
        kept = [line for line in self.path.read_text().splitlines() if line.strip() and _step(line) <= step]
        tmp = self.path.with_name(f".tmp-{self.path.name}")
        tmp.write_text("".join(line + "\n" for line in kept))
        tmp.replace(self.path)

    def on_step_end(self, trainer: TrainerView, logs: dict[str, float]) -> None:
        if logs:
            self._write(trainer, {"kind": "train", **logs})

    def on_evaluate(self, trainer: TrainerView, metrics: dict[str, float]) -> None:
        self._write(
            trainer, {"kind": "eval", "epoch": trainer.state.epoch, "step": trainer.state.global_step, **metrics}
        )


def _step(line: str) -> int:
    """The step of a metrics.jsonl record (records without one count as step 0)."""
    return int(json.loads(line).get("step", 0))

# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""The trainer's callback interface and the callbacks every run uses (metrics log, k-NN evaluation, curves plot).

A callback overrides any of the hooks below; each receives the `Trainer`. Hooks run on every process (callbacks that
do collective work, such as embedding the archive, need all processes); a callback that only writes files checks
`trainer.accelerator.is_main_process`. `state_dict()` / `load_state_dict()` are saved in and restored from checkpoints.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .trainer import Trainer


class TrainerCallback:
    """Base class: every hook is a no-op."""

    def on_train_begin(self, trainer: Trainer) -> None:
        """After models, data and (on resume) state are ready, before the first step."""

    def on_epoch_begin(self, trainer: Trainer) -> None:
        """Before the sampler of epoch `trainer.state.epoch` is built: the place to change the active indices."""

    def on_step_end(self, trainer: Trainer, logs: dict[str, float]) -> None:
        """After each optimisation step; `logs` holds the step's metrics."""

    def on_epoch_end(self, trainer: Trainer) -> None:
        """After the last step of an epoch (`trainer.state.epoch` is the finished epoch)."""

    def on_evaluate(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        """After an evaluation produced `metrics`."""

    def on_save(self, trainer: Trainer, checkpoint_dir: Path) -> None:
        """After a checkpoint (and its exported model) is complete on disk."""

    def on_train_end(self, trainer: Trainer) -> None:
        """After the last step (not called when the run is stopped early by `stop_after_steps`)."""

    def state_dict(self) -> dict[str, Any]:
        """What must survive a resume (tensors, numbers, lists)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what `state_dict` returned."""


class CallbackList:
    """Calls a hook on every callback in order."""

    def __init__(self, callbacks: list[TrainerCallback]) -> None:
        self.callbacks = list(callbacks)

    def __call__(self, hook: str, trainer: Trainer, *args: Any) -> None:
        for callback in self.callbacks:
            getattr(callback, hook)(trainer, *args)

    def state_dict(self) -> dict[str, Any]:
        return {type(cb).__name__: cb.state_dict() for cb in self.callbacks}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for callback in self.callbacks:
            if type(callback).__name__ in state:
                callback.load_state_dict(state[type(callback).__name__])


class MetricsLogger(TrainerCallback):
    """Writes every logged record to `output_dir/metrics.jsonl` (main process; appends on resume)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _write(self, trainer: Trainer, record: dict[str, Any]) -> None:
        if trainer.accelerator.is_main_process:
            with self.path.open("a") as handle:
                handle.write(json.dumps(record) + "\n")

    def on_step_end(self, trainer: Trainer, logs: dict[str, float]) -> None:
        if logs:
            self._write(trainer, {"kind": "train", **logs})

    def on_evaluate(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        self._write(
            trainer, {"kind": "eval", "epoch": trainer.state.epoch, "step": trainer.state.global_step, **metrics}
        )


class KNNEvaluationCallback(TrainerCallback):
    """Weighted k-NN accuracy (DINO: k = 20, T = 0.07) of the teacher backbone every `every_epochs` epochs.

    Uses `training.probe`'s k-NN (the same code as the offline probes) on a labelled bank and a class-balanced test set.
    """

    def __init__(
        self, train_set: Any, test_set: Any, every_epochs: int, k: int, temperature: float, num_workers: int = 0
    ) -> None:
        self.train_set, self.test_set = train_set, test_set
        self.every_epochs, self.k, self.temperature = every_epochs, k, temperature
        self.num_workers = num_workers
        self.history: list[dict[str, float]] = []

    def evaluate(self, trainer: Trainer) -> dict[str, float]:
        from .probes.knn import knn_evaluate

        metrics = knn_evaluate(
            trainer.teacher_backbone,
            self.train_set,
            self.test_set,
            trainer.processor,
            accelerator=trainer.accelerator,
            k=self.k,
            temperature=self.temperature,
            num_workers=self.num_workers,
        )
        self.history.append({"epoch": trainer.state.epoch, "step": trainer.state.global_step, **metrics})
        return metrics

    def on_train_begin(self, trainer: Trainer) -> None:
        """At step 0, evaluate the randomly initialised teacher: the baseline of the same run."""
        if self.every_epochs and trainer.state.global_step == 0:
            metrics = trainer.evaluate(self.evaluate)
            trainer.state.metrics["knn_accuracy_at_init"] = metrics["knn_accuracy"]

    def on_epoch_end(self, trainer: Trainer) -> None:
        last_epoch = trainer.state.epoch + 1 == trainer.config.run.epochs
        if self.every_epochs and ((trainer.state.epoch + 1) % self.every_epochs == 0 or last_epoch):
            trainer.evaluate(self.evaluate)

    def state_dict(self) -> dict[str, Any]:
        return {"history": self.history}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.history = list(state.get("history", []))


class CurvesPlotter(TrainerCallback):
    """Saves `output_dir/training_curves.png` (loss vs ln K, entropies, lr, k-NN) from `metrics.jsonl` at the end."""

    def __init__(self, metrics_path: Path, out_path: Path, out_dim: int) -> None:
        self.metrics_path, self.out_path, self.out_dim = Path(metrics_path), Path(out_path), out_dim

    def on_train_end(self, trainer: Trainer) -> None:
        if trainer.accelerator.is_main_process and self.metrics_path.is_file():
            plot_training_curves(self.metrics_path, self.out_path, self.out_dim)


def plot_training_curves(metrics_path: Path, out_path: Path, out_dim: int) -> None:
    """Four panels: loss and teacher entropy against ln(out_dim), learning rate / momentum, and k-NN accuracy."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = [json.loads(line) for line in Path(metrics_path).read_text().splitlines() if line.strip()]
    train = [r for r in records if r.get("kind") == "train"]
    evals = [r for r in records if r.get("kind") == "eval" and "knn_accuracy" in r]
    fig, axes = plt.subplots(1, 4, figsize=(18, 4))
    steps = [r["step"] for r in train]
    axes[0].plot(steps, [r["loss"] for r in train], label="DINO loss")
    axes[0].axhline(math.log(out_dim), color="grey", ls="--", label="ln(out_dim)")
    axes[0].set_title("loss")
    axes[1].plot(steps, [r["teacher_entropy"] for r in train], label="teacher entropy (per image)")
    axes[1].plot(steps, [r["teacher_mean_entropy"] for r in train], label="entropy of mean teacher output")
    axes[1].axhline(math.log(out_dim), color="grey", ls="--", label="ln(out_dim)")
    axes[1].set_title("collapse monitors (nats)")
    axes[2].plot(steps, [r["lr"] for r in train], label="lr")
    twin = axes[2].twinx()
    twin.plot(steps, [r["momentum"] for r in train], color="tab:orange", label="teacher momentum")
    axes[2].set_title("schedules")
    if evals:
        axes[3].plot([r["step"] for r in evals], [100 * r["knn_accuracy"] for r in evals], marker="o")
    axes[3].set_title("k-NN accuracy (%) of the teacher")
    axes[3].set_xlabel("step")
    for ax in axes[:3]:
        ax.set_xlabel("step")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out_path, dpi=100)
    plt.close(fig)

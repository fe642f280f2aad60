# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Training curves: `CurvesPlotter` saves `output_dir/training_curves.png` from `metrics.jsonl` at the end of a run."""

from __future__ import annotations

import json
import math
from pathlib import Path

from .callbacks import TrainerCallback, TrainerView


class CurvesPlotter(TrainerCallback):
    """Saves `output_dir/training_curves.png` (loss vs ln K, entropies, lr, k-NN) from `metrics.jsonl` at the end."""

    def __init__(self, metrics_path: Path, out_path: Path, out_dim: int) -> None:
        self.metrics_path, self.out_path, self.out_dim = Path(metrics_path), Path(out_path), out_dim

    def on_train_end(self, trainer: TrainerView) -> None:
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
    axes[0].plot(steps, [r["loss"] for r in train], label="loss (total)")
    for term in ("dino_loss", "ibot_loss", "koleo_loss"):  # the DINOv2 recipe's terms, when it is on
        if train and all(term in r for r in train):
            axes[0].plot(steps, [r[term] for r in train], lw=0.8, label=term.replace("_", " "))
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

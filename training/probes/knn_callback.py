# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""k-NN evaluation during pretraining: `KNNEvaluationConfig` (its settings) and `KNNEvaluationCallback`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..callbacks import TrainerCallback, TrainerView
from ..data import SyntheticArchiveConfig, TenGeoPFolder, balanced_split
from .knn import knn_evaluate

KNN_DATA_KINDS = ("synthetic", "tengeop")


@dataclass
class KNNEvaluationConfig:
    """Weighted k-NN accuracy of the teacher during training (DINO's protocol: k = 20, T = 0.07)."""

    eval_every_epochs: int = field(default=1, metadata={"help": "k-NN evaluation every N epochs (0 = off)."})
    knn_data: str = field(
        default="synthetic",
        metadata={
            "help": "Labelled data of the k-NN evaluation: 'synthetic' (class-balanced bank and test set rendered "
            "like the training archive, distinct seeds) or 'tengeop:DIR' (a TenGeoP-SARwv folder: its train split "
            "is the bank, its test split the test set)."
        },
    )
    knn_train_samples: int = field(default=2000, metadata={"help": "Labelled images in the k-NN bank (at most)."})
    knn_test_samples: int = field(default=1000, metadata={"help": "k-NN test images (at most)."})
    knn_k: int = field(default=20, metadata={"help": "Neighbours of the weighted k-NN (DINO: 20)."})
    knn_temperature: float = field(default=0.07, metadata={"help": "Temperature of the k-NN vote weights (DINO)."})

    def __post_init__(self) -> None:
        kind, _, location = self.knn_data.partition(":")
        if kind not in KNN_DATA_KINDS or (kind == "tengeop") != bool(location):
            raise ValueError(f"knn_data must be 'synthetic' or 'tengeop:DIR', got {self.knn_data!r}")
        if self.eval_every_epochs < 0 or self.knn_train_samples < 1 or self.knn_test_samples < 1:
            raise ValueError("eval_every_epochs must be >= 0 and knn_train_samples, knn_test_samples >= 1")


@dataclass
class KNNSet:
    """A labelled dataset and the indices of it that are used (None = all)."""

    dataset: Any
    indices: np.ndarray | None = None


def knn_sets(config: KNNEvaluationConfig, synthetic: SyntheticArchiveConfig, seed: int) -> tuple[KNNSet, KNNSet]:
    """The bank and test set named by `config.knn_data`.

    ``synthetic``: class-balanced archives rendered with the run's `synthetic` settings and seeds ``synthetic.seed +
    2000`` (bank) and ``+ 1000`` (test), distinct from the training archive's — with a heavy-tailed bank the weighted
    vote would almost never predict a rare class, whatever the features. ``tengeop:DIR``: the folder's train and test
    splits (`TenGeoPFolder`, split by `seed`), each capped at random to its size.
    """
    kind, _, location = config.knn_data.partition(":")
    if kind == "synthetic":
        bank = balanced_split(synthetic, max(1, config.knn_train_samples // 10), seed=synthetic.seed + 2000)
        test = balanced_split(synthetic, max(1, config.knn_test_samples // 10), seed=synthetic.seed + 1000)
        return KNNSet(bank), KNNSet(test)
    rng = np.random.default_rng(seed)
    sets = []
    for split, cap in (("train", config.knn_train_samples), ("test", config.knn_test_samples)):
        folder = TenGeoPFolder(Path(location), split=split, seed=seed)
        count = len(folder)
        picked = np.sort(rng.choice(count, size=cap, replace=False)) if cap < count else None
        sets.append(KNNSet(folder, picked))
    return sets[0], sets[1]


class KNNEvaluationCallback(TrainerCallback):
    """Weighted k-NN accuracy of the teacher backbone at step 0 and every `eval_every_epochs` epochs (and the last)."""

    def __init__(self, config: KNNEvaluationConfig, bank: KNNSet, test: KNNSet) -> None:
        self.config, self.bank, self.test = config, bank, test
        self.history: list[dict[str, float]] = []

    def evaluate(self, trainer: TrainerView) -> dict[str, float]:
        metrics = knn_evaluate(
            trainer.teacher_backbone,
            self.bank.dataset,
            self.test.dataset,
            trainer.processor,
            accelerator=trainer.accelerator,
            k=self.config.knn_k,
            temperature=self.config.knn_temperature,
            train_indices=self.bank.indices,
            test_indices=self.test.indices,
            num_workers=trainer.num_workers,
        )
        self.history.append({"epoch": trainer.state.epoch, "step": trainer.state.global_step, **metrics})
        return metrics

    def on_train_begin(self, trainer: TrainerView) -> None:
        """At step 0, evaluate the randomly initialised teacher: the baseline of the same run."""
        if self.config.eval_every_epochs and trainer.state.global_step == 0:
            metrics = trainer.evaluate(self.evaluate)
            trainer.state.metrics["knn_accuracy_at_init"] = metrics["knn_accuracy"]

    def on_epoch_end(self, trainer: TrainerView) -> None:
        every, finished = self.config.eval_every_epochs, trainer.state.epoch + 1
        if every and (finished % every == 0 or finished == trainer.epochs):
            trainer.evaluate(self.evaluate)

    def state_dict(self) -> dict[str, Any]:
        return {"history": self.history}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.history = list(state.get("history", []))

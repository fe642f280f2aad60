# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""DINO pretraining of an OceanSAR backbone, with optional dynamic dataset pruning.

    accelerate launch -m training.pretrain --config training/configs/demo.yaml [--epochs 5 ...]
    python -m training.pretrain --config training/configs/demo.yaml

Every field of `training.config` can be set in the YAML file or overridden on the command line.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from .callbacks import CurvesPlotter, KNNEvaluationCallback, MetricsLogger, TrainerCallback
from .config import PretrainConfig, parse_config
from .data import SyntheticArchiveConfig, balanced_split
from .trainer import Trainer


def build_callbacks(config: PretrainConfig) -> list[TrainerCallback]:
    """Pruning (when enabled), k-NN evaluation, metrics log and curves plot."""
    run, out = config.run, Path(config.run.output_dir)
    callbacks: list[TrainerCallback] = []
    if config.pruning.pruning:
        from .pruning.callback import PruningCallback

        callbacks.append(PruningCallback(config.pruning, out / "pruning"))
    if run.eval_every_epochs:
        # Class-balanced bank and test set (distinct seeds, both distinct from the training archive): with a
        # heavy-tailed bank the weighted vote almost never predicts a rare class, whatever the features.
        size = config.data.synthetic_image_size or config.model.image_size
        eval_config = SyntheticArchiveConfig(num_samples=1, image_size=size, seed=config.data.synthetic_seed + 1000)
        callbacks.append(
            KNNEvaluationCallback(
                balanced_split(
                    eval_config, max(1, run.knn_train_samples // 10), seed=config.data.synthetic_seed + 2000
                ),
                balanced_split(eval_config, num_per_class=max(1, run.knn_test_samples // 10)),
                every_epochs=run.eval_every_epochs,
                k=run.knn_k,
                temperature=run.knn_temperature,
                num_workers=config.data.num_workers,
            )
        )
    callbacks.append(MetricsLogger(out / "metrics.jsonl"))
    callbacks.append(CurvesPlotter(out / "metrics.jsonl", out / "training_curves.png", config.dino.out_dim))
    return callbacks


def main(argv: Sequence[str] | None = None) -> Path | None:
    """Parse the config, train, and return the exported model folder."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = parse_config(argv)
    trainer = Trainer(config, build_callbacks(config))
    final = trainer.train()
    if final is not None and trainer.accelerator.is_main_process:
        print(f"exported model: {final}  (load with AutoModel.from_pretrained({str(final)!r}, trust_remote_code=True))")
    return final


if __name__ == "__main__":
    main(sys.argv[1:])

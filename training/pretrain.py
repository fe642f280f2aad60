# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""DINO pretraining of an OceanSAR backbone, with optional dynamic dataset pruning.

    accelerate launch -m training.pretrain --config demo [--epochs 5 ...]
    python -m training.pretrain --config training/configs/demo.yaml

Every flag of `training.config.PRETRAIN_GROUPS` can be set in the YAML file or overridden on the command line.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from .callbacks import MetricsLogger, TrainerCallback
from .config import PretrainConfig, parse_config
from .plots import CurvesPlotter
from .probes.knn_callback import KNNEvaluationCallback, knn_sets
from .pruning.callback import PruningCallback
from .trainer import Trainer


def build_callbacks(config: PretrainConfig) -> list[TrainerCallback]:
    """Pruning (when enabled), k-NN evaluation (when `eval_every_epochs`), metrics log and curves plot."""
    out = Path(config.run.output_dir)
    callbacks: list[TrainerCallback] = []
    if config.pruning.pruning:
        callbacks.append(PruningCallback(config.pruning, config.selection, out / "pruning"))
    if config.knn.eval_every_epochs:
        bank, test = knn_sets(config.knn, config.synthetic, config.run.seed)
        callbacks.append(KNNEvaluationCallback(config.knn, bank, test))
    callbacks.append(MetricsLogger(out / "metrics.jsonl"))
    callbacks.append(CurvesPlotter(out / "metrics.jsonl", out / "training_curves.png", config.dino.out_dim))
    return callbacks


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the config, train, and print where the exported model is. Exit status 0 also when the run stopped
    early on purpose (`stop_after_steps`, SIGTERM: a checkpoint was written; continue with `--resume auto`)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = parse_config(sys.argv[1:] if argv is None else argv)
    trainer = Trainer(config, build_callbacks(config))
    final = trainer.train()
    if final is not None and trainer.accelerator.is_main_process:
        print(f"exported model: {final}  (load with AutoModel.from_pretrained({str(final)!r}, trust_remote_code=True))")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

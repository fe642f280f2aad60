# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""`PruningCallback`: the paper's dynamic dataset pruning, plugged into the trainer.

After `T_w` warm-up epochs on the whole archive, at the start of every `T_s`-th epoch:

1. draw a uniform random subset U of the archive (seeded by the round number);
2. embed U with the current teacher backbone (each process embeds its shard; shards are gathered, de-duplicated by
   index and sorted, see `training.features.extract_features`);
3. on the main process: hierarchical k-means of the L2-normalised embeddings and balanced hierarchical sampling of
   ρ·|archive| indices (`training.pruning.sampling.select_from_archive`); the selection is then broadcast, so every
   process trains on exactly the same selection (each on its own share of it, dealt by the trainer's sampler);
4. train on the selection until the next round.

Everything random is seeded from (run seed, round). The selection, the round counter and the diagnostics history are
checkpointed; on resume the trainer trains on the restored selection. With `pruning: false` the callback is not
installed and training is exactly what it is without it.
"""

from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..callbacks import TrainerCallback
from ..config import PruningArguments
from ..features import extract_features
from .distributed import broadcast_selection
from .sampling import (
    SelectionConfig,
    cluster_size_summary,
    draw_subset,
    label_entropy,
    select_from_archive,
)

if TYPE_CHECKING:
    from ..trainer import Trainer

logger = logging.getLogger(__name__)


class PruningCallback(TrainerCallback):
    """Re-selects the training set from the model's own features every `T_s` epochs after `T_w` warm-up epochs.

    Args:
        args: the `PruningArguments` of the run (T_w, T_s, ρ, η, subset size, k-means levels...).
        output_dir: where `pruning_log.jsonl` and one PNG per round (`round_XX.png`) are written.
    """

    def __init__(self, args: PruningArguments, output_dir: Path) -> None:
        if args.pruning_every_epochs < 1 or args.pruning_warmup_epochs < 0:
            raise ValueError("pruning_every_epochs must be >= 1 and pruning_warmup_epochs >= 0")
        self.args = args
        self.output_dir = Path(output_dir)
        self.selection: np.ndarray | None = None
        self.rounds = 0
        self.history: list[dict[str, Any]] = []
        self._epoch_started = 0.0
        self._last_epoch_s: float | None = None
        self.selection_checksum: list[int] | None = None

    def is_due(self, epoch: int) -> bool:
        """Whether a resampling round starts at the beginning of `epoch` (0-based)."""
        after = epoch - self.args.pruning_warmup_epochs
        return after >= 0 and after % self.args.pruning_every_epochs == 0

    def selection_config(self, archive_size: int) -> SelectionConfig:
        args = self.args
        subset = args.pruning_subset_size or min(archive_size, math.ceil(2 * args.pruning_rho * archive_size))
        return SelectionConfig(
            rho=args.pruning_rho,
            subset_size=min(subset, archive_size),
            n_clusters=tuple(args.pruning_clusters),
            n_iters=args.pruning_kmeans_iters,
            n_resampling_steps=tuple(args.pruning_resampling_steps),
            sample_size=tuple(args.pruning_sample_size),
            eta=args.pruning_eta,
        )

    # --- hooks -----------------------------------------------------------------------------------------------------

    def on_train_begin(self, trainer: Trainer) -> None:
        if self.selection is not None:  # resumed run: train on the restored selection
            trainer.set_active_indices(self.selection)

    def on_epoch_begin(self, trainer: Trainer) -> None:
        if self.is_due(trainer.state.epoch):
            self.resample(trainer)
        self._epoch_started = time.perf_counter()

    def on_epoch_end(self, trainer: Trainer) -> None:
        self._last_epoch_s = time.perf_counter() - self._epoch_started

    def state_dict(self) -> dict[str, Any]:
        return {
            "selection": None if self.selection is None else self.selection.tolist(),
            "rounds": self.rounds,
            "history": self.history,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        selection = state.get("selection")
        self.selection = None if selection is None else np.asarray(selection, dtype=np.int64)
        self.rounds = int(state.get("rounds", 0))
        self.history = list(state.get("history", []))

    # --- one round -------------------------------------------------------------------------------------------------

    def resample(self, trainer: Trainer) -> np.ndarray:
        """Embed a random subset with the teacher, cluster it, select ρ·|archive| indices, and train on them."""
        accelerator, dataset = trainer.accelerator, trainer.dataset
        seed = trainer.config.run.seed
        config = self.selection_config(len(dataset))
        subset = draw_subset(len(dataset), config.subset_size, np.random.default_rng([seed, self.rounds, 1]))
        start = time.perf_counter()
        features = extract_features(
            trainer.teacher_backbone,
            dataset,
            subset,
            processor=trainer.processor,
            batch_size=self.args.pruning_batch_size,
            accelerator=accelerator,
            num_workers=trainer.config.data.num_workers,
            desc=f"pruning round {self.rounds}: embedding",
        )
        embed_s = time.perf_counter() - start
        selection, record = None, {}
        if accelerator.is_main_process:
            result = select_from_archive(
                features.features, features.indices.numpy(), len(dataset), config, seed=seed * 1000 + self.rounds
            )
            selection = result.indices
            record = self._diagnostics(trainer, result, features.indices.numpy(), embed_s)
        self.selection = broadcast_selection(selection)
        self._check_identical(trainer)
        trainer.set_active_indices(self.selection)
        if accelerator.is_main_process:
            self._write(trainer, record, result, features.indices.numpy())
            self.history.append(record)
        self.rounds += 1
        return self.selection

    def _check_identical(self, trainer: Trainer) -> None:
        """Every process must train on the same selection: compare a checksum across processes."""
        import torch

        checksum = torch.tensor([len(self.selection), int(np.sum(self.selection * 2654435761 % 1000003))])
        gathered = trainer.accelerator.gather(checksum.to(trainer.accelerator.device)).view(-1, 2).cpu()
        if not bool((gathered == gathered[0]).all()):
            raise RuntimeError(f"pruning round {self.rounds}: processes hold different selections {gathered.tolist()}")
        self.selection_checksum = gathered[0].tolist()

    def _diagnostics(self, trainer: Trainer, result: Any, embedded: np.ndarray, embed_s: float) -> dict[str, Any]:
        timings = result.timings
        total_s = embed_s + timings["clustering_s"] + timings["sampling_s"]
        record: dict[str, Any] = {
            "round": self.rounds,
            "epoch": trainer.state.epoch,
            "step": trainer.state.global_step,
            "archive_size": len(trainer.dataset),
            "embedded": len(embedded),
            "selected": len(result.indices),
            "target": result.target,
            "embed_s": embed_s,
            **timings,
            "pruning_s": total_s,
            "share_of_epoch": None if self._last_epoch_s is None else total_s / self._last_epoch_s,
            "levels": [
                {"clusters": level.n_clusters, **cluster_size_summary(level.sizes.cpu().numpy())}
                for level in result.levels
            ],
        }
        labels = getattr(trainer.dataset, "labels", None)
        if callable(labels):
            archive_labels = np.asarray(labels())
            if (archive_labels >= 0).any():
                selected = archive_labels[result.indices]
                classes = int(archive_labels.max()) + 1
                record["archive_class_histogram"] = np.bincount(
                    archive_labels[archive_labels >= 0], minlength=classes
                ).tolist()
                record["selected_class_histogram"] = np.bincount(selected[selected >= 0], minlength=classes).tolist()
                record["archive_label_entropy"] = label_entropy(archive_labels)
                record["selected_label_entropy"] = label_entropy(selected)
        logger.info(
            "pruning round %d: kept %d of %d (embedded %d) in %.1fs (embed %.1fs, cluster %.1fs, sample %.2fs)%s",
            self.rounds, len(result.indices), len(trainer.dataset), len(embedded), total_s, embed_s,
            timings["clustering_s"], timings["sampling_s"],
            "" if "selected_label_entropy" not in record else
            f"; label entropy {record['archive_label_entropy']:.3f} → {record['selected_label_entropy']:.3f} nats",
        )  # fmt: skip
        trainer.log({f"pruning/{k}": v for k, v in record.items() if isinstance(v, (int, float)) and v is not None})
        return record

    def _write(self, trainer: Trainer, record: dict[str, Any], result: Any, embedded: np.ndarray) -> None:
        """The round's PNG (its drawing time is logged as `figure_s`, outside `pruning_s`) and its JSON record."""
        from .figures import plot_round

        self.output_dir.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        plot_round(
            self.output_dir / f"round_{self.rounds:02d}.png", trainer.dataset, trainer.processor, result, embedded,
            record,
        )  # fmt: skip
        record["figure_s"] = time.perf_counter() - start
        with (self.output_dir / "pruning_log.jsonl").open("a") as handle:
            handle.write(json.dumps(record) + "\n")

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

`pruning_strategy` swaps the choice in step 3 for a control (no features needed for the last two): ``static``
(clustered once at T_w, kept), ``random_subset`` (uniform ρ·N drawn once at T_w, kept), ``oracle`` (class-balanced
ρ·N of U from the dataset's labels, every T_s epochs: the best any balancing could do).

Everything random is seeded from (run seed, round). The selection, the round counter and the diagnostics history are
checkpointed; on resume the trainer trains on the restored selection. With `pruning: false` the callback is not
installed and training is exactly what it is without it.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from oceansar_hf.inference import INFERENCE_DTYPES, InferenceModel, resolve_dtype

from ..callbacks import TrainerCallback, TrainerView
from ..distributed import broadcast_selection
from ..features import extract_features
from ..seeding import derive_seed
from .sampling import (
    CLUSTERING,
    REFRESHING,
    SelectionConfig,
    class_balanced_sample,
    cluster_size_summary,
    draw_subset,
    label_entropy,
    select_from_archive,
)

logger = logging.getLogger(__name__)


@dataclass
class PruningConfig:
    """When pruning rounds run and how they embed (parsed with the prefix ``pruning_``; the switch is ``--pruning``).
    What a round selects is `SelectionConfig`'s."""

    pruning: bool = field(default=False, metadata={"help": "Enable dynamic dataset pruning (the paper's method)."})
    warmup_epochs: int = field(default=2, metadata={"help": "T_w: epochs on the full archive before the first round."})
    every_epochs: int = field(default=2, metadata={"help": "T_s: epochs between pruning rounds."})
    batch_size: int = field(default=256, metadata={"help": "Embedding batch size per process."})
    embed_dtype: str = field(
        default="float32",
        metadata={
            "help": "Precision of the rounds' embedding pass (most of a round's cost): float32 (as trained), auto "
            "(bf16 autocast where the CPU/GPU computes bf16 natively), bfloat16 or float16. Features stay within "
            "cosine 0.9999 of float32, but clustering and sampling amplify the difference: measured, 118 of 300 "
            "selected samples shared with float32 (benchmarks/pruning_selection_dtype.py), so the default keeps "
            "float32."
        },
    )

    def __post_init__(self) -> None:
        if self.embed_dtype not in INFERENCE_DTYPES:
            raise ValueError(f"pruning_embed_dtype must be one of {INFERENCE_DTYPES}, got {self.embed_dtype!r}")
        if self.every_epochs < 1 or self.warmup_epochs < 0 or self.batch_size < 1:
            raise ValueError(
                "need pruning_every_epochs >= 1, pruning_warmup_epochs >= 0 and pruning_batch_size >= 1, got "
                f"{self.every_epochs}, {self.warmup_epochs}, {self.batch_size}"
            )


class PruningCallback(TrainerCallback):
    """Re-selects the training set from the model's own features every `T_s` epochs after `T_w` warm-up epochs.

    Args:
        config: when rounds run (T_w, T_s) and the embedding batch size.
        selection: what a round selects (ρ, η, subset size, k-means levels).
        output_dir: where `pruning_log.jsonl` and one PNG per round (`round_XX.png`) are written.
    """

    def __init__(self, config: PruningConfig, selection: SelectionConfig, output_dir: Path) -> None:
        self.config, self.selection_config = config, selection
        self.output_dir = Path(output_dir)
        self.selection: np.ndarray | None = None
        self.rounds = 0
        self.history: list[dict[str, Any]] = []
        self._epoch_started = 0.0
        self._last_epoch_s: float | None = None

    def is_due(self, epoch: int) -> bool:
        """Whether a resampling round starts at the beginning of `epoch` (0-based); strategies that do not refresh
        select only at T_w."""
        after = epoch - self.config.warmup_epochs
        if self.selection_config.strategy not in REFRESHING:
            return after == 0
        return after >= 0 and after % self.config.every_epochs == 0

    def planned_active_size(self, epoch: int, archive_size: int) -> int | None:
        """From the first round on, the selection's target ρ·N (what a round selects unless U is smaller)."""
        return round(self.selection_config.rho * archive_size) if epoch >= self.config.warmup_epochs else None

    # --- hooks -----------------------------------------------------------------------------------------------------

    def on_train_begin(self, trainer: TrainerView) -> None:
        if self.selection is not None:  # resumed run: train on the restored selection
            trainer.set_active_indices(self.selection)

    def on_epoch_begin(self, trainer: TrainerView) -> None:
        if self.is_due(trainer.state.epoch):
            self.resample(trainer)
        self._epoch_started = time.perf_counter()

    def on_epoch_end(self, trainer: TrainerView) -> None:
        self._last_epoch_s = time.perf_counter() - self._epoch_started

    def state_dict(self) -> dict[str, Any]:
        return {"selection": self.selection, "rounds": self.rounds, "history": self.history}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        selection = state.get("selection")
        self.selection = None if selection is None else np.asarray(selection, dtype=np.int64)
        self.rounds = int(state.get("rounds", 0))
        self.history = list(state.get("history", []))

    # --- one round -------------------------------------------------------------------------------------------------

    def resample(self, trainer: TrainerView) -> np.ndarray:
        """Draw a random subset U, select ρ·|archive| indices from it with the configured strategy, train on them."""
        accelerator, dataset = trainer.accelerator, trainer.dataset
        seed = derive_seed(trainer.seed, self.rounds)
        rng = np.random.default_rng(seed)
        subset = draw_subset(len(dataset), self.selection_config.subset_for(len(dataset)), rng)
        clustering = self.selection_config.strategy in CLUSTERING
        embedded, embed_s = subset, 0.0
        if clustering:
            start = time.perf_counter()
            backbone = trainer.teacher_backbone
            dtype = resolve_dtype(self.config.embed_dtype, accelerator.device)
            if dtype != torch.float32:  # autocast on top of the run's mixed precision (its teacher is in eval mode)
                backbone = InferenceModel(backbone, dtype)
            features = extract_features(
                backbone,
                dataset,
                subset,
                processor=trainer.processor,
                batch_size=self.config.batch_size,
                accelerator=accelerator,
                num_workers=trainer.num_workers,
                desc=f"pruning round {self.rounds}: embedding",
            )
            embed_s = time.perf_counter() - start
            embedded = features.indices.numpy()
        selection, record, result = None, {}, None
        if accelerator.is_main_process:
            if clustering:
                result = select_from_archive(
                    features.features, embedded, len(dataset), self.selection_config, seed=seed
                )
                selection, timings = result.indices, result.timings
            else:
                start = time.perf_counter()
                selection = self._select_without_features(dataset, subset, rng)
                timings = {"clustering_s": 0.0, "sampling_s": time.perf_counter() - start}
            embedded_count = len(embedded) if clustering else 0
            record = self._diagnostics(trainer, selection, subset, result, embedded_count, embed_s, timings)
            if clustering:
                record["embed_dtype"] = str(dtype).removeprefix("torch.")
        self.selection = broadcast_selection(selection)
        self._check_identical(trainer)
        trainer.set_active_indices(self.selection)
        if accelerator.is_main_process:
            self._write(trainer, record, result, embedded)
            self.history.append(record)
        self.rounds += 1
        return self.selection

    def _select_without_features(self, dataset: Any, subset: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """The `random_subset` (uniform) or `oracle` (class-balanced by label) choice of ρ·N archive indices of U."""
        target = min(round(self.selection_config.rho * len(dataset)), len(subset))
        if self.selection_config.strategy == "random_subset":
            return np.sort(rng.choice(subset, size=target, replace=False))
        labels = getattr(dataset, "labels", None)
        if not callable(labels):
            raise ValueError(
                f"pruning_strategy oracle needs a dataset with labels() (e.g. the synthetic archive), got "
                f"{type(dataset).__name__}"
            )
        pool_labels = np.asarray(labels())[subset]
        known = pool_labels >= 0
        if not known.any():
            raise ValueError("pruning_strategy oracle: no sample of the embedded subset has a known label")
        positions = class_balanced_sample(pool_labels[known], min(target, int(known.sum())), rng)
        return np.sort(subset[known][positions])

    def _check_identical(self, trainer: TrainerView) -> None:
        """Every process must train on the same selection: compare a checksum across processes."""
        checksum = torch.tensor([len(self.selection), int(np.sum(self.selection * 2654435761 % 1000003))])
        gathered = trainer.accelerator.gather(checksum.to(trainer.accelerator.device)).view(-1, 2).cpu()
        if not bool((gathered == gathered[0]).all()):
            raise RuntimeError(f"pruning round {self.rounds}: processes hold different selections {gathered.tolist()}")

    def _diagnostics(
        self,
        trainer: TrainerView,
        selection: np.ndarray,
        pool: np.ndarray,
        result: Any,
        embedded: int,
        embed_s: float,
        timings: dict[str, float],
    ) -> dict[str, Any]:
        """The round's record: sizes, timings, cluster sizes and, when the dataset has labels, the class histograms of
        the archive, of the pool U and of the selection."""
        total_s = embed_s + timings["clustering_s"] + timings["sampling_s"]
        record: dict[str, Any] = {
            "round": self.rounds,
            "strategy": self.selection_config.strategy,
            "epoch": trainer.state.epoch,
            "step": trainer.state.global_step,
            "archive_size": len(trainer.dataset),
            "embedded": embedded,
            "selected": len(selection),
            "target": round(self.selection_config.rho * len(trainer.dataset)),
            "embed_s": embed_s,
            **timings,
            "pruning_s": total_s,
            "share_of_epoch": None if self._last_epoch_s is None else total_s / self._last_epoch_s,
        }
        if result is not None:
            record["levels"] = [
                {"clusters": level.n_clusters, **cluster_size_summary(level.sizes.cpu().numpy())}
                for level in result.levels
            ]
        labels = getattr(trainer.dataset, "labels", None)
        if callable(labels):
            archive_labels = np.asarray(labels())
            if (archive_labels >= 0).any():
                selected = archive_labels[selection]
                classes = int(archive_labels.max()) + 1
                record["archive_class_histogram"] = np.bincount(
                    archive_labels[archive_labels >= 0], minlength=classes
                ).tolist()
                record["selected_class_histogram"] = np.bincount(selected[selected >= 0], minlength=classes).tolist()
                in_pool = archive_labels[pool]
                record["pool_class_histogram"] = np.bincount(in_pool[in_pool >= 0], minlength=classes).tolist()
                record["archive_label_entropy"] = label_entropy(archive_labels)
                record["selected_label_entropy"] = label_entropy(selected)
        logger.info(
            "pruning round %d (%s): kept %d of %d (embedded %d) in %.1fs (embed %.1fs, cluster %.1fs, sample %.2fs)%s",
            self.rounds, self.selection_config.strategy, len(selection), len(trainer.dataset), embedded, total_s,
            embed_s, timings["clustering_s"], timings["sampling_s"],
            "" if "selected_label_entropy" not in record else
            f"; label entropy {record['archive_label_entropy']:.3f} → {record['selected_label_entropy']:.3f} nats",
        )  # fmt: skip
        trainer.log({f"pruning/{k}": v for k, v in record.items() if isinstance(v, (int, float)) and v is not None})
        return record

    def _write(self, trainer: TrainerView, record: dict[str, Any], result: Any, embedded: np.ndarray) -> None:
        """The round's PNG when it clustered (its drawing time is logged as `figure_s`, outside `pruning_s`) and its
        JSON record."""
        from .figures import plot_round

        self.output_dir.mkdir(parents=True, exist_ok=True)
        if result is not None:
            start = time.perf_counter()
            plot_round(
                self.output_dir / f"round_{self.rounds:02d}.png", trainer.dataset, trainer.processor, result, embedded,
                record,
            )  # fmt: skip
            record["figure_s"] = time.perf_counter() - start
        with (self.output_dir / "pruning_log.jsonl").open("a") as handle:
            handle.write(json.dumps(record) + "\n")

# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""The DINO pretraining loop, in the shape of facebookresearch/dino's `main_dino.py`: `train()` runs epochs,
`_run_epoch` runs steps, `_train_step` is one DINO step. Callbacks extend it (pruning, k-NN, logging); `build.py`
assembles what it trains, `checkpoints.py` writes and reads its checkpoints.

Per optimisation step: processed images (B, 1, S, S) → batched multi-crop on the device → teacher on the 2 global
crops, student on all crops → DINO loss → backward, DINO's per-parameter gradient clipping, last-layer freeze →
optimiser step → teacher EMA. With the DINOv2 recipe's options (`DINOv2Config`, `IBOTConfig`) the student sees its
global crops block-masked and the loss adds iBOT's masked-patch term and KoLeo (`_losses`).
Schedules (lr, weight decay, teacher momentum and temperature) are functions of the global step over epochs whose
lengths are planned before the first step (`epoch_length`), so changing the training set (pruning) never changes them.
The data order and every augmentation, mask and drop-path draw are functions of (seed, step, process), so a resumed
run continues exactly where it stopped.
"""

from __future__ import annotations

import logging
import math
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from accelerate.utils import set_seed
from torch import nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from oceansar_hf import OceanSARModel

from .arguments import group_defaults
from .augment import MultiCropAugmentation
from .build import build_accelerator, build_backbone, build_dataset, build_dino, build_masking, build_processor
from .callbacks import CallbackList, TrainerCallback
from .checkpoints import export_model, find_checkpoint, load_checkpoint, previous_run_files, save_checkpoint
from .config import PRETRAIN_GROUPS, PretrainConfig
from .data import collate_samples
from .dino import (
    DINOSchedules,
    apply_to_optimizer,
    cancel_last_layer_gradients,
    clip_gradients,
    update_teacher,
    uses_dinov2_model,
)
from .distributed import broadcast_buffers
from .inputs import ModelInputs
from .sampler import process_indices
from .seeding import derive_seed, torch_generator

logger = logging.getLogger(__name__)

TRACKER_PROJECT = "oceansar-dino"
RESUMABLE_CHANGES = frozenset(
    {
        "output_dir", "overwrite_output_dir", "resume", "stop_after_steps", "data_path", "num_workers", "cpu",
        "log_every_steps", "report_to", "ddp_timeout", "save_every_steps", "save_every_epochs", "keep_last",
        "max_skipped_fraction",
    }
)  # fmt: skip
"""Settings that may differ between a run and its resumption (they change neither the weights nor the data order)."""

SKIPPED_EXAMPLES = 20
"""Names of skipped samples kept for the end-of-run report."""

MASK_STREAM, DROP_PATH_STREAM = 1, 2
"""Last seed key of the per-step random streams of iBOT's masks and of drop path (augmentation: none)."""


@dataclass
class TrainerState:
    """Where the run stands; saved in every checkpoint. Counts are over all processes."""

    epoch: int = 0
    global_step: int = 0
    samples_read: int = 0
    skipped_samples: int = 0
    skipped_examples: list[str] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)


class Trainer:
    """DINO pretraining of an `OceanSARModel` with Accelerate; what callbacks use is `callbacks.TrainerView`."""

    def __init__(self, config: PretrainConfig, callbacks: list[TrainerCallback] | None = None) -> None:
        self.config = config
        run = config.run
        self.output_dir = Path(run.output_dir)
        self.accelerator = build_accelerator(run)
        set_seed(run.seed)
        self.seed, self.epochs, self.num_workers = run.seed, run.epochs, config.data.num_workers
        self.state = TrainerState()
        self.callbacks = CallbackList(callbacks or [])
        self.dataset = build_dataset(config.data, config.synthetic)
        self.active_indices = np.arange(len(self.dataset))
        self.processor = build_processor(config.data, config.model.input_size, self.dataset, run.seed)
        backbone = build_backbone(config.model, use_mask_token=config.ibot.enabled)
        parts = build_dino(backbone, config.dino, self.accelerator, config.dinov2, config.ibot)
        self.student, self.teacher, self.optimizer, self.criterion = (
            parts.student, parts.teacher, parts.optimizer, parts.criterion
        )  # fmt: skip
        self.drop_path, self.dinov2 = parts.drop_path, uses_dinov2_model(config.dinov2, config.ibot)
        rows = 2 * run.batch_size  # global crops per micro-batch
        self.masking = build_masking(config.masking, config.ibot, config.augment.global_crop_size, backbone, rows)
        has_bn = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in self.teacher.modules())
        self._share_teacher_statistics = has_bn and self.accelerator.num_processes > 1 and not parts.sync_batchnorm
        self.global_batch = run.batch_size * self.accelerator.num_processes * run.gradient_accumulation_steps
        self.schedules = DINOSchedules.from_config(config.dino, self._plan_epochs(), self.global_batch)
        self.total_steps = self.schedules.total_steps
        self.ibot_temp = config.ibot.teacher_temp_schedule(self.schedules) if config.ibot.enabled else None
        self.augment = MultiCropAugmentation(config.augment)
        self._terminate = False

    # --- what callbacks use ----------------------------------------------------------------------------------------

    @property
    def teacher_backbone(self) -> OceanSARModel:
        """The teacher's backbone (unwrapped): what is evaluated and exported."""
        return self.accelerator.unwrap_model(self.teacher).backbone

    def set_active_indices(self, indices: np.ndarray | None) -> None:
        """Train on these dataset indices from the next epoch on (None = the whole archive)."""
        if indices is None:
            self.active_indices = np.arange(len(self.dataset))
            return
        indices = np.asarray(indices, dtype=np.int64)
        if len(indices) == 0 or indices.min() < 0 or indices.max() >= len(self.dataset):
            raise ValueError(f"active indices must be non-empty and within [0, {len(self.dataset)})")
        self.active_indices = indices

    def log(self, values: dict[str, float]) -> None:
        """Send values to the Accelerate trackers (TensorBoard) at the current step."""
        self.accelerator.log(values, step=self.state.global_step)

    def evaluate(self, fn: Callable[[Trainer], dict[str, float]]) -> dict[str, float]:
        """Run an evaluation (e.g. k-NN) on the teacher, record and broadcast its metrics to the callbacks."""
        metrics = fn(self)
        self.state.metrics.update(metrics)
        self.log({f"eval/{k}": v for k, v in metrics.items()})
        if self.accelerator.is_main_process:
            logger.info("epoch %d: %s", self.state.epoch, metrics)
        self.callbacks("on_evaluate", self, metrics)
        return metrics

    def _plan_epochs(self) -> list[int]:
        """Optimisation steps of every epoch, planned up front (the schedules need the total).

        `epoch_length: archive`: every epoch has `steps_per_epoch` steps (default: one pass over the archive).
        `active_set`: an epoch is one pass over the set trained on then — the size callbacks plan for that epoch
        (pruning: ρ·N after T_w) — so pruned epochs are shorter: `steps_per_epoch · size / N` steps, at least one.
        """
        run, size = self.config.run, len(self.dataset)
        full = run.steps_per_epoch or max(1, size // self.global_batch)
        if run.epoch_length == "archive":
            return [full] * run.epochs
        planned = [self.callbacks.planned_active_size(epoch, size) or size for epoch in range(run.epochs)]
        return [max(1, round(full * active / size)) for active in planned]

    # --- the loop --------------------------------------------------------------------------------------------------

    def train(self) -> Path | None:
        """Run (or resume) training; returns the final exported model folder (None when stopped early: by
        `stop_after_steps` or by SIGTERM, in which case a checkpoint of the last step was written)."""
        self._begin()
        previous = signal.signal(signal.SIGTERM, self._on_sigterm)
        try:
            while self.state.global_step < self.total_steps:
                if not self._run_epoch(self.schedules.epoch_of(self.state.global_step)):
                    self.accelerator.end_training()
                    return None
        finally:
            signal.signal(signal.SIGTERM, previous)
        return self._finish()

    def _run_epoch(self, epoch: int) -> bool:
        """Train the rest of `epoch`; False when the run stopped early."""
        self.state.epoch = epoch
        into_epoch = self.state.global_step - self.schedules.epoch_starts[epoch]
        if into_epoch == 0:
            self.callbacks("on_epoch_begin", self)
        self._tick = time.perf_counter()
        for images, micro_step in self._batches(epoch, into_epoch):
            logs = self._train_step(images, micro_step)
            if logs is not None and not self._after_step(logs):
                return False
        self.callbacks("on_epoch_end", self)
        self._check_skipped()
        run, finished = self.config.run, epoch + 1
        if (run.save_every_epochs and finished % run.save_every_epochs == 0) or finished == run.epochs:
            self.save_checkpoint()
        return True

    def _batches(self, epoch: int, into_epoch: int) -> Iterator[tuple[torch.Tensor, int]]:
        """(images on the device, micro-step) for the rest of `epoch`. A micro-batch whose every image was corrupt is
        replaced by the last good one (so all processes keep stepping together); skips are counted per step."""
        accumulation = self.config.run.gradient_accumulation_steps
        micro_step = self.state.global_step * accumulation
        last_images: torch.Tensor | None = None
        for batch in self._loader(epoch, into_epoch * accumulation):
            self._read += batch["batch_size"] + batch["n_skipped"]
            self._skipped += batch["n_skipped"]
            room = SKIPPED_EXAMPLES - len(self.state.skipped_examples)
            self.state.skipped_examples.extend(batch["skipped"][: max(room, 0)])
            if batch["batch_size"] == 0:
                if last_images is None:
                    raise RuntimeError(
                        f"this process's first micro-batch of the epoch had only corrupt samples: {self._skipped} of "
                        f"{self._read} samples read so far were corrupt (e.g. {', '.join(batch['skipped'][:3])}); "
                        "check the archive (max_skipped_fraction)"
                    )
                images = last_images
            else:
                images = batch["pixel_values"].to(self.accelerator.device, non_blocking=True)
            last_images = images
            yield images, micro_step
            micro_step += 1

    def _loader(self, epoch: int, start_micro_batch: int) -> DataLoader:
        run = self.config.run
        indices = process_indices(
            self.active_indices,
            seed=run.seed,
            epoch=epoch,
            micro_batches=self.schedules.epoch_steps[epoch] * run.gradient_accumulation_steps,
            batch_size=run.batch_size,
            rank=self.accelerator.process_index,
            world_size=self.accelerator.num_processes,
            start_micro_batch=start_micro_batch,
        )
        workers = self.num_workers
        return DataLoader(
            ModelInputs(self.dataset, self.processor),
            batch_size=run.batch_size,
            sampler=indices,
            num_workers=workers,
            collate_fn=collate_samples,
            pin_memory=self.accelerator.device.type == "cuda",
            persistent_workers=False,
            prefetch_factor=4 if workers else None,
            worker_init_fn=_ignore_sigterm,
        )

    def _train_step(self, images: torch.Tensor, micro_step: int) -> dict[str, torch.Tensor] | None:
        """One micro-batch; returns the step's diagnostics when an optimisation step happened."""
        dino = self.config.dino
        values = self.schedules.at(self.state.global_step)
        if self.ibot_temp is not None:
            values["ibot_teacher_temp"] = self.ibot_temp(self.state.global_step)
        crops = self.augment(images, generator=torch_generator(self.seed, micro_step, self.accelerator.process_index))
        with self.accelerator.accumulate(self.student):
            loss, stats = self._losses(crops, micro_step, values)
            if not torch.isfinite(loss):
                raise FloatingPointError(
                    f"non-finite DINO loss ({loss.item()}) at step {self.state.global_step}, epoch {self.state.epoch}: "
                    "stopping. Lower the learning rate, raise warm-up, or check the inputs."
                )
            self.accelerator.backward(loss)
            grad_norm = torch.tensor(float("nan"))
            if self.accelerator.sync_gradients:
                apply_to_optimizer(self.optimizer, values["lr"], values["weight_decay"])
                if dino.clip_grad > 0:
                    self.accelerator.unscale_gradients()
                    grad_norm = clip_gradients(self.student.parameters(), dino.clip_grad)
                if self.state.global_step < self.schedules.steps_in(dino.freeze_last_layer):
                    cancel_last_layer_gradients(self.student)
            self.optimizer.step()
            self.optimizer.zero_grad(set_to_none=True)
        if not self.accelerator.sync_gradients:
            return None
        update_teacher(
            self.accelerator.unwrap_model(self.student), self.accelerator.unwrap_model(self.teacher), values["momentum"]
        )
        if self._share_teacher_statistics:  # one teacher on every process: rank 0's BatchNorm statistics
            broadcast_buffers(self.teacher)
        self.state.global_step += 1
        return {"loss": loss.detach(), "grad_norm": grad_norm, **stats, **values}

    def _losses(
        self, crops: list[torch.Tensor], micro_step: int, values: dict[str, float]
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Teacher and student forwards and the loss of a micro-batch: DINO's, or the DINOv2 recipe's (the student's
        global crops masked with masks drawn from (seed, micro-step, process), the teacher's not; iBOT and KoLeo
        terms). Drop path draws from its own stream of the same keys."""
        keys = (self.seed, micro_step, self.accelerator.process_index)
        if self.drop_path is not None:
            self.drop_path.generator = torch_generator(*keys, DROP_PATH_STREAM)
        if not self.dinov2:
            with torch.no_grad():
                teacher_out = self.teacher(crops[:2])
            student_out = self.student(crops)
            return self.criterion(student_out, teacher_out, values["teacher_temp"])
        masks = None
        if self.masking is not None:
            rng = np.random.default_rng(derive_seed(*keys, MASK_STREAM))
            masks = self.masking(2 * crops[0].shape[0], rng).to(self.accelerator.device, non_blocking=True)
        with torch.no_grad():
            teacher_out = self.teacher(crops[:2], masks, mask_inputs=False)
        student_out = self.student(crops, masks)
        return self.criterion(student_out, teacher_out, masks, values["teacher_temp"], values.get("ibot_teacher_temp"))

    def _after_step(self, logs: dict[str, Any]) -> bool:
        """Counts, logging, step-cadence checkpoints and stop requests after an optimisation step; False = stop."""
        run, step = self.config.run, self.state.global_step
        terminate = self._synchronise_counts()
        self._bar.update(1)
        if step % run.log_every_steps == 0 or step == self.total_steps:
            record = self._record(logs)
            self._bar.set_postfix(loss=f"{record['loss']:.3f}", lr=f"{record['lr']:.2e}")
            self.log(record)
            self.callbacks("on_step_end", self, record)
            self._tick = time.perf_counter()
        if terminate:
            path = self.save_checkpoint()
            if self.accelerator.is_main_process:
                logger.warning("SIGTERM: stopped at step %d after writing %s; continue with --resume auto", step, path)
            return False
        epoch_end = step == self.schedules.epoch_starts[self.state.epoch + 1]  # saved by the epoch's own cadence
        if run.save_every_steps and step % run.save_every_steps == 0 and not epoch_end:
            self.save_checkpoint()
        return run.stop_after_steps is None or step < run.stop_after_steps

    def _synchronise_counts(self) -> bool:
        """Add this step's read/skipped counts of all processes to the state; True when any process got SIGTERM."""
        local = torch.tensor([self._read, self._skipped, int(self._terminate)], dtype=torch.float64)
        if self.accelerator.num_processes > 1:
            local = self.accelerator.reduce(local.to(self.accelerator.device), reduction="sum").cpu()
        self.state.samples_read += int(local[0])
        self.state.skipped_samples += int(local[1])
        self._read = self._skipped = 0
        return bool(local[2] > 0)

    def _on_sigterm(self, signum: int, frame: Any) -> None:
        """SIGTERM (what SLURM sends before a requeue or at the time limit): checkpoint after the current step."""
        self._terminate = True

    def _record(self, logs: dict[str, Any]) -> dict[str, float]:
        run = self.config.run
        elapsed = max(time.perf_counter() - self._tick, 1e-9)
        record = {k: float(v) for k, v in logs.items()}
        record.update(
            step=self.state.global_step,
            epoch=self.state.epoch,
            images_per_s=self.global_batch * run.log_every_steps / elapsed,
            ln_out_dim=math.log(self.config.dino.out_dim),
            samples_read=self.state.samples_read,
            skipped_samples=self.state.skipped_samples,
            active_images=len(self.active_indices),
        )
        return record

    def _check_skipped(self) -> None:
        """Stop with an error when the share of corrupt samples passes `max_skipped_fraction`."""
        read, skipped = self.state.samples_read, self.state.skipped_samples
        if read and skipped / read > self.config.run.max_skipped_fraction:
            raise RuntimeError(
                f"{skipped} of {read} samples read so far were corrupt ({100 * skipped / read:.1f} %, more than "
                f"max_skipped_fraction = {100 * self.config.run.max_skipped_fraction:.1f} %), e.g. "
                f"{', '.join(self.state.skipped_examples[:5])}. Fix or remove them, or raise max_skipped_fraction."
            )

    # --- begin and end ---------------------------------------------------------------------------------------------

    def _begin(self) -> None:
        """Resume or start fresh (refusing to mix with a previous run), trackers, config.yaml, `on_train_begin`."""
        run = self.config.run
        self._read = self._skipped = 0
        checkpoint = find_checkpoint(self.output_dir, run.resume) if run.resume else None
        if checkpoint is not None:
            self._restore(checkpoint)
        else:
            self._claim_output_dir()
        if self.accelerator.trackers == [] and self.accelerator.log_with:
            flat = {
                k: v if isinstance(v, int | float | str | bool) else str(v) for k, v in self.config.to_dict().items()
            }
            self.accelerator.init_trackers(TRACKER_PROJECT, config=flat)
        if self.accelerator.is_main_process:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            tmp = self.output_dir / ".tmp-config.yaml"
            tmp.write_text(yaml.safe_dump(self.config.to_dict(), sort_keys=False))
            tmp.replace(self.output_dir / "config.yaml")
        self.callbacks("on_train_begin", self)
        self._bar = tqdm(
            total=self.total_steps,
            initial=self.state.global_step,
            desc="DINO",
            disable=not self.accelerator.is_main_process,
        )

    def _claim_output_dir(self) -> None:
        """A fresh run needs an output_dir without another run's files (or `overwrite_output_dir`, which deletes
        them). With `resume: auto` and no checkpoint yet, files of the same config (a requeued job that never reached
        its first checkpoint) are replaced."""
        run = self.config.run
        found = previous_run_files(self.output_dir, TRACKER_PROJECT)
        if found and not run.overwrite_output_dir and not (run.resume == "auto" and self._same_run_config()):
            raise FileExistsError(
                f"output_dir {self.output_dir} holds a previous run ({', '.join(p.name for p in found)}): pass "
                "--resume latest to continue it, --overwrite_output_dir to delete it and start again, or choose "
                "another output_dir"
            )
        if found and self.accelerator.is_main_process:
            logger.warning("deleting the previous run's files in %s: %s", self.output_dir, [p.name for p in found])
            for path in found:
                shutil.rmtree(path) if path.is_dir() else path.unlink()
        self.accelerator.wait_for_everyone()

    def _same_run_config(self) -> bool:
        path = self.output_dir / "config.yaml"
        if not path.is_file():
            return False
        try:
            saved = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError):
            return False
        return isinstance(saved, dict) and not _config_changes(saved, self.config.to_dict())

    def _restore(self, checkpoint: Path) -> None:
        """Load a checkpoint of this run (refused when its settings differ in what changes the weights)."""
        saved = load_checkpoint(self.accelerator, checkpoint)
        if changes := _config_changes(saved["config"], self.config.to_dict()):
            raise ValueError(
                f"{checkpoint} was written by a run with other settings: {changes}. Resume with the original "
                "settings, or start a new run in another output_dir."
            )
        self.state = TrainerState(**saved["state"])
        self.criterion.load_state_dict(saved["criterion"])
        self.callbacks.load_state_dict(saved["callbacks"])
        logger.info("resumed from %s at step %d", checkpoint, self.state.global_step)

    def _finish(self) -> Path:
        """Check the skip budget, export the teacher, report, `on_train_end`."""
        self._bar.close()
        self._check_skipped()
        final = self.output_dir / "final_model"
        if self.accelerator.is_main_process:
            export_model(self.teacher_backbone, self.processor, final, self._training_info())
            read, skipped = self.state.samples_read, self.state.skipped_samples
            if skipped:
                logger.warning(
                    "%d of %d samples read were corrupt and skipped (%.2f %%), e.g. %s",
                    skipped,
                    read,
                    100 * skipped / max(read, 1),
                    ", ".join(self.state.skipped_examples[:5]),
                )
        self.accelerator.wait_for_everyone()
        self.callbacks("on_train_end", self)
        self.accelerator.end_training()
        return final

    def _training_info(self) -> dict[str, Any]:
        """What the exported config.json records about the run (`oceansar_training`)."""
        listing = getattr(self.dataset, "listing_report", None)  # what the folder listing could not read
        return {
            "global_step": self.state.global_step,
            "epoch": self.state.epoch,
            "dataset": self.config.data.dataset,
            "samples_read": self.state.samples_read,
            "skipped_samples": self.state.skipped_samples,
            **(listing.counts() if listing is not None else {}),
            **{k: round(v, 6) for k, v in self.state.metrics.items()},
        }

    def save_checkpoint(self) -> Path:
        """Write a checkpoint of the current step on every process (see `checkpoints.py`); `on_save` after."""
        state = {
            "state": vars(self.state),
            "criterion": self.criterion.state_dict(),
            "callbacks": self.callbacks.state_dict(),
            "config": self.config.to_dict(),
        }
        path = save_checkpoint(
            self.accelerator,
            self.output_dir,
            self.state.global_step,
            state,
            self.teacher_backbone.config.to_json_string(),
            self.processor,
            self.config.run.keep_last,
        )
        self.callbacks("on_save", self, path)
        return path


def _ignore_sigterm(worker_id: int) -> None:
    """DataLoader workers leave SIGTERM to the training process, which checkpoints and then ends them."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _config_changes(saved: dict[str, Any], current: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """{key: (saved, current)} for the settings that differ and may not change on resume.

    A setting the checkpoint does not name (added to the project after it was written) counts as its default, so
    older checkpoints resume as long as the new options stay off.
    """
    saved = {**group_defaults(PRETRAIN_GROUPS), **saved}
    keys = (set(saved) | set(current)) - RESUMABLE_CHANGES
    return {k: (saved.get(k), current.get(k)) for k in sorted(keys) if saved.get(k) != current.get(k)}

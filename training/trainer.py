# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""The DINO pretraining loop: one plain Accelerate loop, extended through callbacks (pruning, k-NN, logging).

Per optimisation step: processed images (B, 1, S, S) → batched multi-crop on the device → teacher on the 2 global
crops, student on all crops → DINO loss → backward, clipping, last-layer freeze → optimiser step → teacher EMA.
Schedules (lr, weight decay, teacher momentum and temperature) are functions of the global step with a fixed number of
steps per epoch, so changing the training set (pruning) never changes them. The data order and every augmentation draw
are functions of (seed, step, process), so a resumed run continues exactly where it stopped.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np
import torch
from accelerate import Accelerator
from accelerate.utils import set_seed
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from oceansar_hf import OceanSARConfig, OceanSARImageProcessor, OceanSARModel

from .augment import MultiCropAugmentation
from .callbacks import CallbackList, TrainerCallback
from .config import PretrainConfig
from .data import build_dataset, collate_samples
from .dino import (
    DINOHead,
    DINOLoss,
    DINOSchedules,
    apply_to_optimizer,
    cancel_last_layer_gradients,
    make_teacher,
    param_groups,
    update_teacher,
)
from .dino.wrapper import DINOModel
from .inputs import ModelInputs
from .sampler import process_indices

logger = logging.getLogger(__name__)
CHECKPOINT_PREFIX = "checkpoint-"


@dataclass
class TrainerState:
    """Where the run stands; saved in every checkpoint."""

    epoch: int = 0
    global_step: int = 0
    skipped_samples: int = 0
    metrics: dict[str, float] = field(default_factory=dict)


class _Progress:
    """Checkpointed (via `Accelerator.register_for_checkpointing`) run state and callback states."""

    def __init__(self, trainer: Trainer) -> None:
        self.trainer = trainer

    def state_dict(self) -> dict[str, Any]:
        state = self.trainer.state
        return {
            "epoch": state.epoch,
            "global_step": state.global_step,
            "skipped_samples": state.skipped_samples,
            "metrics": dict(state.metrics),
            "callbacks": self.trainer.callbacks.state_dict(),
        }

    def load_state_dict(self, saved: dict[str, Any]) -> None:
        self.trainer.state = TrainerState(
            saved["epoch"], saved["global_step"], saved["skipped_samples"], dict(saved["metrics"])
        )
        self.trainer.callbacks.load_state_dict(saved["callbacks"])


def resolve_mixed_precision(choice: str) -> str:
    """`auto` → bf16 on a CUDA GPU that supports it, else fp32 ("no")."""
    if choice != "auto":
        return choice
    return "bf16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "no"


def has_accelerator() -> bool:
    """Whether a GPU-like device exists; without one, processes started by a launcher (torchrun, `accelerate launch
    --multi_gpu`) train on the CPU with the gloo backend instead of falling back to independent single processes."""
    return torch.cuda.is_available() or torch.backends.mps.is_available() or torch.xpu.is_available()


def find_checkpoint(output_dir: Path, resume: str) -> Path | None:
    """`resume` = "latest" (newest complete checkpoint in `output_dir/checkpoints`), "auto" (the same, or None when
    there is none yet: a fresh start, for jobs that are requeued) or a checkpoint directory."""
    if resume not in ("latest", "auto"):
        path = Path(resume)
        if not (path / "trainer_state.json").is_file():
            raise FileNotFoundError(f"{path} is not a complete checkpoint (no trainer_state.json)")
        return path
    candidates = sorted((output_dir / "checkpoints").glob(f"{CHECKPOINT_PREFIX}*"))
    complete = [c for c in candidates if (c / "trainer_state.json").is_file()]
    if not complete and resume == "auto":
        return None
    if not complete:
        raise FileNotFoundError(f"--resume latest: no complete checkpoint under {output_dir / 'checkpoints'}")
    return complete[-1]


class Trainer:
    """DINO pretraining of an `OceanSARModel` with Accelerate.

    Attributes callbacks may use: `accelerator`, `config`, `state`, `dataset` (the whole archive), `processor`,
    `teacher_backbone` (unwrapped `OceanSARModel`), `active_indices`, `set_active_indices()`, `log()`, `evaluate()`.
    """

    def __init__(self, config: PretrainConfig, callbacks: list[TrainerCallback] | None = None) -> None:
        self.config = config
        run = config.run
        self.output_dir = Path(run.output_dir)
        if run.keep_last < 1:
            raise ValueError(f"keep_last must be >= 1 (checkpoints kept), got {run.keep_last}")
        trackers = "tensorboard" if run.report_to == "auto" and find_spec("tensorboard") else None
        if run.report_to not in ("auto", "none"):
            trackers = run.report_to
        self.accelerator = Accelerator(
            cpu=run.cpu or not has_accelerator(),
            mixed_precision=resolve_mixed_precision(run.mixed_precision),
            gradient_accumulation_steps=run.gradient_accumulation_steps,
            log_with=trackers,
            project_dir=str(self.output_dir),
        )
        set_seed(run.seed)
        logger.info(
            "distributed_type=%s num_processes=%d device=%s",
            self.accelerator.distributed_type.name,
            self.accelerator.num_processes,
            self.accelerator.device,
        )
        self.state = TrainerState()
        self.callbacks = CallbackList(callbacks or [])
        self.dataset = self._build_dataset()
        self.active_indices = np.arange(len(self.dataset))
        self.processor = self._build_processor()
        self._build_models()
        world = self.accelerator.num_processes
        global_batch = run.batch_size * world * run.gradient_accumulation_steps
        self.steps_per_epoch = run.steps_per_epoch or max(1, len(self.dataset) // global_batch)
        dino = config.dino
        self.schedules = DINOSchedules(
            steps_per_epoch=self.steps_per_epoch,
            epochs=run.epochs,
            lr=dino.lr * global_batch / 256,
            min_lr=dino.min_lr,
            warmup_epochs=min(dino.warmup_epochs, run.epochs),
            weight_decay=dino.weight_decay,
            weight_decay_end=dino.weight_decay_end,
            momentum_teacher=dino.momentum_teacher,
            warmup_teacher_temp=dino.warmup_teacher_temp,
            teacher_temp=dino.teacher_temp,
            warmup_teacher_temp_epochs=dino.warmup_teacher_temp_epochs,
        )
        self.augment = MultiCropAugmentation(config.augment)
        self.accelerator.register_for_checkpointing(self.criterion, _Progress(self))

    # --- setup -----------------------------------------------------------------------------------------------------

    def _build_dataset(self) -> Any:
        data = self.config.data
        if data.dataset == "synthetic":
            kwargs = {
                "num_samples": data.synthetic_num_samples,
                "image_size": data.synthetic_image_size or self.config.model.image_size,
                "seed": data.synthetic_seed,
            }
            if data.synthetic_class_weights is not None:
                kwargs["class_weights"] = tuple(data.synthetic_class_weights)
        else:
            kwargs = {"image_column": data.image_column} if data.dataset == "hf" else {}
        dataset = build_dataset(data.dataset, data.data_path, **kwargs)
        if len(dataset) == 0:
            raise ValueError(f"the {data.dataset} archive at {data.data_path} is empty: nothing to train on")
        return dataset

    def _build_processor(self) -> OceanSARImageProcessor:
        data = self.config.data
        processor = OceanSARImageProcessor(
            input_kind=data.input_kind,
            nodata_value=data.nodata_value,
            size=self.config.model.image_size,
            normalization=data.normalization,
            image_mean=data.image_mean,
            image_std=data.image_std,
        )
        if data.normalization == "fixed" and data.image_mean is None:
            rng = np.random.default_rng(self.config.run.seed)
            count = min(data.fit_normalization_samples, len(self.dataset))
            picks = rng.choice(len(self.dataset), size=count, replace=False)
            safe = ModelInputs(self.dataset, processor)  # skips corrupt files while fitting too
            images = (self.dataset[int(i)]["image"] for i in picks if safe[int(i)] is not None)
            processor = processor.fit_normalization(images)
            logger.info(
                "fixed normalisation fitted on %d images: mean %.2f dB, std %.2f dB",
                count,
                processor.image_mean[0],
                processor.image_std[0],
            )
        return processor

    def _build_models(self) -> None:
        model_args, dino = self.config.model, self.config.dino
        # The model's native size is that of the global crops (ViT position embeddings); other sizes interpolate.
        config = OceanSARConfig(backbone=model_args.backbone, image_size=self.config.augment.global_crop_size)
        backbone = OceanSARModel(config)
        if backbone.config.architecture == "resnet" and backbone.config.channels_last:
            backbone.to(memory_format=torch.channels_last)
        head = DINOHead(
            backbone.config.num_features,
            out_dim=dino.out_dim,
            hidden_dim=dino.hidden_dim,
            bottleneck_dim=dino.bottleneck_dim,
            num_layers=dino.head_layers,
            use_bn=dino.use_bn_in_head,
            norm_last_layer=dino.norm_last_layer,
        )
        student = DINOModel(backbone, head)
        teacher = make_teacher(student)
        groups = param_groups(student, dino.weight_decay)
        if dino.optimizer == "adamw":
            optimizer = torch.optim.AdamW(groups, lr=0.0)
        elif dino.optimizer == "sgd":
            optimizer = torch.optim.SGD(groups, lr=0.0, momentum=0.9)
        else:
            raise ValueError(f"optimizer must be 'adamw' or 'sgd', got {dino.optimizer!r}")
        self.student, self.optimizer = self.accelerator.prepare(student, optimizer)
        self.teacher = self.accelerator.prepare_model(teacher, evaluation_mode=True)
        self.criterion = DINOLoss(dino.out_dim, dino.student_temp, dino.center_momentum).to(self.accelerator.device)

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

    # --- the loop --------------------------------------------------------------------------------------------------

    def _loader(self, epoch: int, start_micro_batch: int) -> DataLoader:
        run = self.config.run
        indices = process_indices(
            self.active_indices,
            seed=run.seed,
            epoch=epoch,
            micro_batches=self.steps_per_epoch * run.gradient_accumulation_steps,
            batch_size=run.batch_size,
            rank=self.accelerator.process_index,
            world_size=self.accelerator.num_processes,
            start_micro_batch=start_micro_batch,
        )
        workers = self.config.data.num_workers
        return DataLoader(
            ModelInputs(self.dataset, self.processor),
            batch_size=run.batch_size,
            sampler=indices,
            num_workers=workers,
            collate_fn=collate_samples,
            pin_memory=self.accelerator.device.type == "cuda",
            persistent_workers=False,
            prefetch_factor=4 if workers else None,
        )

    def _generator(self, micro_step: int) -> torch.Generator:
        seed = hash((self.config.run.seed, micro_step, self.accelerator.process_index)) % (2**63)
        return torch.Generator().manual_seed(seed)

    def _train_step(self, images: torch.Tensor, micro_step: int) -> dict[str, torch.Tensor] | None:
        """One micro-batch; returns the step's diagnostics when an optimisation step happened."""
        values = self.schedules.at(self.state.global_step)
        crops = self.augment(images, generator=self._generator(micro_step))
        with self.accelerator.accumulate(self.student):
            with torch.no_grad():
                teacher_out = self.teacher(crops[:2])
            student_out = self.student(crops)
            loss, stats = self.criterion(student_out, teacher_out, values["teacher_temp"])
            if not torch.isfinite(loss):
                raise FloatingPointError(
                    f"non-finite DINO loss ({loss.item()}) at step {self.state.global_step}, epoch {self.state.epoch}: "
                    "stopping. Lower the learning rate, raise warm-up, or check the inputs."
                )
            self.accelerator.backward(loss)
            if self.accelerator.sync_gradients:
                apply_to_optimizer(self.optimizer, values["lr"], values["weight_decay"])
                grad_norm = (
                    self.accelerator.clip_grad_norm_(self.student.parameters(), self.config.dino.clip_grad)
                    if self.config.dino.clip_grad > 0
                    else torch.tensor(float("nan"))
                )
                if self.state.global_step < self.config.dino.freeze_last_layer * self.steps_per_epoch:
                    cancel_last_layer_gradients(self.student)
            self.optimizer.step()
            self.optimizer.zero_grad(set_to_none=True)
        if not self.accelerator.sync_gradients:
            return None
        update_teacher(
            self.accelerator.unwrap_model(self.student), self.accelerator.unwrap_model(self.teacher), values["momentum"]
        )
        self.state.global_step += 1
        return {"loss": loss.detach(), "grad_norm": grad_norm, **stats, **values}

    def train(self) -> Path | None:
        """Run (or resume) training; returns the final exported model folder (None when stopped early)."""
        run = self.config.run
        self.output_dir.mkdir(parents=True, exist_ok=True)
        checkpoint = find_checkpoint(self.output_dir, run.resume) if run.resume else None
        if checkpoint is not None:
            self.accelerator.load_state(str(checkpoint))
            logger.info("resumed from %s at step %d", checkpoint, self.state.global_step)
        if self.accelerator.trackers == [] and self.accelerator.log_with:
            self.accelerator.init_trackers("oceansar-dino", config=_flat_scalars(self.config.to_dict()))
        if self.accelerator.is_main_process:
            (self.output_dir / "config.yaml").write_text(_to_yaml(self.config.to_dict()))
        self.callbacks("on_train_begin", self)
        total = run.epochs * self.steps_per_epoch
        bar = tqdm(
            total=total, initial=self.state.global_step, desc="DINO", disable=not self.accelerator.is_main_process
        )
        images_per_step = run.batch_size * self.accelerator.num_processes * run.gradient_accumulation_steps
        last_images: torch.Tensor | None = None
        while self.state.global_step < total:
            epoch = self.state.global_step // self.steps_per_epoch
            self.state.epoch = epoch
            into_epoch = self.state.global_step - epoch * self.steps_per_epoch
            if into_epoch == 0:
                self.callbacks("on_epoch_begin", self)
            micro_step = self.state.global_step * run.gradient_accumulation_steps
            tick = time.perf_counter()
            for batch in self._loader(epoch, into_epoch * run.gradient_accumulation_steps):
                self.state.skipped_samples += batch["n_skipped"]
                if batch["batch_size"] == 0:  # every image of the micro-batch was corrupt: reuse the last good one
                    if last_images is None:
                        raise RuntimeError(f"the first micro-batch had only corrupt samples: {batch['skipped'][:5]}")
                    images = last_images
                else:
                    images = batch["pixel_values"].to(self.accelerator.device, non_blocking=True)
                last_images = images
                logs = self._train_step(images, micro_step)
                micro_step += 1
                if logs is None:
                    continue
                bar.update(1)
                step = self.state.global_step
                if step % run.log_every_steps == 0 or step == total:
                    record = self._record(logs, images_per_step, tick)
                    bar.set_postfix(loss=f"{record['loss']:.3f}", lr=f"{record['lr']:.2e}")
                    self.log(record)
                    self.callbacks("on_step_end", self, record)
                tick = time.perf_counter() if step % run.log_every_steps == 0 else tick
                if run.save_every_steps and step % run.save_every_steps == 0 and step % self.steps_per_epoch:
                    self.save_checkpoint()
                if run.stop_after_steps is not None and step >= run.stop_after_steps:
                    bar.close()
                    self.accelerator.end_training()
                    return None
            self.callbacks("on_epoch_end", self)
            finished = epoch + 1
            if (run.save_every_epochs and finished % run.save_every_epochs == 0) or finished == run.epochs:
                self.save_checkpoint()
        bar.close()
        final = self.output_dir / "final_model"
        if self.accelerator.is_main_process:
            self._export(final)
        self.accelerator.wait_for_everyone()
        self.callbacks("on_train_end", self)
        self.accelerator.end_training()
        return final

    def _record(self, logs: dict[str, Any], images_per_step: int, tick: float) -> dict[str, float]:
        steps = self.config.run.log_every_steps
        elapsed = max(time.perf_counter() - tick, 1e-9)
        record = {k: float(v) for k, v in logs.items()}
        record.update(
            step=self.state.global_step,
            epoch=self.state.epoch,
            images_per_s=images_per_step * steps / elapsed,
            ln_out_dim=math.log(self.config.dino.out_dim),
            skipped_samples=self.state.skipped_samples,
            active_images=len(self.active_indices),
        )
        return record

    # --- checkpoints -----------------------------------------------------------------------------------------------

    def _export(self, folder: Path) -> Path:
        """Teacher backbone → `OceanSARModel` folder (safetensors, config, preprocessor config, code files).

        Main process only; the folder's `config.json` carries `oceansar_training` (step, epoch, latest k-NN score).
        """
        backbone = self.teacher_backbone
        backbone.config.oceansar_training = {
            "global_step": self.state.global_step,
            "epoch": self.state.epoch,
            "dataset": self.config.data.dataset,
            **{k: round(v, 6) for k, v in self.state.metrics.items()},
        }
        tmp = folder.with_name(f".tmp-{folder.name}")
        shutil.rmtree(tmp, ignore_errors=True)
        backbone.save_pretrained(tmp)
        self.processor.save_pretrained(tmp)
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)
        return folder

    def save_checkpoint(self) -> Path:
        """Accelerate state + config files + exported teacher, written under a temporary name then renamed."""
        root = self.output_dir / "checkpoints"
        name = f"{CHECKPOINT_PREFIX}{self.state.global_step:08d}"
        final, tmp = root / name, root / f".tmp-{name}"
        if self.accelerator.is_main_process:
            shutil.rmtree(tmp, ignore_errors=True)
            root.mkdir(parents=True, exist_ok=True)
        self.accelerator.wait_for_everyone()
        self.accelerator.save_state(str(tmp))
        if self.accelerator.is_main_process:
            self._export(tmp / "export")
            backbone_config = self.teacher_backbone.config
            (tmp / "oceansar_config.json").write_text(backbone_config.to_json_string())
            self.processor.save_pretrained(tmp)
            summary = {
                "epoch": self.state.epoch,
                "global_step": self.state.global_step,
                "skipped_samples": self.state.skipped_samples,
                "metrics": self.state.metrics,
            }
            (tmp / "trainer_state.json").write_text(json.dumps(summary, indent=2))  # written last: marks completeness
            shutil.rmtree(final, ignore_errors=True)
            tmp.rename(final)
            for old in sorted(root.glob(f"{CHECKPOINT_PREFIX}*"))[: -self.config.run.keep_last]:
                shutil.rmtree(old)
        self.accelerator.wait_for_everyone()
        self.callbacks("on_save", self, final)
        return final


def _flat_scalars(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (v if isinstance(v, (int, float, str, bool)) else str(v)) for k, v in values.items()}


def _to_yaml(values: dict[str, Any]) -> str:
    import yaml

    return yaml.safe_dump({k: (list(v) if isinstance(v, tuple) else v) for k, v in values.items()}, sort_keys=False)

# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Assembly of a pretraining run from its config: accelerator, dataset, image processor, backbone, and the DINO
student / teacher / optimiser / loss (with the DINOv2 recipe's options: iBOT masking and patch head, KoLeo,
Sinkhorn-Knopp, layer-wise lr decay, drop path). The loop (`trainer.py`) receives the built parts and never constructs
any."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from importlib.util import find_spec
from typing import Any

import numpy as np
import torch
from accelerate import Accelerator
from accelerate.utils import InitProcessGroupKwargs
from torch import nn

from oceansar_hf import OceanSARConfig, OceanSARImageProcessor, OceanSARModel

from . import data as data_room
from .config import DataArguments, ModelArguments, RunArguments
from .data import SkipCorrupt, Skipped, SyntheticArchiveConfig
from .dino import (
    BlockMaskGenerator,
    DINOConfig,
    DINOHead,
    DINOLoss,
    DINOModel,
    DINOv2Config,
    DINOv2Loss,
    DINOv2Model,
    IBOTConfig,
    MaskingConfig,
    StochasticDepth,
    lr_scale_from_config,
    make_teacher,
    param_groups,
    uses_dinov2_model,
)
from .init_from import initialise_from

logger = logging.getLogger(__name__)


def resolve_mixed_precision(choice: str) -> str:
    """`auto` → bf16 on a CUDA GPU that supports it, else fp32 ("no")."""
    if choice != "auto":
        return choice
    return "bf16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "no"


def has_accelerator() -> bool:
    """Whether a GPU-like device exists; without one, processes started by a launcher (torchrun, `accelerate launch
    --multi_gpu`) train on the CPU with the gloo backend instead of falling back to independent single processes."""
    return torch.cuda.is_available() or torch.backends.mps.is_available() or torch.xpu.is_available()


def build_accelerator(run: RunArguments) -> Accelerator:
    """The run's `Accelerator`: device, process group (with `ddp_timeout`), mixed precision, accumulation, tracker."""
    trackers = "tensorboard" if run.report_to == "auto" and find_spec("tensorboard") else None
    if run.report_to not in ("auto", "none"):
        trackers = run.report_to
    accelerator = Accelerator(
        cpu=run.cpu or not has_accelerator(),
        mixed_precision=resolve_mixed_precision(run.mixed_precision),
        gradient_accumulation_steps=run.gradient_accumulation_steps,
        log_with=trackers,
        project_dir=run.output_dir,
        kwargs_handlers=[InitProcessGroupKwargs(timeout=timedelta(seconds=run.ddp_timeout))],
    )
    logger.info(
        "distributed_type=%s num_processes=%d device=%s",
        accelerator.distributed_type.name,
        accelerator.num_processes,
        accelerator.device,
    )
    return accelerator


def build_dataset(data: DataArguments, synthetic: SyntheticArchiveConfig) -> Any:
    """The training archive: the synthetic generator (`synthetic` settings) or a reader over `data.data_path`."""
    if data.dataset == "synthetic":
        kwargs = vars(synthetic)
    else:
        kwargs = {} if data.max_pixels is None else {"max_pixels": data.max_pixels}
        if data.dataset == "hf":
            kwargs |= {"image_column": data.image_column, "cache_dir": data.hf_cache_dir}
    dataset = data_room.build_dataset(data.dataset, data.data_path, **kwargs)
    if len(dataset) == 0:
        raise ValueError(f"the {data.dataset} archive at {data.data_path} is empty: nothing to train on")
    return dataset


def build_processor(data: DataArguments, input_size: int, dataset: Any, seed: int) -> OceanSARImageProcessor:
    """The run's image processor; with fixed normalisation and no given mean/std, fitted on random archive images
    (corrupt ones are skipped and counted; an archive whose sampled images are all corrupt is an error).

    The synthetic archive emits amplitude digital numbers of σ0 with its calibration constant: unless `input_kind` is
    given, its processor calibrates them (`digital_number`, A = `SyntheticArchiveConfig.calibration`)."""
    given = {
        "input_kind": data.input_kind,
        "calibration_constant": data.calibration_constant,
        "pixel_spacing": data.pixel_spacing,
        "normalization": data.normalization,
    }
    synthetic = getattr(dataset, "config", None)
    if isinstance(synthetic, SyntheticArchiveConfig) and data.input_kind is None:
        given["input_kind"] = "digital_number"
        given["calibration_constant"] = data.calibration_constant or synthetic.calibration
    processor = OceanSARImageProcessor(
        nodata_value=data.nodata_value,
        size=input_size,
        image_mean=data.image_mean,
        image_std=data.image_std,
        **{key: value for key, value in given.items() if value is not None},
    )
    if processor.normalization != "fixed" or data.image_mean is not None:
        return processor
    count = min(data.fit_normalization_samples, len(dataset))
    picks = np.random.default_rng(seed).choice(len(dataset), size=count, replace=False)
    readable = SkipCorrupt(dataset)
    samples = [readable[int(i)] for i in picks]
    images = [s["image"] for s in samples if not isinstance(s, Skipped)]
    skipped = [s.description for s in samples if isinstance(s, Skipped)]
    if not images:
        raise ValueError(
            f"cannot fit the normalisation: all {count} archive images sampled were corrupt "
            f"(e.g. {', '.join(skipped[:3])}); check the archive or give image_mean and image_std"
        )
    fitted = processor.fit_normalization(images)
    logger.info(
        "fixed normalisation fitted on %d of %d sampled images (%d corrupt skipped): mean %.2f dB, std %.2f dB",
        len(images),
        count,
        len(skipped),
        fitted.image_mean[0],
        fitted.image_std[0],
    )
    return fitted


def build_backbone(model: ModelArguments, use_mask_token: bool = False) -> OceanSARModel:
    """The backbone whose native input size is the processor's output (`input_size`): randomly initialised, or with
    the weights of `model.init_from` (continued pretraining; the architecture must match); with iBOT, a ViT with a
    mask token."""
    config = OceanSARConfig(backbone=model.backbone, image_size=model.input_size)
    if use_mask_token and config.architecture != "vit":
        raise ValueError(
            f"ibot_loss_weight > 0 (masked patches) applies to ViT backbones only; {model.backbone!r} is not"
        )
    backbone = OceanSARModel(config, use_mask_token=use_mask_token)
    return backbone if model.init_from is None else initialise_from(backbone, model.init_from)


@dataclass
class DINOParts:
    """What the loop trains: the prepared student (DDP-wrapped when distributed), teacher, optimiser and loss (a
    `DINOLoss`, or a `DINOv2Loss` when iBOT or KoLeo is on), and the student's drop path (None when off)."""

    student: nn.Module
    teacher: nn.Module
    optimizer: torch.optim.Optimizer
    criterion: DINOLoss | DINOv2Loss
    sync_batchnorm: bool
    drop_path: StochasticDepth | None = None


def sync_batchnorm(student: nn.Module) -> nn.Module:
    """Every BatchNorm of `student` as a SyncBatchNorm (statistics over all processes' batches, as DINO's ResNet-50
    recipe); the teacher copied from it afterwards gets them too."""
    return nn.SyncBatchNorm.convert_sync_batchnorm(student)


def build_dino(
    backbone: OceanSARModel,
    dino: DINOConfig,
    accelerator: Accelerator,
    recipe: DINOv2Config | None = None,
    ibot: IBOTConfig | None = None,
) -> DINOParts:
    """Student = backbone + DINO head (+ iBOT's patch head), teacher = its frozen copy, DINO's optimiser groups (with
    layer-wise factors), drop path on the student only; all prepared. Without `recipe`/`ibot`: plain DINO."""
    recipe, ibot = recipe or DINOv2Config(), ibot or IBOTConfig()
    vit = backbone.config.architecture == "vit"
    if not vit and (needs_vit := recipe.vit_only + (["ibot_loss_weight"] if ibot.enabled else [])):
        raise ValueError(
            f"{', '.join(needs_vit)} apply to ViT backbones only; {backbone.config.backbone!r} is a ResNet"
        )
    if backbone.config.architecture == "resnet" and backbone.config.channels_last:
        backbone.to(memory_format=torch.channels_last)
    head = DINOHead.from_config(backbone.config.num_features, dino)
    if uses_dinov2_model(recipe, ibot):
        separate = ibot.enabled and ibot.separate_head
        patch_head = DINOHead.from_config(backbone.config.num_features, dino) if separate else None
        student: nn.Module = DINOv2Model(backbone, head, patch_head)
        criterion: DINOLoss | DINOv2Loss = DINOv2Loss.from_config(dino, recipe, ibot)
    else:
        student, criterion = DINOModel(backbone, head), DINOLoss.from_config(dino, recipe)
    sync = dino.sync_batchnorm and accelerator.num_processes > 1
    if sync:
        if accelerator.device.type not in ("cuda", "xpu"):
            raise ValueError(
                f"sync_batchnorm needs GPU processes (torch's SyncBatchNorm runs on CUDA/XPU only); this run is on "
                f"{accelerator.device.type}: set sync_batchnorm: false"
            )
        student = sync_batchnorm(student)
    teacher = make_teacher(student)
    drop_path = StochasticDepth.from_config(backbone, recipe) if vit else None  # after the copy: the student's only
    lr_scale = lr_scale_from_config(backbone.config.num_hidden_layers, recipe) if vit else None
    groups = param_groups(student, dino.weight_decay, lr_scale)
    if dino.optimizer == "adamw":
        optimizer = torch.optim.AdamW(groups, lr=0.0)
    else:
        optimizer = torch.optim.SGD(groups, lr=0.0, momentum=0.9)
    student, optimizer = accelerator.prepare(student, optimizer)
    teacher = accelerator.prepare_model(teacher, evaluation_mode=True)
    return DINOParts(student, teacher, optimizer, criterion.to(accelerator.device), sync, drop_path)


def build_masking(
    masking: MaskingConfig, ibot: IBOTConfig, global_crop_size: int, backbone: OceanSARModel, rows: int
) -> BlockMaskGenerator | None:
    """iBOT's mask generator over the patch grid of a global crop (None when iBOT is off); `rows` = global crops of
    one micro-batch (n_global · batch size), of which at least one must be masked."""
    if not ibot.enabled:
        return None
    side = global_crop_size // backbone.config.patch_size
    generator = BlockMaskGenerator(masking, (side, side))
    if int(rows * masking.probability) < 1 or int(generator.num_patches * masking.ratio[1]) < 1:
        raise ValueError(
            f"iBOT masks nothing: int({rows} global crops · mask_probability {masking.probability}) images and "
            f"int({generator.num_patches} patches · mask_ratio max {masking.ratio[1]}) patches must both be >= 1"
        )
    return generator

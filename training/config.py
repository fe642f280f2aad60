# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""The settings of a pretraining run: its own argument groups (model, data, run) and the building blocks' configs,
parsed together from a YAML file plus command-line overrides (`--config demo --epochs 3`).

Every setting is declared once: the run-level groups here, the others beside the block that uses them (see
`PRETRAIN_GROUPS`). Defaults are DINO's (Caron et al. 2021, facebookresearch/dino `main_dino.py`) where the OceanSAR
paper is silent; `training/configs/*.yaml` set the values used for each recipe.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .arguments import ArgumentGroup, group_values, parse_groups
from .augment import MultiCropConfig
from .data import DATASET_KINDS, SyntheticArchiveConfig
from .dino import DINOConfig, DINOv2Config, IBOTConfig, MaskingConfig
from .probes.knn_callback import KNNEvaluationConfig
from .pruning.callback import PruningConfig
from .pruning.sampling import SelectionConfig


@dataclass
class ModelArguments:
    """The backbone being pretrained. `input_size` is also what augmentation crops from, and the exported model's
    native input (a ViT's position grid: no interpolation at this size)."""

    backbone: str = field(default="resnet50", metadata={"help": "oceansar_hf preset: resnet50, vit_small_patch16, ..."})
    input_size: int = field(
        default=256,
        metadata={
            "help": "Side (px) of the processed image: the image processor's output and the model's native input size."
        },
    )
    init_from: str | None = field(
        default=None,
        metadata={
            "help": "Continued pretraining: start student and teacher from this backbone (local folder or Hub repo "
            "id: an OceanSAR folder, the released OceanSAR-1 ResNetModel format, or a transformers ResNet/ViT folder "
            "from conversion.to_transformers). Its architecture must be --backbone's; the DINO head starts fresh. "
            "None = random initialisation."
        },
    )


@dataclass
class DataArguments:
    """Where the pretraining images come from and how the image processor turns them into model inputs."""

    dataset: str = field(
        default="synthetic",
        metadata={
            "help": f"Archive kind: {', '.join(DATASET_KINDS)} (hf = a datasets arrow folder or parquet; safe = "
            "Sentinel-1 SAFE products, or a folder of them, read as 50 m sigma0 vignettes)."
        },
    )
    data_path: str | None = field(default=None, metadata={"help": "Folder or file of the archive (not for synthetic)."})
    image_column: str = field(default="image", metadata={"help": "Image column of an hf dataset."})
    hf_cache_dir: str | None = field(
        default=None,
        metadata={
            "help": "hf parquet archives only. None: the shards are read in place (memory-mapped, nothing copied). "
            "A folder: they are converted once into Arrow files there (a full copy, reused by later runs) for fast "
            "random access to shards with large row groups."
        },
    )
    num_workers: int = field(default=2, metadata={"help": "DataLoader worker processes per process."})
    input_kind: str | None = field(
        default=None,
        metadata={
            "help": "Pixel units (the processor's input_kind): sigma0, sigma0_db, sigma0_amplitude or digital_number. "
            "None = digital_number with the archive's calibration for the synthetic archive, else sigma0 (what "
            "oceansar-ingest-safe writes)."
        },
    )
    calibration_constant: float | None = field(
        default=None,
        metadata={"help": "A for input_kind digital_number (sigma0 = DN^2 / A^2); None = the synthetic archive's."},
    )
    pixel_spacing: float | None = field(
        default=None,
        metadata={
            "help": "Pixel spacing (m) of the archive's images, resampled to 50 m by averaging sigma0; None = not "
            "resampled (ingested SAFE shards are already at their target spacing)."
        },
    )
    nodata_value: float | None = field(default=None, metadata={"help": "Raw value marking missing pixels."})
    normalization: str | None = field(
        default=None,
        metadata={"help": "fixed (dataset mean/std, keeps the wind-speed level) or per_image; None = the processor's."},
    )
    image_mean: float | None = field(
        default=None, metadata={"help": "Fixed mean (dB); None = fit on `fit_normalization_samples` archive images."}
    )
    image_std: float | None = field(default=None, metadata={"help": "Fixed std (dB); None = fit with the mean."})
    max_pixels: int | None = field(
        default=None,
        metadata={
            "help": "Largest image (values) a file reader decodes; a bigger header is a counted skip. None = the "
            "readers' default (8192², 256 MiB as float32)."
        },
    )
    fit_normalization_samples: int = field(
        default=256, metadata={"help": "Random archive images used to fit the fixed mean/std when not given."}
    )

    def __post_init__(self) -> None:
        if self.dataset not in DATASET_KINDS:
            raise ValueError(f"dataset must be one of {DATASET_KINDS}, got {self.dataset!r}")


EPOCH_LENGTHS = ("archive", "active_set")


@dataclass
class RunArguments:
    """The run: output, length, batch, precision, checkpoints, fault handling and logging."""

    output_dir: str = field(default="outputs/run", metadata={"help": "Checkpoints, exported models, logs, plots."})
    overwrite_output_dir: bool = field(
        default=False,
        metadata={"help": "Start a fresh run in a non-empty output_dir, deleting the previous run's files first."},
    )
    epochs: int = field(default=100, metadata={"help": "Training epochs (their length: see epoch_length)."})
    batch_size: int = field(default=64, metadata={"help": "Images per process per step (before multi-crop)."})
    steps_per_epoch: int | None = field(
        default=None,
        metadata={"help": "Optimisation steps of an epoch over the whole archive; None = archive size / global batch."},
    )
    epoch_length: str = field(
        default="archive",
        metadata={
            "help": "archive: every epoch has steps_per_epoch steps, whatever is trained on; active_set: an epoch is "
            "one pass over the set trained on (pruned epochs are shorter: steps_per_epoch · ρ), planned up front."
        },
    )
    gradient_accumulation_steps: int = field(default=1, metadata={"help": "Micro-batches per optimisation step."})
    seed: int = field(default=0, metadata={"help": "Seed of initialisation, data order and augmentation."})
    cpu: bool = field(default=False, metadata={"help": "Run on the CPU even when a GPU is present."})
    mixed_precision: str = field(
        default="auto", metadata={"help": "auto (bf16 on GPUs that have it, else fp32), no, bf16 or fp16."}
    )
    save_every_epochs: int = field(default=1, metadata={"help": "Checkpoint every N epochs (0 = only at the end)."})
    save_every_steps: int = field(default=0, metadata={"help": "Also checkpoint every N steps (0 = off)."})
    keep_last: int = field(default=2, metadata={"help": "Checkpoints kept on disk (older ones are deleted)."})
    resume: str | None = field(
        default=None,
        metadata={
            "help": "'latest' (newest complete checkpoint in output_dir), 'auto' (latest if any, else start: for "
            "requeued cluster jobs) or a checkpoint path."
        },
    )
    stop_after_steps: int | None = field(
        default=None, metadata={"help": "Stop (as if interrupted) after this global step; for tests and debugging."}
    )
    max_skipped_fraction: float = field(
        default=0.1,
        metadata={
            "help": "Stop with an error when more than this fraction of the samples read so far were corrupt "
            "(checked after each epoch and at the end; 1 = never)."
        },
    )
    ddp_timeout: int = field(
        default=1800,
        metadata={"help": "Seconds a process waits in a collective before the run fails (a stalled or dead rank)."},
    )
    log_every_steps: int = field(default=10, metadata={"help": "Steps between metric records."})
    report_to: str = field(
        default="auto", metadata={"help": "Accelerate tracker: auto (tensorboard if installed), none, or a name."}
    )

    def __post_init__(self) -> None:
        if self.keep_last < 1:
            raise ValueError(f"keep_last must be >= 1 (checkpoints kept), got {self.keep_last}")
        if not 0.0 <= self.max_skipped_fraction <= 1.0:
            raise ValueError(f"max_skipped_fraction must be in [0, 1], got {self.max_skipped_fraction}")
        if self.epoch_length not in EPOCH_LENGTHS:
            raise ValueError(f"epoch_length must be one of {EPOCH_LENGTHS}, got {self.epoch_length!r}")
        if self.ddp_timeout < 1:
            raise ValueError(f"ddp_timeout must be >= 1 second, got {self.ddp_timeout}")


PRETRAIN_GROUPS = (
    ArgumentGroup(ModelArguments),
    ArgumentGroup(DataArguments),
    ArgumentGroup(SyntheticArchiveConfig, prefix="synthetic_"),
    ArgumentGroup(MultiCropConfig),
    ArgumentGroup(DINOConfig),
    ArgumentGroup(DINOv2Config),
    ArgumentGroup(IBOTConfig, prefix="ibot_"),
    ArgumentGroup(MaskingConfig, prefix="mask_"),
    ArgumentGroup(RunArguments),
    ArgumentGroup(KNNEvaluationConfig),
    ArgumentGroup(PruningConfig, prefix="pruning_"),
    ArgumentGroup(SelectionConfig, prefix="pruning_"),
)
"""The argument groups of `python -m training.pretrain`, in `PretrainConfig` field order."""

RENAMED = {"image_size": "input_size"}
"""Flags renamed since earlier versions (still accepted, with a warning)."""


@dataclass
class PretrainConfig:
    """All settings of one run, one group per building block."""

    model: ModelArguments
    data: DataArguments
    synthetic: SyntheticArchiveConfig
    augment: MultiCropConfig
    dino: DINOConfig
    dinov2: DINOv2Config
    ibot: IBOTConfig
    masking: MaskingConfig
    run: RunArguments
    knn: KNNEvaluationConfig
    pruning: PruningConfig
    selection: SelectionConfig

    def to_dict(self) -> dict[str, Any]:
        """Flat {flag: value} dict, the YAML format `parse_config` reads back."""
        return group_values(PRETRAIN_GROUPS, [getattr(self, f) for f in self.__dataclass_fields__])


def parse_config(argv: Sequence[str] | None = None) -> PretrainConfig:
    """Parse `--config NAME_OR_PATH` (flat keys of any group; `--config=...` too) then command-line overrides."""
    argv = list(sys.argv[1:] if argv is None else argv)
    groups = parse_groups(
        PRETRAIN_GROUPS,
        argv,
        prog="python -m training.pretrain",
        description="DINO pretraining of an OceanSAR backbone with dynamic dataset pruning.",
        renamed=RENAMED,
    )
    config = PretrainConfig(*groups)
    if config.augment.global_crop_size > config.model.input_size:
        raise ValueError(
            f"global_crop_size {config.augment.global_crop_size} exceeds input_size {config.model.input_size}: "
            "crops are taken from the processed image"
        )
    return config

# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Configuration dataclasses of DINO pretraining, parsed by transformers' `HfArgumentParser` from a YAML file plus
command-line overrides (`--config training/configs/demo.yaml --epochs 3`).

Defaults are DINO's (Caron et al. 2021, facebookresearch/dino `main_dino.py`) where the OceanSAR paper is silent;
`training/configs/*.yaml` set the values used for each backbone.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml
from transformers import HfArgumentParser

from .augment import MultiCropConfig


@dataclass
class ModelArguments:
    """The backbone being pretrained."""

    backbone: str = field(default="resnet50", metadata={"help": "oceansar_hf preset: resnet50, vit_small_patch16, ..."})
    image_size: int = field(
        default=256, metadata={"help": "Side (px) of the processed vignette fed to augmentation (model image_size)."}
    )


@dataclass
class DataArguments:
    """Where the pretraining images come from and how they are turned into model inputs."""

    dataset: str = field(
        default="synthetic", metadata={"help": "Archive kind: synthetic, geotiff, npy, png or hf (arrow/parquet)."}
    )
    data_path: str | None = field(default=None, metadata={"help": "Folder or file of the archive (not for synthetic)."})
    image_column: str = field(default="image", metadata={"help": "Image column of an hf dataset."})
    synthetic_num_samples: int = field(default=20000, metadata={"help": "Size of the synthetic archive."})
    synthetic_image_size: int | None = field(
        default=None, metadata={"help": "Rendered size of synthetic vignettes (px); defaults to image_size."}
    )
    synthetic_seed: int = field(default=0, metadata={"help": "Seed of the synthetic archive."})
    synthetic_class_weights: list[float] | None = field(
        default=None,
        metadata={
            "help": "Class frequencies of the synthetic archive (10 values, TenGeoP order); None = heavy-tailed."
        },
    )
    num_workers: int = field(default=2, metadata={"help": "DataLoader worker processes per training process."})
    input_kind: str = field(default="amplitude", metadata={"help": "Pixel units: amplitude, intensity or db."})
    nodata_value: float | None = field(default=None, metadata={"help": "Raw value marking missing pixels."})
    normalization: str = field(
        default="fixed", metadata={"help": "fixed (dataset mean/std, keeps the wind-speed level) or per_image."}
    )
    image_mean: float | None = field(
        default=None, metadata={"help": "Fixed mean (dB); None = fit on `fit_normalization_samples` archive images."}
    )
    image_std: float | None = field(default=None, metadata={"help": "Fixed std (dB); None = fit with the mean."})
    fit_normalization_samples: int = field(
        default=256, metadata={"help": "Random archive images used to fit the fixed mean/std when not given."}
    )


@dataclass
class DINOArguments:
    """DINO head, loss, optimiser and schedules (all schedules counted in optimisation steps)."""

    out_dim: int = field(default=65536, metadata={"help": "Prototypes K of the DINO head (DINO: 65536)."})
    hidden_dim: int = field(default=2048, metadata={"help": "Hidden width of the head MLP."})
    bottleneck_dim: int = field(default=256, metadata={"help": "Bottleneck width before the weight-normed layer."})
    head_layers: int = field(default=3, metadata={"help": "Linear layers in the head MLP."})
    use_bn_in_head: bool = field(default=False, metadata={"help": "BatchNorm in the head MLP."})
    norm_last_layer: bool = field(default=True, metadata={"help": "Fix the last layer's weight norm to 1."})
    student_temp: float = field(default=0.1, metadata={"help": "Student softmax temperature."})
    teacher_temp: float = field(default=0.04, metadata={"help": "Teacher temperature after warm-up."})
    warmup_teacher_temp: float = field(default=0.04, metadata={"help": "Teacher temperature at step 0."})
    warmup_teacher_temp_epochs: float = field(default=0, metadata={"help": "Epochs of linear teacher-temp warm-up."})
    center_momentum: float = field(default=0.9, metadata={"help": "EMA momentum of the teacher-output center."})
    momentum_teacher: float = field(default=0.996, metadata={"help": "Teacher EMA momentum at step 0 (cosine → 1)."})
    optimizer: str = field(default="adamw", metadata={"help": "adamw or sgd (DINO's ResNet-50 recipe uses sgd)."})
    lr: float = field(default=5e-4, metadata={"help": "Peak learning rate per 256 images (scaled by global batch)."})
    min_lr: float = field(default=1e-6, metadata={"help": "Final learning rate of the cosine decay."})
    warmup_epochs: float = field(default=10, metadata={"help": "Epochs of linear learning-rate warm-up."})
    weight_decay: float = field(default=0.04, metadata={"help": "Weight decay at step 0."})
    weight_decay_end: float = field(default=0.4, metadata={"help": "Weight decay at the end (cosine)."})
    clip_grad: float = field(default=3.0, metadata={"help": "Max global gradient norm (0 = no clipping)."})
    freeze_last_layer: float = field(
        default=1, metadata={"help": "Epochs during which the head's last layer is fixed."}
    )


@dataclass
class RunArguments:
    """The run: output, length, batch, precision, checkpoints, evaluation and logging."""

    output_dir: str = field(default="outputs/run", metadata={"help": "Checkpoints, exported models, logs, plots."})
    epochs: int = field(default=100, metadata={"help": "Training epochs (an epoch is `steps_per_epoch` steps)."})
    batch_size: int = field(default=64, metadata={"help": "Images per process per step (before multi-crop)."})
    steps_per_epoch: int | None = field(
        default=None,
        metadata={"help": "Optimisation steps per epoch, fixed for the whole run; None = full archive / global batch."},
    )
    gradient_accumulation_steps: int = field(default=1, metadata={"help": "Micro-batches per optimisation step."})
    seed: int = field(default=0, metadata={"help": "Seed of initialisation, data order and augmentation."})
    cpu: bool = field(default=False, metadata={"help": "Train on the CPU even when a GPU is present."})
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
    eval_every_epochs: int = field(default=1, metadata={"help": "k-NN evaluation every N epochs (0 = off)."})
    knn_train_samples: int = field(
        default=2000, metadata={"help": "Class-balanced labelled synthetic images in the k-NN bank."}
    )
    knn_test_samples: int = field(default=1000, metadata={"help": "Class-balanced synthetic k-NN test images."})
    knn_k: int = field(default=20, metadata={"help": "Neighbours of the weighted k-NN (DINO: 20)."})
    knn_temperature: float = field(default=0.07, metadata={"help": "Temperature of the k-NN vote weights (DINO)."})
    log_every_steps: int = field(default=10, metadata={"help": "Steps between metric records."})
    report_to: str = field(
        default="auto", metadata={"help": "Accelerate tracker: auto (tensorboard if installed), none."}
    )


@dataclass
class PruningArguments:
    """Dynamic dataset pruning (the paper's method). The paper's values are unknown; defaults are ours."""

    pruning: bool = field(default=False, metadata={"help": "Enable dynamic pruning."})
    pruning_warmup_epochs: int = field(default=2, metadata={"help": "T_w: epochs on the full archive first."})
    pruning_every_epochs: int = field(default=2, metadata={"help": "T_s: epochs between resamplings."})
    pruning_rho: float = field(default=0.3, metadata={"help": "ρ: fraction of the archive kept."})
    pruning_eta: float = field(default=0.5, metadata={"help": "η: 1 = points nearest centroids, 0 = spread out."})
    pruning_subset_size: int | None = field(
        default=None, metadata={"help": "Random archive images embedded and clustered (None = min(N, 2·ρ·N))."}
    )
    pruning_clusters: list[int] = field(
        default_factory=lambda: [100, 20], metadata={"help": "Clusters per hierarchical k-means level."}
    )
    pruning_resampling_steps: list[int] = field(
        default_factory=lambda: [5, 5], metadata={"help": "Vo et al. resampling steps per level."}
    )
    pruning_sample_size: list[int] = field(
        default_factory=lambda: [10, 3], metadata={"help": "Points per cluster in each resampling step, per level."}
    )
    pruning_kmeans_iters: int = field(default=20, metadata={"help": "Lloyd iterations per k-means run."})
    pruning_batch_size: int = field(default=256, metadata={"help": "Embedding batch size per process."})


ARGUMENT_CLASSES = (ModelArguments, DataArguments, MultiCropConfig, DINOArguments, RunArguments, PruningArguments)


@dataclass
class PretrainConfig:
    """All argument groups of one run."""

    model: ModelArguments
    data: DataArguments
    augment: MultiCropConfig
    dino: DINOArguments
    run: RunArguments
    pruning: PruningArguments

    def to_dict(self) -> dict[str, Any]:
        """Flat {field: value} dict, the YAML format accepted by `parse_config`."""
        return {f.name: getattr(group, f.name) for group in vars(self).values() for f in fields(group)}


def parse_config(argv: Sequence[str] | None = None) -> PretrainConfig:
    """Parse `--config FILE.yaml` (flat keys of any group) then command-line overrides of any field."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = HfArgumentParser(ARGUMENT_CLASSES)
    parser.add_argument("--config", type=str, default=None, help="YAML file of defaults (flat keys).")
    if "--config" in argv:
        position = argv.index("--config")
        path = Path(argv[position + 1])
        if not path.is_file():
            raise FileNotFoundError(f"config file {path} does not exist")
        values = yaml.safe_load(path.read_text()) or {}
        known = {f.name for cls in ARGUMENT_CLASSES for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"{path}: unknown keys {unknown}; valid keys are {sorted(known)}")
        parser.set_defaults(**values)
    groups = parser.parse_args_into_dataclasses(args=argv, look_for_args_file=False)
    return PretrainConfig(*groups[: len(ARGUMENT_CLASSES)])

# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""`DINOConfig`: the one declaration of DINO's head, loss, optimiser, clipping and schedule settings.

Defaults are those of facebookresearch/dino `main_dino.py` (Caron et al. 2021, ViT recipe) where the OceanSAR paper is
silent; `training/configs/*.yaml` set the values of each recipe. Every DINO building block takes this config
(`DINOHead.from_config`, `DINOLoss.from_config`, `DINOSchedules.from_config`), so no default is written twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

OPTIMIZERS = ("adamw", "sgd")


@dataclass
class DINOConfig:
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
    optimizer: str = field(default="adamw", metadata={"help": "adamw or sgd (momentum 0.9, as DINO)."})
    lr: float = field(default=5e-4, metadata={"help": "Peak learning rate per 256 images (scaled by global batch)."})
    min_lr: float = field(default=1e-6, metadata={"help": "Final learning rate of the cosine decay."})
    warmup_epochs: float = field(default=10, metadata={"help": "Epochs of linear learning-rate warm-up."})
    weight_decay: float = field(default=0.04, metadata={"help": "Weight decay at step 0."})
    weight_decay_end: float = field(default=0.4, metadata={"help": "Weight decay at the end (cosine)."})
    clip_grad: float = field(
        default=3.0,
        metadata={"help": "Max gradient norm of EACH parameter tensor, as DINO's clip_gradients (0 = no clipping)."},
    )
    freeze_last_layer: float = field(
        default=1, metadata={"help": "Epochs during which the head's last layer is fixed."}
    )
    sync_batchnorm: bool = field(
        default=False,
        metadata={
            "help": "Convert student and teacher BatchNorm to SyncBatchNorm when several GPU processes train (DINO's "
            "ResNet-50 recipe). Needs CUDA/XPU: refused on CPU."
        },
    )

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.clip_grad < 0:
            raise ValueError(f"clip_grad must be >= 0 (0 = off), got {self.clip_grad}")

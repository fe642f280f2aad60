# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""`DINOConfig`: the one declaration of DINO's head, loss, optimiser, clipping and schedule settings; `DINOv2Config`:
the image-level and optimisation options of the DINOv2 recipe (all off by default).

DINOConfig's defaults are those of facebookresearch/dino `main_dino.py` (Caron et al. 2021, ViT recipe) where the
OceanSAR paper is silent; `training/configs/*.yaml` set the values of each recipe. Every DINO building block takes this
config (`DINOHead.from_config`, `DINOLoss.from_config`, `DINOSchedules.from_config`), so no default is written twice.
The recipe's patch-level objective has its groups beside its blocks: `ibot.IBOTConfig`, `masking.MaskingConfig`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .centering import CENTERINGS

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


@dataclass
class DINOv2Config:
    """DINOv2's additions to DINO's image-level objective and optimisation (Oquab et al. 2023, §4 and §5), each off by
    default so that a run without them is plain DINO. "DINOv2" below names the value of facebookresearch/dinov2's
    `ssl_default_config.yaml`; the paper's ViT-L/14 and ViT-g/14 runs change some (named as such)."""

    koleo_weight: float = field(
        default=0.0,
        metadata={
            "help": "Weight of the KoLeo regulariser on the student's L2-normalised CLS features of each global crop "
            "(DINOv2: 0.1; 0 = off)."
        },
    )
    centering: str = field(
        default="ema",
        metadata={
            "help": f"Teacher centering of the DINO and iBOT targets: {', '.join(CENTERINGS)} (DINOv2's default "
            "config: ema; its ViT-L/14 and ViT-g/14 runs: sinkhorn_knopp)."
        },
    )
    sinkhorn_iterations: int = field(
        default=3, metadata={"help": "Sinkhorn-Knopp iterations when centering is sinkhorn_knopp (DINOv2: 3)."}
    )
    layer_decay: float = field(
        default=1.0,
        metadata={
            "help": "ViT layer-wise learning-rate decay: block i of L gets lr·decay^(L−i), the embeddings "
            "decay^(L+1), the final norm and the heads lr (DINOv2: 0.9, its ViT-L/14 run: 1.0; 1 = off)."
        },
    )
    patch_embed_lr_mult: float = field(
        default=1.0,
        metadata={"help": "Extra learning-rate factor of the ViT patch-embedding projection (DINOv2: 0.2; 1 = off)."},
    )
    drop_path_rate: float = field(
        default=0.0,
        metadata={
            "help": "ViT stochastic depth: probability of dropping a block's residual branch for a sample, at the "
            "last block (DINOv2: 0.3, ViT-L/14 run: 0.4; DINO's and iBOT's ViT-S/16: 0.1; 0 = off). Student only."
        },
    )
    drop_path_uniform: bool = field(
        default=False,
        metadata={
            "help": "The same drop_path_rate in every block (DINOv2: true) instead of a linear increase from 0 at the "
            "first block to drop_path_rate at the last (stochastic depth's rule, used by DINO and iBOT)."
        },
    )

    def __post_init__(self) -> None:
        if self.centering not in CENTERINGS:
            raise ValueError(f"centering must be one of {CENTERINGS}, got {self.centering!r}")
        if self.koleo_weight < 0 or self.sinkhorn_iterations < 1:
            raise ValueError(
                f"need koleo_weight >= 0 and sinkhorn_iterations >= 1, got {self.koleo_weight}, "
                f"{self.sinkhorn_iterations}"
            )
        if not 0.0 < self.layer_decay <= 1.0 or self.patch_embed_lr_mult <= 0:
            raise ValueError(
                f"need 0 < layer_decay <= 1 and patch_embed_lr_mult > 0, got {self.layer_decay}, "
                f"{self.patch_embed_lr_mult}"
            )
        if not 0.0 <= self.drop_path_rate < 1.0:
            raise ValueError(f"drop_path_rate must be in [0, 1), got {self.drop_path_rate}")

    @property
    def vit_only(self) -> list[str]:
        """The options set here that need a ViT backbone."""
        return [
            name
            for name, on in (
                ("layer_decay", self.layer_decay != 1.0),
                ("patch_embed_lr_mult", self.patch_embed_lr_mult != 1.0),
                ("drop_path_rate", self.drop_path_rate > 0),
            )
            if on
        ]

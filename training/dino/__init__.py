"""DINO building blocks on tensors: config, projection head, loss with centering, per-step schedules, teacher EMA,
DINO's per-parameter gradient clipping and the backbone + head model; and the DINOv2 recipe's blocks: iBOT's block
masking and patch loss, KoLeo, Sinkhorn-Knopp centering, layer-wise learning-rate decay and drop path."""

from .centering import CENTERINGS, CenteredTeacher, ema_update, entropy_stats, sinkhorn_knopp
from .clipping import clip_gradients
from .config import DINOConfig, DINOv2Config
from .dinov2 import DINOv2Loss, uses_dinov2_model
from .drop_path import StochasticDepth, drop_path_rates
from .ema import make_teacher, update_teacher
from .head import DINOHead, cancel_last_layer_gradients
from .ibot import IBOTConfig, IBOTPatchLoss
from .koleo import KoLeoLoss
from .layer_decay import lr_scale_from_config, vit_layer_id, vit_lr_scale
from .loss import DINOLoss
from .masking import BlockMaskGenerator, MaskingConfig
from .model import DINOModel, DINOv2Model, DINOv2Output
from .schedules import (
    LR_SCALE_KEY,
    WEIGHT_DECAY_KEY,
    CosineSchedule,
    DINOSchedules,
    LinearThenConstant,
    apply_to_optimizer,
    param_groups,
)

__all__ = [
    "CENTERINGS",
    "LR_SCALE_KEY",
    "WEIGHT_DECAY_KEY",
    "BlockMaskGenerator",
    "CenteredTeacher",
    "CosineSchedule",
    "DINOConfig",
    "DINOHead",
    "DINOLoss",
    "DINOModel",
    "DINOSchedules",
    "DINOv2Config",
    "DINOv2Loss",
    "DINOv2Model",
    "DINOv2Output",
    "IBOTConfig",
    "IBOTPatchLoss",
    "KoLeoLoss",
    "LinearThenConstant",
    "MaskingConfig",
    "StochasticDepth",
    "apply_to_optimizer",
    "cancel_last_layer_gradients",
    "clip_gradients",
    "drop_path_rates",
    "ema_update",
    "entropy_stats",
    "lr_scale_from_config",
    "make_teacher",
    "param_groups",
    "sinkhorn_knopp",
    "update_teacher",
    "uses_dinov2_model",
    "vit_layer_id",
    "vit_lr_scale",
]

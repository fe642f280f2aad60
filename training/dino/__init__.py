"""DINO building blocks on tensors: config, projection head, loss with centering, per-step schedules, teacher EMA,
DINO's per-parameter gradient clipping and the backbone + head model."""

from .clipping import clip_gradients
from .config import DINOConfig
from .ema import make_teacher, update_teacher
from .head import DINOHead, cancel_last_layer_gradients
from .loss import DINOLoss
from .model import DINOModel
from .schedules import (
    WEIGHT_DECAY_KEY,
    CosineSchedule,
    DINOSchedules,
    LinearThenConstant,
    apply_to_optimizer,
    param_groups,
)

__all__ = [
    "WEIGHT_DECAY_KEY",
    "CosineSchedule",
    "DINOConfig",
    "DINOHead",
    "DINOLoss",
    "DINOModel",
    "DINOSchedules",
    "LinearThenConstant",
    "apply_to_optimizer",
    "cancel_last_layer_gradients",
    "clip_gradients",
    "make_teacher",
    "param_groups",
    "update_teacher",
]

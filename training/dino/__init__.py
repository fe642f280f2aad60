"""DINO building blocks on tensors: projection head, loss with centering, per-step schedules, teacher EMA."""

from .ema import make_teacher, update_teacher
from .head import DINOHead, cancel_last_layer_gradients
from .loss import DINOLoss
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
    "DINOHead",
    "DINOLoss",
    "DINOSchedules",
    "LinearThenConstant",
    "apply_to_optimizer",
    "cancel_last_layer_gradients",
    "make_teacher",
    "param_groups",
    "update_teacher",
]

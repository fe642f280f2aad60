"""DINO hyper-parameter schedules, counted in optimisation steps and evaluated lazily, plus optimizer helpers.

Every schedule is a small callable ``schedule(step) -> float`` (no per-step arrays), so an archive of millions of
images trained for hundreds of epochs costs nothing to schedule. ``step`` may be fractional: a trainer whose number of
steps per epoch changes (dataset pruning) can pass ``(epoch + i / n_steps_this_epoch) · steps_per_epoch``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import torch
from torch import nn

#: Key added to the optimizer parameter groups built by :func:`param_groups`; ``True`` on the group that is decayed.
WEIGHT_DECAY_KEY = "apply_weight_decay"


def _check_step(step: float) -> None:
    if step < 0:
        raise ValueError(f"schedule step must be >= 0, got {step}")


@dataclass(frozen=True)
class CosineSchedule:
    """Linear warm-up from ``warmup_start_value`` to ``base_value`` over ``warmup_steps``, then half-cosine from
    ``base_value`` (at step ``warmup_steps``) to ``final_value`` (at step ``total_steps``); ``final_value`` after."""

    base_value: float
    final_value: float
    total_steps: int
    warmup_steps: int = 0
    warmup_start_value: float = 0.0

    def __post_init__(self) -> None:
        if self.total_steps < 1 or not 0 <= self.warmup_steps <= self.total_steps:
            raise ValueError(
                f"CosineSchedule: need total_steps >= 1 and 0 <= warmup_steps <= total_steps, got "
                f"total_steps={self.total_steps}, warmup_steps={self.warmup_steps}"
            )

    def __call__(self, step: float) -> float:
        _check_step(step)
        if step < self.warmup_steps:
            return self.warmup_start_value + (self.base_value - self.warmup_start_value) * step / self.warmup_steps
        if step >= self.total_steps:
            return self.final_value
        progress = (step - self.warmup_steps) / (self.total_steps - self.warmup_steps)
        return self.final_value + 0.5 * (self.base_value - self.final_value) * (1.0 + math.cos(math.pi * progress))


@dataclass(frozen=True)
class LinearThenConstant:
    """Linear ramp from ``start_value`` (step 0) to ``end_value`` (step ``ramp_steps``), then constant."""

    start_value: float
    end_value: float
    ramp_steps: int

    def __post_init__(self) -> None:
        if self.ramp_steps < 0:
            raise ValueError(f"LinearThenConstant: ramp_steps must be >= 0, got {self.ramp_steps}")

    def __call__(self, step: float) -> float:
        _check_step(step)
        if step >= self.ramp_steps:
            return self.end_value
        return self.start_value + (self.end_value - self.start_value) * step / self.ramp_steps


@dataclass(frozen=True)
class DINOSchedules:
    """The four per-step DINO schedules (defaults: official DINO ViT recipe). ``at(step)`` evaluates them all."""

    steps_per_epoch: int = field(metadata={"help": "Optimisation steps per epoch (>= 1)."})
    epochs: int = field(metadata={"help": "Total training epochs (>= 1); schedules end at steps_per_epoch·epochs."})
    lr: float = field(
        default=5e-4,
        metadata={"help": "Peak learning rate, already scaled by the caller (DINO: 5e-4 · global_batch / 256)."},
    )
    min_lr: float = field(default=1e-6, metadata={"help": "Learning rate reached at the last step (cosine)."})
    warmup_epochs: float = field(default=10, metadata={"help": "Linear learning-rate warm-up from 0, in epochs."})
    weight_decay: float = field(default=0.04, metadata={"help": "Weight decay at step 0 (cosine to weight_decay_end)."})
    weight_decay_end: float = field(default=0.4, metadata={"help": "Weight decay at the last step."})
    momentum_teacher: float = field(default=0.996, metadata={"help": "Teacher EMA momentum at step 0 (cosine to 1)."})
    warmup_teacher_temp: float = field(default=0.04, metadata={"help": "Teacher temperature at step 0."})
    teacher_temp: float = field(default=0.04, metadata={"help": "Teacher temperature after its warm-up."})
    warmup_teacher_temp_epochs: float = field(
        default=0, metadata={"help": "Linear teacher-temperature warm-up, in epochs."}
    )

    def __post_init__(self) -> None:
        if self.steps_per_epoch < 1 or self.epochs < 1:
            raise ValueError(
                f"DINOSchedules: steps_per_epoch and epochs must be >= 1, got {self.steps_per_epoch}, {self.epochs}"
            )
        if not 0 <= self.warmup_epochs <= self.epochs or self.warmup_teacher_temp_epochs < 0:
            raise ValueError(
                f"DINOSchedules: need 0 <= warmup_epochs <= epochs and warmup_teacher_temp_epochs >= 0, got "
                f"warmup_epochs={self.warmup_epochs}, epochs={self.epochs}, "
                f"warmup_teacher_temp_epochs={self.warmup_teacher_temp_epochs}"
            )

    @property
    def total_steps(self) -> int:
        return self.steps_per_epoch * self.epochs

    @cached_property
    def lr_schedule(self) -> CosineSchedule:
        return CosineSchedule(self.lr, self.min_lr, self.total_steps, round(self.warmup_epochs * self.steps_per_epoch))

    @cached_property
    def weight_decay_schedule(self) -> CosineSchedule:
        return CosineSchedule(self.weight_decay, self.weight_decay_end, self.total_steps)

    @cached_property
    def momentum_schedule(self) -> CosineSchedule:
        return CosineSchedule(self.momentum_teacher, 1.0, self.total_steps)

    @cached_property
    def teacher_temp_schedule(self) -> LinearThenConstant:
        ramp = round(self.warmup_teacher_temp_epochs * self.steps_per_epoch)
        return LinearThenConstant(self.warmup_teacher_temp, self.teacher_temp, ramp)

    def at(self, step: float) -> dict[str, float]:
        """Values at ``step``: keys ``lr``, ``weight_decay``, ``momentum`` (teacher EMA) and ``teacher_temp``."""
        return {
            "lr": self.lr_schedule(step),
            "weight_decay": self.weight_decay_schedule(step),
            "momentum": self.momentum_schedule(step),
            "teacher_temp": self.teacher_temp_schedule(step),
        }


def param_groups(module: nn.Module, weight_decay: float) -> list[dict]:
    """Optimizer groups as in DINO: weight decay on ≥2-D weights, none on biases and other 1-D (norm) parameters.

    Frozen parameters (``requires_grad=False``) are left out. Each group carries ``WEIGHT_DECAY_KEY`` (True for the
    decayed group) so that :func:`apply_to_optimizer` knows where to write the scheduled weight decay. Empty groups
    are dropped. Works on any module (backbone + head).
    """
    decayed: list[nn.Parameter] = []
    not_decayed: list[nn.Parameter] = []
    for name, param in module.named_parameters():
        if not param.requires_grad:
            continue
        (not_decayed if param.ndim <= 1 or name.endswith(".bias") else decayed).append(param)
    groups = [
        {"params": decayed, "weight_decay": weight_decay, WEIGHT_DECAY_KEY: True},
        {"params": not_decayed, "weight_decay": 0.0, WEIGHT_DECAY_KEY: False},
    ]
    return [group for group in groups if group["params"]]


def apply_to_optimizer(optimizer: torch.optim.Optimizer, lr: float, weight_decay: float) -> None:
    """Write ``lr`` into every parameter group and ``weight_decay`` into the decayed ones.

    A group is decayed when its ``WEIGHT_DECAY_KEY`` is True (groups from :func:`param_groups`); a group without the key
    (built elsewhere) is decayed when its current ``weight_decay`` is non-zero.
    """
    for group in optimizer.param_groups:
        group["lr"] = lr
        if group.get(WEIGHT_DECAY_KEY, group.get("weight_decay", 0.0) != 0.0):
            group["weight_decay"] = weight_decay

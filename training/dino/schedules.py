# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""DINO hyper-parameter schedules, counted in optimisation steps and evaluated lazily, plus optimizer helpers.

Every schedule is a small callable ``schedule(step) -> float`` (no per-step arrays), so an archive of millions of
images trained for hundreds of epochs costs nothing to schedule.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

import torch
from torch import nn

from .config import DINOConfig

#: Key added to the optimizer parameter groups built by :func:`param_groups`; ``True`` on the group that is decayed.
WEIGHT_DECAY_KEY = "apply_weight_decay"

#: Key of a parameter group's learning-rate factor (layer-wise decay); a group without it trains at the scheduled rate.
LR_SCALE_KEY = "lr_scale"


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
    """The four per-step DINO schedules over a run whose epoch ``e`` has ``epoch_steps[e]`` optimisation steps;
    ``at(step)`` evaluates them. Durations given in epochs (warm-ups) are converted with the same epoch lengths, so
    a run whose pruned epochs are shorter (``epoch_length: active_set``) keeps every schedule a function of the step.

    Built from the run's `DINOConfig` with :meth:`from_config` (the settings and their defaults are declared there);
    ``lr`` is the peak learning rate already scaled by the global batch.
    """

    epoch_steps: tuple[int, ...]
    lr: float
    min_lr: float
    warmup_epochs: float
    weight_decay: float
    weight_decay_end: float
    momentum_teacher: float
    warmup_teacher_temp: float
    teacher_temp: float
    warmup_teacher_temp_epochs: float

    @classmethod
    def from_config(cls, config: DINOConfig, epoch_steps: Sequence[int], global_batch: int) -> DINOSchedules:
        """Schedules of a run: DINO's linear scaling rule ``lr · global_batch / 256``; warm-up capped at the run."""
        return cls(
            epoch_steps=tuple(int(n) for n in epoch_steps),
            lr=config.lr * global_batch / 256,
            min_lr=config.min_lr,
            warmup_epochs=min(config.warmup_epochs, len(epoch_steps)),
            weight_decay=config.weight_decay,
            weight_decay_end=config.weight_decay_end,
            momentum_teacher=config.momentum_teacher,
            warmup_teacher_temp=config.warmup_teacher_temp,
            teacher_temp=config.teacher_temp,
            warmup_teacher_temp_epochs=config.warmup_teacher_temp_epochs,
        )

    def __post_init__(self) -> None:
        if not self.epoch_steps or min(self.epoch_steps) < 1:
            raise ValueError(f"DINOSchedules: need at least one epoch, each of >= 1 step, got {self.epoch_steps}")
        if not 0 <= self.warmup_epochs <= self.epochs or self.warmup_teacher_temp_epochs < 0:
            raise ValueError(
                f"DINOSchedules: need 0 <= warmup_epochs <= epochs and warmup_teacher_temp_epochs >= 0, got "
                f"warmup_epochs={self.warmup_epochs}, epochs={self.epochs}, "
                f"warmup_teacher_temp_epochs={self.warmup_teacher_temp_epochs}"
            )

    @property
    def epochs(self) -> int:
        return len(self.epoch_steps)

    @cached_property
    def epoch_starts(self) -> tuple[int, ...]:
        """(epochs + 1,) first step of each epoch, then the total number of steps."""
        return (0, *itertools.accumulate(self.epoch_steps))

    @property
    def total_steps(self) -> int:
        return self.epoch_starts[-1]

    def steps_in(self, epochs: float) -> int:
        """Steps in the first `epochs` epochs (fractional: a share of the next epoch's steps), rounded."""
        whole = min(int(epochs), self.epochs)
        part = self.epoch_steps[whole] * (epochs - whole) if whole < self.epochs else 0.0
        return round(self.epoch_starts[whole] + part)

    def epoch_of(self, step: int) -> int:
        """The epoch that `step` (0-based, < total_steps) belongs to."""
        return bisect.bisect_right(self.epoch_starts, step) - 1

    @cached_property
    def lr_schedule(self) -> CosineSchedule:
        return CosineSchedule(self.lr, self.min_lr, self.total_steps, self.steps_in(self.warmup_epochs))

    @cached_property
    def weight_decay_schedule(self) -> CosineSchedule:
        return CosineSchedule(self.weight_decay, self.weight_decay_end, self.total_steps)

    @cached_property
    def momentum_schedule(self) -> CosineSchedule:
        return CosineSchedule(self.momentum_teacher, 1.0, self.total_steps)

    @cached_property
    def teacher_temp_schedule(self) -> LinearThenConstant:
        return LinearThenConstant(
            self.warmup_teacher_temp, self.teacher_temp, self.steps_in(self.warmup_teacher_temp_epochs)
        )

    def at(self, step: float) -> dict[str, float]:
        """Values at ``step``: keys ``lr``, ``weight_decay``, ``momentum`` (teacher EMA) and ``teacher_temp``."""
        return {
            "lr": self.lr_schedule(step),
            "weight_decay": self.weight_decay_schedule(step),
            "momentum": self.momentum_schedule(step),
            "teacher_temp": self.teacher_temp_schedule(step),
        }


def param_groups(module: nn.Module, weight_decay: float, lr_scale: Callable[[str], float] | None = None) -> list[dict]:
    """Optimizer groups as in DINO: weight decay on ≥2-D weights, none on biases and other 1-D (norm) parameters.

    Frozen parameters (``requires_grad=False``) are left out. Each group carries ``WEIGHT_DECAY_KEY`` (True for the
    decayed group) so that :func:`apply_to_optimizer` knows where to write the scheduled weight decay. Empty groups
    are dropped. Works on any module (backbone + head).

    ``lr_scale`` (parameter name → learning-rate factor, e.g. `layer_decay.vit_lr_scale`) splits the groups further by
    factor; each then carries ``LR_SCALE_KEY``. Without it there are the two groups above, without that key.
    """
    groups: dict[tuple[bool, float | None], list[nn.Parameter]] = {(True, None): [], (False, None): []}
    for name, param in module.named_parameters():
        if not param.requires_grad:
            continue
        decayed = not (param.ndim <= 1 or name.endswith(".bias"))
        groups.setdefault((decayed, lr_scale(name) if lr_scale else None), []).append(param)
    built = []
    for (decayed, scale), params in groups.items():
        if params:
            group = {"params": params, "weight_decay": weight_decay if decayed else 0.0, WEIGHT_DECAY_KEY: decayed}
            built.append(group if scale is None else {**group, LR_SCALE_KEY: scale})
    return built


def apply_to_optimizer(optimizer: torch.optim.Optimizer, lr: float, weight_decay: float) -> None:
    """Write ``lr`` (times the group's ``LR_SCALE_KEY`` factor, if any) into every parameter group and
    ``weight_decay`` into the decayed ones (``WEIGHT_DECAY_KEY`` True).

    The groups must come from :func:`param_groups`; a group without the decay key is an error, not a guess.
    """
    for group in optimizer.param_groups:
        if WEIGHT_DECAY_KEY not in group:
            raise KeyError(f"optimizer group without {WEIGHT_DECAY_KEY!r}: build the groups with param_groups()")
        group["lr"] = lr * group[LR_SCALE_KEY] if LR_SCALE_KEY in group else lr
        if group[WEIGHT_DECAY_KEY]:
            group["weight_decay"] = weight_decay

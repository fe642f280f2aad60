# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Teacher network of DINO: a frozen copy of the student, updated as an exponential moving average (EMA) of it.

Choices (documented here once):

- **Train mode.** :func:`make_teacher` keeps the student's mode (normally train). As in DINO, the teacher's BatchNorm
  layers normalise with the statistics of the teacher's own batch of global crops during training, and their running
  statistics are the teacher's own: :func:`update_teacher` averages parameters only and never touches buffers (DINO's
  `main_dino.py` does the same). The trainer calls ``teacher.eval()`` around feature extraction, k-NN and export.
  Copying the student's running statistics instead (a choice this project made before) gave eval-mode teacher features
  at cosine 0.66–0.85 of DINO's, so it is not offered.
- **Wrappers.** A ``DistributedDataParallel`` wrapper is removed automatically; other wrappers (``torch.compile``,
  Accelerate's mixed-precision wrappers) must be removed by the caller, e.g. ``accelerator.unwrap_model(student)``.
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel


def _unwrap(module: nn.Module) -> nn.Module:
    return module.module if isinstance(module, DistributedDataParallel) else module


def make_teacher(student: nn.Module) -> nn.Module:
    """Deep copy of ``student`` (DDP wrapper removed) with ``requires_grad=False`` on every parameter, same mode."""
    teacher = copy.deepcopy(_unwrap(student))
    teacher.requires_grad_(False)
    return teacher


def _matched(
    student: list[tuple[str, torch.Tensor]], teacher: list[tuple[str, torch.Tensor]]
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Pair parameters by name; raise a ValueError naming the first mismatches when names or shapes differ."""
    student_names, teacher_names = [n for n, _ in student], [n for n, _ in teacher]
    if student_names != teacher_names:
        missing = sorted(set(student_names) - set(teacher_names))[:5]
        extra = sorted(set(teacher_names) - set(student_names))[:5]
        raise ValueError(
            f"update_teacher: student and teacher parameter names differ (student-only: {missing}, teacher-only: "
            f"{extra}); expected the teacher to be make_teacher(student) of the unwrapped student"
        )
    for (name, s), (_, t) in zip(student, teacher, strict=True):
        if s.shape != t.shape:
            raise ValueError(
                f"update_teacher: parameter {name!r} has shape {tuple(s.shape)} in the student but "
                f"{tuple(t.shape)} in the teacher"
            )
    return [s for _, s in student], [t for _, t in teacher]


@torch.no_grad()
def update_teacher(student: nn.Module, teacher: nn.Module, momentum: float) -> None:
    """In place: ``teacher_param ← momentum · teacher_param + (1 − momentum) · student_param`` for every parameter.

    Parameters are matched by name (``named_parameters`` order, which includes frozen ones); buffers are the teacher's
    own (see the module docstring). ``momentum`` in [0, 1]: 1 leaves the teacher unchanged, 0 copies the student.
    """
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f"update_teacher: momentum must be in [0, 1], got {momentum}")
    student, teacher = _unwrap(student), _unwrap(teacher)
    student_params, teacher_params = _matched(list(student.named_parameters()), list(teacher.named_parameters()))
    if teacher_params:  # lerp: t + w·(s − t) with w = 1 − momentum, one fused pass per tensor list.
        torch._foreach_lerp_(teacher_params, student_params, 1.0 - momentum)

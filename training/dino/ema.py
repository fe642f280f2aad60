"""Teacher network of DINO: a frozen copy of the student, updated as an exponential moving average (EMA) of it.

Choices (documented here once):

- **Train mode.** :func:`make_teacher` keeps the student's mode (normally train). As in DINO's ResNet recipe the
  teacher's BatchNorm layers therefore normalise with the statistics of the teacher's own batch during training; call
  ``teacher.eval()`` yourself for feature extraction, k-NN or export.
- **Buffers.** :func:`update_teacher` copies the student's buffers (BatchNorm running mean / variance / batch count)
  into the teacher by default (``buffers="copy"``). Under DDP the student's buffers are broadcast from rank 0 at each
  forward, so every rank gets the same teacher, and the teacher's eval-mode statistics are well-defined running
  estimates. ``buffers="keep"`` leaves the teacher's own running statistics (accumulated by its train-mode forwards on
  global crops), which is what the official DINO code does.
- **Wrappers.** A ``DistributedDataParallel`` wrapper is removed automatically; other wrappers (``torch.compile``,
  Accelerate's mixed-precision wrappers) must be removed by the caller, e.g. ``accelerator.unwrap_model(student)``.
"""

from __future__ import annotations

import copy
from typing import Literal

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
    kind: str, student: list[tuple[str, torch.Tensor]], teacher: list[tuple[str, torch.Tensor]]
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Pair tensors by name; raise a ValueError naming the first mismatches when names or shapes differ."""
    student_names, teacher_names = [n for n, _ in student], [n for n, _ in teacher]
    if student_names != teacher_names:
        missing = sorted(set(student_names) - set(teacher_names))[:5]
        extra = sorted(set(teacher_names) - set(student_names))[:5]
        raise ValueError(
            f"update_teacher: student and teacher {kind} names differ (student-only: {missing}, teacher-only: "
            f"{extra}); expected the teacher to be make_teacher(student) of the unwrapped student"
        )
    for (name, s), (_, t) in zip(student, teacher, strict=True):
        if s.shape != t.shape:
            raise ValueError(
                f"update_teacher: {kind} {name!r} has shape {tuple(s.shape)} in the student but "
                f"{tuple(t.shape)} in the teacher"
            )
    return [s for _, s in student], [t for _, t in teacher]


@torch.no_grad()
def update_teacher(
    student: nn.Module, teacher: nn.Module, momentum: float, buffers: Literal["copy", "keep"] = "copy"
) -> None:
    """In place: ``teacher_param ← momentum · teacher_param + (1 − momentum) · student_param`` for every parameter.

    Parameters are matched by name (``named_parameters`` order, which includes frozen ones); ``buffers`` chooses
    whether the student's buffers are copied into the teacher (see the module docstring). ``momentum`` in [0, 1]:
    1 leaves the teacher's parameters unchanged, 0 copies the student's.
    """
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f"update_teacher: momentum must be in [0, 1], got {momentum}")
    if buffers not in ("copy", "keep"):
        raise ValueError(f"update_teacher: buffers must be 'copy' or 'keep', got {buffers!r}")
    student, teacher = _unwrap(student), _unwrap(teacher)
    student_params, teacher_params = _matched(
        "parameter", list(student.named_parameters()), list(teacher.named_parameters())
    )
    if teacher_params:  # lerp: t + w·(s − t) with w = 1 − momentum, one fused pass per tensor list.
        torch._foreach_lerp_(teacher_params, student_params, 1.0 - momentum)
    if buffers == "copy":
        student_buffers, teacher_buffers = _matched(
            "buffer", list(student.named_buffers()), list(teacher.named_buffers())
        )
        if teacher_buffers:
            torch._foreach_copy_(teacher_buffers, student_buffers)

# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Teacher centering, the two ways of keeping the teacher's targets from collapsing onto one prototype:

- **EMA centre** (DINO, Caron et al. 2021, §3.1): subtract a running mean of the teacher logits before the sharpened
  softmax; :func:`ema_update` keeps that mean.
- **Sinkhorn-Knopp** (SwAV, Caron et al. 2020; DINOv2, Oquab et al. 2023, §4): turn the teacher's scores of a batch
  into soft assignments whose prototypes are used equally, by alternately normalising prototype and sample sums of
  ``exp(logits / T)``; :func:`sinkhorn_knopp`.

Both are global: sums over samples are all-reduced when ``torch.distributed`` is initialised (a single process needs
no process group), so every process gets the targets a single process would compute on the union of the batches.
`CenteredTeacher` holds either method for a loss (`DINOLoss`, `IBOTPatchLoss`); `entropy_stats` monitors collapse.
"""

from __future__ import annotations

import math

import torch
import torch.distributed as dist
from torch import nn
from torch.nn import functional as F

CENTERINGS = ("ema", "sinkhorn_knopp")
"""Teacher centering methods: DINO's EMA centre or Sinkhorn-Knopp."""


def _all_reduce(tensor: torch.Tensor, op: dist.ReduceOp = dist.ReduceOp.SUM) -> torch.Tensor:
    """In place over every process when a process group exists; unchanged in a single process."""
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(tensor, op=op)
    return tensor


@torch.no_grad()
def ema_update(center: torch.Tensor, teacher: torch.Tensor, momentum: float) -> None:
    """In place: ``center ← momentum·center + (1 − momentum)·mean(teacher)``, the mean over the rows of every process.

    Args:
        center: (1, K) buffer.
        teacher: (rows, K) detached teacher logits of this process (rows may differ between processes: the sum and
            the row count are all-reduced; with no row on any process the centre is left unchanged).
        momentum: in [0, 1].
    """
    sum_and_count = torch.cat([teacher.sum(dim=0), teacher.new_tensor([teacher.shape[0]])])
    _all_reduce(sum_and_count)
    count = sum_and_count[-1]
    batch_center = (sum_and_count[:-1] / count).unsqueeze(0)
    updated = center.mul(momentum).add_(batch_center.to(center.dtype), alpha=1 - momentum)
    center.copy_(torch.where(count > 0, updated, center))  # no rows anywhere (e.g. nothing masked): unchanged


@torch.no_grad()
def sinkhorn_knopp(logits: torch.Tensor, temperature: float, iterations: int) -> torch.Tensor:
    """Soft assignments of samples to prototypes with equal prototype usage (DINOv2's ``sinkhorn_knopp_teacher``).

    ``Q = exp(logits / T)`` (rows = samples, columns = K prototypes), scaled to total mass 1, then ``iterations``
    times: every prototype column is scaled to mass 1/K, then every sample row to mass 1/R, where R is the number of
    rows over all processes. The result is ``R·Q``: each row is a probability distribution (sums to 1 exactly, up to
    rounding) and, as the iterations converge, each prototype receives R/K of the mass over all processes. Column sums,
    the total and R are all-reduced; row sums are local (a row lives on one process). Three iterations is DINOv2's
    setting.

    Computed in float32 (float64 inputs stay float64) with autocast off. The logits are shifted by their maximum over
    all processes before ``exp``, which leaves the result unchanged (a common factor cancels in the first
    normalisation) and avoids overflow; a prototype whose every score lies more than ~87·T (float32) below the global
    maximum underflows to an all-zero column (a sample likewise to an all-zero row), which is an error.

    Args:
        logits: (rows, K) teacher logits of this process; rows may differ between processes (0 is allowed).
        temperature: T > 0.
        iterations: >= 1.

    Returns:
        (rows, K) assignments, same dtype as the computation (float32 or float64).
    """
    if temperature <= 0 or iterations < 1:
        raise ValueError(f"sinkhorn_knopp: need temperature > 0 and iterations >= 1, got {temperature}, {iterations}")
    if logits.ndim != 2:
        raise ValueError(f"sinkhorn_knopp: logits must be (rows, K), got shape {tuple(logits.shape)}")
    with torch.autocast(device_type=logits.device.type, enabled=False):
        scores = logits.detach().to(torch.promote_types(logits.dtype, torch.float32)) / temperature
        shift = scores.max() if scores.numel() else scores.new_tensor(-torch.inf)
        _all_reduce(shift, dist.ReduceOp.MAX)
        q = torch.exp(scores - shift)
        sums = _all_reduce(torch.cat([q.sum(dim=0), q.new_tensor([q.shape[0]])]))  # prototype masses, row count
        column_mass, rows = sums[:-1], sums[-1]
        if not bool(((column_mass > 0).all() | (rows == 0)) & (q.sum(dim=1) > 0).all()):  # the one host sync
            raise FloatingPointError(
                "sinkhorn_knopp: a prototype or a sample has zero mass after exp (its scores lie more than ~87·T "
                f"below the batch maximum): raise the temperature (now {temperature}) or check the teacher logits"
            )
        q /= column_mass.sum()
        prototypes = q.shape[1]
        for _ in range(iterations):
            q /= _all_reduce(q.sum(dim=0, keepdim=True)) * prototypes
            q /= q.sum(dim=1, keepdim=True) * rows
        return q * rows


class CenteredTeacher(nn.Module):
    """The teacher side of a DINO-style loss: targets ``p_t`` from teacher logits, with either centering method.

    Holds the buffer ``center`` (1, out_dim), saved in the state dict (zeros and unused with Sinkhorn-Knopp), and the
    ``student_temp`` of the student's softmax. Subclasses (`DINOLoss`, `IBOTPatchLoss`) call :meth:`targets` and,
    after the loss, :meth:`update_center`.
    """

    center: torch.Tensor

    def __init__(
        self,
        out_dim: int,
        student_temp: float,
        center_momentum: float,
        centering: str = "ema",
        sinkhorn_iterations: int = 3,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        if out_dim < 1:
            raise ValueError(f"{owner}: out_dim must be >= 1, got {out_dim}")
        if student_temp <= 0:
            raise ValueError(f"{owner}: student_temp must be > 0, got {student_temp}")
        if not 0.0 <= center_momentum <= 1.0:
            raise ValueError(f"{owner}: center_momentum must be in [0, 1], got {center_momentum}")
        if centering not in CENTERINGS:
            raise ValueError(f"{owner}: centering must be one of {CENTERINGS}, got {centering!r}")
        if sinkhorn_iterations < 1:
            raise ValueError(f"{owner}: sinkhorn_iterations must be >= 1, got {sinkhorn_iterations}")
        self.out_dim, self.student_temp, self.center_momentum = out_dim, student_temp, center_momentum
        self.centering, self.sinkhorn_iterations = centering, sinkhorn_iterations
        self.register_buffer("center", torch.zeros(1, out_dim))

    def targets(self, teacher: torch.Tensor, teacher_temp: float) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(rows, K) detached teacher logits → target distributions (rows, K) and their log (None for Sinkhorn-Knopp,
        whose rows may hold exact zeros). EMA: ``softmax((teacher − center) / teacher_temp)``."""
        if self.centering == "ema":
            teacher_logp = F.log_softmax((teacher - self.center) / teacher_temp, dim=-1)
            return teacher_logp.exp(), teacher_logp
        return sinkhorn_knopp(teacher, teacher_temp, self.sinkhorn_iterations), None

    @torch.no_grad()
    def update_center(self, teacher: torch.Tensor) -> None:
        """After the loss: the EMA centre update over all processes' rows (nothing for Sinkhorn-Knopp)."""
        if self.centering == "ema":
            ema_update(self.center, teacher, self.center_momentum)


def entropy_stats(teacher_p: torch.Tensor, teacher_logp: torch.Tensor | None) -> dict[str, torch.Tensor]:
    """Entropy diagnostics (nats, detached 0-d tensors) of target distributions (rows, K), on this process's rows:

    - ``teacher_entropy``: mean over rows of each row's entropy;
    - ``teacher_mean_entropy``: entropy of the mean distribution;
    - ``max_entropy``: ln K, the entropy of the uniform distribution.

    Collapse diagnosis: uniform collapse → both entropies → ln K; one prototype dominating → both → 0; healthy
    training → ``teacher_entropy`` low while ``teacher_mean_entropy`` stays high.
    """
    row_entropy = -(teacher_p * teacher_logp) if teacher_logp is not None else torch.special.entr(teacher_p)
    return {
        "teacher_entropy": row_entropy.sum(dim=-1).mean(),
        "teacher_mean_entropy": torch.special.entr(teacher_p.mean(dim=0)).sum(),
        "max_entropy": torch.tensor(math.log(teacher_p.shape[-1]), device=teacher_p.device),
    }

# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""DINO self-distillation loss with teacher centering (Caron et al. 2021, eq. 1 and §3.1)."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from .centering import CenteredTeacher, entropy_stats
from .config import DINOConfig, DINOv2Config


class DINOLoss(CenteredTeacher):
    """Cross-entropy between the centred, sharpened teacher distribution and the student distribution.

    Inputs are head outputs (logits) stacked crop-major: ``student_out`` is (n_crops·B, out_dim) with rows
    ``[crop0 of every image, crop1 of every image, …]`` where the first ``n_global`` crops are the global crops, in the
    same order as ``teacher_out`` (n_global·B, out_dim). For every teacher global crop ``i`` and every student crop
    ``v ≠ i`` the term ``mean_b Σ_k −p_t[i, b, k] · log p_s[v, b, k]`` is computed; the loss is the mean of these terms
    over the ``n_global·n_crops − n_global`` pairs. ``p_t = softmax((teacher − center) / teacher_temp)`` (no gradient),
    ``p_s = softmax(student / student_temp)``. All of it runs with autocast disabled, in float32 (float64 inputs stay
    float64).

    After the loss, ``center ← m·center + (1−m)·mean(teacher_out)`` where the mean runs over every teacher row of every
    process (sum and row count are all-reduced when ``torch.distributed`` is initialised; a single process needs no
    process group). The buffer ``center`` (1, out_dim) is saved in the state dict, so checkpoints resume exactly.

    ``centering="sinkhorn_knopp"`` (DINOv2's alternative) replaces the centred softmax by
    ``p_t = centering.sinkhorn_knopp(teacher_out, teacher_temp, sinkhorn_iterations)`` over the teacher rows of all
    processes; the centre is then neither used nor updated.

    ``forward`` returns ``(loss, stats)``. ``stats`` holds detached 0-d tensors (no host sync is forced;
    call ``.item()`` only when logging): :func:`centering.entropy_stats` of the teacher targets used for the loss
    (``teacher_entropy``, ``teacher_mean_entropy``, ``max_entropy``), the collapse monitors.
    """

    @classmethod
    def from_config(cls, config: DINOConfig, recipe: DINOv2Config | None = None) -> DINOLoss:
        """The loss of a `DINOConfig`, with the centering of a `DINOv2Config` when given (else EMA)."""
        recipe = recipe or DINOv2Config()
        return cls(
            config.out_dim, config.student_temp, config.center_momentum, recipe.centering, recipe.sinkhorn_iterations
        )

    def forward(
        self, student_out: torch.Tensor, teacher_out: torch.Tensor, teacher_temp: float, n_global: int = 2
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Loss (0-d, float32 or float64) and diagnostics; see the class docstring for layouts. Updates ``center``."""
        batch, n_crops = self._check_inputs(student_out, teacher_out, teacher_temp, n_global)
        with torch.autocast(device_type=student_out.device.type, enabled=False):
            dtype = torch.promote_types(student_out.dtype, torch.float32)  # half / bfloat16 → float32
            student_logp = F.log_softmax(student_out.to(dtype) / self.student_temp, dim=-1)
            teacher = teacher_out.detach().to(dtype)
            teacher_p, teacher_logp = self.targets(teacher, teacher_temp)
            # Σ_{i, v≠i} p_t[i]·log p_s[v] = (Σ_i p_t[i])·(Σ_v log p_s[v]) − Σ_i p_t[i]·log p_s[i]: only (B, D)
            # temporaries, and element-wise products (no matmul, hence no TF32 rounding on GPUs).
            teacher_p3 = teacher_p.view(n_global, batch, -1)
            student_logp3 = student_logp.view(n_crops, batch, -1)
            all_pairs = (teacher_p3.sum(dim=0) * student_logp3.sum(dim=0)).sum()
            same_crop = (teacher_p3 * student_logp3[:n_global]).sum()
            n_pairs = n_global * (n_crops - 1)
            loss = (same_crop - all_pairs) / (batch * n_pairs)
            with torch.no_grad():
                stats = entropy_stats(teacher_p, teacher_logp)
                self.update_center(teacher)
        return loss, stats

    def _check_inputs(
        self, student_out: torch.Tensor, teacher_out: torch.Tensor, teacher_temp: float, n_global: int
    ) -> tuple[int, int]:
        """Validate shapes and temperatures; return (batch size B, number of student crops)."""
        for name, tensor in (("student_out", student_out), ("teacher_out", teacher_out)):
            if tensor.ndim != 2 or tensor.shape[1] != self.out_dim:
                raise ValueError(f"DINOLoss: {name} must have shape (rows, {self.out_dim}), got {tuple(tensor.shape)}")
        if n_global < 1 or teacher_out.shape[0] % n_global:
            raise ValueError(
                f"DINOLoss: teacher_out has {teacher_out.shape[0]} rows, expected n_global={n_global} (>= 1) times "
                "the batch size"
            )
        batch = teacher_out.shape[0] // n_global
        if batch == 0 or student_out.shape[0] % batch or student_out.shape[0] // batch < max(n_global, 2):
            raise ValueError(
                f"DINOLoss: student_out has {student_out.shape[0]} rows, expected n_crops·B with B={batch} (from "
                f"teacher_out) and n_crops >= max(n_global, 2) = {max(n_global, 2)}"
            )
        if not teacher_temp > 0:
            raise ValueError(f"DINOLoss: teacher_temp must be > 0, got {teacher_temp}")
        return batch, student_out.shape[0] // batch

# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""iBOT's masked-patch self-distillation loss (Zhou et al. 2022, eq. 2; DINOv2, Oquab et al. 2023, §4).

The student sees a global crop with some patch embeddings replaced by a learnable mask token; the teacher sees the
same crop unmasked. For every masked patch, the student's head output at that position is trained to predict the
teacher's (centred, sharpened) output at the same position.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch.nn import functional as F

from .centering import CenteredTeacher, entropy_stats
from .config import DINOv2Config
from .schedules import DINOSchedules, LinearThenConstant


@dataclass
class IBOTConfig:
    """iBOT's patch-level objective of the DINOv2 recipe (off by default). Temperatures and centre are the patch
    loss's own; the warm-up of its teacher temperature lasts DINO's ``warmup_teacher_temp_epochs``. The defaults
    repeat DINO's; iBOT's and DINOv2's runs use their CLS values (teacher 0.04 → 0.07), set them in the config."""

    loss_weight: float = field(
        default=0.0,
        metadata={
            "help": "Weight of the iBOT masked-patch loss; > 0 masks the student's global crops (DINOv2 and iBOT: "
            "1.0; 0 = off). ViT backbones only."
        },
    )
    separate_head: bool = field(
        default=False,
        metadata={
            "help": "A second projection head for the patch tokens, of the DINO head's architecture, instead of "
            "sharing the DINO head (DINOv2's default config and iBOT: shared; DINOv2's ViT-L/14 and ViT-g/14 runs: "
            "separate)."
        },
    )
    student_temp: float = field(default=0.1, metadata={"help": "Student temperature of the patch loss (iBOT: 0.1)."})
    teacher_temp: float = field(
        default=0.04,
        metadata={"help": "Teacher temperature of the patch loss after warm-up (iBOT and DINOv2: 0.07)."},
    )
    warmup_teacher_temp: float = field(
        default=0.04, metadata={"help": "Teacher temperature of the patch loss at step 0 (iBOT and DINOv2: 0.04)."}
    )
    center_momentum: float = field(
        default=0.9, metadata={"help": "EMA momentum of the patch loss's own teacher centre (iBOT and DINOv2: 0.9)."}
    )

    def __post_init__(self) -> None:
        if self.loss_weight < 0:
            raise ValueError(f"ibot_loss_weight must be >= 0 (0 = off), got {self.loss_weight}")
        if min(self.student_temp, self.teacher_temp, self.warmup_teacher_temp) <= 0:
            raise ValueError(
                f"iBOT temperatures must be > 0, got student {self.student_temp}, teacher {self.teacher_temp}, "
                f"warm-up {self.warmup_teacher_temp}"
            )

    @property
    def enabled(self) -> bool:
        return self.loss_weight > 0

    def teacher_temp_schedule(self, schedules: DINOSchedules) -> LinearThenConstant:
        """The patch loss's teacher temperature per step, warmed up over DINO's teacher-temperature warm-up."""
        return LinearThenConstant(
            self.warmup_teacher_temp, self.teacher_temp, schedules.teacher_temp_schedule.ramp_steps
        )


class IBOTPatchLoss(CenteredTeacher):
    """Cross-entropy between teacher and student distributions of the masked patches, averaged per image.

    Inputs: ``student_patches`` and ``teacher_patches`` (M, out_dim) head logits of the M masked patches, in the order
    of ``masks.nonzero()`` (image-major, then patch); ``masks`` (R, N) bool, the masks of the R global-crop images.
    With ``p_t`` the teacher targets (``softmax((teacher − center) / teacher_temp)``, or Sinkhorn-Knopp over the masked
    patches of all processes) and ``p_s = softmax(student / student_temp)``::

        loss = (1/R) Σ_images i (1/m_i) Σ_{masked patches j of i} Σ_k −p_t[j, k] · log p_s[j, k]

    with m_i the number of masked patches of image i: every image weighs the same whatever its mask ratio, and an image
    without mask contributes 0 but counts in R (DINOv2's normalisation). After the loss, the EMA centre moves towards
    the mean teacher logit over the masked patches of all processes (its own centre, not DINO's). Autocast off, float32
    (float64 stays float64). ``forward`` returns ``(loss, stats)``, stats as :func:`centering.entropy_stats` of the
    patch targets.
    """

    @classmethod
    def from_config(cls, out_dim: int, config: IBOTConfig, recipe: DINOv2Config) -> IBOTPatchLoss:
        """The patch loss of an `IBOTConfig` on a head of `out_dim` prototypes, with the recipe's centering."""
        return cls(out_dim, config.student_temp, config.center_momentum, recipe.centering, recipe.sinkhorn_iterations)

    def forward(
        self, student_patches: torch.Tensor, teacher_patches: torch.Tensor, masks: torch.Tensor, teacher_temp: float
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Loss (0-d) and diagnostics; see the class docstring. Updates ``center`` (EMA centering)."""
        self._check_inputs(student_patches, teacher_patches, masks, teacher_temp)
        with torch.autocast(device_type=student_patches.device.type, enabled=False):
            dtype = torch.promote_types(student_patches.dtype, torch.float32)
            student_logp = F.log_softmax(student_patches.to(dtype) / self.student_temp, dim=-1)
            teacher = teacher_patches.detach().to(dtype)
            teacher_p, teacher_logp = self.targets(teacher, teacher_temp)
            per_image = masks.sum(dim=1, keepdim=True).clamp(min=1).to(dtype)  # (R, 1) masked patches per image
            weights = (1.0 / per_image).expand_as(masks)[masks]  # (M,) 1/m_i of each masked patch's image
            if weights.shape[0] != student_patches.shape[0]:
                raise ValueError(
                    f"IBOTPatchLoss: masks select {weights.shape[0]} patches but {student_patches.shape[0]} masked "
                    "patch outputs were given"
                )
            loss = -(weights * (teacher_p * student_logp).sum(dim=-1)).sum() / masks.shape[0]
            with torch.no_grad():
                stats = entropy_stats(teacher_p, teacher_logp)
                self.update_center(teacher)
        return loss, stats

    def _check_inputs(
        self, student_patches: torch.Tensor, teacher_patches: torch.Tensor, masks: torch.Tensor, teacher_temp: float
    ) -> None:
        for name, tensor in (("student_patches", student_patches), ("teacher_patches", teacher_patches)):
            if tensor.ndim != 2 or tensor.shape[1] != self.out_dim:
                raise ValueError(
                    f"IBOTPatchLoss: {name} must have shape (masked patches, {self.out_dim}), got {tuple(tensor.shape)}"
                )
        if student_patches.shape[0] != teacher_patches.shape[0]:
            raise ValueError(
                f"IBOTPatchLoss: student and teacher give {student_patches.shape[0]} and {teacher_patches.shape[0]} "
                "masked patches; expected the same patches"
            )
        if masks.ndim != 2 or masks.dtype != torch.bool or masks.shape[0] == 0:
            raise ValueError(
                f"IBOTPatchLoss: masks must be a (images, N) bool tensor, got {masks.dtype} {tuple(masks.shape)}"
            )
        if not teacher_temp > 0:
            raise ValueError(f"IBOTPatchLoss: teacher_temp must be > 0, got {teacher_temp}")

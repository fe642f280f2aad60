# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""The DINOv2 recipe's loss (Oquab et al. 2023, §4): DINO's image-level loss on the CLS outputs, plus iBOT's
masked-patch loss and the KoLeo regulariser, each with its weight, on the outputs of a student and a teacher
`DINOv2Model`."""

from __future__ import annotations

import torch
from torch import nn

from .config import DINOConfig, DINOv2Config
from .ibot import IBOTConfig, IBOTPatchLoss
from .koleo import KoLeoLoss
from .loss import DINOLoss
from .model import DINOv2Output


def uses_dinov2_model(recipe: DINOv2Config, ibot: IBOTConfig) -> bool:
    """Whether a run needs `DINOv2Model` and `DINOv2Loss` (iBOT or KoLeo on); otherwise it is a `DINOModel` run (its
    centering, layer decay and drop path still apply)."""
    return ibot.enabled or recipe.koleo_weight > 0


class DINOv2Loss(nn.Module):
    """``dino + ibot_weight · ibot + koleo_weight · koleo`` (terms that are off are absent).

    - ``dino``: `DINOLoss` on ``cls_logits`` (every student crop against the other global crops of the teacher);
    - ``ibot``: `IBOTPatchLoss` on ``patch_logits`` of the masked patches (the student saw them masked, the teacher
      did not), with its own temperatures and centre;
    - ``koleo``: `KoLeoLoss` on the student's ``cls_features`` of the global crops (summed over the crops, as DINOv2).

    The state dict holds both centres (``dino.center``, ``ibot.center``), so checkpoints resume exactly. ``forward``
    returns ``(loss, stats)``: the unweighted terms (``dino_loss``, ``ibot_loss``, ``koleo_loss``, detached), DINO's
    teacher-entropy diagnostics and iBOT's, prefixed ``ibot_``.
    """

    def __init__(
        self, dino: DINOLoss, ibot: IBOTPatchLoss | None = None, ibot_weight: float = 0.0, koleo_weight: float = 0.0
    ) -> None:
        super().__init__()
        if (ibot is None) != (ibot_weight == 0) or ibot_weight < 0 or koleo_weight < 0:
            raise ValueError(
                f"DINOv2Loss: give an iBOT loss exactly when ibot_weight > 0 and weights >= 0, got ibot="
                f"{type(ibot).__name__}, ibot_weight={ibot_weight}, koleo_weight={koleo_weight}"
            )
        self.dino, self.ibot = dino, ibot
        self.koleo = KoLeoLoss() if koleo_weight > 0 else None
        self.ibot_weight, self.koleo_weight = ibot_weight, koleo_weight

    @classmethod
    def from_config(cls, dino: DINOConfig, recipe: DINOv2Config, ibot: IBOTConfig) -> DINOv2Loss:
        """The recipe's loss; a separate patch head has the DINO head's ``out_dim`` too."""
        patch_loss = IBOTPatchLoss.from_config(dino.out_dim, ibot, recipe) if ibot.enabled else None
        return cls(DINOLoss.from_config(dino, recipe), patch_loss, ibot.loss_weight, recipe.koleo_weight)

    def forward(
        self,
        student: DINOv2Output,
        teacher: DINOv2Output,
        masks: torch.Tensor | None,
        teacher_temp: float,
        ibot_teacher_temp: float | None = None,
        n_global: int = 2,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Total loss (0-d) and stats; `masks` (n_global·B, N) and `ibot_teacher_temp` are needed with iBOT on."""
        dino_loss, dino_stats = self.dino(student.cls_logits, teacher.cls_logits, teacher_temp, n_global)
        loss, terms = dino_loss, {"dino_loss": dino_loss.detach()}
        if self.ibot is not None:
            if masks is None or ibot_teacher_temp is None or student.patch_logits is None:
                raise ValueError("DINOv2Loss: iBOT needs masks, ibot_teacher_temp and the patch outputs")
            ibot_loss, ibot_stats = self.ibot(student.patch_logits, teacher.patch_logits, masks, ibot_teacher_temp)
            loss = loss + self.ibot_weight * ibot_loss
            terms["ibot_loss"] = ibot_loss.detach()
            dino_stats |= {f"ibot_{key}": value for key, value in ibot_stats.items()}
        if self.koleo is not None:
            koleo_loss = self.koleo(student.cls_features, n_global)
            loss = loss + self.koleo_weight * koleo_loss
            terms["koleo_loss"] = koleo_loss.detach()
        return loss, terms | dino_stats

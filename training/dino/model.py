# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Backbone + heads as one module (state-dict keys `backbone.*`, `head.*`, `patch_head.*`), forwarding multi-resolution
crops: `DINOModel` for DINO, `DINOv2Model` for the DINOv2 recipe (masked global crops, patch outputs, CLS features)."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn


def _pooled_by_resolution(backbone: nn.Module, crops: list[torch.Tensor]) -> list[torch.Tensor]:
    """`pooler_output` of each run of consecutive same-size crops, one backbone forward per run."""
    features, start = [], 0
    while start < len(crops):
        end = start + 1
        while end < len(crops) and crops[end].shape[-2:] == crops[start].shape[-2:]:
            end += 1
        features.append(backbone(torch.cat(crops[start:end])).pooler_output)
        start = end
    return features


class DINOModel(nn.Module):
    """`backbone` (an `OceanSARModel`) followed by a `DINOHead` on its `pooler_output`."""

    def __init__(self, backbone: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head

    def forward(self, crops: list[torch.Tensor]) -> torch.Tensor:
        """Crops [(B, 1, S_i, S_i)] → head outputs (len(crops)·B, out_dim), in crop order.

        Consecutive crops of the same size go through the backbone together (one forward per resolution).
        """
        return self.head(torch.cat(_pooled_by_resolution(self.backbone, crops)))


class DINOv2Output(NamedTuple):
    """What `DINOv2Model` returns (rows crop-major, as the DINO loss expects)."""

    cls_logits: torch.Tensor
    """(len(crops)·B, out_dim) DINO head outputs of the CLS features of every crop."""
    cls_features: torch.Tensor
    """(n_global·B, D) CLS features (backbone `pooler_output`, before the head) of the global crops: KoLeo's input."""
    patch_logits: torch.Tensor | None
    """(M, patch out_dim) head outputs of the M patch tokens selected by `masks` (order of ``masks.nonzero()``), or
    None without masks."""


class DINOv2Model(nn.Module):
    """A ViT `OceanSARModel` with the DINO head on its CLS token and iBOT's patch head on its patch tokens.

    Args:
        backbone: a ViT `OceanSARModel`, built with ``use_mask_token=True`` when masks are applied to its input.
        head: the DINO head.
        patch_head: a separate head for patch tokens (DINOv2's ``separate_head``), or None to share ``head``.
    """

    def __init__(self, backbone: nn.Module, head: nn.Module, patch_head: nn.Module | None = None) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head
        self.patch_head = patch_head

    def forward(
        self,
        crops: list[torch.Tensor],
        masks: torch.Tensor | None = None,
        n_global: int = 2,
        mask_inputs: bool = True,
    ) -> DINOv2Output:
        """Crops [(B, 1, S_i, S_i)], the first `n_global` of them global (same size) → `DINOv2Output`.

        Args:
            masks: (n_global·B, N_patches) bool over the global crops (crop-major), or None (no patch outputs).
            mask_inputs: replace the masked patch embeddings by the mask token (the student); False: the global crops
                go in unmasked and `masks` only selects the patch outputs (the teacher).
        """
        masking = {"bool_masked_pos": masks} if mask_inputs and masks is not None else {}
        global_out = self.backbone(torch.cat(crops[:n_global]), **masking)
        cls_features = global_out.pooler_output
        cls_tokens = torch.cat([cls_features, *_pooled_by_resolution(self.backbone, crops[n_global:])])
        if masks is None:
            return DINOv2Output(self.head(cls_tokens), cls_features, None)
        patch_tokens = global_out.last_hidden_state[:, 1:][masks]  # (M, D)
        if self.patch_head is not None:
            return DINOv2Output(self.head(cls_tokens), cls_features, self.patch_head(patch_tokens))
        logits = self.head(torch.cat([cls_tokens, patch_tokens]))  # one head pass over both kinds of token
        return DINOv2Output(logits[: len(cls_tokens)], cls_features, logits[len(cls_tokens) :])

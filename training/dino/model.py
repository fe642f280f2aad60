# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Backbone + DINO head as one module (state-dict keys `backbone.*`, `head.*`), forwarding multi-resolution crops."""

from __future__ import annotations

import torch
from torch import nn


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
        features, start = [], 0
        while start < len(crops):
            end = start + 1
            while end < len(crops) and crops[end].shape[-2:] == crops[start].shape[-2:]:
                end += 1
            features.append(self.backbone(torch.cat(crops[start:end])).pooler_output)
            start = end
        return self.head(torch.cat(features))

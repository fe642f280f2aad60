# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""KoLeo regulariser: the Kozachenko-Leonenko differential-entropy estimator turned into a loss (Sablayrolles et al.
2019, "Spreading vectors for similarity search"; DINOv2, Oquab et al. 2023, §4), which spreads the student's CLS
features uniformly over the unit sphere by pushing every feature away from its nearest neighbour in the batch."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class KoLeoLoss(nn.Module):
    """``Σ_crops mean_b −log(‖x_b − x_nn(b)‖₂ + eps)`` on L2-normalised features.

    ``features`` (n_global·B, D) are the student's CLS features (backbone output, before the head) of the global crops,
    stacked crop-major like the DINO loss's inputs. Within each crop's B rows, x = features / ‖features‖ and nn(b) is
    the row nearest to row b (largest inner product, itself excluded). The per-crop means are summed over the crops,
    as DINOv2 does (two crops of the same image are never each other's neighbour). Computed on this process's batch
    (DINOv2 does not gather it across processes), with autocast off, in float32 (float64 stays float64). Two identical
    features give the finite −log(eps) and no gradient between them.
    """

    def __init__(self, eps: float = 1e-8) -> None:
        super().__init__()
        if eps <= 0:
            raise ValueError(f"KoLeoLoss: eps must be > 0, got {eps}")
        self.eps = eps

    def forward(self, features: torch.Tensor, n_global: int = 2) -> torch.Tensor:
        """(n_global·B, D) features → 0-d loss."""
        if features.ndim != 2 or n_global < 1 or features.shape[0] % n_global or features.shape[0] // n_global < 2:
            raise ValueError(
                f"KoLeoLoss: features must be (n_global·B, D) with n_global={n_global} and B >= 2 (a nearest "
                f"neighbour needs two rows), got {tuple(features.shape)}"
            )
        with torch.autocast(device_type=features.device.type, enabled=False):
            dtype = torch.promote_types(features.dtype, torch.float32)
            x = F.normalize(features.to(dtype), dim=-1).view(n_global, -1, features.shape[1])  # (crops, B, D)
            with torch.no_grad():
                similarity = x @ x.transpose(1, 2)
                similarity.diagonal(dim1=1, dim2=2).fill_(-torch.inf)
                nearest = similarity.argmax(dim=-1)  # (crops, B)
            neighbours = torch.gather(x, 1, nearest.unsqueeze(-1).expand_as(x))
            distances = torch.linalg.vector_norm(x - neighbours, dim=-1)
            return -torch.log(distances + self.eps).mean(dim=1).sum()

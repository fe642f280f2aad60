# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""DINO projection head (Caron et al. 2021, "Emerging Properties in Self-Supervised Vision Transformers").

MLP → L2 normalisation → weight-normalised linear layer without bias, whose output are the "prototype" logits that
the DINO loss sharpens and compares between student and teacher.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise

import torch
from torch import nn
from torch.nn.functional import normalize
from torch.nn.utils.parametrizations import weight_norm

from .config import DINOConfig


class DINOHead(nn.Module):
    """Projection head: (B, in_dim) features → (B, out_dim) logits.

    Layout: ``num_layers`` linear layers ``in_dim → hidden_dim → … → hidden_dim → bottleneck_dim`` with GELU (and
    optional BatchNorm1d) between them, L2 normalisation of the bottleneck vector, then
    ``last_layer = weight_norm(Linear(bottleneck_dim, out_dim, bias=False))``.

    The last layer is parametrised with ``torch.nn.utils.parametrizations.weight_norm``: its weight is
    ``g · v / ‖v‖`` row-wise, stored as ``last_layer.parametrizations.weight.original0`` (g, shape (out_dim, 1)) and
    ``…original1`` (v, shape (out_dim, bottleneck_dim)). With ``norm_last_layer=True`` g is set to 1 and frozen
    (``requires_grad=False``), so every output is a cosine similarity in [-1, 1] — DINO's default, which stabilises
    training.

    Initialisation: MLP linear weights truncated normal (std 0.02), biases zero; the last layer keeps PyTorch's default
    initialisation of its direction ``v`` (only the direction matters when g is fixed).
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        hidden_dim: int,
        bottleneck_dim: int,
        num_layers: int,
        use_bn: bool,
        norm_last_layer: bool,
    ) -> None:
        super().__init__()
        for name, value in (
            ("in_dim", in_dim),
            ("out_dim", out_dim),
            ("hidden_dim", hidden_dim),
            ("bottleneck_dim", bottleneck_dim),
            ("num_layers", num_layers),
        ):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"DINOHead: {name} must be a positive int, got {value!r}")
        dims = [in_dim] + [hidden_dim] * (num_layers - 1) + [bottleneck_dim]
        layers: list[nn.Module] = []
        for i, (d_in, d_out) in enumerate(pairwise(dims)):
            layers.append(nn.Linear(d_in, d_out))
            if i < num_layers - 1:
                if use_bn:
                    layers.append(nn.BatchNorm1d(d_out))
                layers.append(nn.GELU())
        self.mlp = nn.Sequential(*layers)
        for module in self.mlp.modules():
            if isinstance(module, nn.Linear):
                nn.init.trunc_normal_(module.weight, std=0.02)
                nn.init.zeros_(module.bias)

        self.last_layer = weight_norm(nn.Linear(bottleneck_dim, out_dim, bias=False))
        magnitude = self.last_layer.parametrizations.weight.original0
        with torch.no_grad():
            magnitude.fill_(1.0)
        magnitude.requires_grad_(not norm_last_layer)
        self.in_dim, self.out_dim, self.norm_last_layer = in_dim, out_dim, norm_last_layer

    @classmethod
    def from_config(cls, in_dim: int, config: DINOConfig) -> DINOHead:
        """The head of a `DINOConfig` on `in_dim`-wide backbone features."""
        return cls(
            in_dim,
            out_dim=config.out_dim,
            hidden_dim=config.hidden_dim,
            bottleneck_dim=config.bottleneck_dim,
            num_layers=config.head_layers,
            use_bn=config.use_bn_in_head,
            norm_last_layer=config.norm_last_layer,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, in_dim) → (B, out_dim)."""
        if x.ndim != 2 or x.shape[1] != self.in_dim:
            raise ValueError(f"DINOHead expects input of shape (B, {self.in_dim}), got {tuple(x.shape)}")
        z = normalize(self.mlp(x), dim=-1, p=2)
        return self.last_layer(z)

    def last_layer_parameters(self) -> Iterator[nn.Parameter]:
        """Parameters of the weight-normalised last layer (g and v), trainable or not."""
        return self.last_layer.parameters()


def cancel_last_layer_gradients(module: nn.Module) -> None:
    """Set to ``None`` the gradients of the last layer of every :class:`DINOHead` inside ``module``.

    Call between ``backward()`` and ``optimizer.step()`` during DINO's ``freeze_last_layer`` epochs. ``None`` (not zero)
    matters: AdamW / SGD skip parameters whose ``grad`` is ``None`` entirely, whereas a zero gradient would still apply
    weight decay and momentum. ``module`` may be a head, a student (backbone + head) or a DDP-wrapped student.
    """
    heads = [m for m in module.modules() if isinstance(m, DINOHead)]
    if not heads:
        raise ValueError(f"cancel_last_layer_gradients: no DINOHead found inside {type(module).__name__}")
    for head in heads:
        for param in head.last_layer_parameters():
            param.grad = None

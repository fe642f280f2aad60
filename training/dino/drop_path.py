# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Stochastic depth ("drop path", Huang et al. 2016) for transformers' `ViTLayer`, added from outside the layer.

transformers' ViT blocks have no drop path. Rather than fork `ViTLayer` (and change the state-dict keys that make an
`OceanSARModel` a `ViTModel`), :class:`StochasticDepth` registers forward hooks on each block's two residual
branches, the outputs of ``layer.attention`` and ``layer.mlp``, which the block then adds to its input (after its
dropout, a no-op at the default rate 0). In training mode every sample's branch output is multiplied by
``keep / (1 − rate)`` with ``keep ~ Bernoulli(1 − rate)``, independently per sample, block and branch; in eval mode
nothing changes. The per-block rates rise linearly from 0 at the first block to ``drop_path_rate`` at the last
(DINO's and iBOT's rule) or are uniform (DINOv2's).

The keep decisions of a whole backbone forward are drawn at once, by a forward pre-hook on the backbone, from
``generator`` (a CPU `torch.Generator` the trainer re-seeds every step; `None`: torch's global generator), and moved
to the device in one copy. A block recomputed by gradient checkpointing reads the same decisions again.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from .config import DINOv2Config

BRANCHES = ("attention", "mlp")
"""The residual branches of a transformers `ViTLayer`, in forward order."""


def drop_path_rates(num_layers: int, rate: float, uniform: bool = False) -> list[float]:
    """Per-block drop probabilities: ``rate`` everywhere (uniform) or ``rate · i / (num_layers − 1)`` for block i."""
    if num_layers < 1 or not 0.0 <= rate < 1.0:
        raise ValueError(f"drop_path_rates: need num_layers >= 1 and 0 <= rate < 1, got {num_layers}, {rate}")
    if uniform or num_layers == 1:
        return [rate] * num_layers
    return [rate * i / (num_layers - 1) for i in range(num_layers)]


class StochasticDepth:
    """Drop path on the blocks ``backbone.layers`` (transformers `ViTLayer`s) of a ViT `OceanSARModel`.

    Args:
        backbone: the student's backbone; hooks are registered on it (do not attach to the teacher, which DINO runs
            without stochastic depth).
        rates: drop probability per block, e.g. :func:`drop_path_rates`; blocks at 0 get no hook.
    """

    def __init__(self, backbone: nn.Module, rates: Sequence[float]) -> None:
        layers = getattr(backbone, "layers", None)
        if layers is None or not all(hasattr(layer, branch) for layer in layers for branch in BRANCHES):
            raise ValueError("StochasticDepth: the backbone must be a ViT whose `layers` are transformers ViTLayers")
        if len(rates) != len(layers) or not all(0.0 <= r < 1.0 for r in rates):
            raise ValueError(f"StochasticDepth: need one rate in [0, 1) per block ({len(layers)}), got {list(rates)}")
        self.backbone, self.rates = backbone, torch.tensor(rates, dtype=torch.float64)
        self.generator: torch.Generator | None = None
        self._scales: torch.Tensor | None = None  # (blocks, 2, B) of the current forward, or None (eval)
        self._handles: list[RemovableHandle] = [backbone.register_forward_pre_hook(self._draw, with_kwargs=True)]
        for index, layer in enumerate(layers):
            if rates[index] > 0:
                self._handles.append(layer.attention.register_forward_hook(partial(self._scale, index, 0)))
                self._handles.append(layer.mlp.register_forward_hook(partial(self._scale, index, 1)))

    @classmethod
    def from_config(cls, backbone: nn.Module, recipe: DINOv2Config) -> StochasticDepth | None:
        """The recipe's drop path on `backbone`, or None when ``drop_path_rate`` is 0."""
        if recipe.drop_path_rate == 0:
            return None
        return cls(backbone, drop_path_rates(len(backbone.layers), recipe.drop_path_rate, recipe.drop_path_uniform))

    def remove(self) -> None:
        """Remove every hook (the backbone is plain again)."""
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def _draw(self, module: nn.Module, args: tuple, kwargs: dict[str, Any]) -> None:
        if not module.training:
            self._scales = None
            return
        pixels = args[0] if args else kwargs["pixel_values"]
        rates = self.rates.view(-1, 1, 1)
        draws = torch.rand((len(self.rates), len(BRANCHES), pixels.shape[0]), generator=self.generator)
        scales = (draws >= rates).to(torch.float64) / (1.0 - rates)  # keep / (1 − rate)
        self._scales = scales.to(device=pixels.device, dtype=torch.float32, non_blocking=True)

    def _scale(self, index: int, branch: int, module: nn.Module, inputs: tuple, output: Any) -> Any:
        if self._scales is None:
            return None
        hidden = output[0] if isinstance(output, tuple) else output
        scaled = hidden * self._scales[index, branch].to(hidden.dtype).view(-1, *([1] * (hidden.ndim - 1)))
        return (scaled, *output[1:]) if isinstance(output, tuple) else scaled

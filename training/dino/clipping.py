# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""DINO's gradient clipping: each parameter tensor's gradient is clipped to its own norm bound (not the global norm)."""

from __future__ import annotations

from collections.abc import Iterable

import torch


@torch.no_grad()
def clip_gradients(parameters: Iterable[torch.nn.Parameter], clip: float) -> torch.Tensor:
    """Scale every gradient ``g`` with ``‖g‖₂ > clip`` by ``clip / (‖g‖₂ + 1e-6)``, tensor by tensor.

    The same rule as facebookresearch/dino `utils.clip_gradients` (used by `main_dino.py` with ``clip_grad=3.0``),
    computed with fused per-tensor norms and no host synchronisation. Parameters without a gradient are skipped.

    Returns:
        0-d tensor: the global L2 norm of all gradients before clipping (for logging).
    """
    if clip <= 0:
        raise ValueError(f"clip must be > 0, got {clip}")
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return torch.tensor(0.0)
    norms = torch._foreach_norm(grads)
    scales = [torch.clamp(clip / (norm + 1e-6), max=1.0) for norm in norms]
    torch._foreach_mul_(grads, scales)
    return torch.linalg.vector_norm(torch.stack(norms))

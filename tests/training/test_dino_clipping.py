"""DINO's gradient clipping: each parameter tensor's gradient bounded on its own (facebookresearch/dino utils)."""

from __future__ import annotations

import torch
from torch import nn

from training.dino import clip_gradients


def dino_reference(model: nn.Module, clip: float) -> list[float]:
    """The rule as DINO writes it: a loop over parameters, one norm and one scale factor each."""
    norms = []
    for param in model.parameters():
        if param.grad is not None:
            norm = param.grad.detach().norm(2)
            norms.append(norm.item())
            coef = clip / (norm + 1e-6)
            if coef < 1:
                param.grad.detach().mul_(coef)
    return norms


def _model_with_gradients(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(8, 32), nn.GELU(), nn.Linear(32, 4), nn.LayerNorm(4))
    model[2].bias.requires_grad_(False)  # a parameter without gradient is skipped
    x = torch.randn(64, 8) * 10
    (model(x) ** 2).sum().backward()
    return model


def test_per_parameter_clipping_equals_dino_clip_gradients():
    ours, reference = _model_with_gradients(0), _model_with_gradients(0)
    total = clip_gradients(ours.parameters(), clip=3.0)
    norms = dino_reference(reference, clip=3.0)
    assert any(n > 3.0 for n in norms) and any(n < 3.0 for n in norms)  # both branches are exercised
    for a, b in zip(ours.parameters(), reference.parameters(), strict=True):
        if a.grad is None:
            assert b.grad is None
            continue
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-6, atol=0)
        assert a.grad.norm() <= 3.0 + 1e-5
    assert total.item() == torch.tensor(norms).norm().item()  # logged: the global norm before clipping


def test_per_parameter_differs_from_global_clipping():
    """The deviation this replaced: global-norm clipping scales every tensor by the same factor."""
    ours, global_clip = _model_with_gradients(1), _model_with_gradients(1)
    clip_gradients(ours.parameters(), clip=3.0)
    torch.nn.utils.clip_grad_norm_(global_clip.parameters(), 3.0)
    update = torch.cat([p.grad.flatten() for p in ours.parameters() if p.grad is not None])
    other = torch.cat([p.grad.flatten() for p in global_clip.parameters() if p.grad is not None])
    assert update.norm() > other.norm() * 1.2

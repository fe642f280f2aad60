# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Layer-wise learning-rate decay for ViT backbones (BEiT, Bao et al. 2022; DINOv2, Oquab et al. 2023): the deeper a
block, the closer its learning rate to the scheduled one; the embeddings learn slowest.

For a ViT of L blocks, a parameter's layer id is 0 for the embeddings (patch projection, CLS and mask tokens, position
embeddings), i + 1 for block i, and L + 1 for everything else (the final layer norm and the heads). Its learning rate
is ``lr · decay^(L + 1 − id)``, times ``patch_embed_lr_mult`` for the patch projection (DINOv2's extra factor). The
names are those of `OceanSARModel`'s ViT under a ``backbone.`` prefix (`DINOModel`, `DINOv2Model`).
"""

from __future__ import annotations

from collections.abc import Callable

from .config import DINOv2Config

EMBEDDINGS = "embeddings."
BLOCKS = "layers."
PATCH_PROJECTION = "embeddings.patch_embeddings."


def vit_layer_id(name: str, num_layers: int, prefix: str = "backbone.") -> int:
    """The layer id of parameter `name` (see the module docstring)."""
    if not name.startswith(prefix):
        return num_layers + 1
    local = name[len(prefix) :]
    if local.startswith(EMBEDDINGS):
        return 0
    if local.startswith(BLOCKS):
        block = int(local[len(BLOCKS) :].split(".", 1)[0])
        if not 0 <= block < num_layers:
            raise ValueError(f"vit_layer_id: {name!r} names block {block} of a ViT with {num_layers} blocks")
        return block + 1
    return num_layers + 1


def vit_lr_scale(
    num_layers: int, layer_decay: float, patch_embed_lr_mult: float = 1.0, prefix: str = "backbone."
) -> Callable[[str], float]:
    """Parameter name → learning-rate factor, for `schedules.param_groups(..., lr_scale=...)`."""
    if num_layers < 1 or not 0.0 < layer_decay <= 1.0 or patch_embed_lr_mult <= 0:
        raise ValueError(
            f"vit_lr_scale: need num_layers >= 1, 0 < layer_decay <= 1 and patch_embed_lr_mult > 0, got {num_layers}, "
            f"{layer_decay}, {patch_embed_lr_mult}"
        )

    def scale(name: str) -> float:
        factor = layer_decay ** (num_layers + 1 - vit_layer_id(name, num_layers, prefix))
        return factor * patch_embed_lr_mult if name.startswith(prefix + PATCH_PROJECTION) else factor

    return scale


def lr_scale_from_config(num_layers: int, recipe: DINOv2Config) -> Callable[[str], float] | None:
    """The recipe's factors for a ViT of `num_layers` blocks, or None when both are off (plain DINO groups)."""
    if recipe.layer_decay == 1.0 and recipe.patch_embed_lr_mult == 1.0:
        return None
    return vit_lr_scale(num_layers, recipe.layer_decay, recipe.patch_embed_lr_mult)

# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Configuration of OceanSAR single-channel SAR backbones (ResNet and ViT) and their task heads."""

from __future__ import annotations

from typing import Any

from transformers import PretrainedConfig
from transformers.backbone_utils import BackboneConfigMixin

RESNET_FIELDS = (
    "embedding_size",
    "hidden_sizes",
    "depths",
    "layer_type",
    "hidden_act",
    "downsample_in_first_stage",
    "downsample_in_bottleneck",
)
VIT_FIELDS = (
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "intermediate_size",
    "patch_size",
    "hidden_act",
    "hidden_dropout_prob",
    "attention_probs_dropout_prob",
    "layer_norm_eps",
    "qkv_bias",
    "initializer_range",
)

_RESNET50 = {
    "architecture": "resnet",
    "embedding_size": 64,
    "hidden_sizes": [256, 512, 1024, 2048],
    "depths": [3, 4, 6, 3],
    "layer_type": "bottleneck",
    "hidden_act": "relu",
    "downsample_in_first_stage": False,
    "downsample_in_bottleneck": False,
}


def _vit(hidden_size: int, num_layers: int, num_heads: int, patch_size: int) -> dict[str, Any]:
    return {
        "architecture": "vit",
        "hidden_size": hidden_size,
        "num_hidden_layers": num_layers,
        "num_attention_heads": num_heads,
        "intermediate_size": 4 * hidden_size,
        "patch_size": patch_size,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.0,
        "attention_probs_dropout_prob": 0.0,
        "layer_norm_eps": 1e-6,  # DINO's value (transformers' ViT default is 1e-12)
        "qkv_bias": True,
        "initializer_range": 0.02,
    }


BACKBONE_PRESETS: dict[str, dict[str, Any]] = {
    # Published OceanSAR-1 shapes.
    "resnet50": _RESNET50,
    "vit_small_patch16": _vit(384, 12, 6, 16),
    "vit_small_patch8": _vit(384, 12, 6, 8),
    "vit_base_patch8": _vit(768, 12, 12, 8),
    # Small presets for tests, demos and CPU experiments (not published models).
    "resnet_tiny": {
        **_RESNET50,
        "embedding_size": 32,
        "hidden_sizes": [32, 64, 128, 256],
        "depths": [1, 1, 1, 1],
        "layer_type": "basic",
    },
    "vit_tiny_patch8": _vit(192, 4, 3, 8),
}
"""Named architectures accepted by `OceanSARConfig(backbone=...)`."""

AUTO_MAP = {
    "AutoConfig": "configuration_oceansar.OceanSARConfig",
    "AutoModel": "modeling_oceansar.OceanSARModel",
    "AutoModelForImageClassification": "modeling_oceansar.OceanSARForImageClassification",
    "AutoBackbone": "modeling_oceansar.OceanSARBackbone",
}
"""Every Auto class an OceanSAR folder loads with (written into each saved `config.json`)."""


class OceanSARConfig(BackboneConfigMixin, PretrainedConfig):
    """Configuration of an OceanSAR backbone and, optionally, its TenGeoP / wave-height / wind-speed head.

    `backbone` picks a preset from `BACKBONE_PRESETS`; any architecture field passed explicitly overrides the preset.
    Fields that do not apply to the chosen architecture are stored as `None`.

    Args:
        backbone: preset name, one of `BACKBONE_PRESETS` (`resnet50`, `vit_small_patch16`, `vit_small_patch8`,
            `vit_base_patch8`, `resnet_tiny`, `vit_tiny_patch8`).
        num_channels: input channels; 1 for VV-only Sentinel-1 WV vignettes.
        image_size: side of the square input in pixels the model is built for (256 = a 12.8 km WV crop at 50 m).
            ResNets accept any size; ViTs interpolate their position embeddings for other sizes.
        channels_last: run ResNet convolutions in channels-last memory format (faster on CPU and GPU; same outputs).
        embedding_size, hidden_sizes, depths, layer_type, downsample_in_first_stage, downsample_in_bottleneck:
            ResNet fields with transformers' `ResNetConfig` meaning.
        hidden_size, num_hidden_layers, num_attention_heads, intermediate_size, patch_size, hidden_dropout_prob,
        attention_probs_dropout_prob, layer_norm_eps, qkv_bias, initializer_range: ViT fields with transformers'
            `ViTConfig` meaning (layer-norm epsilon 1e-6 as in DINO).
        hidden_act: activation of either architecture.
        out_features, out_indices: what `OceanSARBackbone` returns as `feature_maps`, by name or by index into
            `stage_names` (`["stem", "stage1", ...]`: the ResNet stem and its 4 stages, or the ViT patch embeddings
            and its `num_hidden_layers` layers). Default: the last stage.
        kwargs: `PretrainedConfig` arguments, e.g. `num_labels`, `id2label`, `problem_type` for the heads.
    """

    model_type = "oceansar"

    def __init__(
        self,
        backbone: str = "resnet50",
        num_channels: int = 1,
        image_size: int = 256,
        channels_last: bool = True,
        embedding_size: int | None = None,
        hidden_sizes: list[int] | None = None,
        depths: list[int] | None = None,
        layer_type: str | None = None,
        downsample_in_first_stage: bool | None = None,
        downsample_in_bottleneck: bool | None = None,
        hidden_size: int | None = None,
        num_hidden_layers: int | None = None,
        num_attention_heads: int | None = None,
        intermediate_size: int | None = None,
        patch_size: int | None = None,
        hidden_dropout_prob: float | None = None,
        attention_probs_dropout_prob: float | None = None,
        layer_norm_eps: float | None = None,
        qkv_bias: bool | None = None,
        initializer_range: float | None = None,
        hidden_act: str | None = None,
        out_features: list[str] | None = None,
        out_indices: list[int] | None = None,
        **kwargs: Any,
    ) -> None:
        if backbone not in BACKBONE_PRESETS:
            raise ValueError(f"Unknown backbone {backbone!r}; valid choices are {sorted(BACKBONE_PRESETS)}.")
        if int(num_channels) < 1:
            raise ValueError(f"num_channels must be >= 1 (1 for single-channel VV SAR), got {num_channels}.")
        preset = BACKBONE_PRESETS[backbone]
        given = {k: v for k, v in locals().items() if k in RESNET_FIELDS + VIT_FIELDS and v is not None}
        self.backbone = backbone
        self.architecture = preset["architecture"]
        self.num_channels = int(num_channels)
        self.image_size = int(image_size)
        self.channels_last = bool(channels_last)
        own_fields = RESNET_FIELDS if self.architecture == "resnet" else VIT_FIELDS
        for name in dict.fromkeys(RESNET_FIELDS + VIT_FIELDS):
            value = given.get(name, preset.get(name)) if name in own_fields else None
            setattr(self, name, list(value) if isinstance(value, tuple) else value)
        if self.architecture == "vit":
            if self.image_size % self.patch_size:
                raise ValueError(
                    f"patch_size {self.patch_size} does not divide image_size {self.image_size}; choose an image_size "
                    f"that is a multiple of the patch size (valid patch sizes for {self.image_size} px: "
                    f"{[p for p in (4, 8, 14, 16, 32) if self.image_size % p == 0]})."
                )
            if self.hidden_size % self.num_attention_heads:
                raise ValueError(
                    f"hidden_size {self.hidden_size} must be divisible by "
                    f"num_attention_heads {self.num_attention_heads}."
                )
        elif self.layer_type not in ("basic", "bottleneck"):
            raise ValueError(f"layer_type must be 'basic' or 'bottleneck', got {self.layer_type!r}.")
        stages = len(self.depths) if self.architecture == "resnet" else self.num_hidden_layers
        self.stage_names = ["stem", *(f"stage{i}" for i in range(1, stages + 1))]
        self.set_output_features_output_indices(out_features=out_features, out_indices=out_indices)
        super().__init__(**kwargs)

    @property
    def num_features(self) -> int:
        """Width D of `pooler_output` (B, D): 2048 for ResNet50, 384 for ViT-S, 768 for ViT-B."""
        return self.hidden_sizes[-1] if self.architecture == "resnet" else self.hidden_size

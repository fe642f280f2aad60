# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""OceanSAR backbones (ResNet, ViT) for single-channel SAR, built on transformers' own ResNet and ViT modules.

`OceanSARModel` returns `BaseModelOutputWithPooling` whose `pooler_output` (B, D) is the SAR feature vector:
the global average pool of the last ResNet stage, or the ViT CLS token after the final layer norm (what DINO trains).
`OceanSARForImageClassification` adds one linear layer for TenGeoP classification or wave-height / wind-speed
regression.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from transformers import PreTrainedModel
from transformers import initialization as init
from transformers.modeling_outputs import BaseModelOutputWithPooling, ImageClassifierOutput
from transformers.models.resnet.modeling_resnet import ResNetEmbeddings, ResNetEncoder
from transformers.models.vit.modeling_vit import ViTEmbeddings, ViTLayer

from .configuration_oceansar import AUTO_MAP, OceanSARConfig


class OceanSARPreTrainedModel(PreTrainedModel):
    """Weight initialisation, `save_pretrained` with the full `auto_map`, and the loading conventions."""

    config: OceanSARConfig
    config_class = OceanSARConfig
    base_model_prefix = "oceansar"
    main_input_name = "pixel_values"
    input_modalities = ("image",)
    supports_gradient_checkpointing = False
    _supports_sdpa = True
    _no_split_modules = ["ViTLayer", "ResNetConvLayer", "ResNetShortCut"]

    def _init_weights(self, module: nn.Module) -> None:
        if isinstance(module, nn.Conv2d) and self.config.architecture == "resnet":
            init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(module, (nn.Linear, nn.Conv2d)):
            init.trunc_normal_(module.weight, mean=0.0, std=self.config.initializer_range or 0.02)
            if module.bias is not None:
                init.zeros_(module.bias)
        elif isinstance(module, (nn.LayerNorm, nn.BatchNorm2d)):
            init.ones_(module.weight)
            init.zeros_(module.bias)
            if isinstance(module, nn.BatchNorm2d):
                init.zeros_(module.running_mean)
                init.ones_(module.running_var)
                init.zeros_(module.num_batches_tracked)
        elif isinstance(module, ViTEmbeddings):
            init.trunc_normal_(module.position_embeddings, mean=0.0, std=self.config.initializer_range)
            init.trunc_normal_(module.cls_token, mean=0.0, std=self.config.initializer_range)
            if module.mask_token is not None:
                init.zeros_(module.mask_token)

    def save_pretrained(self, save_directory, *args, **kwargs) -> None:
        """`PreTrainedModel.save_pretrained`, writing an `auto_map` that names every Auto class that applies.

        transformers records only the saved class; we add the others so that a head folder also loads with
        `AutoModel.from_pretrained(folder, trust_remote_code=True)`.
        """
        self.config.auto_map = dict(AUTO_MAP)
        super().save_pretrained(save_directory, *args, **kwargs)


class OceanSARModel(OceanSARPreTrainedModel):
    """Single-channel SAR backbone returning `pooler_output` (B, D) features.

    ResNet: transformers' `ResNetEmbeddings` + `ResNetEncoder` (state-dict keys `embedder.*`, `encoder.*`, identical to
    `ResNetModel`). ViT: transformers' `ViTEmbeddings` + `ViTLayer`s + a final `LayerNorm` (keys `embeddings.*`,
    `layers.*`, `layernorm.*`, identical to `ViTModel` without its dense+tanh pooler).

    Args:
        config: the backbone configuration.
        use_mask_token: ViT only, as in `ViTModel`: add a learnable `embeddings.mask_token` that replaces the patch
            embeddings selected by `bool_masked_pos` (masked-image modelling, e.g. iBOT pretraining).
    """

    def __init__(self, config: OceanSARConfig, use_mask_token: bool = False) -> None:
        super().__init__(config)
        if use_mask_token and config.architecture != "vit":
            raise ValueError(f"use_mask_token applies to ViT backbones only; {config.backbone!r} is a ResNet.")
        if config.architecture == "resnet":
            self.embedder = ResNetEmbeddings(config)
            self.encoder = ResNetEncoder(config)
        else:
            self.embeddings = ViTEmbeddings(config, use_mask_token=use_mask_token)
            self.layers = nn.ModuleList(ViTLayer(config) for _ in range(config.num_hidden_layers))
            self.layernorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.post_init()

    def _check_input(self, pixel_values: torch.Tensor) -> None:
        if not isinstance(pixel_values, torch.Tensor) or pixel_values.ndim != 4:
            shape = tuple(pixel_values.shape) if isinstance(pixel_values, torch.Tensor) else type(pixel_values)
            raise ValueError(
                f"pixel_values must be a 4-D tensor (batch, {self.config.num_channels}, height, width), got {shape}. "
                "Use OceanSARImageProcessor to turn 2-D SAR images into pixel_values."
            )
        if pixel_values.shape[1] != self.config.num_channels:
            raise ValueError(
                f"This model takes {self.config.num_channels}-channel input (VV SAR backscatter) but pixel_values has "
                f"{pixel_values.shape[1]} channels (shape {tuple(pixel_values.shape)}). Do not broadcast SAR to RGB."
            )
        if pixel_values.shape[0] == 0:
            raise ValueError(f"pixel_values has no image (shape {tuple(pixel_values.shape)}).")
        patch, (height, width) = self.config.patch_size, pixel_values.shape[-2:]
        if self.config.architecture == "vit" and (height % patch or width % patch or min(height, width) < patch):
            raise ValueError(
                f"this ViT cuts images into {patch} x {patch} patches, but pixel_values is {height} x {width}, not a "
                f"multiple of {patch} (the remainder would be silently dropped). Resize the images to a multiple of "
                f"{patch}, e.g. OceanSARImageProcessor(size={max(patch, round(height / patch) * patch)})."
            )

    def forward(
        self,
        pixel_values: torch.Tensor,
        bool_masked_pos: torch.BoolTensor | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> BaseModelOutputWithPooling | tuple[torch.Tensor, ...]:
        """Encode SAR images.

        Args:
            pixel_values: (B, C, H, W) float, normalised by `OceanSARImageProcessor` (C = `config.num_channels`).
            bool_masked_pos: ViT built with `use_mask_token=True` only: (B, N_patches) bool, True where the patch
                embedding is replaced by the mask token (N_patches = H·W / patch_size²).
            output_hidden_states: also return every stage (ResNet) / layer (ViT) output.

        Returns:
            `last_hidden_state`: (B, D, H/32, W/32) for ResNet, (B, 1 + N_patches, D) for ViT;
            `pooler_output`: (B, D); `hidden_states` on request.
        """
        self._check_input(pixel_values)
        if output_hidden_states is None:
            output_hidden_states = self.config.output_hidden_states
        return_dict = self.config.return_dict if return_dict is None else return_dict
        pixel_values = pixel_values.to(self.dtype)
        if self.config.architecture == "resnet":
            if bool_masked_pos is not None:
                raise ValueError("bool_masked_pos applies to ViT backbones only; this is a ResNet.")
            last, pooled, hidden = self._forward_resnet(pixel_values, output_hidden_states)
        else:
            self._check_mask(pixel_values, bool_masked_pos)
            last, pooled, hidden = self._forward_vit(pixel_values, bool_masked_pos, output_hidden_states)
        if not return_dict:
            return tuple(v for v in (last, pooled, hidden) if v is not None)
        return BaseModelOutputWithPooling(last_hidden_state=last, pooler_output=pooled, hidden_states=hidden)

    def _forward_resnet(self, pixel_values: torch.Tensor, output_hidden_states: bool):
        stem = self.embedder.embedder.convolution.weight
        if self.config.channels_last and not stem.is_contiguous(memory_format=torch.channels_last):
            # One-time, in-place layout change of the weights (same values, faster convolutions). Training code
            # calls `model.to(memory_format=torch.channels_last)` before wrapping the model, so this does not run
            # under DDP.
            self.to(memory_format=torch.channels_last)
        if self.config.channels_last:  # input and weights both channels-last: measured 1.1x (input alone is slower)
            pixel_values = pixel_values.contiguous(memory_format=torch.channels_last)
        encoded = self.encoder(self.embedder(pixel_values), output_hidden_states=output_hidden_states)
        last = encoded.last_hidden_state
        return last, last.mean(dim=(2, 3)), encoded.hidden_states

    def _check_mask(self, pixel_values: torch.Tensor, bool_masked_pos: torch.BoolTensor | None) -> None:
        if bool_masked_pos is None:
            return
        if self.embeddings.mask_token is None:
            raise ValueError(
                "bool_masked_pos needs a mask token: build the model with OceanSARModel(config, use_mask_token=True)."
            )
        patches = (pixel_values.shape[-2] // self.config.patch_size) * (
            pixel_values.shape[-1] // self.config.patch_size
        )
        expected = (pixel_values.shape[0], patches)
        if tuple(bool_masked_pos.shape) != expected or bool_masked_pos.dtype != torch.bool:
            raise ValueError(
                f"bool_masked_pos must be a bool tensor of shape (batch, N_patches) = {expected}, got "
                f"{bool_masked_pos.dtype} {tuple(bool_masked_pos.shape)}."
            )

    def _forward_vit(
        self, pixel_values: torch.Tensor, bool_masked_pos: torch.BoolTensor | None, output_hidden_states: bool
    ):
        height, width = pixel_values.shape[-2:]
        interpolate = (height, width) != (self.config.image_size, self.config.image_size)
        hidden_state = self.embeddings(
            pixel_values, bool_masked_pos=bool_masked_pos, interpolate_pos_encoding=interpolate
        )
        hidden = (hidden_state,) if output_hidden_states else None
        for layer in self.layers:
            hidden_state = layer(hidden_state)
            if output_hidden_states:
                hidden = (*hidden, hidden_state)
        last = self.layernorm(hidden_state)
        return last, last[:, 0], hidden


class OceanSARForImageClassification(OceanSARPreTrainedModel):
    """OceanSAR backbone + one linear layer on `pooler_output`.

    TenGeoP: `num_labels=10`, single-label classification (cross-entropy). Wave height / wind speed:
    `num_labels=1`, `problem_type="regression"` (mean squared error), logits in metres or m/s.
    """

    def __init__(self, config: OceanSARConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.oceansar = OceanSARModel(config)
        self.classifier = nn.Linear(config.num_features, config.num_labels) if config.num_labels > 0 else nn.Identity()
        self.post_init()

    def _init_weights(self, module: nn.Module) -> None:
        if module is getattr(self, "classifier", None) and isinstance(module, nn.Linear):
            bound = 1.0 / math.sqrt(module.in_features)
            init.uniform_(module.weight, -bound, bound)
            init.zeros_(module.bias)
        else:
            super()._init_weights(module)

    def forward(
        self,
        pixel_values: torch.Tensor,
        labels: torch.Tensor | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> ImageClassifierOutput | tuple[torch.Tensor, ...]:
        """Classify (TenGeoP) or regress (metres / m/s) SAR images.

        Args:
            pixel_values: (B, C, H, W) as for `OceanSARModel`.
            labels: (B,) long class ids, or (B,) float targets for regression; the loss is returned when given.

        Returns:
            `logits` (B, num_labels), `loss` when `labels` is given, `hidden_states` on request.
        """
        return_dict = self.config.return_dict if return_dict is None else return_dict
        outputs = self.oceansar(pixel_values, output_hidden_states=output_hidden_states, return_dict=True)
        logits = self.classifier(outputs.pooler_output)
        loss = self.loss_function(labels, logits, self.config) if labels is not None else None
        if not return_dict:
            output = tuple(v for v in (logits, outputs.hidden_states) if v is not None)
            return (loss, *output) if loss is not None else output
        return ImageClassifierOutput(loss=loss, logits=logits, hidden_states=outputs.hidden_states)


OceanSARConfig.register_for_auto_class()
OceanSARModel.register_for_auto_class("AutoModel")
OceanSARForImageClassification.register_for_auto_class("AutoModelForImageClassification")

__all__ = ["OceanSARForImageClassification", "OceanSARModel", "OceanSARPreTrainedModel"]

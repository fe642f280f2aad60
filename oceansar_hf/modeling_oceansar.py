# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""OceanSAR backbones (ResNet, ViT) for single-channel SAR, built on transformers' own ResNet and ViT modules.

`OceanSARModel` returns `BaseModelOutputWithPooling` whose `pooler_output` (B, D) is the SAR feature vector:
the global average pool of the last ResNet stage, or the ViT CLS token after the final layer norm (what DINO trains).
The ViT follows transformers' `ViTModel` in everything but the pooler: attentions and hidden states through the
output-recording hooks (`_can_record_outputs`), every attention implementation (`attn_implementation` = "eager",
"sdpa", "flex_attention", "flash_attention_*"), gradient checkpointing, `get_input_embeddings`.
`OceanSARForImageClassification` adds one linear layer for TenGeoP classification or wave-height / wind-speed
regression. `OceanSARBackbone` (`AutoBackbone`) gives multi-scale `feature_maps` for dense-task heads (UperNet, DPT).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from transformers import PreTrainedModel
from transformers import initialization as init
from transformers.backbone_utils import BackboneMixin, filter_output_hidden_states
from transformers.masking_utils import create_bidirectional_mask
from transformers.modeling_outputs import BackboneOutput, BaseModelOutputWithPooling, ImageClassifierOutput
from transformers.models.resnet.modeling_resnet import ResNetEmbeddings, ResNetEncoder
from transformers.models.vit.modeling_vit import ViTAttention, ViTEmbeddings, ViTLayer
from transformers.utils.generic import can_return_tuple, merge_with_config_defaults
from transformers.utils.output_capturing import (
    capture_outputs,
    resolve_hidden_states_indices,
    selected_hidden_states,
)

from .configuration_oceansar import AUTO_MAP, OceanSARConfig


class OceanSARPreTrainedModel(PreTrainedModel):
    """Weight initialisation, `save_pretrained` with the full `auto_map`, and the loading conventions.

    The capability flags are `ViTPreTrainedModel`'s (a ResNet has no attention; gradient checkpointing is refused for
    it, as transformers' `ResNetModel` does, see `_set_gradient_checkpointing`).
    """

    config: OceanSARConfig
    config_class = OceanSARConfig
    base_model_prefix = "oceansar"
    main_input_name = "pixel_values"
    input_modalities = ("image",)
    supports_gradient_checkpointing = True
    _supports_sdpa = True
    _supports_flash_attn = True
    _supports_flex_attn = True
    _supports_attention_backend = True
    _no_split_modules = ["ViTEmbeddings", "ViTLayer", "ResNetConvLayer", "ResNetShortCut"]
    _can_record_outputs = {"hidden_states": ViTLayer, "attentions": ViTAttention}
    _input_embed_layer = "patch_embeddings"

    def _set_gradient_checkpointing(self, enable: bool = True, *args, **kwargs) -> None:
        if enable and self.config.architecture == "resnet":
            raise ValueError(
                "gradient checkpointing applies to OceanSAR ViT backbones only: recomputing a ResNet stage in the "
                "backward pass would update its BatchNorm running statistics twice (transformers' ResNetModel does "
                "not support it either)."
            )
        super()._set_gradient_checkpointing(enable, *args, **kwargs)

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

    def get_input_embeddings(self) -> nn.Module:
        """The module that embeds `pixel_values`: the ViT patch embedding or the ResNet stem (conv, norm, act)."""
        if self.config.architecture == "resnet":
            return self.embedder.embedder
        return self.embeddings.patch_embeddings

    def forward(
        self,
        pixel_values: torch.Tensor,
        bool_masked_pos: torch.BoolTensor | None = None,
        interpolate_pos_encoding: bool | None = None,
        attention_mask: torch.Tensor | None = None,
        **kwargs,
    ) -> BaseModelOutputWithPooling | tuple[torch.Tensor, ...]:
        """Encode SAR images.

        Args:
            pixel_values: (B, C, H, W) float, normalised by `OceanSARImageProcessor` (C = `config.num_channels`).
            bool_masked_pos: ViT built with `use_mask_token=True` only: (B, N_patches) bool, True where the patch
                embedding is replaced by the mask token (N_patches = H·W / patch_size²).
            interpolate_pos_encoding: ViT only; None = interpolate the position embeddings when (H, W) is not
                `config.image_size`.
            attention_mask: ViT only, as in `ViTModel` (passed to the attention implementation).
            kwargs: `output_hidden_states`, `output_attentions` (ViT), `return_dict`, and attention-implementation
                arguments.

        Returns:
            `last_hidden_state`: (B, D, H/32, W/32) for ResNet, (B, 1 + N_patches, D) for ViT;
            `pooler_output`: (B, D); on request `hidden_states` (ResNet: stem + 4 stages; ViT: embeddings +
            `num_hidden_layers` layer outputs before the final layer norm, as `ViTModel`) and `attentions` (ViT:
            `num_hidden_layers` × (B, heads, 1 + N_patches, 1 + N_patches); needs `attn_implementation="eager"`, the
            fused kernels do not form the attention matrix).
        """
        self._check_input(pixel_values)
        pixel_values = pixel_values.to(self.dtype)
        if self.config.architecture == "resnet":
            for name, value in (("bool_masked_pos", bool_masked_pos), ("attention_mask", attention_mask)):
                if value is not None:
                    raise ValueError(f"{name} applies to ViT backbones only; this is a ResNet.")
            # `output_attentions` is accepted and yields nothing, as in transformers' ResNetModel: a ResNet has none
            return self._forward_resnet(pixel_values, kwargs.get("output_hidden_states"), kwargs.get("return_dict"))
        self._check_mask(pixel_values, bool_masked_pos)
        if interpolate_pos_encoding is None:
            interpolate_pos_encoding = tuple(pixel_values.shape[-2:]) != (self.config.image_size,) * 2
        return self._forward_vit(
            pixel_values,
            bool_masked_pos=bool_masked_pos,
            interpolate_pos_encoding=interpolate_pos_encoding,
            attention_mask=attention_mask,
            **kwargs,
        )

    def _forward_resnet(
        self, pixel_values: torch.Tensor, output_hidden_states: bool | int | list[int] | None, return_dict: bool | None
    ) -> BaseModelOutputWithPooling | tuple[torch.Tensor, ...]:
        """`output_hidden_states` may select stages by index (as the ViT's recording hooks do): the others are None."""
        if output_hidden_states is None:
            output_hidden_states = self.config.output_hidden_states
        return_dict = self.config.return_dict if return_dict is None else return_dict
        stem = self.embedder.embedder.convolution.weight
        if self.config.channels_last and not stem.is_contiguous(memory_format=torch.channels_last):
            # One-time, in-place layout change of the weights (same values, faster convolutions). Training code
            # calls `model.to(memory_format=torch.channels_last)` before wrapping the model, so this does not run
            # under DDP.
            self.to(memory_format=torch.channels_last)
        if self.config.channels_last:  # input and weights both channels-last: measured 1.1x (input alone is slower)
            pixel_values = pixel_values.contiguous(memory_format=torch.channels_last)
        encoded = self.encoder(self.embedder(pixel_values), output_hidden_states=bool(output_hidden_states))
        last, hidden = encoded.last_hidden_state, encoded.hidden_states
        if (selected := selected_hidden_states(output_hidden_states)) is not None:
            kept = resolve_hidden_states_indices(self, selected, num_hidden_states=len(hidden))
            hidden = tuple(state if i in kept else None for i, state in enumerate(hidden))
        output = BaseModelOutputWithPooling(
            last_hidden_state=last, pooler_output=last.mean(dim=(2, 3)), hidden_states=hidden
        )
        return output if return_dict else output.to_tuple()

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

    @merge_with_config_defaults
    @capture_outputs(tie_last_hidden_states=False)
    def _forward_vit(
        self,
        pixel_values: torch.Tensor,
        bool_masked_pos: torch.BoolTensor | None = None,
        interpolate_pos_encoding: bool = False,
        attention_mask: torch.Tensor | None = None,
        **kwargs,
    ) -> BaseModelOutputWithPooling:
        """`ViTModel.forward` without the pooler: hidden states and attentions come from the recording hooks."""
        embedded = self.embeddings(
            pixel_values, bool_masked_pos=bool_masked_pos, interpolate_pos_encoding=interpolate_pos_encoding
        )
        attention_mask = create_bidirectional_mask(
            config=self.config, inputs_embeds=embedded, attention_mask=attention_mask
        )
        hidden_state = embedded
        for layer in self.layers:
            hidden_state = layer(hidden_state, attention_mask, **kwargs)
        last = self.layernorm(hidden_state)
        return BaseModelOutputWithPooling(last_hidden_state=last, pooler_output=last[:, 0])


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

    @can_return_tuple
    def forward(
        self,
        pixel_values: torch.Tensor,
        labels: torch.Tensor | None = None,
        **kwargs,
    ) -> ImageClassifierOutput:
        """Classify (TenGeoP) or regress (metres / m/s) SAR images.

        Args:
            pixel_values: (B, C, H, W) as for `OceanSARModel`.
            labels: (B,) long class ids, or (B,) float targets for regression; the loss is returned when given.
            kwargs: as for `OceanSARModel` (`output_hidden_states`, `output_attentions`, `return_dict`, ...).

        Returns:
            `logits` (B, num_labels), `loss` when `labels` is given, `hidden_states` / `attentions` on request.
        """
        outputs = self.oceansar(pixel_values, **kwargs)
        logits = self.classifier(outputs.pooler_output)
        loss = self.loss_function(labels, logits, self.config) if labels is not None else None
        return ImageClassifierOutput(
            loss=loss, logits=logits, hidden_states=outputs.hidden_states, attentions=outputs.attentions
        )


class OceanSARBackbone(BackboneMixin, OceanSARPreTrainedModel):
    """Multi-scale feature maps of an OceanSAR backbone, for transformers' dense-task heads (UperNet, DPT, ...).

    `config.stage_names` = `["stem", "stage1", ...]`; `out_features` / `out_indices` pick the returned maps:
    - ResNet: the stem output (B, embedding_size, H/4, W/4) and the 4 stage outputs (B, hidden_sizes[i], H/s, W/s),
      s = 4, 8, 16, 32 (as transformers' `ResNetBackbone`);
    - ViT: the patch tokens of the embeddings ("stem") or of layer i ("stage<i>"), passed through the final layer
      norm (as DINO reads them) and reshaped to (B, hidden_size, H/patch_size, W/patch_size); the CLS token is
      dropped.
    The weights are an `OceanSARModel`'s (under `oceansar.*`), so an OceanSAR model folder loads directly with
    `AutoBackbone.from_pretrained(folder, trust_remote_code=True)`.
    """

    def __init__(self, config: OceanSARConfig) -> None:
        super().__init__(config)
        self.oceansar = OceanSARModel(config)
        if config.architecture == "resnet":
            self.num_features = [config.embedding_size, *config.hidden_sizes]
        else:
            self.num_features = [config.hidden_size] * (config.num_hidden_layers + 1)
        self.post_init()

    def get_input_embeddings(self) -> nn.Module:
        return self.oceansar.get_input_embeddings()

    @can_return_tuple
    @filter_output_hidden_states
    def forward(self, pixel_values: torch.Tensor, **kwargs) -> BackboneOutput:
        """Feature maps of the stages in `out_features`.

        Args:
            pixel_values: (B, C, H, W) as for `OceanSARModel`.
            kwargs: `output_hidden_states`, `output_attentions` (ViT), `return_dict`, as for `OceanSARModel`.

        Returns:
            `feature_maps`: one (B, channels, h, w) tensor per `out_features` entry (shapes in the class docstring);
            `hidden_states` / `attentions` on request (those of `OceanSARModel`).
        """
        if not kwargs.get("output_attentions"):
            kwargs.pop("output_attentions", None)
        outputs = self.oceansar(pixel_values, **kwargs)
        feature_maps = tuple(
            self._feature_map(outputs.hidden_states[i], pixel_values.shape[-2:]) for i in self.out_indices
        )
        return BackboneOutput(
            feature_maps=feature_maps, hidden_states=outputs.hidden_states, attentions=outputs.attentions
        )

    def _feature_map(self, hidden_state: torch.Tensor, image_shape: torch.Size) -> torch.Tensor:
        if self.config.architecture == "resnet":
            return hidden_state
        tokens = self.oceansar.layernorm(hidden_state[:, 1:])
        height, width = (side // self.config.patch_size for side in image_shape)
        return tokens.transpose(1, 2).reshape(tokens.shape[0], -1, height, width)


OceanSARConfig.register_for_auto_class()
OceanSARModel.register_for_auto_class("AutoModel")
OceanSARForImageClassification.register_for_auto_class("AutoModelForImageClassification")
OceanSARBackbone.register_for_auto_class("AutoBackbone")

__all__ = ["OceanSARBackbone", "OceanSARForImageClassification", "OceanSARModel", "OceanSARPreTrainedModel"]

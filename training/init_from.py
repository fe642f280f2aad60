# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Continued pretraining: the weights a run starts from (`--init_from`) instead of a random initialisation.

A source is a local folder or a Hub repo id (its `config.json` and safetensors are downloaded) holding one of:
- an OceanSAR folder (`model_type` "oceansar": a backbone, or a head whose backbone is taken);
- the released OceanSAR-1 format, a transformers `ResNetModel` / `ResNetForImageClassification` with 1 channel
  (read by `oceansar_hf.from_released_resnet`): also what `conversion.to_transformers` writes for a ResNet;
- a transformers `ViTModel` folder (`conversion.to_transformers`; its pooler, which DINO does not train, is dropped).

The source architecture must be the run's (`--backbone`, `--input_size` for a ViT's position grid), field for field;
otherwise the run stops before training with the fields that differ. Only the backbone is loaded: the DINO head starts
fresh, and the teacher is the copy of the initialised student (`build_dino`).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from transformers import ViTModel

from oceansar_hf import OceanSARConfig, OceanSARForImageClassification, OceanSARModel, from_released_resnet
from oceansar_hf.configuration_oceansar import RESNET_FIELDS, VIT_FIELDS

logger = logging.getLogger(__name__)

VIT_SHAPE_FIELDS = (
    *(name for name in VIT_FIELDS if "dropout" not in name and name != "initializer_range"),
    "image_size",
)
"""ViT fields that change the weights or the function they compute (dropout and initialisation do not)."""
SOURCE_FILES = ["config.json", "*.safetensors"]


def locate(source: str) -> Path:
    """A local folder, or the snapshot of the Hub repo id `source` (config and safetensors only)."""
    path = Path(source)
    if path.is_dir():
        return path
    if path.exists() or source.count("/") != 1:
        raise ValueError(f"init_from: {source} is neither a folder nor a Hub repo id of the form 'owner/name'.")
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(source, allow_patterns=SOURCE_FILES))


def load_source(folder: Path) -> OceanSARModel:
    """The backbone held by `folder` (any of the module docstring's forms) as an `OceanSARModel`."""
    config_file = folder / "config.json"
    if not config_file.is_file():
        raise ValueError(f"init_from: {folder} has no config.json; expected an OceanSAR, ResNet or ViT model folder.")
    config = json.loads(config_file.read_text())
    model_type = config.get("model_type")
    if model_type == OceanSARConfig.model_type:
        heads = "OceanSARForImageClassification" in (config.get("architectures") or [])
        return (
            OceanSARForImageClassification.from_pretrained(folder).oceansar
            if heads
            else (OceanSARModel.from_pretrained(folder))
        )
    if model_type == "resnet":
        model = from_released_resnet(folder)
        return model.oceansar if isinstance(model, OceanSARForImageClassification) else model
    if model_type == "vit":
        return _from_native_vit(folder, config)
    raise ValueError(
        f"init_from: {config_file} has model_type {model_type!r}; expected 'oceansar', 'resnet' (OceanSAR-1 "
        "released format) or 'vit'."
    )


def _from_native_vit(folder: Path, config: dict) -> OceanSARModel:
    """transformers reads the folder (its on-disk key names are its own business); the weights move over unchanged."""
    fields = {name: config[name] for name in (*VIT_SHAPE_FIELDS, "num_channels") if name in config}
    model = OceanSARModel(OceanSARConfig(backbone="vit_small_patch16", **fields))  # every shape field from the source
    native = ViTModel.from_pretrained(folder, add_pooling_layer=False, use_safetensors=True)
    model.load_state_dict(native.state_dict(), strict=True)
    return model


def check_same_architecture(source: OceanSARConfig, target: OceanSARConfig, where: str) -> None:
    """Refuse a source whose architecture differs from the run's, naming every differing field."""
    if source.architecture != target.architecture:
        raise ValueError(
            f"init_from: {where} holds a {source.architecture} backbone but the run trains a {target.architecture} "
            f"({target.backbone}); choose --backbone to match the source."
        )
    fields = RESNET_FIELDS if target.architecture == "resnet" else VIT_SHAPE_FIELDS
    differ = {
        name: (getattr(source, name), getattr(target, name))
        for name in (*fields, "num_channels")
        if getattr(source, name) != getattr(target, name)
    }
    if differ:
        listed = ", ".join(f"{name} {got!r} (run: {want!r})" for name, (got, want) in differ.items())
        hint = (
            " (a ViT's position grid is built for image_size: set --input_size to it)" if "image_size" in differ else ""
        )
        raise ValueError(f"init_from: {where} does not match the run's backbone {target.backbone!r}: {listed}{hint}.")


def initialise_from(backbone: OceanSARModel, source: str) -> OceanSARModel:
    """Copy the weights (and BatchNorm statistics) of `source` into `backbone`, after checking the architecture."""
    folder = locate(source)
    loaded = load_source(folder)
    check_same_architecture(loaded.config, backbone.config, str(source))
    state = {k: v for k, v in loaded.state_dict().items() if k in backbone.state_dict()}
    # a masked-image-modelling run's mask token (`use_mask_token`) keeps its initialisation when the source has none
    missing = set(backbone.state_dict()) - set(state) - {"embeddings.mask_token"}
    if missing:
        raise ValueError(f"init_from: {source} lacks the backbone tensors {sorted(missing)[:5]}.")
    backbone.load_state_dict(state, strict=False)
    logger.info("backbone initialised from %s (%d tensors); the DINO head starts fresh", source, len(state))
    return backbone

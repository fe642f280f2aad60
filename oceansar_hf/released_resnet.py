# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Load the released OceanSAR-1 weights (a plain transformers `ResNetModel` / `ResNetForImageClassification` with
`num_channels=1`) into this package's classes, with identical outputs (`pooler_output` flattened to (B, 2048))."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file
from transformers import ResNetConfig

from .configuration_oceansar import RESNET_FIELDS, OceanSARConfig
from .modeling_oceansar import OceanSARForImageClassification, OceanSARModel

_HEAD_ARCHITECTURES = {"ResNetForImageClassification"}
_LABEL_KEYS = ("num_labels", "id2label", "label2id", "problem_type", "finetuning_task")


def _read_folder(folder: Path) -> tuple[dict, dict[str, torch.Tensor]]:
    config_file = folder / "config.json"
    if not config_file.is_file():
        raise FileNotFoundError(f"{folder} has no config.json; expected a transformers ResNetModel folder.")
    config = json.loads(config_file.read_text())
    weights = folder / "model.safetensors"
    if weights.is_file():
        return config, load_file(str(weights))
    legacy = folder / "pytorch_model.bin"
    if legacy.is_file():
        return config, torch.load(legacy, map_location="cpu", weights_only=True)
    raise FileNotFoundError(f"{folder} has neither model.safetensors nor pytorch_model.bin.")


def oceansar_config_from_resnet(resnet_config: dict | ResNetConfig, image_size: int = 256) -> OceanSARConfig:
    """The `OceanSARConfig` equivalent of a transformers ResNet config (head labels carried over)."""
    source = resnet_config.to_dict() if isinstance(resnet_config, ResNetConfig) else dict(resnet_config)
    if source.get("model_type") != "resnet":
        raise ValueError(
            f"expected a transformers ResNet config (model_type 'resnet'), got {source.get('model_type')!r}."
        )
    fields = {name: source[name] for name in RESNET_FIELDS if name in source}
    labels = {k: source[k] for k in _LABEL_KEYS if source.get(k) is not None}
    if "id2label" in labels:
        labels["id2label"] = {int(k): v for k, v in labels["id2label"].items()}
    return OceanSARConfig(
        backbone="resnet50", num_channels=source.get("num_channels", 1), image_size=image_size, **fields, **labels
    )


def _rename(key: str) -> str:
    if key.startswith("resnet."):
        return "oceansar." + key[len("resnet.") :]
    if key.startswith("classifier.1."):
        return "classifier." + key[len("classifier.1.") :]
    return key


def from_released_resnet(
    source: str | Path | tuple[dict | ResNetConfig, dict[str, torch.Tensor]],
    image_size: int = 256,
) -> OceanSARModel | OceanSARForImageClassification:
    """Build an OceanSAR model from a released-format folder or a `(config, state_dict)` pair.

    A `ResNetModel` gives an `OceanSARModel`; a `ResNetForImageClassification` head (keys `resnet.*`,
    `classifier.1.*`) gives an `OceanSARForImageClassification` with the same labels and `problem_type`.
    Missing, unexpected or mis-shaped tensors raise `ValueError` naming them.
    """
    if isinstance(source, (str, Path)):
        config_dict, state_dict = _read_folder(Path(source))
    else:
        config_dict, state_dict = source
        if isinstance(config_dict, ResNetConfig):
            config_dict = config_dict.to_dict()
    config = oceansar_config_from_resnet(config_dict, image_size=image_size)
    is_head = bool(set(config_dict.get("architectures") or []) & _HEAD_ARCHITECTURES) or any(
        k.startswith("classifier.") for k in state_dict
    )
    model = OceanSARForImageClassification(config) if is_head else OceanSARModel(config)
    renamed = {_rename(k): v for k, v in state_dict.items()}
    expected = model.state_dict()
    missing = sorted(set(expected) - set(renamed))
    unexpected = sorted(set(renamed) - set(expected))
    mis_shaped = [
        f"{k}: checkpoint {tuple(v.shape)} vs model {tuple(expected[k].shape)}"
        for k, v in renamed.items()
        if k in expected and v.shape != expected[k].shape
    ]
    if missing or unexpected or mis_shaped:
        raise ValueError(
            "released ResNet weights do not match the OceanSAR architecture: "
            f"missing {missing[:10]}{'...' if len(missing) > 10 else ''}; "
            f"unexpected {unexpected[:10]}{'...' if len(unexpected) > 10 else ''}; wrong shapes {mis_shaped[:10]}"
        )
    model.load_state_dict(renamed, strict=True)
    return model.eval()

# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""The frozen backbone a probe evaluates: a model folder (this package's format or the released transformers-ResNet
format) or a randomly initialised baseline, with its image processor and a fingerprint for the feature cache."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import torch

from oceansar_hf import (
    OceanSARConfig,
    OceanSARForImageClassification,
    OceanSARImageProcessor,
    OceanSARModel,
    from_released_resnet,
)

from ..features import folder_fingerprint

logger = logging.getLogger(__name__)


def load_backbone(spec: str, input_size: int, seed: int = 0) -> tuple[OceanSARModel, OceanSARImageProcessor, str]:
    """(backbone in eval mode, image processor, fingerprint for the feature cache) from a model spec.

    `spec`: a folder in this package's format (backbone or head; the head's classifier is dropped), a folder in the
    released transformers-ResNet format (`model_type == "resnet"`), or `random:BACKBONE` (random weights, `seed`).
    The processor is the folder's `preprocessor_config.json`; a `random:` model, or a folder without one (with a
    warning: the normalisation constants are then the processor's defaults), gets `OceanSARImageProcessor` defaults
    with output side `input_size`.
    """
    if spec.startswith("random:"):
        backbone = spec.split(":", 1)[1]
        torch.manual_seed(seed)
        model = OceanSARModel(OceanSARConfig(backbone=backbone, image_size=input_size)).eval()
        return model, OceanSARImageProcessor(size=input_size), f"{spec}:seed={seed}:size={input_size}"
    folder = Path(spec)
    config_file = folder / "config.json"
    if not config_file.is_file():
        raise FileNotFoundError(f"--model {spec}: no config.json; expected a model folder or random:BACKBONE")
    if json.loads(config_file.read_text()).get("model_type") == "resnet":
        model = from_released_resnet(folder, image_size=input_size)
    else:
        from transformers import AutoModel

        model = AutoModel.from_pretrained(folder)
    if isinstance(model, OceanSARForImageClassification):
        model = model.oceansar
    if not isinstance(model, OceanSARModel):
        raise TypeError(f"--model {spec} loads as {type(model).__name__}; expected an OceanSAR backbone")
    if (folder / "preprocessor_config.json").is_file():
        processor = OceanSARImageProcessor.from_pretrained(folder)
    else:
        logger.warning(
            "%s has no preprocessor_config.json: using OceanSARImageProcessor defaults (size %d). Save the processor "
            "used in training next to the model.",
            folder,
            input_size,
        )
        processor = OceanSARImageProcessor(size=input_size)
    return model.eval(), processor, folder_fingerprint(folder)

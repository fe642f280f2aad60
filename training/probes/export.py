# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Export a fitted linear probe as an `OceanSARForImageClassification` folder: the frozen backbone plus one
`nn.Linear` holding the probe with the feature standardisation folded in, so that the model's logits on an image
equal the probe's outputs on that image's raw features (class logits for TenGeoP, m or m/s for wave/wind)."""

from __future__ import annotations

from pathlib import Path

import torch

from oceansar_hf import OceanSARForImageClassification, OceanSARImageProcessor, OceanSARModel, task_config

from .linear import LinearProbe


def probe_head_model(backbone: OceanSARModel, probe: LinearProbe, task: str) -> OceanSARForImageClassification:
    """An `OceanSARForImageClassification` (eval mode, float32) with `backbone`'s weights and the folded probe."""
    if not isinstance(backbone, OceanSARModel):
        raise TypeError(f"export needs an OceanSARModel backbone, got {type(backbone).__name__}")
    model = OceanSARForImageClassification(task_config(task, backbone.config))
    weight, bias = probe.folded()
    if tuple(weight.shape) != tuple(model.classifier.weight.shape):
        raise ValueError(
            f"probe weight {tuple(weight.shape)} does not fit the {task!r} head {tuple(model.classifier.weight.shape)}"
            " (num_labels x num_features)"
        )
    model.oceansar.load_state_dict(backbone.state_dict())
    with torch.no_grad():
        model.classifier.weight.copy_(weight.to(torch.float32))
        model.classifier.bias.copy_(bias.to(torch.float32))
    return model.float().eval()


def export_probe(
    backbone: OceanSARModel,
    probe: LinearProbe,
    task: str,
    output_dir: str | Path,
    processor: OceanSARImageProcessor | None = None,
) -> OceanSARForImageClassification:
    """Write the probe as a `from_pretrained`-loadable folder: config.json (task labels, `auto_map`),
    model.safetensors, the model code for `trust_remote_code`, and preprocessor_config.json when `processor` is given.

    Returns the exported model.
    """
    model = probe_head_model(backbone, probe, task)
    output_dir = Path(output_dir)
    model.save_pretrained(output_dir)
    if processor is not None:
        processor.save_pretrained(output_dir)
    return model

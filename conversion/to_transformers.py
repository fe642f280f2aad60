# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""An OceanSAR backbone folder → a plain transformers `ResNetModel` / `ViTModel` folder: no remote code.

The state-dict keys are already transformers' own, so the weights are copied unchanged. The native config keeps
`num_channels=1`, the architecture fields and, for the ViT, DINO's layer-norm epsilon (1e-6, not `ViTConfig`'s
1e-12); the ViT is written without its dense+tanh pooler (`add_pooling_layer=False`, DINO trains none). What was
`pooler_output` (B, D) reads, in the native classes:

- ResNet: `pooler_output.flatten(1)` — transformers' `ResNetModel` pools to (B, 2048, 1, 1);
- ViT: `last_hidden_state[:, 0]` — the CLS token after the final layer norm. Load it with
  `AutoModel.from_pretrained(folder, add_pooling_layer=False)` (`pooler_output` is then None); without that argument
  `ViTModel` adds its default pooler with random weights (reported as missing), which DINO never trained.

`native_features` does exactly that; the converter reloads the written folder with `AutoModel.from_pretrained`
(no `trust_remote_code`) and compares those features with the OceanSAR model's before publishing the folder. The
OceanSAR image processor config (dB scaling and normalisation: part of the model) is copied beside the weights; it is
OceanSAR code, loaded by `OceanSARImageProcessor.from_pretrained` (package installed) or by
`AutoImageProcessor.from_pretrained(folder, trust_remote_code=True)`.

    python -m conversion.to_transformers exported/oceansar-demo exported/oceansar-demo-native
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from transformers import AutoModel, ResNetConfig, ResNetModel, ViTConfig, ViTModel

from oceansar_hf import OceanSARConfig, OceanSARImageProcessor, OceanSARModel
from oceansar_hf.configuration_oceansar import RESNET_FIELDS, VIT_FIELDS

from .from_released import locate
from .verify import (
    DEFAULT_ATOL,
    ConversionError,
    add_output_arguments,
    check_agreement,
    check_state_dict,
    ensure_writable,
    reference_input,
    run_conversion,
    staged_folder,
)

NATIVE_CLASSES = {"resnet": ResNetModel, "vit": ViTModel}
"""The transformers class each OceanSAR architecture is exported as (keyed by `OceanSARConfig.architecture`)."""
SOURCE_FILES = ["config.json", "*.safetensors", "preprocessor_config.json"]


def native_config(config: OceanSARConfig) -> ResNetConfig | ViTConfig:
    """The transformers `ResNetConfig` / `ViTConfig` of the same architecture (1 channel, DINO's epsilon)."""
    if config.architecture == "resnet":
        fields = {name: getattr(config, name) for name in RESNET_FIELDS}
        return ResNetConfig(num_channels=config.num_channels, **fields)
    fields = {name: getattr(config, name) for name in VIT_FIELDS}
    return ViTConfig(num_channels=config.num_channels, image_size=config.image_size, **fields)


def to_native(model: OceanSARModel) -> ResNetModel | ViTModel:
    """The same weights in transformers' own class (ViT without pooler), in eval mode."""
    config = native_config(model.config)
    native = ResNetModel(config) if isinstance(config, ResNetConfig) else ViTModel(config, add_pooling_layer=False)
    weights = {k: v for k, v in model.state_dict().items() if k != "embeddings.mask_token"}
    check_state_dict(native.state_dict(), weights, f"{type(model).__name__} ({model.config.backbone})")
    native.load_state_dict(weights, strict=True)
    return native.eval()


def native_load_kwargs(architecture: str) -> dict[str, bool]:
    """`AutoModel.from_pretrained` arguments for a native folder: a ViT without pooler (the default `ViTModel` would
    add a randomly initialised dense+tanh pooler, reported as missing weights)."""
    return {"add_pooling_layer": False} if architecture == "vit" else {}


def native_features(model: ResNetModel | ViTModel, pixel_values: torch.Tensor) -> torch.Tensor:
    """OceanSAR's `pooler_output` (B, D) from a native model: the flattened ResNet pool, or the ViT CLS token."""
    model.eval()
    with torch.no_grad():
        outputs = model(pixel_values)
    if isinstance(model, ResNetModel):
        return outputs.pooler_output.flatten(1)
    return outputs.last_hidden_state[:, 0]


def load_oceansar(folder: Path) -> OceanSARModel:
    """The OceanSAR backbone of `folder`; a head folder or another model type is refused, naming what it holds."""
    config_file = folder / "config.json"
    try:
        config = json.loads(config_file.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ConversionError(f"{config_file}: not a readable config.json ({error}).") from error
    architectures = config.get("architectures") or []
    if config.get("model_type") != OceanSARConfig.model_type or architectures != ["OceanSARModel"]:
        raise ConversionError(
            f"{folder}: expected an OceanSAR backbone folder (model_type 'oceansar', architectures ['OceanSARModel']),"
            f" found model_type {config.get('model_type')!r}, architectures {architectures}."
        )
    return OceanSARModel.from_pretrained(folder).eval()


def convert(
    source: str | Path,
    output_dir: str | Path,
    atol: float = DEFAULT_ATOL,
    verify_size: int | None = None,
    overwrite: bool = False,
) -> float:
    """Write the native folder of `source`; returns the verified max |OceanSAR − native| feature difference.

    The verification input is `reference_input(verify_size or config.image_size)`.
    """
    destination = Path(output_dir)
    ensure_writable(destination, overwrite)
    folder = locate(source, SOURCE_FILES)
    model = load_oceansar(folder)
    native = to_native(model)
    pixel_values = reference_input(verify_size or model.config.image_size, channels=model.config.num_channels)
    with torch.no_grad():
        expected = model(pixel_values).pooler_output
    with staged_folder(destination, overwrite) as staged:
        native.save_pretrained(staged)
        if (folder / "preprocessor_config.json").is_file():
            OceanSARImageProcessor.from_pretrained(folder).save_pretrained(staged)
        else:
            print(f"note: {folder} has no preprocessor_config.json; the native folder has no image processor either.")
        # no trust_remote_code: the point of this folder
        reloaded = AutoModel.from_pretrained(staged, **native_load_kwargs(model.config.architecture))
        if type(reloaded) is not type(native) or (staged / "modeling_oceansar.py").exists():
            raise ConversionError(f"the written folder loads as {type(reloaded).__name__}, not {type(native).__name__}")
        what = f"{folder} (OceanSARModel) vs native {type(native).__name__}"
        difference = check_agreement(expected, native_features(reloaded, pixel_values), atol, what)
    return difference


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m conversion.to_transformers",
        description="Export an OceanSAR backbone folder as a plain transformers ResNetModel / ViTModel folder that "
        "loads with AutoModel.from_pretrained(folder) without trust_remote_code. Features: ResNet "
        "pooler_output.flatten(1) (native pooler is (B, 2048, 1, 1)); ViT last_hidden_state[:, 0] (no pooler).",
    )
    parser.add_argument("source", help="OceanSAR backbone folder (architectures ['OceanSARModel']) or Hub repo id")
    add_output_arguments(parser, verify_size=None)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_conversion(
        lambda: convert(args.source, args.output_dir, args.atol, args.verify_size, args.overwrite), args.output_dir
    )


if __name__ == "__main__":
    raise SystemExit(main())

# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""The released OceanSAR-1 transformers folders → OceanSAR folders.

`galeio-research/OceanSAR-1` is a plain transformers `ResNetModel` (1 input channel); `OceanSAR-1-wave` /
`OceanSAR-1-wind` are `ResNetForImageClassification` linear heads. They become an `OceanSARModel` /
`OceanSARForImageClassification` via `oceansar_hf.from_released_resnet`, checked against transformers' own ResNet
classes on the same input. The released repos ship no preprocessor config and their input normalisation is not
published, so the image processor written here is this project's default unless `--processor-config` is given.
Weights are read from `model.safetensors` only: a folder with only pickle weights (`pytorch_model.bin`) is refused
with the one-line conversion to safetensors.

    python -m conversion.from_released path/to/OceanSAR-1 exported/oceansar-1
    python -m conversion.from_released galeio-research/OceanSAR-1-wave exported/oceansar-1-wave   # needs the Hub
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from transformers import ResNetForImageClassification, ResNetModel

from oceansar_hf import OceanSARImageProcessor, from_released_resnet

from .verify import (
    DEFAULT_ATOL,
    PICKLE_SUFFIXES,
    ConversionError,
    add_output_arguments,
    add_processor_argument,
    ensure_writable,
    load_processor,
    model_outputs,
    reference_input,
    run_conversion,
    write_verified_folder,
)

RELEASED_FILES = ["config.json", "model.safetensors", "README.md"]


def locate(source: str | Path, allow_patterns: Sequence[str] = RELEASED_FILES) -> Path:
    """A local folder, or the snapshot of a Hub repo id (only the files matching `allow_patterns`: by default the
    released format's config, safetensors and card)."""
    path = Path(source)
    if path.is_dir():
        return path
    if path.exists() or str(source).count("/") != 1:
        raise ConversionError(f"{source} is neither a folder nor a Hub repo id of the form 'owner/name'.")
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(str(source), allow_patterns=list(allow_patterns)))


def refuse_pickle_weights(folder: Path) -> None:
    """Refuse a folder whose weights are only pickles (``pytorch_model.bin`` ...), saying how to make safetensors."""
    if (folder / "model.safetensors").is_file():
        return
    pickles = sorted(p.name for p in folder.iterdir() if p.name.lower().endswith(PICKLE_SUFFIXES))
    if pickles:
        raise ConversionError(
            f"{folder / pickles[0]}: pickle weights are refused (unpickling can run code); found {pickles}, expected "
            "model.safetensors. Convert them once in a trusted environment (weights_only=True loads tensors only): "
            'python -c "import torch; from safetensors.torch import save_file; save_file({k: v.contiguous() for k, v '
            f"in torch.load('{pickles[0]}', weights_only=True).items()}}, 'model.safetensors', metadata={{'format': "
            "'pt'})\" in that folder, then run this converter again."
        )


def load_released(folder: Path) -> ResNetModel | ResNetForImageClassification:
    """The released model with transformers' own classes (the verification reference), in eval mode."""
    config_file = folder / "config.json"
    if not config_file.is_file():
        raise ConversionError(f"{folder} has no config.json; expected a released transformers ResNet folder.")
    try:
        architectures = json.loads(config_file.read_text()).get("architectures") or []
    except (UnicodeDecodeError, json.JSONDecodeError, AttributeError) as error:
        raise ConversionError(f"{config_file} is not a JSON object ({error}).") from error
    cls = ResNetForImageClassification if "ResNetForImageClassification" in architectures else ResNetModel
    return cls.from_pretrained(folder).eval()


def convert(
    source: str | Path,
    output_dir: str | Path,
    processor: OceanSARImageProcessor | None = None,
    atol: float = DEFAULT_ATOL,
    verify_size: int = 256,
    overwrite: bool = False,
) -> float:
    """Convert a released base or head folder (or Hub repo id); returns the verified max abs difference."""
    ensure_writable(Path(output_dir), overwrite)
    folder = locate(source)
    refuse_pickle_weights(folder)
    try:
        model = from_released_resnet(folder)
    except (OSError, ValueError) as error:  # missing files, mismatched tensors (named in the message)
        raise ConversionError(f"{folder}: {error}") from error
    except Exception as error:  # safetensors has its own error type for truncated or garbage files
        raise ConversionError(
            f"{folder / 'model.safetensors'}: the weights are not a readable safetensors file ({error})."
        ) from error
    reference = load_released(folder)
    return write_verified_folder(
        model,
        processor or OceanSARImageProcessor(),
        output_dir,
        lambda x: model_outputs(reference, x),
        reference_input(verify_size),
        atol=atol,
        overwrite=overwrite,
        what=f"{folder} ({type(reference).__name__}) vs {type(model).__name__}",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m conversion.from_released",
        description="Convert a released OceanSAR-1 transformers folder (ResNetModel base or "
        "ResNetForImageClassification head) into an OceanSAR folder usable with trust_remote_code.",
    )
    parser.add_argument("source", help="released folder, or Hub repo id such as galeio-research/OceanSAR-1")
    add_output_arguments(parser)
    add_processor_argument(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_conversion(
        lambda: convert(
            args.source,
            args.output_dir,
            load_processor(args.processor_config),
            args.atol,
            args.verify_size,
            args.overwrite,
        ),
        args.output_dir,
    )


if __name__ == "__main__":
    raise SystemExit(main())

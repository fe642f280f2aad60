# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""This project's DINO training checkpoint → a publishable `OceanSARModel` folder.

A checkpoint is `<output_dir>/checkpoints/checkpoint-<global_step:08d>/`; its `trainer_state.json` (written last, so
its presence marks a complete checkpoint — the same rule resume applies) names in `layout` the files that hold the
student and teacher weights (keys `backbone.*` = OceanSARModel, `head.*` = DINO head, dropped here), the backbone
config and the processor config (see ARCHITECTURE.md, "Checkpoints"). Checkpoints written before the layout was
recorded (format 1) used the same file names. The teacher (EMA) backbone is exported by default, as DINO evaluates
it; `--student` exports the student instead.

    python -m conversion.from_training_checkpoint outputs/demo/checkpoints/checkpoint-00001000 exported/oceansar-demo
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import torch
from safetensors.torch import load_file

from oceansar_hf import OceanSARConfig, OceanSARImageProcessor, OceanSARModel

from .verify import (
    DEFAULT_ATOL,
    ConversionError,
    add_output_arguments,
    check_state_dict,
    ensure_writable,
    load_processor,
    reference_input,
    run_conversion,
    write_verified_folder,
)

STATE_FILE = "trainer_state.json"
FORMAT_1_LAYOUT = {
    "student": "model.safetensors",
    "teacher": "model_1.safetensors",
    "backbone_prefix": "backbone.",
    "backbone_config": "oceansar_config.json",
    "processor": "preprocessor_config.json",
}
"""The layout of checkpoints written before it was recorded in trainer_state.json."""
BRANCHES = ("teacher", "student")
MASK_TOKEN_KEY = "embeddings.mask_token"
"""iBOT's training-only mask token (ViT backbones trained with the DINOv2 recipe), dropped on conversion."""
CHECKPOINT_NAME = re.compile(r"checkpoint-(\d+)$")


def checkpoint_layout(checkpoint: Path) -> dict[str, str] | None:
    """The `layout` of a complete checkpoint, None when `checkpoint` is not one (no readable trainer_state.json)."""
    try:
        state = json.loads((checkpoint / STATE_FILE).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return state.get("layout", FORMAT_1_LAYOUT) if isinstance(state, dict) else None


def resolve_checkpoint(path: str | Path) -> tuple[Path, dict[str, str]]:
    """(checkpoint, its layout): `path` itself if it is a complete checkpoint; for a run or `checkpoints/` folder,
    its latest complete checkpoint."""
    path = Path(path)
    if not path.is_dir():
        raise ConversionError(f"{path} is not a folder; expected <output_dir>/checkpoints/checkpoint-<step>/.")
    if (layout := checkpoint_layout(path)) is not None:
        return path, layout
    if CHECKPOINT_NAME.match(path.name):
        raise ConversionError(
            f"{path} is not a complete checkpoint (no readable {STATE_FILE}: interrupted while saving?)."
        )
    parent = path / "checkpoints" if (path / "checkpoints").is_dir() else path
    steps = {int(m.group(1)): p for p in parent.iterdir() if p.is_dir() and (m := CHECKPOINT_NAME.match(p.name))}
    for step in sorted(steps, reverse=True):
        if (layout := checkpoint_layout(steps[step])) is not None:
            print(f"using the latest complete checkpoint {steps[step]}")
            return steps[step], layout
    raise ConversionError(
        f"{path} is neither a complete checkpoint (a folder with {STATE_FILE}) nor a run folder holding complete "
        f"checkpoint-<step>/ folders (found {len(steps)} checkpoint folders, none complete)."
    )


def _read_config(checkpoint: Path, layout: dict[str, str]) -> OceanSARConfig:
    path = checkpoint / layout["backbone_config"]
    if not path.is_file():
        raise ConversionError(f"{checkpoint} has no {path.name} (the backbone's OceanSARConfig).")
    try:
        values = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ConversionError(f"{path} is not valid JSON ({error}).") from error
    if not isinstance(values, dict) or values.get("model_type") != OceanSARConfig.model_type:
        raise ConversionError(f"{path} is not an OceanSARConfig (model_type must be 'oceansar').")
    try:
        return OceanSARConfig.from_dict(values)
    except (TypeError, ValueError) as error:
        raise ConversionError(f"{path}: invalid OceanSARConfig ({error}).") from error


def _read_backbone(checkpoint: Path, layout: dict[str, str], branch: str) -> dict[str, torch.Tensor]:
    path = checkpoint / layout[branch]
    if not path.is_file():
        raise ConversionError(f"{checkpoint} has no {path.name} (the {branch} weights).")
    try:
        tensors = load_file(str(path))
    except Exception as error:  # safetensors raises its own error type for truncated or garbage files
        raise ConversionError(f"{path} is not a readable safetensors file ({error}).") from error
    prefix = layout["backbone_prefix"]
    backbone = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
    backbone.pop(MASK_TOKEN_KEY, None)  # iBOT's training-only mask token: the published model has none
    if not backbone:
        raise ConversionError(
            f"{path} has no '{prefix}*' tensors (found {len(tensors)} tensors, e.g. {sorted(tensors)[:5]})."
        )
    return backbone


def load_checkpoint_backbone(checkpoint: str | Path, branch: str = "teacher") -> tuple[OceanSARModel, Path]:
    """The `branch` ("teacher" or "student") backbone of a training checkpoint, in eval mode, and the checkpoint path.

    Raises `ConversionError` for a missing/corrupt file or tensors that do not fit `oceansar_config.json`.
    """
    if branch not in BRANCHES:
        raise ValueError(f"branch must be one of {BRANCHES}, got {branch!r}.")
    checkpoint, layout = resolve_checkpoint(checkpoint)
    config = _read_config(checkpoint, layout)
    state = _read_backbone(checkpoint, layout, branch)
    model = OceanSARModel(config)
    check_state_dict(model.state_dict(), state, f"{checkpoint / layout[branch]} ({branch} backbone)")
    model.load_state_dict(state, strict=True)
    return model.eval(), checkpoint


def _read_processor(checkpoint: Path) -> OceanSARImageProcessor:
    if not (checkpoint / "preprocessor_config.json").is_file():
        raise ConversionError(f"{checkpoint} has no preprocessor_config.json (the image processor used in training).")
    return load_processor(str(checkpoint))


def convert(
    checkpoint: str | Path,
    output_dir: str | Path,
    branch: str = "teacher",
    atol: float = DEFAULT_ATOL,
    verify_size: int | None = None,
    overwrite: bool = False,
) -> float:
    """Export one backbone of a training checkpoint to `output_dir`; returns the verified max abs difference.

    `verify_size` is the side of the (2, 1, S, S) verification input (default: the config's `image_size`).
    """
    ensure_writable(Path(output_dir), overwrite)
    source, checkpoint = load_checkpoint_backbone(checkpoint, branch)
    processor = _read_processor(checkpoint)
    pixel_values = reference_input(verify_size or source.config.image_size)
    return write_verified_folder(
        source,
        processor,
        output_dir,
        lambda x: source(x).pooler_output,
        pixel_values,
        atol=atol,
        overwrite=overwrite,
        what=f"{checkpoint.name} {branch} backbone",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m conversion.from_training_checkpoint",
        description="Export the teacher (default) or student backbone of an oceansar-hf training checkpoint as an "
        "OceanSARModel folder (safetensors, config, preprocessor config, code files for trust_remote_code).",
    )
    parser.add_argument(
        "checkpoint", help="checkpoint-<step>/ folder, or a run / checkpoints/ folder (its latest checkpoint is used)"
    )
    add_output_arguments(parser, verify_size=None)
    parser.add_argument("--student", action="store_true", help="export the student backbone instead of the teacher")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    branch = "student" if args.student else "teacher"
    return run_conversion(
        lambda: convert(args.checkpoint, args.output_dir, branch, args.atol, args.verify_size, args.overwrite),
        args.output_dir,
    )


if __name__ == "__main__":
    raise SystemExit(main())

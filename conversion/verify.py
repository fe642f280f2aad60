# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""The gate every conversion passes before anything is written.

1. `check_state_dict`: the source tensors must match the target architecture key for key and shape for shape, and
   `check_input_channels`: the stem must take the verification input's channels (1: single-channel SAR);
2. the converted folder is written to a hidden temporary folder next to the destination;
3. the model reloaded from that folder and the source model run on the same seeded input (`reference_input`,
   (B, 1, S, S) standard normal) and their outputs must agree to `atol` (`check_agreement`);
4. only then is the temporary folder renamed into place (`staged_folder`), so no half-written output ever exists.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import torch
from transformers import BaseImageProcessor, PreTrainedModel

from oceansar_hf import OceanSARImageProcessor

DEFAULT_ATOL = 1e-5
"""Largest accepted absolute difference between source and converted outputs (features, logits)."""
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".pth.tar", ".joblib")
"""File names of pickled weights, which the converters and the publisher refuse to read or ship."""


class ConversionError(ValueError):
    """A source that cannot be converted: unreadable, mismatched, or whose outputs disagree after conversion."""


def reference_input(size: int, batch: int = 2, channels: int = 1, seed: int = 0) -> torch.Tensor:
    """The deterministic verification input: (batch, channels, size, size) float32 drawn from N(0, 1) with `seed`."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(batch, channels, size, size, generator=generator)


def _limited(names: list[str], limit: int = 10) -> str:
    return ", ".join(names[:limit]) + (f", ... ({len(names) - limit} more)" if len(names) > limit else "")


def check_state_dict(
    expected: Mapping[str, torch.Tensor],
    found: Mapping[str, torch.Tensor],
    what: str,
    optional: Iterable[str] = (),
) -> None:
    """Refuse `found` unless it has exactly the keys and shapes of `expected` (keys in `optional` may be missing).

    Raises `ConversionError` naming the missing, unexpected and mis-shaped tensors (first 10 of each).
    """
    optional = set(optional)
    missing = sorted(set(expected) - set(found) - optional)
    unexpected = sorted(set(found) - set(expected))
    wrong = [
        f"{k} (checkpoint {tuple(v.shape)}, model {tuple(expected[k].shape)})"
        for k, v in sorted(found.items())
        if k in expected and tuple(v.shape) != tuple(expected[k].shape)
    ]
    problems = [
        f"{len(names)} {label}: {_limited(names)}"
        for label, names in (("missing", missing), ("unexpected", unexpected), ("with wrong shapes", wrong))
        if names
    ]
    if problems:
        raise ConversionError(f"{what} does not match the target architecture; tensors " + "; ".join(problems) + ".")


def check_input_channels(model: PreTrainedModel, pixel_values: torch.Tensor, what: str) -> None:
    """Refuse a model whose stem does not take the channels of ``pixel_values`` (B, C, S, S), naming both."""
    channels = int(getattr(model.config, "num_channels", pixel_values.shape[1]))
    if channels != pixel_values.shape[1]:
        raise ConversionError(
            f"{what}: the weights' stem takes {channels}-channel images, expected {pixel_values.shape[1]}: OceanSAR "
            f"models read single-channel SAR images (B, 1, H, W), which is what OceanSARImageProcessor produces; "
            "nothing written."
        )


def model_outputs(model: PreTrainedModel, pixel_values: torch.Tensor) -> torch.Tensor:
    """What a conversion must preserve: `logits` (B, num_labels) for heads, `pooler_output` (B, D) for backbones."""
    model.eval()
    with torch.no_grad():
        outputs = model(pixel_values)
    logits = getattr(outputs, "logits", None)
    return logits if logits is not None else outputs.pooler_output.flatten(1)


def check_agreement(source: torch.Tensor, converted: torch.Tensor, atol: float = DEFAULT_ATOL, what: str = "") -> float:
    """Print and return max |source - converted|; raise `ConversionError` if it exceeds `atol` or is not finite."""
    if tuple(source.shape) != tuple(converted.shape):
        raise ConversionError(
            f"{what}: output shapes differ: source {tuple(source.shape)} vs converted {tuple(converted.shape)}."
        )
    difference = float((source.double() - converted.double()).abs().max())
    print(f"{what}: max |source - converted| = {difference:.3e} (atol {atol:g}) over outputs {tuple(source.shape)}")
    if not difference <= atol:
        raise ConversionError(
            f"{what}: converted outputs differ from the source by {difference:.3e} > atol {atol:g}; nothing written."
        )
    return difference


def ensure_writable(destination: Path, overwrite: bool) -> None:
    """Refuse an existing non-empty `destination` unless `overwrite` (checked before any expensive work)."""
    if destination.exists() and not destination.is_dir():
        raise ConversionError(f"{destination} exists and is not a folder.")
    if destination.is_dir() and any(destination.iterdir()) and not overwrite:
        raise ConversionError(f"{destination} already exists and is not empty; pass --overwrite to replace it.")


def move_into_place(staged: Path, destination: Path, overwrite: bool) -> None:
    """Rename the finished folder `staged` to `destination` (same filesystem), replacing it only if `overwrite`."""
    ensure_writable(destination, overwrite)
    old = None
    if destination.exists():
        old = destination.with_name(f".{destination.name}.old-{staged.name}")
        destination.rename(old)
    staged.rename(destination)
    if old is not None:
        shutil.rmtree(old)


@contextmanager
def staged_folder(destination: Path, overwrite: bool) -> Iterator[Path]:
    """A new hidden temporary folder beside `destination` (so the final rename stays on one filesystem), renamed into
    place when the block succeeds and removed when it raises: `destination` is either complete or untouched."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=f".{destination.name}.partial-", dir=destination.parent))
    try:
        yield staged
        move_into_place(staged, destination, overwrite)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise


def write_verified_folder(
    model: PreTrainedModel,
    processor: BaseImageProcessor,
    destination: str | Path,
    source_forward: Callable[[torch.Tensor], torch.Tensor],
    pixel_values: torch.Tensor,
    atol: float = DEFAULT_ATOL,
    overwrite: bool = False,
    what: str = "conversion",
) -> float:
    """Save `model` + `processor` (safetensors, configs, code files), reload, compare with the source, then publish.

    Args:
        model: the converted model (`OceanSARModel` or `OceanSARForImageClassification`).
        processor: the image processor to ship with it.
        destination: output folder; written atomically.
        source_forward: (B, 1, S, S) → the source model's (B, D) features or (B, num_labels) logits.
        pixel_values: the verification input, e.g. `reference_input(256)`.

    Returns:
        The max absolute difference between source outputs and those of the model reloaded from disk.
    """
    destination = Path(destination)
    ensure_writable(destination, overwrite)
    check_input_channels(model, pixel_values, what)
    try:
        with torch.no_grad():
            expected = source_forward(pixel_values)
    except RuntimeError as error:  # a shape or dtype the source model cannot take
        raise ConversionError(
            f"{what}: the source model failed on the verification input {tuple(pixel_values.shape)} ({error}); "
            "nothing written."
        ) from None
    with staged_folder(destination, overwrite) as staged:
        model.save_pretrained(staged)
        processor.save_pretrained(staged)
        reloaded = type(model).from_pretrained(staged)
        difference = check_agreement(expected, model_outputs(reloaded, pixel_values), atol, what)
    return difference


# --- command-line plumbing shared by the conversion scripts ----------------------------------------------------------


def add_output_arguments(parser: argparse.ArgumentParser, verify_size: int | None = 256) -> None:
    """Add `output_dir`, `--atol`, `--verify-size` (None: the model's `image_size`) and `--overwrite`."""
    parser.add_argument("output_dir", help="folder to write (must not exist or be empty unless --overwrite)")
    parser.add_argument("--atol", type=float, default=DEFAULT_ATOL, help="largest accepted output difference")
    parser.add_argument(
        "--verify-size",
        type=int,
        default=verify_size,
        help="side S of the seeded (2, 1, S, S) verification input"
        + (" (default: the model's image_size)" if verify_size is None else f" (default {verify_size})"),
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output folder")


def add_processor_argument(parser: argparse.ArgumentParser) -> None:
    """Add `--processor-config` (for sources that ship no image processor)."""
    parser.add_argument(
        "--processor-config",
        default=None,
        help="folder or preprocessor_config.json to ship with the model (default: OceanSARImageProcessor defaults; "
        "the OceanSAR-1 input normalisation is not published)",
    )


def load_processor(path: str | None) -> OceanSARImageProcessor:
    """The image processor from `path` (folder or JSON file), or the default one with a printed note."""
    if path is None:
        print("note: the source ships no image processor; writing OceanSARImageProcessor defaults.")
        return OceanSARImageProcessor()
    try:
        return OceanSARImageProcessor.from_pretrained(path)
    except (OSError, ValueError, TypeError) as error:
        raise ConversionError(f"{path}: not a usable OceanSAR image processor config ({error}).") from error


def run_conversion(call: Callable[[], float], output_dir: str) -> int:
    """Run a `convert(...)` call for a CLI: exit with the refusal message on `ConversionError`, else report."""
    try:
        call()
    except ConversionError as error:
        raise SystemExit(f"error: {error}") from None
    print(f"wrote {output_dir}")
    return 0

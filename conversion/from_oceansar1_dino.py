# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""The original OceanSAR-1 DINO training checkpoint (`.pth.tar`) → an `OceanSARModel` folder.

The checkpoint is a lightly-style DINO module: `student_backbone.backbone.{0,1,4,5,6,7}.*` and
`teacher_backbone.backbone.*` hold a torchvision ResNet's children (0 conv1, 1 bn1, 4-7 layer1-4; single-channel
conv1 (64, 1, 7, 7)), `student_head.*` / `teacher_head.*` the DINO heads (dropped). The teacher is exported by
default; the released `galeio-research/OceanSAR-1` weights were exported from the **student** (per the authors'
conversion notebook), so `--branch student` reproduces them.

The file is read with `torch.load(weights_only=True)`: tensors and plain containers only. A file that needs
arbitrary unpickling (e.g. it stores an `argparse.Namespace`, or a payload calling `os.system`) is refused, naming the
global it asked for, without executing it.

The converted model is checked against `TorchvisionLayoutResNet`, a reference forward pass written here in plain
torch and keyed exactly like torchvision's ResNet (v1.5: stride on the 3x3 convolution), built from the same tensors.

    python -m conversion.from_oceansar1_dino checkpoint_164.pth.tar exported/oceansar-1-teacher
"""

from __future__ import annotations

import argparse
import re
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from pickle import UnpicklingError
from typing import Any

import torch
from torch import nn

from oceansar_hf import OceanSARConfig, OceanSARImageProcessor, OceanSARModel

from .pickle_scan import pickled_globals
from .verify import (
    DEFAULT_ATOL,
    ConversionError,
    add_output_arguments,
    add_processor_argument,
    check_state_dict,
    ensure_writable,
    load_processor,
    reference_input,
    run_conversion,
    write_verified_folder,
)

BRANCHES = ("teacher", "student")
WRAPPER_KEYS = ("state_dict", "model", "model_state_dict", "student", "teacher", "module", "network")
"""Keys under which training scripts commonly nest the state dict (searched two levels deep)."""
CHILDREN = {"0": "conv1", "1": "bn1", "4": "layer1", "5": "layer2", "6": "layer3", "7": "layer4"}
"""torchvision ResNet `children()` index → attribute name (2 relu and 3 maxpool have no weights)."""
BATCH_NORM_COUNTER = "num_batches_tracked"


# --- reference implementation (torchvision layout, plain torch) ----------------------------------------------------


def _conv(in_channels: int, out_channels: int, kernel: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, kernel, stride=stride, padding=kernel // 2, bias=False)


class ReferenceBlock(nn.Module):
    """A torchvision `Bottleneck` (1x1, 3x3 with the stride, 1x1 ×4; `bottleneck=True`) or `BasicBlock` (3x3, 3x3).

    Attributes conv1/bn1/conv2/bn2[/conv3/bn3] and `downsample` = Sequential(1x1 conv, BN) when the shape changes.
    """

    def __init__(self, in_channels: int, width: int, stride: int, bottleneck: bool) -> None:
        super().__init__()
        out_channels = width * 4 if bottleneck else width
        if bottleneck:
            self.conv1, self.bn1 = _conv(in_channels, width, 1), nn.BatchNorm2d(width)
            self.conv2, self.bn2 = _conv(width, width, 3, stride), nn.BatchNorm2d(width)
            self.conv3, self.bn3 = _conv(width, out_channels, 1), nn.BatchNorm2d(out_channels)
        else:
            self.conv1, self.bn1 = _conv(in_channels, width, 3, stride), nn.BatchNorm2d(width)
            self.conv2, self.bn2 = _conv(width, width, 3), nn.BatchNorm2d(width)
        self.downsample = (
            nn.Sequential(_conv(in_channels, out_channels, 1, stride), nn.BatchNorm2d(out_channels))
            if stride != 1 or in_channels != out_channels
            else None
        )
        self.bottleneck = bottleneck

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        if self.bottleneck:
            y = self.bn3(self.conv3(torch.relu(y)))
        return torch.relu(y + (x if self.downsample is None else self.downsample(x)))


class TorchvisionLayoutResNet(nn.Module):
    """Reference ResNet backbone with torchvision's module names, ending in global average pooling.

    conv1 (7x7/2) → bn1 → relu → maxpool (3x3/2) → layer1..layer4 (stride 1, 2, 2, 2) → mean over H, W.
    (B, C, H, W) → (B, widths[-1] × 4) for bottleneck blocks, (B, widths[-1]) for basic blocks.
    """

    def __init__(
        self,
        depths: list[int],
        widths: list[int],
        bottleneck: bool = True,
        in_channels: int = 1,
        stem_channels: int = 64,
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, stem_channels, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(stem_channels)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        channels = stem_channels
        for index, (depth, width) in enumerate(zip(depths, widths, strict=True)):
            blocks = []
            for i in range(depth):
                blocks.append(ReferenceBlock(channels, width, 2 if index > 0 and i == 0 else 1, bottleneck))
                channels = width * 4 if bottleneck else width
            setattr(self, f"layer{index + 1}", nn.Sequential(*blocks))

    @classmethod
    def from_state_dict(cls, state: Mapping[str, torch.Tensor], what: str = "the backbone") -> TorchvisionLayoutResNet:
        """The architecture that `state` (torchvision names) describes, with those weights, in eval mode.

        Every tensor must be there with the right shape (`ConversionError` names the others), except BatchNorm
        `num_batches_tracked` counters (unused in eval), which are set to 0 when absent.
        """
        model = cls(**_architecture(state))
        expected = model.state_dict()
        counters = [k for k in expected if k.endswith(BATCH_NORM_COUNTER)]
        check_state_dict(expected, state, f"{what} (torchvision names)", optional=counters)
        model.load_state_dict({**{k: expected[k] for k in counters}, **state}, strict=True)
        return model.eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(torch.relu(self.bn1(self.conv1(x))))
        for index in range(1, 5):
            x = getattr(self, f"layer{index}")(x)
        return x.mean(dim=(2, 3))


def _architecture(state: Mapping[str, torch.Tensor]) -> dict[str, Any]:
    """Depths, widths, block type and stem of a torchvision-layout ResNet state dict, read from tensor shapes."""
    if "conv1.weight" not in state or state["conv1.weight"].ndim != 4:
        raise ConversionError("the backbone has no 4-D conv1.weight; not a torchvision-layout ResNet.")
    bottleneck = "layer1.0.conv3.weight" in state
    depths, widths = [], []
    for layer in range(1, 5):
        blocks = {int(m.group(1)) for k in state if (m := re.match(rf"layer{layer}\.(\d+)\.", k))}
        first_conv = f"layer{layer}.0.conv1.weight"
        if not blocks or blocks != set(range(len(blocks))) or first_conv not in state:
            raise ConversionError(
                f"the backbone's layer{layer} is missing or malformed (blocks {sorted(blocks)}, "
                f"{first_conv} {'present' if first_conv in state else 'missing'})."
            )
        depths.append(len(blocks))
        widths.append(int(state[first_conv].shape[0]))
    conv1 = state["conv1.weight"]
    return {
        "depths": depths,
        "widths": widths,
        "bottleneck": bottleneck,
        "in_channels": int(conv1.shape[1]),
        "stem_channels": int(conv1.shape[0]),
    }


# --- checkpoint reading ----------------------------------------------------------------------------------------------


def read_checkpoint(path: str | Path) -> Any:
    """`torch.load(path, map_location="cpu", weights_only=True)` with clear errors for unsafe or corrupt files.

    An unsafe file (one that pickles an object that is not a tensor or a plain container) raises `ConversionError`
    naming the global it asked for (from torch's refusal, else from `pickled_globals`); nothing of it is executed.
    """
    path = Path(path)
    if not path.is_file():
        raise ConversionError(f"{path} does not exist or is not a file.")
    try:
        with warnings.catch_warnings():  # torch's "detected pickle protocol N" advice would only add noise here
            warnings.filterwarnings("ignore", message="Detected pickle protocol", category=UserWarning)
            return torch.load(path, map_location="cpu", weights_only=True)
    except UnpicklingError as error:
        raise ConversionError(_refusal(path, str(error))) from None
    except (RuntimeError, EOFError, OSError, ValueError) as error:
        raise ConversionError(f"{path} is not a readable PyTorch checkpoint (truncated or corrupt: {error}).") from None


def _refusal(path: Path, torch_message: str) -> str:
    """What to say when torch's weights-only unpickler refused ``path``: which global, or which instruction."""
    named = re.search(r"GLOBAL ([\w.]+)", torch_message)
    unsafe = [named.group(1)] if named else [g for g in pickled_globals(path) if g.split(".")[0] != "torch"]
    unsafe = [g for g in unsafe if g != "collections.OrderedDict"]
    trusted_recipe = (
        "If you trust the file, save its tensors alone in a trusted environment, e.g. torch.save(torch.load(path, "
        "weights_only=False)['state_dict'], 'clean.pth'), and convert that."
    )
    if unsafe:
        return (
            f"{path}: refused: the checkpoint pickles {', '.join(unsafe)} which is not an allowed type (only tensors "
            f"and plain containers are loaded); it was not executed. {trusted_recipe}"
        )
    operand = re.search(r"Unsupported operand \d+", torch_message)
    detail = f": {operand.group(0)}" if operand else ""
    return (
        f"{path} is not a readable PyTorch checkpoint (corrupt, not a torch file, or a pickle that the weights-only "
        f"loader does not accept{detail}); nothing of it was executed."
    )


def _tensor_maps(obj: Any, where: str = "the file", depth: int = 2) -> Iterator[tuple[str, dict[str, torch.Tensor]]]:
    """Every mapping of tensors in `obj`: itself, then its `WRAPPER_KEYS` values, `depth` levels down."""
    if not isinstance(obj, Mapping):
        return
    tensors = {str(k): v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    if tensors:
        yield where, tensors
    if depth > 0:
        for key in WRAPPER_KEYS:
            if key in obj:
                yield from _tensor_maps(obj[key], f"{where}[{key!r}]", depth - 1)


def _torchvision_name(key: str) -> str:
    child, _, rest = key.partition(".")
    return f"{CHILDREN.get(child, child)}.{rest}"


def find_backbone(checkpoint: Any, branch: str = "teacher") -> tuple[dict[str, torch.Tensor], str]:
    """The `branch` backbone's tensors renamed to torchvision names (conv1, bn1, layer1..4), and where they were.

    Accepts the state dict at the top level or under any `WRAPPER_KEYS` entry (two levels deep), with any one outer
    prefix before `<branch>_backbone.backbone.` (DistributedDataParallel's `module.`, Lightning's `model.`, ...).
    """
    if branch not in BRANCHES:
        raise ValueError(f"branch must be one of {BRANCHES}, got {branch!r}.")
    marker = f"{branch}_backbone.backbone."
    searched = []
    for where, tensors in _tensor_maps(checkpoint):
        backbone, prefixes = {}, set()
        for key, value in tensors.items():
            outer, found, name = key.partition(marker)
            if found:
                backbone[_torchvision_name(name)] = value
                prefixes.add(outer)
        searched.append(f"{where} ({len(tensors)} tensors, e.g. {sorted(tensors)[:3]})")
        if len(prefixes) > 1:
            raise ConversionError(f"'{marker}*' tensors in {where} sit under several prefixes {sorted(prefixes)}.")
        if backbone:
            (outer,) = prefixes
            groups = sorted({k[len(outer) :].split(".", 1)[0] for k in tensors if k.startswith(outer)})
            return backbone, (
                f"{len(backbone)} {branch} backbone tensors in {where} under prefix {outer + marker!r} "
                f"(groups there: {groups})"
            )
    top = sorted(map(str, checkpoint))[:20] if isinstance(checkpoint, Mapping) else type(checkpoint).__name__
    raise ConversionError(
        f"no '*{marker}*' tensors found. Top-level entries: {top}; tensor maps searched: {searched or 'none'}."
    )


# --- key mapping -----------------------------------------------------------------------------------------------------

_BLOCK = re.compile(r"layer(\d)\.(\d+)\.(conv|bn)(\d)\.(.+)")
_DOWNSAMPLE = re.compile(r"layer(\d)\.(\d+)\.downsample\.([01])\.(.+)")


def to_oceansar_key(name: str) -> str:
    """torchvision ResNet tensor name → `OceanSARModel` (transformers `ResNetModel`) tensor name.

    conv1 → embedder.embedder.convolution; bn1 → embedder.embedder.normalization;
    layer{L}.{i}.conv{j}/bn{j} → encoder.stages.{L-1}.layers.{i}.layer.{j-1}.convolution/normalization;
    layer{L}.{i}.downsample.{0,1} → encoder.stages.{L-1}.layers.{i}.shortcut.convolution/normalization.
    Other names are returned unchanged (and then reported as unexpected).
    """
    kind = {"conv": "convolution", "bn": "normalization", "0": "convolution", "1": "normalization"}
    stem, _, rest = name.partition(".")
    if stem in ("conv1", "bn1"):
        return f"embedder.embedder.{kind[stem[:-1]]}.{rest}"
    if match := _BLOCK.fullmatch(name):
        layer, block, module, index, leaf = match.groups()
        return f"encoder.stages.{int(layer) - 1}.layers.{block}.layer.{int(index) - 1}.{kind[module]}.{leaf}"
    if match := _DOWNSAMPLE.fullmatch(name):
        layer, block, index, leaf = match.groups()
        return f"encoder.stages.{int(layer) - 1}.layers.{block}.shortcut.{kind[index]}.{leaf}"
    return name


def oceansar_config(backbone: Mapping[str, torch.Tensor], image_size: int = 256) -> OceanSARConfig:
    """The `OceanSARConfig` of a torchvision-layout ResNet state dict (ResNet50 for the OceanSAR-1 checkpoint)."""
    arch = _architecture(backbone)
    expansion = 4 if arch["bottleneck"] else 1
    return OceanSARConfig(
        backbone="resnet50",
        num_channels=arch["in_channels"],
        image_size=image_size,
        embedding_size=arch["stem_channels"],
        hidden_sizes=[w * expansion for w in arch["widths"]],
        depths=arch["depths"],
        layer_type="bottleneck" if arch["bottleneck"] else "basic",
    )


def to_oceansar(backbone: Mapping[str, torch.Tensor], image_size: int = 256) -> OceanSARModel:
    """An `OceanSARModel` holding the torchvision-layout `backbone` tensors (checked key by key and shape by shape).

    BatchNorm `num_batches_tracked` counters (unused in eval) may be absent; they are then set to 0.
    """
    model = OceanSARModel(oceansar_config(backbone, image_size))
    renamed = {to_oceansar_key(k): v for k, v in backbone.items()}
    expected = model.state_dict()
    optional = [k for k in expected if k.endswith(BATCH_NORM_COUNTER)]
    check_state_dict(expected, renamed, "the torchvision-layout backbone", optional=optional)
    model.load_state_dict({**{k: expected[k] for k in optional}, **renamed}, strict=True)
    return model.eval()


def convert(
    checkpoint: str | Path,
    output_dir: str | Path,
    branch: str = "teacher",
    processor: OceanSARImageProcessor | None = None,
    atol: float = DEFAULT_ATOL,
    verify_size: int = 256,
    overwrite: bool = False,
) -> float:
    """Convert one backbone of an OceanSAR-1 DINO checkpoint; returns the verified max abs difference."""
    ensure_writable(Path(output_dir), overwrite)
    backbone, found = find_backbone(read_checkpoint(checkpoint), branch)
    print(f"found {found}")
    reference = TorchvisionLayoutResNet.from_state_dict(backbone, f"the {branch} backbone")
    model = to_oceansar(backbone)
    return write_verified_folder(
        model,
        processor or OceanSARImageProcessor(),
        output_dir,
        reference,
        reference_input(verify_size),
        atol=atol,
        overwrite=overwrite,
        what=f"{checkpoint}: OceanSAR-1 {branch} backbone vs torchvision-layout reference",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m conversion.from_oceansar1_dino",
        description="Convert the original OceanSAR-1 DINO training checkpoint (.pth.tar, torchvision ResNet50 "
        "backbones) into an OceanSARModel folder. Exports the teacher by default; the released HF weights were "
        "exported from the student (--branch student reproduces them).",
    )
    parser.add_argument("checkpoint", help="the .pth.tar file (loaded with weights_only=True)")
    add_output_arguments(parser)
    parser.add_argument("--branch", choices=BRANCHES, default="teacher", help="which backbone to export")
    add_processor_argument(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_conversion(
        lambda: convert(
            args.checkpoint,
            args.output_dir,
            args.branch,
            load_processor(args.processor_config),
            args.atol,
            args.verify_size,
            args.overwrite,
        ),
        args.output_dir,
    )


if __name__ == "__main__":
    raise SystemExit(main())

# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""The YAML configs shipped with the package: pretraining recipes (`demo`, `resnet50`, `vit_*`, ...) and Accelerate
launcher configs (`accelerate/multi_cpu`). `--config NAME` finds them here; `python -m training.configs` (console
script `oceansar-configs`) lists them with their paths, e.g. for `accelerate launch --config_file`:

    accelerate launch --config_file "$(oceansar-configs --path accelerate/multi_cpu)" -m oceansar_training.pretrain \\
        --config demo
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

CONFIG_DIR = Path(__file__).resolve().parent


def shipped_configs() -> dict[str, Path]:
    """{name: path} of every shipped YAML config (`demo`, `accelerate/multi_cpu`, ...)."""
    return {str(p.relative_to(CONFIG_DIR).with_suffix("")): p for p in sorted(CONFIG_DIR.rglob("*.yaml"))}


def resolve_config_path(name_or_path: str) -> Path:
    """A YAML config by path, or by the name of a shipped config (`demo` → `<package>/configs/demo.yaml`)."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    shipped = shipped_configs()
    if name_or_path in shipped:
        return shipped[name_or_path]
    raise FileNotFoundError(
        f"--config {name_or_path!r}: no such file, and not the name of a shipped config (shipped: {', '.join(shipped)})"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m training.configs", description="List the configs shipped with oceansar-hf, or print one's path."
    )
    parser.add_argument(
        "--path", metavar="NAME", help="print the path of this config (e.g. demo, accelerate/multi_cpu)"
    )
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.path:
        print(resolve_config_path(args.path))
        return 0
    for name, path in shipped_configs().items():
        print(f"{name:28s} {path}")
    return 0

# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Inference options against transformers' plain fp32 model, and the embed job against the model forward alone.

For each backbone (ResNet50 against `ResNetModel`, ViT-S/16 against `ViTModel`, the same weights), the same batch of
real WV quicklooks (processed to 256 px) goes through the reference in float32 and through `OceanSARModel` under each
`oceansar_hf.inference.InferenceOptions` variant, in alternation, in this one process. Printed: images/s (best of the
repeats), the ratio to the reference, and the lowest cosine of the pooled features to the float32 reference features.
Then the embed job end to end (reading + processing + model + writing parquet shards) on a synthetic archive, against
the default variant's forward alone; and this CPU's fp32 / bf16 matmul limit (GFLOP/s of a large GEMM).

    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 python benchmarks/bench_inference.py
    python benchmarks/bench_inference.py --backbones resnet50 --repeats 3 --compile   # also time torch.compile
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from bench_feature_extraction import reference_model
from PIL import Image

from oceansar_hf import OceanSARConfig, OceanSARImageProcessor, OceanSARModel
from oceansar_hf.inference import InferenceOptions, prepare_for_inference

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from training.config import DataArguments  # noqa: E402
from training.data import SyntheticArchiveConfig  # noqa: E402
from training.embed import EmbedArguments, embed  # noqa: E402

QUICKLOOKS = REPO / "tests" / "data" / "s1-wv-quicklooks"


def gemm_limit(dtype: torch.dtype, side: int = 2048, repeats: int = 3) -> float:
    """GFLOP/s of a (side × side) @ (side × side) matmul in `dtype` (best of `repeats`)."""
    a, b = torch.randn(side, side, dtype=dtype), torch.randn(side, side, dtype=dtype)
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(repeats))
    return 2 * side**3 / best / 1e9


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def quicklook_batch(batch_size: int, side: int) -> torch.Tensor:
    arrays = [np.asarray(Image.open(p).convert("L")) for p in sorted(QUICKLOOKS.glob("*.png"))]
    processor = OceanSARImageProcessor(nodata_value=0, size=side).fit_normalization(arrays)
    pixels = processor(arrays, return_tensors="pt")["pixel_values"]
    return pixels[torch.arange(batch_size) % len(arrays)]


def variants(architecture: str, with_compile: bool) -> dict[str, InferenceOptions]:
    base = InferenceOptions(dtype="float32")
    found = {
        "float32": base,
        "bfloat16 autocast": replace(base, dtype="bfloat16", autocast=True),
        "bfloat16 cast": replace(base, dtype="bfloat16", autocast=False),
    }
    if architecture == "resnet":
        found |= {
            "float32 no channels-last": replace(base, channels_last=False),
            "float32 fuse": replace(base, fuse=True),
            "bfloat16 autocast fuse": replace(base, dtype="bfloat16", autocast=True, fuse=True),
            "bfloat16 cast fuse": replace(base, dtype="bfloat16", autocast=False, fuse=True),
        }
    if with_compile:
        found["bfloat16 cast compile"] = replace(base, dtype="bfloat16", autocast=False, compile=True)
    found["default"] = InferenceOptions()
    return found


def bench_backbone(backbone: str, batch: torch.Tensor, repeats: int, with_compile: bool) -> float:
    """Prints the table of one backbone; returns the default variant's images/s."""
    torch.manual_seed(0)
    side = batch.shape[-1]
    ours = OceanSARModel(OceanSARConfig(backbone=backbone, image_size=side)).eval()
    reference = reference_model(ours)
    runners = {
        name: prepare_for_inference(ours, options)
        for name, options in variants(ours.config.architecture, with_compile).items()
    }

    def pooled(model, name):
        out = model(pixel_values=batch)
        return (
            (out.pooler_output if name != "reference" or out.pooler_output is not None else out.last_hidden_state[:, 0])
            .flatten(1)
            .float()
        )

    times: dict[str, list[float]] = {"reference": []} | {name: [] for name in runners}
    cosine: dict[str, float] = {}
    with torch.inference_mode():
        expected = pooled(reference, "reference")
        for name, runner in runners.items():  # warm-up (and compilation)
            cosine[name] = float(torch.nn.functional.cosine_similarity(pooled(runner, name), expected).min())
        for _ in range(repeats):
            times["reference"].append(_timed(lambda: pooled(reference, "reference")))
            for name, runner in runners.items():
                times[name].append(_timed(lambda runner=runner, name=name: pooled(runner, name)))
    ips = {name: len(batch) / min(values) for name, values in times.items()}
    kind = "ResNetModel" if ours.config.architecture == "resnet" else "ViTModel"
    print(f"\n{backbone} @ {side}px, batch {len(batch)} real quicklooks, best of {repeats}")
    print(f"  {'variant':44s} {'images/s':>9s} {'× ref':>6s} {'min cosine to fp32':>19s}")
    print(f"  {'transformers ' + kind + ' fp32 (reference)':44s} {ips['reference']:9.2f} {1.0:6.2f} {1.0:19.6f}")
    for name in runners:
        print(
            f"  {'OceanSARModel ' + name:44s} {ips[name]:9.2f} {ips[name] / ips['reference']:6.2f} {cosine[name]:19.6f}"
        )
    return ips["default"]


def bench_embed_job(backbone: str, side: int, count: int, batch_size: int, forward_ips: float) -> None:
    with tempfile.TemporaryDirectory() as folder:
        args = EmbedArguments(
            model=f"random:{backbone}", output=folder, batch_size=batch_size, shard_size=batch_size * 2, input_size=side
        )
        data = DataArguments(dataset="synthetic", num_workers=1)
        start = time.perf_counter()
        embed(args, InferenceOptions(), data, SyntheticArchiveConfig(num_samples=count, image_size=side))
        seconds = time.perf_counter() - start
    print(f"\nembed job end to end, {backbone}, {count} synthetic {side}px vignettes, batch {batch_size}, 1 worker:")
    print(f"  {count / seconds:.2f} images/s (model load, rendering, processing, forward, parquet writing)")
    print(
        f"  model forward alone (default variant): {forward_ips:.2f} images/s → "
        f"data path share {1 - count / seconds / forward_ips:.0%}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbones", nargs="+", default=["resnet50", "vit_small_patch16"])
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--image-size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--compile", action="store_true", help="also time torch.compile (minutes of compilation)")
    parser.add_argument("--embed-samples", type=int, default=64, help="archive size of the embed-job run (0: skip)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    allocator = "tcmalloc" if "tcmalloc" in os.environ.get("LD_PRELOAD", "") else "glibc malloc"
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else platform.processor() or platform.machine()
    print(f"machine: {device}, {os.cpu_count()} cores, torch {torch.__version__}, {args.threads} threads, {allocator}")
    print("load:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    print(
        f"GEMM limit (2048³): fp32 {gemm_limit(torch.float32):.0f} GFLOP/s, "
        f"bf16 {gemm_limit(torch.bfloat16):.0f} GFLOP/s"
    )
    batch = quicklook_batch(args.batch_size, args.image_size)
    forward = {name: bench_backbone(name, batch, args.repeats, args.compile) for name in args.backbones}
    if args.embed_samples:
        first = args.backbones[0]
        bench_embed_job(first, args.image_size, args.embed_samples, args.batch_size, forward[first])
    print("\nload after:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()

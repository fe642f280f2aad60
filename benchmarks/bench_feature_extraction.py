# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Feature-extraction throughput: OceanSARModel against transformers' ResNetModel / ViTModel with the same weights.

Both models get the same weights and the same inputs in the same run, timed in alternation; the script prints
images/s for each and the ratio ours / reference (> 1 means ours is faster). Run under the same allocator for both
(e.g. `LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4`).

    python benchmarks/bench_feature_extraction.py --backbone resnet50 --batch-size 16 --image-size 256
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import torch
from transformers import ResNetConfig, ResNetModel, ViTConfig, ViTModel

from oceansar_hf import OceanSARConfig, OceanSARModel


def reference_model(ours: OceanSARModel) -> torch.nn.Module:
    """The plain transformers model with our weights (the keys are identical by construction)."""
    c = ours.config
    if c.architecture == "resnet":
        ref = ResNetModel(
            ResNetConfig(
                num_channels=c.num_channels,
                embedding_size=c.embedding_size,
                hidden_sizes=c.hidden_sizes,
                depths=c.depths,
                layer_type=c.layer_type,
            )
        )
    else:
        ref = ViTModel(
            ViTConfig(
                hidden_size=c.hidden_size,
                num_hidden_layers=c.num_hidden_layers,
                num_attention_heads=c.num_attention_heads,
                intermediate_size=c.intermediate_size,
                image_size=c.image_size,
                patch_size=c.patch_size,
                num_channels=c.num_channels,
                layer_norm_eps=c.layer_norm_eps,
            ),
            add_pooling_layer=False,
        )
    ref.load_state_dict(ours.state_dict(), strict=True)
    return ref.eval()


def features(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    out = model(x)
    pooled = out.pooler_output if out.pooler_output is not None else out.last_hidden_state[:, 0]
    return pooled.flatten(1)


def time_once(model: torch.nn.Module, x: torch.Tensor) -> float:
    start = time.perf_counter()
    features(model, x)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbone", default="resnet50")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--image-size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5, help="timed batches per model (after one warm-up)")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    ours = OceanSARModel(OceanSARConfig(backbone=args.backbone, image_size=args.image_size)).eval()
    ref = reference_model(ours)
    x = torch.randn(args.batch_size, 1, args.image_size, args.image_size)
    with torch.inference_mode():
        torch.testing.assert_close(features(ours, x), features(ref, x), atol=1e-4, rtol=1e-4)
        times = {"ours": [], "ref": []}
        for _ in range(args.repeats):
            times["ref"].append(time_once(ref, x))
            times["ours"].append(time_once(ours, x))
    ours_ips = args.batch_size / min(times["ours"])
    ref_ips = args.batch_size / min(times["ref"])
    reference = "ResNetModel" if ours.config.architecture == "resnet" else "ViTModel"
    allocator = "tcmalloc" if "tcmalloc" in os.environ.get("LD_PRELOAD", "") else "glibc malloc"
    print(
        f"machine: {platform.machine()} {os.cpu_count()} cores, torch {torch.__version__}, {args.threads} threads, "
        f"{allocator}"
    )
    print(f"{args.backbone} batch {args.batch_size} @ {args.image_size}px (best of {args.repeats})")
    print(f"  OceanSARModel      : {ours_ips:8.1f} images/s")
    print(f"  transformers {reference:11s}: {ref_ips:8.1f} images/s")
    print(f"  ratio ours/reference: {ours_ips / ref_ips:.2f}x")


if __name__ == "__main__":
    main()

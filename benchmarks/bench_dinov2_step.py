# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Cost of the DINOv2 recipe's terms: one training step of the recipe against the plain DINO step, same ViT, same run.

Every arm is the trainer's own step (`Trainer._train_step`: multi-crop, forwards, loss, backward, clipping, optimiser,
EMA) on the same processed batch and the same initial weights (same seed), each in its own fresh process so that its
peak memory (RSS, `resource.getrusage`) is its own. Arms: plain DINO; DINO plus one added option at a time (KoLeo,
iBOT with a shared head, iBOT with a separate head, Sinkhorn-Knopp centering, layer-wise lr decay + drop path); the
full recipe. Every arm runs `--repeats` times, alternating the order of arms, and the best images/s is kept (the
machine is shared). The mask generation of iBOT (CPU, numpy) is also timed alone.

    PYTHONPATH=. python benchmarks/bench_dinov2_step.py [--config demo_dinov2] [--batch-size 32] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time

import numpy as np
import torch

PLAIN = {"ibot_loss_weight": 0.0, "koleo_weight": 0.0, "centering": "ema", "layer_decay": 1.0}
PLAIN |= {"patch_embed_lr_mult": 1.0, "drop_path_rate": 0.0, "ibot_separate_head": False}
ARMS: dict[str, dict] = {
    "DINO": {},
    "+ KoLeo": {"koleo_weight": 0.1},
    "+ iBOT (shared head)": {"ibot_loss_weight": 1.0},
    "+ iBOT (separate head)": {"ibot_loss_weight": 1.0, "ibot_separate_head": True},
    "+ Sinkhorn-Knopp": {"centering": "sinkhorn_knopp"},
    "+ layer decay, drop path": {"layer_decay": 0.9, "patch_embed_lr_mult": 0.2, "drop_path_rate": 0.1},
    "full recipe": {
        "koleo_weight": 0.1,
        "ibot_loss_weight": 1.0,
        "centering": "sinkhorn_knopp",
        "layer_decay": 0.9,
        "patch_embed_lr_mult": 0.2,
        "drop_path_rate": 0.1,
    },
}


def _flags(values: dict) -> list[str]:
    return [token for key, value in values.items() for token in (f"--{key}", str(value))]


def measure(arm: str, config: str, steps: int, batch_size: int) -> dict:
    from training.config import parse_config
    from training.data import collate_samples
    from training.inputs import ModelInputs
    from training.trainer import Trainer

    argv = ["--config", config, "--output_dir", "/tmp/bench_dinov2_step", "--report_to", "none", "--seed", "0"]
    argv += ["--batch_size", str(batch_size), "--image_mean", "30", "--image_std", "6"]
    trainer = Trainer(parse_config([*argv, *_flags(PLAIN | ARMS[arm])]), [])
    inputs = ModelInputs(trainer.dataset, trainer.processor)
    images = collate_samples([inputs[i] for i in range(batch_size)])["pixel_values"]
    times = []
    for step in range(steps + 1):  # the first step is a warm-up
        start = time.perf_counter()
        trainer._train_step(images, step)
        times.append(time.perf_counter() - start)
    result = {"images_per_s": batch_size / (sum(times[1:]) / steps)}
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if trainer.masking is not None:
        start = time.perf_counter()
        for step in range(20):
            trainer.masking(2 * batch_size, np.random.default_rng(step))
        result["masks_ms"] = (time.perf_counter() - start) / 20 * 1000
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="demo_dinov2", help="a shipped config name or a YAML path")
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--worker", choices=list(ARMS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(measure(args.worker, args.config, args.steps, args.batch_size)))
        return
    from tqdm.auto import tqdm

    results: dict[str, list[dict]] = {arm: [] for arm in ARMS}
    order = [arms for r in range(args.repeats) for arms in (list(ARMS) if r % 2 == 0 else list(ARMS)[::-1])]
    for arm in tqdm(order, desc="arms"):
        cmd = [sys.executable, __file__, "--worker", arm, "--config", args.config, "--steps", str(args.steps)]
        cmd += ["--batch-size", str(args.batch_size)]
        env = {**os.environ, "PYTHONWARNINGS": "ignore", "HF_HUB_OFFLINE": "1"}
        out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
        results[arm].append(json.loads(out.stdout.strip().splitlines()[-1]))
    load = os.getloadavg()
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, torch {torch.__version__}, load {load[0]:.2f}")
    print(f"config {args.config}, batch {args.batch_size}, {args.steps} timed steps, best of {args.repeats}")
    base = max(r["images_per_s"] for r in results["DINO"])
    print("| arm | images/s | step time vs DINO | peak RSS (MiB) | masks (ms/step) |\n|---|---|---|---|---|")
    for arm, runs in results.items():
        speed = max(r["images_per_s"] for r in runs)
        rss = min(r["peak_rss_mib"] for r in runs)
        masks = f"{min(r['masks_ms'] for r in runs):.1f}" if "masks_ms" in runs[0] else "–"
        print(f"| {arm} | {speed:.1f} | {base / speed:.2f}× | {rss:.0f} | {masks} |")


if __name__ == "__main__":
    main()

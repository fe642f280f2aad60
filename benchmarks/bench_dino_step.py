# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Images/s of one DINO training step: the project's trainer step against a minimal straightforward loop.

Both train the same backbone (same initial weights) on the same processed batch, in the same run:

- ours: `Trainer._train_step` — batched multi-crop on tensors, one backbone forward per crop resolution,
  channels-last ResNet, fused (foreach) EMA, vectorised loss;
- reference: a plain loop written the obvious way — per-image crops (slice + `F.interpolate` per image), one
  backbone forward per crop, the DINO loss as a double loop over crop pairs, a Python-loop EMA over parameters.

Peak memory (RSS) of each is measured in its own subprocess. Prints images/s for both and the ratio.

    python benchmarks/bench_dino_step.py [--config training/configs/demo.yaml] [--steps 5]
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

import torch
import torch.nn.functional as F


def reference_step(trainer, images: torch.Tensor, generator: torch.Generator) -> None:
    """The straightforward DINO step (same model, optimiser, loss definition and crop sizes)."""
    aug = trainer.config.augment
    student, teacher, optimizer = trainer.student, trainer.teacher, trainer.optimizer

    def crop(image: torch.Tensor, size: int, scale: tuple[float, float]) -> torch.Tensor:
        side = image.shape[-1]
        frac = float(torch.empty(1).uniform_(*scale, generator=generator)) ** 0.5
        box = max(4, int(side * frac))
        top, left = (int(torch.randint(0, side - box + 1, (1,), generator=generator)) for _ in range(2))
        patch = image[:, top : top + box, left : left + box]
        if torch.rand(1, generator=generator) < 0.5:
            patch = patch.flip(-1)
        return F.interpolate(patch[None], size=(size, size), mode="bilinear", align_corners=False)[0]

    views = [(aug.global_crop_size, aug.global_crop_scale)] * 2
    views += [(aug.local_crop_size, aug.local_crop_scale)] * aug.num_local_crops
    crops = [torch.stack([crop(img, size, scale) for img in images]) for size, scale in views]
    with torch.no_grad():
        teacher_out = [teacher([c]) for c in crops[:2]]
    student_out = [student([c]) for c in crops]
    center, loss, pairs = trainer.criterion.center, 0.0, 0
    for i, t in enumerate(teacher_out):
        p_t = F.softmax((t - center) / 0.04, dim=-1)
        for v, s in enumerate(student_out):
            if v != i:
                loss = loss + torch.sum(-p_t * F.log_softmax(s / 0.1, dim=-1), dim=-1).mean()
                pairs += 1
    (loss / pairs).backward()
    optimizer.step()
    optimizer.zero_grad()
    with torch.no_grad():
        for p_s, p_t in zip(student.parameters(), teacher.parameters(), strict=True):
            p_t.mul_(0.996).add_(p_s.detach(), alpha=0.004)


def measure(kind: str, config_path: str, steps: int, batch_size: int) -> dict:
    from training.config import parse_config
    from training.data import collate_samples
    from training.inputs import ModelInputs
    from training.trainer import Trainer

    argv = ["--config", config_path, "--output_dir", "/tmp/bench_dino_step", "--report_to", "none"]
    argv += ["--batch_size", str(batch_size), "--image_mean", "30", "--image_std", "6"]
    trainer = Trainer(parse_config(argv), [])
    if kind == "reference":  # the straightforward loop does not use channels-last
        trainer.teacher_backbone.config.channels_last = False
        trainer.accelerator.unwrap_model(trainer.student).backbone.config.channels_last = False
        trainer.student.to(memory_format=torch.contiguous_format)
        trainer.teacher.to(memory_format=torch.contiguous_format)
    inputs = ModelInputs(trainer.dataset, trainer.processor)
    images = collate_samples([inputs[i] for i in range(batch_size)])["pixel_values"]
    generator = torch.Generator().manual_seed(0)
    times = []
    for step in range(steps + 1):  # first step is warm-up
        start = time.perf_counter()
        if kind == "ours":
            trainer._train_step(images, step)
        else:
            reference_step(trainer, images, generator)
        times.append(time.perf_counter() - start)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"images_per_s": batch_size / (sum(times[1:]) / steps), "peak_rss_mib": peak_mib}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="training/configs/demo.yaml")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--worker", choices=["ours", "reference"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(measure(args.worker, args.config, args.steps, args.batch_size)))
        return
    results = {}
    for kind in ("reference", "ours"):
        cmd = [sys.executable, __file__, "--worker", kind, "--config", args.config, "--steps", str(args.steps)]
        cmd += ["--batch-size", str(args.batch_size)]
        out = subprocess.run(
            cmd, capture_output=True, text=True, check=True, env={**os.environ, "PYTHONWARNINGS": "ignore"}
        )
        results[kind] = json.loads(out.stdout.strip().splitlines()[-1])
    allocator = "tcmalloc" if "tcmalloc" in os.environ.get("LD_PRELOAD", "") else "glibc malloc"
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, torch {torch.__version__}, {allocator}")
    print(f"config {args.config}, batch {args.batch_size}, {args.steps} timed steps each")
    for kind in ("ours", "reference"):
        r = results[kind]
        print(f"  {kind:9s}: {r['images_per_s']:7.1f} images/s   peak RSS {r['peak_rss_mib']:7.0f} MiB")
    print(f"  ratio ours/reference: {results['ours']['images_per_s'] / results['reference']['images_per_s']:.2f}x")


if __name__ == "__main__":
    main()

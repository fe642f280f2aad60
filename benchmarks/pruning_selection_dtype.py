# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Does a pruning round select the same samples when its embedding pass runs in bf16? (`--pruning_embed_dtype`)

Embeds a synthetic archive with one backbone in float32 and under bf16 autocast (what `pruning_embed_dtype: bfloat16`
does), runs the same seeded selection (`select_from_archive`) on both, and prints the features' lowest cosine and how
many selected samples the two selections share, next to what two independent random draws of that size share.

    PYTHONPATH=. python benchmarks/pruning_selection_dtype.py
"""

from __future__ import annotations

import argparse

import torch

from oceansar_hf import OceanSARConfig, OceanSARImageProcessor, OceanSARModel
from oceansar_hf.inference import InferenceModel
from training.data import SyntheticArchiveConfig, SyntheticWVArchive
from training.features import extract_features
from training.pruning.sampling import SelectionConfig, select_from_archive


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=1200)
    parser.add_argument("--backbone", default="resnet_tiny")
    args = parser.parse_args()
    torch.manual_seed(0)
    archive = SyntheticWVArchive(SyntheticArchiveConfig(num_samples=args.samples, image_size=64))
    processor = OceanSARImageProcessor(size=64)
    model = OceanSARModel(OceanSARConfig(backbone=args.backbone, image_size=64)).eval()
    passes = {
        name: extract_features(runner, archive, processor=processor, batch_size=128, progress=False)
        for name, runner in (("float32", model), ("bfloat16", InferenceModel(model, torch.bfloat16)))
    }
    cosine = torch.nn.functional.cosine_similarity(passes["float32"].features, passes["bfloat16"].features).min()
    config = SelectionConfig(rho=0.25, clusters=[24, 6], sample_size=[4, 2], resampling_steps=[2, 2])
    chosen = {
        name: set(select_from_archive(f.features, f.indices.numpy(), len(archive), config, seed=0).indices.tolist())
        for name, f in passes.items()
    }
    size = len(chosen["float32"])
    shared = len(chosen["float32"] & chosen["bfloat16"])
    print(f"{args.backbone}, random init, {args.samples} synthetic vignettes, rho 0.25")
    print(f"features: lowest cosine bf16 vs float32 {float(cosine):.6f}")
    chance = size * size / args.samples
    print(f"selections of {size}: {shared} shared (two independent random draws share {chance:.0f})")


if __name__ == "__main__":
    main()

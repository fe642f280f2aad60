#!/usr/bin/env bash
# The pruning experiment at GPU scale (prepared, not yet run): the same six arms and statistics as the CPU version
# (benchmarks/pruning_experiment.py, training/configs/pruning_experiment.yaml: 90 % near-duplicates, one rendering
# recipe), with a ResNet50 on 128-px vignettes, a 200,000-image archive (near-duplicates of 16 open-ocean scenes),
# 3,000 steps of 256 images per arm (768,000 images seen, ~4 passes), 5 seeds and larger probe splits; each pruning
# round (every 5 epochs) embeds a pool U of 100,000 images (5·ρ·N; the CPU version embeds the whole archive).
# Expected cost on one H100/H200-class GPU with 16 CPU cores rendering the synthetic archive (an estimate, not
# measured): about 1 h per arm, rendering-bound (training plus ~600,000 embedded images), ~30 h for 6 arms x 5 seeds;
# pass --seeds / --arms to split it into jobs (each writes its run folders; a final --reuse run re-probes them all
# and writes the combined table).
#
#   bash benchmarks/pruning_experiment_gpu.sh                 # everything
#   bash benchmarks/pruning_experiment_gpu.sh --seeds 0       # one seed (then: ... --seeds 0 1 2 3 4 --reuse)
set -euo pipefail
cd "$(dirname "$0")/.."
python -m benchmarks.pruning_experiment \
  --output-dir outputs/pruning_experiment_gpu \
  --results benchmarks/results/pruning_experiment_gpu.json \
  --figure benchmarks/figures/pruning_experiment_gpu.png \
  --seeds 0 1 2 3 4 \
  --eval-per-class 200 50 100 \
  --set backbone=resnet50 input_size=128 synthetic_image_size=128 synthetic_num_samples=200000 \
        synthetic_redundancy_bases=16 global_crop_size=128 local_crop_size=64 num_local_crops=6 \
        out_dim=8192 hidden_dim=2048 bottleneck_dim=256 lr=0.002 batch_size=256 epochs=30 steps_per_epoch=100 \
        num_workers=14 fit_normalization_samples=1024 pruning_clusters=500,50 pruning_sample_size=20,5 \
        pruning_batch_size=512 pruning_subset_size=100000 pruning_every_epochs=5 \
        mixed_precision=auto \
  "$@"

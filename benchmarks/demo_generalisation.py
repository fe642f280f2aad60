# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Do a model's features carry the phenomena, or the training generator's fingerprints?

For one model folder, against the same architecture with random weights and against a hand-crafted spectral baseline
(`training.probes.baseline`: radial power spectrum + dB statistics), on frozen features:

(a) the synthetic archive's class-balanced test set (10 TenGeoP classes, rendered like the demo's training archive,
    seeds distinct from it): weighted k-NN (k = 20, T = 0.07; bank = a class-balanced train split) and logistic probe
    accuracy (weight decay chosen on a validation split);
(b) an independent rendering of 6 phenomena (`tests/data/independent_render.py`: separate code and choices, 40 m
    pixels): the same two probes, trained and tested on it;
(c) the 15 real Sentinel-1 WV quicklooks (`tests/data/s1-wv-quicklooks`, WV-Net's multi-labels): triplet accuracy,
    the share of (anchor, positive, negative) triplets in which the anchor is more similar (cosine) to an image
    sharing one of its phenomenon labels than to one sharing none (0.5 = chance). Each quicklook is resized to
    256 px (about 80 m pixels) and embedded as the mean feature of its 16 tiles of 64 px.

    python -m benchmarks.demo_generalisation --model outputs/demo/final_model

Writes `benchmarks/results/demo_generalisation.json` and prints a markdown table.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from training.data import SyntheticArchiveConfig, balanced_split
from training.data.synthetic import NUM_CLASSES
from training.features import extract_features
from training.probes import fit_logistic_probe, knn_classify
from training.probes.baseline import dataset_features, spectral_features
from training.probes.models import load_backbone

ROOT = Path(__file__).resolve().parents[1]
QUICKLOOKS = ROOT / "tests" / "data" / "s1-wv-quicklooks"
QUICKLOOK_CODES = ("WS", "MC", "RC", "BS", "OF", "IW", "SI", "IB", "LW")
"""WV-Net label codes whose meaning is known (tests/data/s1-wv-quicklooks/README.md); the others are ignored."""
QUICKLOOK_SIDE, TILE = 256, 64
PER_CLASS = {"train": 60, "val": 20, "test": 50}


class ImageList:
    """A dataset over images held in memory (rendered once, embedded by several models)."""

    def __init__(self, samples: list[dict[str, Any]]) -> None:
        self.samples = samples

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.samples[index]

    def describe(self, index: int) -> str:
        return f"in-memory[{index}]"

    @classmethod
    def render(cls, dataset: Any) -> ImageList:
        return cls([{**dataset[i], "index": i} for i in range(len(dataset))])


def independent_splits(size: int, seed: int) -> dict[str, ImageList]:
    """Class-balanced train / val / test splits of the independent renderer (6 classes), distinct seeds."""
    sys.path.insert(0, str(ROOT / "tests" / "data"))
    from independent_render import CLASSES, IndependentSAR

    return {
        name: ImageList.render(IndependentSAR(n * len(CLASSES), size, seed=seed + i))
        for i, (name, n) in enumerate(PER_CLASS.items())
    }


def synthetic_splits(config: SyntheticArchiveConfig, seed: int) -> dict[str, ImageList]:
    """Class-balanced train / val / test splits of the synthetic archive (no near-duplicates), distinct seeds."""
    return {
        name: ImageList.render(balanced_split(config, n, seed=seed + i))
        for i, (name, n) in enumerate(PER_CLASS.items())
    }


def quicklooks() -> tuple[ImageList, np.ndarray, list[str]]:
    """The 15 quicklooks as 16 tiles each (tile i belongs to image i // 16) and their (15, codes) label matrix."""
    with (QUICKLOOKS / "sample_data.csv").open() as handle:
        rows = {row["filename"]: row for row in csv.DictReader(handle)}
    names = sorted(rows)
    tiles, labels = [], []
    for name in names:
        with Image.open(QUICKLOOKS / name) as image:
            grey = np.asarray(image.convert("L"), dtype=np.float32)[1:]  # the first row is zero
        side = min(grey.shape)
        top, left = (grey.shape[0] - side) // 2, (grey.shape[1] - side) // 2
        square = Image.fromarray(grey[top : top + side, left : left + side]).resize(
            (QUICKLOOK_SIDE, QUICKLOOK_SIDE), Image.Resampling.BILINEAR
        )
        pixels = np.maximum(np.asarray(square, dtype=np.float32), 1.0)  # 8-bit grey as amplitude, no zeros
        for r in range(0, QUICKLOOK_SIDE, TILE):
            for c in range(0, QUICKLOOK_SIDE, TILE):
                tiles.append({"image": pixels[r : r + TILE, c : c + TILE].copy(), "index": len(tiles)})
        labels.append([int(rows[name][code]) for code in QUICKLOOK_CODES])
    return ImageList(tiles), np.asarray(labels, dtype=bool), names


def triplet_accuracy(features: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Share of triplets (a, p, n) with cos(a, p) > cos(a, n), p sharing a label with a and n sharing none; anchors
    without a label, a positive or a negative are skipped."""
    x = features / np.linalg.norm(features, axis=1, keepdims=True)
    similarity = x @ x.T
    shares = (labels.astype(int) @ labels.T.astype(int)) > 0
    wins = total = 0
    for a in range(len(x)):
        if not labels[a].any():
            continue
        others = np.arange(len(x)) != a
        positives = similarity[a, others & shares[a]]
        negatives = similarity[a, others & ~shares[a] & labels.any(axis=1)]
        if positives.size and negatives.size:
            wins += int((positives[:, None] > negatives[None, :]).sum())
            total += positives.size * negatives.size
    return {"triplet_accuracy": wins / total if total else float("nan"), "triplets": total}


def probe_accuracies(train: Any, val: Any, test: Any, num_classes: int) -> dict[str, float]:
    """k-NN (bank = train) and logistic accuracy on test, from (features, labels) pairs."""
    knn = knn_classify(train[0], train[1], test[0], 20, 0.07, num_classes).numpy()
    linear = fit_logistic_probe(train[0], train[1], val[0], val[1], num_classes).predict(test[0])
    return {"knn": float((knn == test[1]).mean()), "linear": float((np.asarray(linear) == test[1]).mean())}


def embed(
    spec: str, input_size: int, data: dict[str, ImageList], processor: Any = None
) -> dict[str, tuple[torch.Tensor, np.ndarray]]:
    """Features of `spec` on each dataset; `processor` replaces the model's own (same inputs for every model)."""
    model, own_processor, _ = load_backbone(spec, input_size)
    processor = processor or own_processor
    out = {}
    for name, dataset in data.items():
        features = extract_features(model, dataset, None, processor, progress=False, desc=name)
        out[name] = (features.features, features.labels.get("label", np.full(len(dataset), -1)))
    return out


def evaluate(
    spec: str, input_size: int, tasks: dict[str, dict[str, ImageList]], ql: tuple, processor: Any = None
) -> dict[str, Any]:
    """Probe accuracies on each labelled task and the quicklook triplet accuracy of one backbone."""
    result: dict[str, Any] = {}
    for task, splits in tasks.items():
        f = embed(spec, input_size, splits, processor)
        result[task] = probe_accuracies(f["train"], f["val"], f["test"], NUM_CLASSES)
    tiles = embed(spec, input_size, {"tiles": ql[0]}, processor)["tiles"][0].numpy()
    per_image = tiles.reshape(len(ql[1]), -1, tiles.shape[1]).mean(axis=1)
    result["quicklooks"] = triplet_accuracy(per_image, ql[1])
    return result


def baseline(tasks: dict[str, dict[str, ImageList]], ql: tuple) -> dict[str, Any]:
    """The spectral baseline: logistic probe on the hand-crafted features (k-NN on standardised features too)."""
    result: dict[str, Any] = {}
    for task, splits in tasks.items():
        feats = {name: dataset_features(data) for name, data in splits.items()}
        mean, std = feats["train"][0].mean(axis=0), feats["train"][0].std(axis=0) + 1e-9
        f = {n: (torch.from_numpy((x - mean) / std).float(), y["label"]) for n, (x, y) in feats.items()}
        result[task] = probe_accuracies(f["train"], f["val"], f["test"], NUM_CLASSES)
    tiles = np.stack([spectral_features(ql[0][i]["image"]) for i in range(len(ql[0]))])
    per_image = tiles.reshape(len(ql[1]), -1, tiles.shape[1]).mean(axis=1)
    standardised = (per_image - per_image.mean(axis=0)) / (per_image.std(axis=0) + 1e-9)
    result["quicklooks"] = triplet_accuracy(standardised, ql[1])
    return result


def markdown(results: dict[str, Any]) -> str:
    rows = [
        ("synthetic test, k-NN", "synthetic", "knn"),
        ("synthetic test, linear", "synthetic", "linear"),
        ("independent rendering, k-NN", "independent", "knn"),
        ("independent rendering, linear", "independent", "linear"),
        ("real quicklooks, triplet accuracy", "quicklooks", "triplet_accuracy"),
    ]
    lines = ["| measure | model | random weights | spectral baseline | chance |", "|---|---|---|---|---|"]
    chance = {"synthetic": 100 / NUM_CLASSES, "independent": 100 / 6, "quicklooks": 50.0}
    for title, task, key in rows:
        values = [100 * results[who][task][key] for who in ("model", "random_weights", "baseline")]
        lines.append(f"| {title} | " + " | ".join(f"{v:.1f}" for v in values) + f" | {chance[task]:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="model folder (e.g. outputs/demo/final_model)")
    parser.add_argument("--backbone", default="resnet_tiny", help="architecture of the random-weights reference")
    parser.add_argument("--input-size", type=int, default=64, help="vignette side (px)")
    parser.add_argument("--variety", type=float, default=1.0, help="synthetic_variety of the synthetic test set")
    parser.add_argument("--seed", type=int, default=500, help="seed of the evaluation sets")
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results" / "demo_generalisation.json")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    config = SyntheticArchiveConfig(image_size=args.input_size, variety=args.variety)
    tasks = {
        "synthetic": synthetic_splits(config, args.seed),
        "independent": independent_splits(args.input_size, args.seed),
    }
    ql = quicklooks()
    results: dict[str, Any] = {
        "command": " ".join(
            ["python -m benchmarks.demo_generalisation", *(argv if argv is not None else sys.argv[1:])]
        ),
        "model_folder": args.model,
        "random_weights_backbone": args.backbone,
        "sizes": {task: {n: len(d) for n, d in s.items()} for task, s in tasks.items()},
        "quicklook_set": {"images": ql[2], "codes": list(QUICKLOOK_CODES)},
    }
    results["model"] = evaluate(args.model, args.input_size, tasks, ql)
    # the random-weights reference sees exactly the model's inputs (its processor: units, calibration, normalisation)
    _, processor, _ = load_backbone(args.model, args.input_size)
    results["random_weights"] = evaluate(f"random:{args.backbone}", args.input_size, tasks, ql, processor)
    results["baseline"] = baseline(tasks, ql)
    results["wall_s"] = time.perf_counter() - start
    results["table_markdown"] = markdown(results)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(results, indent=2))
    print(results["table_markdown"])
    print(f"\nresults: {args.results} ({results['wall_s']:.0f} s)")
    return results


if __name__ == "__main__":
    main()

# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Experiment: does dynamic dataset pruning help DINO pretraining on a heavy-tailed archive, at equal images seen?

Three arms, trained in this process from the same base config (`training/configs/pruning_experiment.yaml`) and the
same run seed, so they share initialisation, schedules and the first `T_w` epochs exactly:

- ``pruning``: the paper's dynamic pruning (`PruningCallback`): from epoch T_w, every T_s epochs, ρ·N images chosen by
  hierarchical k-means + balanced sampling of the teacher's embeddings of a random 2ρN subset;
- ``full``: no pruning, every epoch draws from the whole archive;
- ``random``: at epoch T_w (when pruning would first select), a seeded uniform random subset of round(ρ·N) images,
  kept until the end (`RandomSubsetCallback`): same size and same warm-up as the pruning arm, no clustering.

An epoch is a fixed number of steps (`training/sampler.py`), so every arm sees epochs × steps_per_epoch × batch images.
Each exported teacher (`<arm>/final_model`) is then probed on frozen features: a labelled heavy-tailed bank (the
probe's training split), a heavy-tailed validation split (choice of the logistic weight decay) and a class-balanced
test set (`training.probes.data.build_probe_data("synthetic", "tengeop", ...)`, seeds distinct from the training
archive). Reported: weighted k-NN (k = 20, T = 0.07; with the heavy-tailed bank, and with a class-balanced bank of the
same size, since a heavy-tailed bank's votes almost never name a rare class) and logistic-probe accuracy, overall and on
the 3 classes of smallest archive weight; wall time per arm and the pruning overhead from `pruning/pruning_log.jsonl`;
the in-training k-NN curve from each arm's `metrics.jsonl`; the share of rare classes in each arm's training set.

    OMP_NUM_THREADS=1 python benchmarks/pruning_experiment.py --quick          # < 2 min CPU smoke run
    OMP_NUM_THREADS=1 python benchmarks/pruning_experiment.py                  # the experiment (~13 min, 2 cores)
    python benchmarks/pruning_experiment.py --seeds 0 1 2 --epochs 12          # several seeds, longer
    python benchmarks/pruning_experiment.py --reuse                            # re-probe trained arms only

Writes `benchmarks/results/pruning_experiment.json` and `benchmarks/figures/pruning_experiment.png` (with --quick:
into --output-dir instead) and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from training.callbacks import TrainerCallback
from training.config import PretrainConfig, parse_config
from training.data import SyntheticArchiveConfig, SyntheticWVArchive, balanced_split
from training.data.synthetic import CLASS_NAMES, NUM_CLASSES
from training.features import extract_features
from training.pretrain import build_callbacks
from training.probe import load_backbone
from training.probes import fit_logistic_probe, knn_classify
from training.probes.data import ProbeData, build_probe_data
from training.trainer import Trainer

ROOT = Path(__file__).resolve().parents[1]
BASE_CONFIG = ROOT / "training" / "configs" / "pruning_experiment.yaml"
ARMS = ("pruning", "full", "random")
ARM_COLOURS = {"pruning": "tab:red", "full": "tab:blue", "random": "tab:grey"}
NUM_RARE = 3
QUICK_OVERRIDES: dict[str, Any] = {
    "image_size": 32,
    "global_crop_size": 32,
    "local_crop_size": 16,
    "num_local_crops": 2,
    "synthetic_num_samples": 600,
    "num_workers": 0,
    "fit_normalization_samples": 64,
    "out_dim": 128,
    "hidden_dim": 64,
    "bottleneck_dim": 32,
    "epochs": 4,
    "steps_per_epoch": 4,
    "batch_size": 16,
    "log_every_steps": 2,
    "knn_train_samples": 200,
    "knn_test_samples": 100,
    "pruning_warmup_epochs": 1,
    "pruning_every_epochs": 2,
    "pruning_clusters": [12, 3],
    "pruning_resampling_steps": [2, 2],
    "pruning_sample_size": [4, 2],
}
"""The --quick setting: 32-px vignettes, a 600-image archive, 4 epochs of 4 steps of 16 images."""
TRAIN_RECORD = "train_record.json"
ROUND_KEYS = ("round", "epoch", "embedded", "selected", "embed_s", "clustering_s", "sampling_s", "pruning_s",
              "share_of_epoch", "archive_label_entropy", "selected_label_entropy")  # fmt: skip
"""Fields of each `pruning_log.jsonl` record copied into the results."""
QUICK_EVAL_SIZES = {"train": 300, "val": 100, "test": 200}
logger = logging.getLogger("pruning_experiment")


class RandomSubsetCallback(TrainerCallback):
    """The `random` arm: from epoch `at_epoch` on, train on a seeded uniform random subset of round(ρ·N) indices.

    Drawn once (at the first epoch >= `at_epoch`) from `np.random.default_rng([seed, 20250415])` and kept; the
    selection is checkpointed so a resumed run keeps it.
    """

    def __init__(self, rho: float, at_epoch: int, seed: int) -> None:
        if not 0 < rho <= 1:
            raise ValueError(f"rho must be in (0, 1], got {rho}")
        self.rho, self.at_epoch, self.seed = rho, at_epoch, seed
        self.selection: np.ndarray | None = None

    def on_train_begin(self, trainer: Trainer) -> None:
        if self.selection is not None:
            trainer.set_active_indices(self.selection)

    def on_epoch_begin(self, trainer: Trainer) -> None:
        if self.selection is None and trainer.state.epoch >= self.at_epoch:
            size = len(trainer.dataset)
            rng = np.random.default_rng([self.seed, 20250415])
            self.selection = np.sort(rng.choice(size, size=round(self.rho * size), replace=False))
            trainer.set_active_indices(self.selection)

    def state_dict(self) -> dict[str, Any]:
        return {"selection": None if self.selection is None else self.selection.tolist()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        selection = state.get("selection")
        self.selection = None if selection is None else np.asarray(selection, dtype=np.int64)


# ------------------------------------------------------------------------------------------------------ training


def _as_argv(overrides: dict[str, Any]) -> list[str]:
    """{"epochs": 4, "pruning_clusters": [12, 3]} → ["--epochs", "4", "--pruning_clusters", "12", "3"]."""
    argv: list[str] = []
    for key, value in overrides.items():
        values = value if isinstance(value, (list, tuple)) else [value]
        argv += [f"--{key}", *(str(v).lower() if isinstance(v, bool) else str(v) for v in values)]
    return argv


def arm_config(base: Path, arm: str, seed: int, output_dir: Path, overrides: dict[str, Any]) -> PretrainConfig:
    """The base config with `overrides`, this arm's output folder, the run seed and `pruning` on for `pruning` only."""
    settings = {**overrides, "output_dir": str(output_dir), "seed": seed, "pruning": arm == "pruning"}
    return parse_config(["--config", str(base), *_as_argv(settings)])


def train_arm(config: PretrainConfig, arm: str) -> dict[str, Any]:
    """Train one arm; returns (and writes to `<output_dir>/train_record.json`) its exported model folder, wall times
    (s), images seen and, for the random arm, the class histogram of its selection."""
    callbacks = build_callbacks(config)
    subset = None
    if arm == "random":
        subset = RandomSubsetCallback(config.pruning.pruning_rho, config.pruning.pruning_warmup_epochs, config.run.seed)
        callbacks.insert(0, subset)
    start = time.perf_counter()
    trainer = Trainer(config, callbacks)
    setup_s = time.perf_counter() - start
    start = time.perf_counter()
    final = trainer.train()
    train_s = time.perf_counter() - start
    if final is None:
        raise RuntimeError(f"arm {arm}: training stopped before the end (stop_after_steps is set?)")
    archive_labels = np.asarray(trainer.dataset.labels())
    record = {
        "final_model": str(final),
        "setup_s": setup_s,
        "train_s": train_s,
        "images_seen": trainer.state.global_step * config.run.batch_size * trainer.accelerator.num_processes,
        "archive_class_histogram": np.bincount(archive_labels, minlength=NUM_CLASSES).tolist(),
    }
    if subset is not None and subset.selection is not None:
        record["selected_class_histograms"] = [
            np.bincount(archive_labels[subset.selection], minlength=NUM_CLASSES).tolist()
        ]
    (Path(config.run.output_dir) / TRAIN_RECORD).write_text(json.dumps(record, indent=2))
    return record


def trained_or_train(config: PretrainConfig, arm: str, reuse: bool) -> dict[str, Any]:
    """With `reuse`, the record of an arm already trained in its output folder (evaluation only); else `train_arm`."""
    saved = Path(config.run.output_dir) / TRAIN_RECORD
    if reuse and saved.is_file():
        record = json.loads(saved.read_text())
        if Path(record["final_model"]).is_dir():
            logger.info("arm %s: reusing the trained model %s", arm, record["final_model"])
            return {**record, "reused": True}
    return train_arm(config, arm)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []


def run_logs(output_dir: Path) -> dict[str, Any]:
    """In-training k-NN curve (metrics.jsonl) and pruning rounds (pruning/pruning_log.jsonl) of one arm."""
    evals = [r for r in read_jsonl(output_dir / "metrics.jsonl") if r.get("kind") == "eval" and "knn_accuracy" in r]
    rounds = read_jsonl(output_dir / "pruning" / "pruning_log.jsonl")
    logs: dict[str, Any] = {
        "knn_curve": [{"step": r["step"], "epoch": r["epoch"], "knn_accuracy": r["knn_accuracy"]} for r in evals],
        "pruning_s": sum(r["pruning_s"] for r in rounds),
        "pruning_rounds": [{k: r.get(k) for k in ROUND_KEYS} for r in rounds],
    }
    if rounds and "selected_class_histogram" in rounds[0]:
        logs["selected_class_histograms"] = [  # np.bincount drops trailing empty classes: pad
            r["selected_class_histogram"] + [0] * (NUM_CLASSES - len(r["selected_class_histogram"])) for r in rounds
        ]
    return logs


# ---------------------------------------------------------------------------------------------------- evaluation


def archive_class_weights(config: PretrainConfig) -> tuple[float, ...]:
    """The training archive's class weights: `synthetic_class_weights`, or the synthetic archive's default skew."""
    return tuple(config.data.synthetic_class_weights or SyntheticArchiveConfig().class_weights)


def rare_classes(weights: tuple[float, ...], num: int = NUM_RARE) -> list[int]:
    """The `num` classes of smallest weight (ties: lower class id first), sorted by class id."""
    return sorted(np.argsort(np.asarray(weights), kind="stable")[:num].tolist())


def accuracies(predictions: np.ndarray, labels: np.ndarray, rare: list[int]) -> dict[str, Any]:
    """Overall, rare-class (test samples of a rare class) and per-class accuracy (0..1) of (M,) predictions, with the
    binomial standard error sqrt(p(1-p)/n) and the number n of test samples of the first two."""
    correct = predictions == labels
    is_rare = np.isin(labels, rare)
    per_class = {CLASS_NAMES[c]: float(correct[labels == c].mean()) for c in range(NUM_CLASSES) if (labels == c).any()}
    result: dict[str, Any] = {}
    for name, hits in (("overall", correct), ("rare", correct[is_rare])):
        p = float(hits.mean())
        result.update({name: p, f"{name}_se": math.sqrt(p * (1 - p) / len(hits)), f"{name}_n": len(hits)})
    return {**result, "per_class": per_class}


def evaluate_model(
    folder: str, data: ProbeData, balanced_bank: SyntheticWVArchive, rare: list[int], k: int, temperature: float
) -> dict[str, Any]:
    """Accuracies of an exported backbone on the class-balanced test split: weighted k-NN with the heavy-tailed probe
    training split as bank (``knn``) and with a class-balanced bank of the same size (``knn_balanced_bank``), and the
    logistic probe fitted on the heavy-tailed training split (weight decay chosen on the validation split)."""
    start = time.perf_counter()
    model, processor, _ = load_backbone(folder)
    sources = {name: (split.dataset, split.indices) for name, split in data.splits.items()}
    sources["balanced_bank"] = (balanced_bank, None)
    features = {
        name: extract_features(model, dataset, indices, processor, progress=False, desc=name)
        for name, (dataset, indices) in sources.items()
    }
    train, val, test, bank = (features[name] for name in ("train", "val", "test", "balanced_bank"))
    y_train, y_val, y_test, y_bank = (fs.target("label") for fs in (train, val, test, bank))
    knn = knn_classify(train.features, y_train, test.features, k, temperature, NUM_CLASSES).numpy()
    knn_balanced = knn_classify(bank.features, y_bank, test.features, k, temperature, NUM_CLASSES).numpy()
    probe = fit_logistic_probe(train.features, y_train, val.features, y_val, NUM_CLASSES)
    return {
        "knn": accuracies(knn, y_test, rare),
        "knn_balanced_bank": accuracies(knn_balanced, y_test, rare),
        "linear": accuracies(probe.predict(test.features), y_test, rare),
        "linear_weight_decay": probe.chosen["weight_decay"],
        "num_samples": {name: len(fs) for name, fs in features.items()},
        "eval_s": time.perf_counter() - start,
    }


def rare_share(histograms: list[list[int]], rare: list[int]) -> float:
    """Mean (over selections) fraction of rare-class images in a training selection."""
    return float(np.mean([sum(h[c] for c in rare) / sum(h) for h in histograms]))


# ------------------------------------------------------------------------------------------------------- summary

METRICS = (
    ("knn_overall", "k-NN overall"),
    ("knn_rare", "k-NN rare"),
    ("knn_balanced_bank_overall", "k-NN (balanced bank) overall"),
    ("knn_balanced_bank_rare", "k-NN (balanced bank) rare"),
    ("linear_overall", "linear overall"),
    ("linear_rare", "linear rare"),
)


def headline(result: dict[str, Any]) -> dict[str, float]:
    """The flat numbers of one (arm, seed) result used in the table and the bar chart."""
    evaluation = result["evaluation"]
    accuracy = {
        f"{probe}_{part}": evaluation[probe][part]
        for probe in ("knn", "knn_balanced_bank", "linear")
        for part in ("overall", "rare")
    }
    return {
        **accuracy,
        "train_s": result["train_s"],
        "pruning_s": result["pruning_s"],
        "rare_share": result["rare_share"],
    }


def aggregate(per_seed: dict[int, dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Mean and standard deviation (ddof 0; 0 for one seed) over seeds of every headline number."""
    rows = [headline(result) for result in per_seed.values()]
    return {
        key: {"mean": float(np.mean([r[key] for r in rows])), "std": float(np.std([r[key] for r in rows]))}
        for key in rows[0]
    }


def markdown_table(summary: dict[str, dict[str, dict[str, float]]], num_seeds: int, test_sizes: dict[str, int]) -> str:
    """One row per arm: accuracies (%), training wall time and pruning overhead (s), rare share of the training set;
    a footnote gives the largest binomial standard error of one test accuracy (test sizes `{"overall", "rare"}`)."""

    def cell(stat: dict[str, float], scale: float, digits: int) -> str:
        text = f"{scale * stat['mean']:.{digits}f}"
        return f"{text} ± {scale * stat['std']:.{digits}f}" if num_seeds > 1 else text

    header = [name for _, name in METRICS] + ["train wall (s)", "pruning overhead (s)", "rare share of train set"]
    lines = ["| arm | " + " | ".join(header) + " |", "|---" * (len(header) + 1) + "|"]
    for arm, stats in summary.items():
        cells = [cell(stats[key], 100, 1) for key, _ in METRICS]
        cells += [cell(stats["train_s"], 1, 0), cell(stats["pruning_s"], 1, 1)]
        cells.append(cell(stats["rare_share"], 100, 1) + " %")
        lines.append(f"| {arm} | " + " | ".join(cells) + " |")
    lines.append(
        f"\nOne test accuracy has a binomial standard error of at most {50 / math.sqrt(test_sizes['overall']):.1f} pp "
        f"overall (n = {test_sizes['overall']}) and {50 / math.sqrt(test_sizes['rare']):.1f} pp on the rare classes "
        f"(n = {test_sizes['rare']})" + (f"; ± is the std over {num_seeds} seeds." if num_seeds > 1 else ".")
    )
    return "\n".join(lines)


def plot(results: dict[str, Any], path: Path) -> None:
    """Left: grouped bars of the six accuracies per arm (error bars: std over seeds, or with one seed the binomial
    standard error of the test accuracy). Right: the in-training k-NN curves."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary, arms = results["summary"], list(results["summary"])
    fig, (bars, curves) = plt.subplots(1, 2, figsize=(13, 4.5))
    width = 0.8 / len(arms)
    positions = np.arange(len(METRICS))
    for i, arm in enumerate(arms):
        means = [100 * summary[arm][key]["mean"] for key, _ in METRICS]
        if len(results["arms"][arm]) > 1:
            errors = [100 * summary[arm][key]["std"] for key, _ in METRICS]
        else:  # one seed: the binomial standard error of the test accuracy
            evaluation = next(iter(results["arms"][arm].values()))["evaluation"]
            errors = [100 * evaluation[probe][f"{part}_se"] for probe, part in (k.rsplit("_", 1) for k, _ in METRICS)]
        bars.bar(
            positions + (i - (len(arms) - 1) / 2) * width,
            means,
            width,
            yerr=errors,
            label=arm,
            color=ARM_COLOURS.get(arm),
            capsize=3,
        )
        for x, m, e in zip(positions + (i - (len(arms) - 1) / 2) * width, means, errors, strict=True):
            bars.text(x, m + e + 0.3, f"{m:.0f}", ha="center", va="bottom", fontsize=7)
    bars.axhline(100 / NUM_CLASSES, color="black", ls=":", lw=1, label="chance")
    bars.set_xticks(positions, [name.replace(" (", "\n(").replace(") ", ")\n") for _, name in METRICS], fontsize=8)
    bars.set_ylabel("accuracy on the class-balanced test set (%)")
    rare_names = ", ".join(CLASS_NAMES[c] for c in results["rare_classes"])
    bars.set_title(f"frozen-teacher probes (rare = {rare_names})", fontsize=9)
    bars.legend(fontsize=8)
    for arm in arms:
        for seed, result in results["arms"][arm].items():
            curve = result["knn_curve"]
            curves.plot(
                [p["step"] for p in curve],
                [100 * p["knn_accuracy"] for p in curve],
                marker="o",
                color=ARM_COLOURS.get(arm),
                alpha=0.9,
                label=f"{arm} (seed {seed})",
            )
    setup = results["setup"]
    first_round = setup["pruning_warmup_epochs"] * setup["steps_per_epoch"]
    curves.axvline(first_round, color="black", ls="--", lw=1, label="first pruning round (T_w)")
    curves.set_xlabel("optimisation step")
    curves.set_ylabel("k-NN accuracy (%)")
    curves.set_title("in-training weighted k-NN of the teacher (trainer's bank / balanced test)", fontsize=9)
    curves.legend(fontsize=7)
    fig.suptitle(
        f"Dynamic pruning vs full archive vs random subset: {setup['images_seen']} images seen per arm, "
        f"archive N={setup['archive_size']}, rho={setup['rho']}",
        fontsize=10,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny CPU smoke setting (< 2 min)")
    parser.add_argument("--config", type=Path, default=BASE_CONFIG, help="base training config (YAML)")
    parser.add_argument("--output-dir", type=Path, default=None, help="runs go to OUTPUT_DIR/seed<S>/<arm>")
    parser.add_argument("--epochs", type=int, default=None, help="override the config's epochs")
    parser.add_argument("--steps-per-epoch", type=int, default=None, help="override the config's steps_per_epoch")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="run seeds (each trains the three arms)")
    parser.add_argument("--arms", nargs="+", choices=ARMS, default=list(ARMS), help="arms to train")
    parser.add_argument(
        "--eval-sizes",
        type=int,
        nargs=3,
        default=None,
        metavar=("TRAIN", "VAL", "TEST"),
        help="probe split sizes (default 1000 250 500; --quick 300 100 200)",
    )
    parser.add_argument("--eval-seed", type=int, default=100, help="seed of the probe archives (train/val/test)")
    parser.add_argument(
        "--reuse", action="store_true", help="skip training of arms whose output folder holds a finished run (re-probe)"
    )
    parser.add_argument("--results", type=Path, default=None, help="results JSON path")
    parser.add_argument("--figure", type=Path, default=None, help="figure PNG path")
    return parser.parse_args(argv)


def _warm_imports() -> None:
    """Import matplotlib before the first arm, so that its import time is not charged to that arm's wall time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    _warm_imports()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    out = args.output_dir or ROOT / "outputs" / ("pruning_experiment_quick" if args.quick else "pruning_experiment")
    results_path = args.results or (
        out / "pruning_experiment.json" if args.quick else ROOT / "benchmarks" / "results" / "pruning_experiment.json"
    )
    figure_path = args.figure or (
        out / "pruning_experiment.png" if args.quick else ROOT / "benchmarks" / "figures" / "pruning_experiment.png"
    )
    overrides = dict(QUICK_OVERRIDES) if args.quick else {}
    if args.epochs is not None:
        overrides["epochs"] = args.epochs
    if args.steps_per_epoch is not None:
        overrides["steps_per_epoch"] = args.steps_per_epoch
    eval_sizes = args.eval_sizes or (
        [QUICK_EVAL_SIZES[s] for s in ("train", "val", "test")] if args.quick else [1000, 250, 500]
    )
    reference = arm_config(args.config, "pruning", args.seeds[0], out / "unused", overrides)
    weights = archive_class_weights(reference)
    rare = rare_classes(weights)
    sizes = dict(zip(("train", "val", "test"), eval_sizes, strict=True))
    data = build_probe_data("synthetic", "tengeop", reference.model.image_size, sizes, seed=args.eval_seed)
    bank_config = SyntheticArchiveConfig(num_samples=sizes["train"], image_size=reference.model.image_size)
    bank_seed = args.eval_seed + 3
    balanced_bank = balanced_split(bank_config, num_per_class=max(1, sizes["train"] // NUM_CLASSES), seed=bank_seed)
    run, pruning = reference.run, reference.pruning
    results: dict[str, Any] = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": {
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "device": "cuda" if torch.cuda.is_available() else "cpu",
        },
        "setup": {
            "base_config": str(args.config),
            "overrides": overrides,
            "archive_size": reference.data.synthetic_num_samples,
            "archive_class_weights": list(weights),
            "archive_class_weights_source": "synthetic_class_weights"
            if reference.data.synthetic_class_weights
            else "default heavy-tailed skew of the synthetic archive",
            "image_size": reference.model.image_size,
            "backbone": reference.model.backbone,
            "epochs": run.epochs,
            "steps_per_epoch": run.steps_per_epoch,
            "batch_size": run.batch_size,
            "images_seen": run.epochs * run.steps_per_epoch * run.batch_size,
            "rho": pruning.pruning_rho,
            "eta": pruning.pruning_eta,
            "pruning_warmup_epochs": pruning.pruning_warmup_epochs,
            "pruning_every_epochs": pruning.pruning_every_epochs,
            "pruning_clusters": pruning.pruning_clusters,
            "random_arm": "uniform random round(rho*N) subset drawn once at epoch T_w and kept",
            "eval": {
                "sizes": sizes,
                "seed": args.eval_seed,
                "knn_k": run.knn_k,
                "knn_temperature": run.knn_temperature,
                "test": "class-balanced",
                "train/val": "heavy-tailed (archive weights)",
                "balanced_bank": f"class-balanced k-NN bank, {sizes['train']} images, seed {bank_seed}",
            },
            "seeds": args.seeds,
        },
        "rare_classes": rare,
        "rare_class_names": [CLASS_NAMES[c] for c in rare],
        "arms": {arm: {} for arm in args.arms},
    }
    for seed in args.seeds:
        for arm in args.arms:
            config = arm_config(args.config, arm, seed, out / f"seed{seed}" / arm, overrides)
            logger.info("=== seed %d, arm %s → %s", seed, arm, config.run.output_dir)
            trained = trained_or_train(config, arm, args.reuse)
            logs = run_logs(Path(config.run.output_dir))
            histograms = logs.pop("selected_class_histograms", None) or trained.pop("selected_class_histograms", None)
            result = {**trained, **logs, "selected_class_histograms": histograms}
            result["rare_share"] = rare_share(histograms or [trained["archive_class_histogram"]], rare)
            result["evaluation"] = evaluate_model(
                trained["final_model"], data, balanced_bank, rare, run.knn_k, run.knn_temperature
            )
            results["arms"][arm][seed] = result
            logger.info("seed %d, arm %s: %s", seed, arm, headline(result))
    results["summary"] = {arm: aggregate(per_seed) for arm, per_seed in results["arms"].items()}
    first = next(iter(next(iter(results["arms"].values())).values()))["evaluation"]["linear"]
    test_sizes = {"overall": first["overall_n"], "rare": first["rare_n"]}
    results["table_markdown"] = markdown_table(results["summary"], len(args.seeds), test_sizes)
    results_path.parent.mkdir(parents=True, exist_ok=True)
    results_path.write_text(json.dumps(results, indent=2))
    plot(results, figure_path)
    print(results["table_markdown"])
    print(f"\nresults: {results_path}\nfigure: {figure_path}")
    return results


if __name__ == "__main__":
    main(sys.argv[1:])

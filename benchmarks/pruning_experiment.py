# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Experiment: does dynamic dataset pruning help DINO pretraining on a redundant, heavy-tailed archive?

Six arms per seed, trained in this process from one base config (`training/configs/pruning_experiment.yaml`) with the
same run seed, so they share initialisation, schedules and the first T_w epochs exactly. All but the last see the same
number of images (epochs × steps_per_epoch × batch):

- ``uniform``: no pruning, every epoch draws from the whole archive;
- ``random_subset``: a uniform ρ·N subset drawn at T_w and kept (`pruning_strategy: random_subset`);
- ``static``: the paper's cluster-balanced selection, made once at T_w and kept (`static`);
- ``dynamic``: the paper's dynamic pruning, re-selected every T_s epochs (`dynamic`);
- ``oracle``: class-balanced ρ·N drawn with the labels every T_s epochs (`oracle`): the best any balancing could do;
- ``dynamic_active_set``: ``dynamic`` with `epoch_length: active_set` (an epoch is one pass over the selection, so it
  costs less: fewer images seen).

Each exported teacher is probed on frozen features with class-balanced synthetic splits rendered like the archive (no
near-duplicates, distinct seeds): weighted k-NN (k = 20, T = 0.07) and a logistic probe (weight decay chosen on the
validation split), accuracy overall and on the 3 rarest archive classes; ridge probes of wave height and wind speed
(RMSE on the test split, sea ice excluded). Random weights are probed once as the floor. Reported per arm: mean ±
standard error over seeds, and paired per-seed differences (arm − uniform, dynamic − static, ...).

    OMP_NUM_THREADS=1 python -m benchmarks.pruning_experiment --quick                   # ~2 min smoke run
    OMP_NUM_THREADS=1 python -m benchmarks.pruning_experiment --seeds 0 1 2             # the experiment
    python -m benchmarks.pruning_experiment --seeds 0 1 2 --reuse                       # re-probe trained arms only
    python -m benchmarks.pruning_experiment --merge a.json b.json c.json                # combine parallel seed runs
    bash benchmarks/pruning_experiment_gpu.sh                                           # the GPU-scale version

Writes `benchmarks/results/pruning_experiment.json` and `benchmarks/figures/pruning_experiment.png` (with --quick:
into --output-dir) after every seed, and prints markdown tables.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import platform
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from training.config import PretrainConfig, parse_config
from training.data import SyntheticArchiveConfig, SyntheticWVArchive, balanced_split
from training.data.synthetic import CLASS_NAMES, NUM_CLASSES
from training.features import FeatureSet, extract_features
from training.pretrain import build_callbacks
from training.probes import fit_logistic_probe, fit_ridge_probe, knn_classify
from training.probes.models import load_backbone
from training.trainer import Trainer

ROOT = Path(__file__).resolve().parents[1]
BASE_CONFIG = ROOT / "training" / "configs" / "pruning_experiment.yaml"
ARMS: dict[str, dict[str, Any]] = {
    "uniform": {"pruning": False},
    "random_subset": {"pruning": True, "pruning_strategy": "random_subset"},
    "static": {"pruning": True, "pruning_strategy": "static"},
    "dynamic": {"pruning": True, "pruning_strategy": "dynamic"},
    "oracle": {"pruning": True, "pruning_strategy": "oracle"},
    "dynamic_active_set": {"pruning": True, "pruning_strategy": "dynamic", "epoch_length": "active_set"},
}
"""Each arm's settings on top of the base config."""
ARM_COLOURS = {
    "uniform": "tab:blue",
    "random_subset": "tab:grey",
    "static": "tab:orange",
    "dynamic": "tab:red",
    "oracle": "tab:green",
    "dynamic_active_set": "tab:purple",
}
PAIRS = (
    ("oracle", "uniform"),
    ("oracle", "random_subset"),
    ("dynamic", "uniform"),
    ("static", "uniform"),
    ("random_subset", "uniform"),
    ("dynamic", "static"),
    ("dynamic", "random_subset"),
    ("dynamic", "oracle"),
    ("dynamic_active_set", "dynamic"),
)
"""Paired per-seed comparisons (first − second)."""
METRICS = (
    ("knn", "k-NN", 100.0),
    ("knn_rare", "k-NN rare", 100.0),
    ("linear", "linear", 100.0),
    ("linear_rare", "linear rare", 100.0),
    ("wave_height_rmse", "Hs RMSE (m)", 1.0),
    ("wind_speed_rmse", "U RMSE (m/s)", 1.0),
)
"""(key, column name, scale): accuracies in % of the class-balanced test set, RMSE in physical units."""
NUM_RARE = 3
EVAL_PER_CLASS = {"train": 100, "val": 40, "test": 100}
"""Class-balanced probe splits: images per class."""
QUICK_OVERRIDES: dict[str, Any] = {
    "input_size": 32,
    "synthetic_image_size": 32,
    "global_crop_size": 32,
    "local_crop_size": 16,
    "synthetic_num_samples": 600,
    "fit_normalization_samples": 64,
    "out_dim": 128,
    "hidden_dim": 64,
    "bottleneck_dim": 32,
    "epochs": 4,
    "steps_per_epoch": 4,
    "batch_size": 16,
    "log_every_steps": 2,
    "pruning_clusters": [12, 3],
    "pruning_resampling_steps": [2, 2],
    "pruning_sample_size": [4, 2],
}
"""The --quick setting: 32-px vignettes, a 600-image archive, 4 epochs of 4 steps of 16 images."""
QUICK_EVAL_PER_CLASS = {"train": 10, "val": 5, "test": 10}
TRAIN_RECORD = "train_record.json"
logger = logging.getLogger("pruning_experiment")


# ------------------------------------------------------------------------------------------------------ training


def _as_argv(overrides: dict[str, Any]) -> list[str]:
    """{"epochs": 4, "pruning_clusters": [12, 3]} → ["--epochs", "4", "--pruning_clusters", "12", "3"]."""
    argv: list[str] = []
    for key, value in overrides.items():
        values = value if isinstance(value, (list, tuple)) else [value]
        argv += [f"--{key}", *(str(v).lower() if isinstance(v, bool) else str(v) for v in values)]
    return argv


def arm_config(base: Path, arm: str, seed: int, output_dir: Path, overrides: dict[str, Any]) -> PretrainConfig:
    """The base config with `overrides`, then the arm's settings, its output folder (a previous run there is replaced)
    and the run seed."""
    settings = {**overrides, **ARMS[arm], "output_dir": str(output_dir), "seed": seed, "overwrite_output_dir": True}
    return parse_config(["--config", str(base), *_as_argv(settings)])


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []


def train_arm(config: PretrainConfig) -> dict[str, Any]:
    """Train one arm; returns (and writes to `<output_dir>/train_record.json`) its exported model folder, wall time
    (s), steps, images seen, pruning overhead (s) and the class histograms of the archive and of each selection."""
    start = time.perf_counter()
    trainer = Trainer(config, build_callbacks(config))
    final = trainer.train()
    train_s = time.perf_counter() - start
    if final is None:
        raise RuntimeError(f"{config.run.output_dir}: training stopped before the end (stop_after_steps is set?)")
    out = Path(config.run.output_dir)
    rounds = _read_jsonl(out / "pruning" / "pruning_log.jsonl")
    record = {
        "final_model": str(final),
        "train_s": train_s,
        "steps": trainer.state.global_step,
        "images_seen": trainer.state.global_step * trainer.global_batch,
        "pruning_s": sum(r["pruning_s"] for r in rounds),
        "archive_class_histogram": np.bincount(trainer.dataset.labels(), minlength=NUM_CLASSES).tolist(),
        "selected_class_histograms": [r["selected_class_histogram"] for r in rounds if "selected_class_histogram" in r],
        "rounds": [{k: r.get(k) for k in ("round", "epoch", "embedded", "selected", "pruning_s")} for r in rounds],
    }
    (out / TRAIN_RECORD).write_text(json.dumps(record, indent=2))
    return record


def trained_or_train(config: PretrainConfig, reuse: bool) -> dict[str, Any]:
    """With `reuse`, the record of an arm already trained in its output folder; otherwise `train_arm`."""
    saved = Path(config.run.output_dir) / TRAIN_RECORD
    if reuse and saved.is_file():
        record = json.loads(saved.read_text())
        if Path(record["final_model"]).is_dir():
            return {**record, "reused": True}
    return train_arm(config)


# ---------------------------------------------------------------------------------------------------- evaluation


def eval_archives(synthetic: SyntheticArchiveConfig, per_class: dict[str, int], seed: int) -> dict[str, Any]:
    """Class-balanced train / val / test archives rendered like the training archive (same size and variety, no
    near-duplicates), seeds `seed`, `seed + 1`, `seed + 2`."""
    base = replace(synthetic, redundancy=0.0)
    return {name: balanced_split(base, n, seed=seed + i) for i, (name, n) in enumerate(per_class.items())}


def rare_classes(archive: SyntheticWVArchive, num: int = NUM_RARE) -> list[int]:
    """The `num` classes with the fewest archive samples (ties: lower id first), sorted by class id."""
    return sorted(np.argsort(archive.class_counts(), kind="stable")[:num].tolist())


def _rmse(probe: Any, train: FeatureSet, val: FeatureSet, test: FeatureSet, key: str) -> float:
    """Ridge probe of `key` (sea-state target; samples without one, i.e. sea ice, dropped): test RMSE."""
    parts = []
    for split in (train, val, test):
        y = split.target(key)
        known = np.isfinite(y)
        parts += [split.features[torch.from_numpy(known)], y[known]]
    ridge = probe(parts[0], parts[1], parts[2], parts[3])
    predicted = ridge.predict(parts[4]).reshape(-1)
    return float(np.sqrt(np.mean((np.asarray(predicted, np.float64) - parts[5]) ** 2)))


def evaluate_model(spec: str, input_size: int, archives: dict[str, Any], rare: list[int], knn: tuple[int, float]):
    """k-NN (bank = train split) and logistic accuracy on the class-balanced test split, overall and on `rare`; ridge
    RMSE of wave height (m) and wind speed (m/s)."""
    start = time.perf_counter()
    model, processor, _ = load_backbone(spec, input_size)
    feats = {n: extract_features(model, a, None, processor, progress=False, desc=n) for n, a in archives.items()}
    train, val, test = feats["train"], feats["val"], feats["test"]
    y_train, y_val, y_test = (f.target("label") for f in (train, val, test))
    is_rare = np.isin(y_test, rare)
    knn_pred = knn_classify(train.features, y_train, test.features, knn[0], knn[1], NUM_CLASSES).numpy()
    linear_pred = np.asarray(
        fit_logistic_probe(train.features, y_train, val.features, y_val, NUM_CLASSES).predict(test.features)
    )
    result = {}
    for name, predicted in (("knn", knn_pred), ("linear", linear_pred)):
        correct = predicted == y_test
        result[name], result[f"{name}_rare"] = float(correct.mean()), float(correct[is_rare].mean())
    for key in ("wave_height", "wind_speed"):
        result[f"{key}_rmse"] = _rmse(fit_ridge_probe, train, val, test, key)
    result["eval_s"] = time.perf_counter() - start
    return result


# ------------------------------------------------------------------------------------------------------- summary


def mean_se(values: list[float]) -> dict[str, float]:
    """Mean and standard error of the mean (std with ddof 1 / sqrt(n); NaN for one value)."""
    array = np.asarray(values, np.float64)
    se = float(array.std(ddof=1) / math.sqrt(array.size)) if array.size > 1 else float("nan")
    return {"mean": float(array.mean()), "se": se, "n": int(array.size)}


def summarise(arms: dict[str, dict[str, dict[str, Any]]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Per arm and metric: mean ± SE over seeds; per pair (a, b) and metric: the paired per-seed difference a − b
    (mean ± SE, and in how many seeds a was better)."""
    keys = [key for key, _, _ in METRICS] + ["train_s", "images_seen", "pruning_s", "rare_share"]
    summary = {
        arm: {key: mean_se([r[key] for r in per_seed.values()]) for key in keys} for arm, per_seed in arms.items()
    }
    paired: dict[str, Any] = {}
    for a, b in PAIRS:
        seeds = sorted(set(arms.get(a, {})) & set(arms.get(b, {})))
        if not seeds:
            continue
        paired[f"{a} - {b}"] = {}
        for key, _, _ in METRICS:
            diffs = [arms[a][s][key] - arms[b][s][key] for s in seeds]
            better = sum((d < 0) if key.endswith("rmse") else (d > 0) for d in diffs)
            paired[f"{a} - {b}"][key] = {**mean_se(diffs), "per_seed": diffs, "a_better_in": better}
    return summary, paired


def _cell(stat: dict[str, float], scale: float, digits: int) -> str:
    text = f"{scale * stat['mean']:.{digits}f}"
    return text if math.isnan(stat["se"]) else f"{text} ± {scale * stat['se']:.{digits}f}"


def markdown_tables(summary: dict[str, Any], paired: dict[str, Any], floor: dict[str, float] | None) -> str:
    """The per-arm table (mean ± SE over seeds) and the paired-difference table."""
    digits = {100.0: 1, 1.0: 2}
    header = [name for _, name, _ in METRICS] + ["images seen", "train wall (s)", "pruning (s)", "rare share"]
    lines = ["| arm | " + " | ".join(header) + " |", "|---" * (len(header) + 1) + "|"]
    for arm, stats in summary.items():
        cells = [_cell(stats[key], scale, digits[scale]) for key, _, scale in METRICS]
        cells += [f"{stats['images_seen']['mean']:.0f}", _cell(stats["train_s"], 1, 0), _cell(stats["pruning_s"], 1, 0)]
        cells.append(_cell(stats["rare_share"], 100, 1) + " %")
        lines.append(f"| {arm} | " + " | ".join(cells) + " |")
    if floor is not None:
        cells = [f"{scale * floor[key]:.{digits[scale]}f}" for key, _, scale in METRICS]
        lines.append("| random weights | " + " | ".join(cells) + " | 0 | – | – | – |")
    lines += ["", "| paired difference (per seed) | " + " | ".join(name for _, name, _ in METRICS) + " |"]
    lines.append("|---" * (len(METRICS) + 1) + "|")
    for pair, stats in paired.items():
        cells = [
            f"{_cell(stats[key], scale, digits[scale])} ({stats[key]['a_better_in']}/{stats[key]['n']})"
            for key, _, scale in METRICS
        ]
        lines.append(f"| {pair} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def verdict(paired: dict[str, Any]) -> dict[str, Any]:
    """Whether the setup can show a balancing effect (oracle − uniform > its SE, per accuracy) and, where it does, where
    dynamic lands between uniform (0) and the oracle (1)."""
    out: dict[str, Any] = {}
    if "oracle - uniform" not in paired or "dynamic - uniform" not in paired:
        return out
    for key, _, _ in METRICS[:4]:
        gain = paired["oracle - uniform"][key]
        dynamic = paired["dynamic - uniform"][key]["mean"]
        shown = bool(gain["mean"] > gain["se"] + 1e-9)
        out[key] = {
            "oracle_gain": gain["mean"],
            "oracle_gain_se": gain["se"],
            "balancing_effect_shown": shown,
            "dynamic_share_of_oracle_gain": dynamic / gain["mean"] if shown else None,
        }
    return out


def plot(results: dict[str, Any], path: Path) -> None:
    """Left: accuracies per arm (bars: mean, error bars: SE over seeds, dots: seeds). Right: paired differences."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary, arms = results["summary"], list(results["summary"])
    accuracy = [(k, n) for k, n, s in METRICS if s == 100.0]
    fig, (bars, diffs) = plt.subplots(1, 2, figsize=(14, 4.8), gridspec_kw={"width_ratios": [3, 2]})
    width = 0.8 / len(arms)
    positions = np.arange(len(accuracy))
    for i, arm in enumerate(arms):
        x = positions + (i - (len(arms) - 1) / 2) * width
        means = [100 * summary[arm][k]["mean"] for k, _ in accuracy]
        errors = [100 * np.nan_to_num(summary[arm][k]["se"]) for k, _ in accuracy]
        bars.bar(x, means, width, yerr=errors, label=arm, color=ARM_COLOURS[arm], capsize=2)
        for j, (key, _) in enumerate(accuracy):
            seeds = [100 * r[key] for r in results["arms"][arm].values()]
            bars.plot([x[j]] * len(seeds), seeds, "k.", ms=3)
    if results.get("random_weights"):
        for j, (key, _) in enumerate(accuracy):
            bars.hlines(100 * results["random_weights"][key], j - 0.45, j + 0.45, colors="black", linestyles="--")
    bars.axhline(100 / NUM_CLASSES, color="black", ls=":", lw=1)
    bars.set_xticks(positions, [name for _, name in accuracy])
    bars.set_ylabel("accuracy on the class-balanced test set (%)")
    bars.set_title("frozen teachers (dots: seeds; dashed: random weights; dotted: chance)", fontsize=9)
    bars.legend(fontsize=7, ncol=len(arms), loc="upper center", bbox_to_anchor=(0.5, -0.08))
    pairs = list(results["paired"])
    y = np.arange(len(pairs))
    for j, (key, name) in enumerate(accuracy):
        means = [100 * results["paired"][p][key]["mean"] for p in pairs]
        errors = [100 * np.nan_to_num(results["paired"][p][key]["se"]) for p in pairs]
        diffs.errorbar(means, y + (j - 1.5) * 0.18, xerr=errors, fmt="o", ms=3, capsize=2, label=name)
    diffs.axvline(0, color="black", lw=1)
    diffs.set_yticks(y, pairs, fontsize=8)
    diffs.invert_yaxis()
    diffs.set_xlabel("paired difference per seed (pp), mean ± SE")
    diffs.legend(fontsize=7)
    setup = results["setup"]
    fig.suptitle(
        f"Pruning strategies at equal images seen ({setup['images_seen']}): archive N={setup['archive_size']} "
        f"({100 * setup['redundancy']:.0f} % near-duplicates), rho={setup['rho']}, {len(setup['seeds'])} seeds",
        fontsize=10,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny CPU smoke setting (~2 min)")
    parser.add_argument("--config", type=Path, default=BASE_CONFIG, help="base training config (YAML)")
    parser.add_argument("--output-dir", type=Path, default=None, help="runs go to OUTPUT_DIR/seed<S>/<arm>")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="run seeds (each trains every arm)")
    parser.add_argument("--arms", nargs="+", choices=list(ARMS), default=list(ARMS), help="arms to train")
    parser.add_argument("--set", nargs="+", default=[], metavar="KEY=VALUE", help="config overrides for every arm")
    parser.add_argument("--eval-seed", type=int, default=100, help="seed of the probe archives")
    parser.add_argument(
        "--eval-per-class",
        type=int,
        nargs=3,
        default=None,
        metavar=("TRAIN", "VAL", "TEST"),
        help=f"images per class of the probe splits (default {' '.join(map(str, EVAL_PER_CLASS.values()))})",
    )
    parser.add_argument("--reuse", action="store_true", help="re-probe arms whose output folder holds a finished run")
    parser.add_argument(
        "--merge",
        type=Path,
        nargs="+",
        default=None,
        help="combine the results JSONs of runs of the same setup over different seeds (e.g. run in parallel), "
        "without training or probing",
    )
    parser.add_argument("--results", type=Path, default=None, help="results JSON path")
    parser.add_argument("--figure", type=Path, default=None, help="figure PNG path")
    return parser.parse_args(argv)


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    overrides = dict(QUICK_OVERRIDES) if args.quick else {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--set expects KEY=VALUE, got {item!r}")
        overrides[key] = value.split(",") if "," in value else value
    return overrides


def probe_split_sizes(args: argparse.Namespace) -> dict[str, int]:
    """Images per class of the train / val / test probe splits: --eval-per-class, else the (--quick) default."""
    default = QUICK_EVAL_PER_CLASS if args.quick else EVAL_PER_CLASS
    return dict(zip(default, args.eval_per_class, strict=True)) if args.eval_per_class else dict(default)


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    except OSError:
        return "unknown"


def finish(results: dict[str, Any], results_path: Path, figure_path: Path) -> None:
    """Statistics, tables, verdict, JSON and figure of the (arm → seed → result) records gathered so far."""
    done = {arm: per_seed for arm, per_seed in results["arms"].items() if per_seed}
    results["summary"], results["paired"] = summarise(done)
    results["verdict"] = verdict(results["paired"])
    results["table_markdown"] = markdown_tables(results["summary"], results["paired"], results["random_weights"])
    results_path.parent.mkdir(parents=True, exist_ok=True)
    results_path.write_text(json.dumps(results, indent=2))
    plot(results, figure_path)
    print(results["table_markdown"], flush=True)


def merge(paths: list[Path], results_path: Path, figure_path: Path) -> dict[str, Any]:
    """Combine results files of one setup run in parallel (per seed or per arm; their `setup` must agree but for the
    seeds); arms in the order of ARMS."""
    parts = [json.loads(path.read_text()) for path in paths]

    def strip(setup: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in setup.items() if k != "seeds"}

    if any(strip(part["setup"]) != strip(parts[0]["setup"]) for part in parts):
        raise SystemExit(f"--merge: the setups of {', '.join(map(str, paths))} differ")
    results = {**parts[0], "merged_from": [str(p) for p in paths], "commands": [p["command"] for p in parts]}
    results["arms"] = {arm: {} for arm in ARMS if any(arm in part["arms"] for part in parts)}
    for part in parts:
        for arm, per_seed in part["arms"].items():
            results["arms"][arm].update(per_seed)
    results["setup"]["seeds"] = sorted({int(s) for per_seed in results["arms"].values() for s in per_seed})
    results["wall_s"] = max(part["wall_s"] for part in parts)
    results["wall_s_note"] = "the runs were parallel: wall_s is the longest"
    finish(results, results_path, figure_path)
    return results


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")  # imported before the first arm, so that its import is not charged to that arm's time
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    out = args.output_dir or ROOT / "outputs" / ("pruning_experiment_quick" if args.quick else "pruning_experiment")
    results_path = args.results or (
        out / "pruning_experiment.json" if args.quick else ROOT / "benchmarks" / "results" / "pruning_experiment.json"
    )
    figure_path = args.figure or (
        out / "pruning_experiment.png" if args.quick else ROOT / "benchmarks" / "figures" / "pruning_experiment.png"
    )
    if args.merge:
        return merge(args.merge, results_path, figure_path)
    overrides = _overrides(args)
    reference = arm_config(args.config, "uniform", args.seeds[0], out / "unused", overrides)
    archive = SyntheticWVArchive(reference.synthetic)
    rare = rare_classes(archive)
    archives = eval_archives(reference.synthetic, probe_split_sizes(args), args.eval_seed)
    knn = (reference.knn.knn_k, reference.knn.knn_temperature)
    run, selection = reference.run, reference.selection
    started = time.perf_counter()
    results: dict[str, Any] = {
        "command": " ".join(["python", *sys.argv]),
        "commit": _git_commit(),
        "machine": {
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "device": "cuda" if torch.cuda.is_available() else "cpu",
            "load_average_at_start": os.getloadavg(),
        },
        "setup": {
            "base_config": str(args.config.relative_to(ROOT) if args.config.is_relative_to(ROOT) else args.config),
            "overrides": overrides,
            "archive_size": len(archive),
            "redundancy": reference.synthetic.redundancy,
            "redundancy_bases": reference.synthetic.redundancy_bases,
            "variety": reference.synthetic.variety,
            "archive_class_histogram": archive.class_counts().tolist(),
            "image_size": reference.model.input_size,
            "backbone": reference.model.backbone,
            "epochs": run.epochs,
            "steps_per_epoch": run.steps_per_epoch,
            "batch_size": run.batch_size,
            "images_seen": run.epochs * run.steps_per_epoch * run.batch_size,
            "rho": selection.rho,
            "pruning_warmup_epochs": reference.pruning.warmup_epochs,
            "pruning_every_epochs": reference.pruning.every_epochs,
            "pruning_clusters": selection.clusters,
            "eval": {name: f"class-balanced, {len(a)} images, seed {a.config.seed}" for name, a in archives.items()},
            "seeds": args.seeds,
        },
        "rare_classes": [CLASS_NAMES[c] for c in rare],
        "arms": {arm: {} for arm in args.arms},
    }
    results["random_weights"] = evaluate_model(
        f"random:{reference.model.backbone}", reference.model.input_size, archives, rare, knn
    )
    for seed in args.seeds:
        for arm in args.arms:
            config = arm_config(args.config, arm, seed, out / f"seed{seed}" / arm, overrides)
            logger.info("=== seed %d, arm %s → %s", seed, arm, config.run.output_dir)
            trained = trained_or_train(config, args.reuse)
            histograms = trained["selected_class_histograms"] or [trained["archive_class_histogram"]]
            rare_share = float(np.mean([sum(h[c] for c in rare if c < len(h)) / sum(h) for h in histograms]))
            evaluation = evaluate_model(trained["final_model"], config.model.input_size, archives, rare, knn)
            results["arms"][arm][seed] = {**trained, **evaluation, "rare_share": rare_share}
            logger.info("seed %d, arm %s: %s", seed, arm, {k: evaluation[k] for k, _, _ in METRICS})
        results["wall_s"] = time.perf_counter() - started
        finish(results, results_path, figure_path)
    print(json.dumps(results["verdict"], indent=2))
    print(f"\nresults: {results_path}\nfigure: {figure_path}\nwall time: {results['wall_s']:.0f} s")
    return results


if __name__ == "__main__":
    main(sys.argv[1:])

# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Downstream evaluation of a frozen OceanSAR backbone: TenGeoP classification (linear + k-NN), significant wave
height and wind speed regression (ridge), as in the OceanSAR-1 paper's linear probing.

    python -m training.probe --model PATH --task tengeop|wave|wind [--data synthetic|tengeop:DIR|table:FILE]
        [--output DIR] [--batch_size 64] [--num_train N [N ...]] [--num_val N] [--num_test N]

`--model` is a folder `AutoModel.from_pretrained` loads (an OceanSAR backbone or head folder, or the released
transformers-ResNet format, converted with `oceansar_hf.from_released_resnet`), or `random:BACKBONE` for a randomly
initialised baseline. Writes to `--output`: `results.json`, a figure (`confusion_matrix.png` or `scatter.png`), the
feature cache (`feature_cache/`) and the probe exported as an `OceanSARForImageClassification` folder (`model/`).
Run it under `accelerate launch -m training.probe ...` to embed with several processes. The synthetic data is
rendered with the `--synthetic_*` settings of the pretraining archive (same flags, same defaults).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from oceansar_hf import TASKS, TENGEOP_CLASSES, OceanSARForImageClassification, OceanSARImageProcessor, OceanSARModel
from oceansar_hf.probe_results import ProbeResults

from ..arguments import ArgumentGroup, parse_groups
from ..data import SyntheticArchiveConfig
from ..features import FeatureSet, cache_key, extract_features, extract_or_load
from .data import ProbeData, build_probe_data
from .export import export_probe
from .knn import knn_classify
from .linear import LinearProbe, fit_logistic_probe, fit_ridge_probe
from .metrics import classification_metrics, regression_metrics
from .models import load_backbone

logger = logging.getLogger(__name__)

EXPORT_CHECK_SAMPLES = 16


@dataclass
class ProbeConfig:
    """Arguments of `python -m training.probe`. `input_size` applies to `random:` models and to model folders saved
    without a `preprocessor_config.json` (a saved processor keeps its own size)."""

    model: str = field(
        metadata={"help": "Model folder (OceanSAR or released transformers-ResNet format), or random:BACKBONE."}
    )
    task: str = field(metadata={"help": "tengeop (10-class accuracy), wave (Hs, m) or wind (speed, m/s)."})
    data: str = field(default="synthetic", metadata={"help": "synthetic, tengeop:DIR or table:FILE."})
    output: str | None = field(default=None, metadata={"help": "Output folder (default: outputs/probe-<task>)."})
    batch_size: int = field(default=64, metadata={"help": "Images per forward pass when extracting features."})
    num_train: list[int] | None = field(
        default=None,
        metadata={
            "help": "Training-set size(s); several values give a label-efficiency curve (details.by_num_train), the "
            "largest gives the headline metrics. Default: 2000 (synthetic) or the whole split."
        },
    )
    num_val: int | None = field(default=None, metadata={"help": "Validation size (default 500 synthetic, or all)."})
    num_test: int | None = field(default=None, metadata={"help": "Test size (default 500 synthetic, or all)."})
    input_size: int = field(
        default=256,
        metadata={
            "help": "Side (px) of the processed image: the image processor's output and the model's native input size."
        },
    )
    seed: int = field(default=0, metadata={"help": "Synthetic archive seeds / file split shuffle seed."})
    split_fractions: list[float] = field(
        default_factory=lambda: [0.8, 0.05, 0.15],
        metadata={"help": "Train/val/test fractions for tengeop:DIR and table:FILE data."},
    )
    k: int = field(default=20, metadata={"help": "k-NN neighbours (TenGeoP)."})
    temperature: float = field(default=0.07, metadata={"help": "k-NN vote temperature T (TenGeoP)."})
    class_balanced: bool = field(
        default=True, metadata={"help": "Inverse-frequency class weights in the logistic probe's loss."}
    )
    num_workers: int = field(default=2, metadata={"help": "DataLoader worker processes per process."})
    cache: bool = field(default=True, metadata={"help": "Reuse / write cached features under OUTPUT/feature_cache."})
    export: bool = field(default=True, metadata={"help": "Export the probe as a model folder under OUTPUT/model."})
    cpu: bool = field(default=False, metadata={"help": "Run on the CPU even when a GPU is present."})

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"unknown task {self.task!r}; valid tasks: {sorted(TASKS)}")
        if self.num_train is not None and (not self.num_train or min(self.num_train) < 1):
            raise ValueError(f"num_train must be positive sizes, got {self.num_train}")
        if self.output is None:
            self.output = f"outputs/probe-{self.task}"


# ---------------------------------------------------------------------------------------------------- probes


def _split_features(
    config: ProbeConfig,
    data: ProbeData,
    model: OceanSARModel,
    processor: OceanSARImageProcessor,
    fingerprint: str,
    accelerator: Any,
) -> dict[str, FeatureSet]:
    cache_dir = Path(config.output) / "feature_cache"
    features = {}
    for name, split in data.splits.items():
        key = cache_key(fingerprint, split.description, split.all_indices(), processor)
        features[name] = extract_or_load(
            model,
            split.dataset,
            cache_dir / name if config.cache else None,
            key,
            indices=split.indices,
            processor=processor,
            batch_size=config.batch_size,
            accelerator=accelerator,
            num_workers=config.num_workers,
            desc=f"{name} features",
        )
    return features


def _labelled(feature_set: FeatureSet, target: str) -> tuple[FeatureSet, int]:
    """Rows with a known target (label >= 0 or a finite value) and the number of rows dropped."""
    values = feature_set.target(target)
    known = values >= 0 if target == "label" else np.isfinite(values)
    return feature_set.select(known), int((~known).sum())


def _train_subsets(train: FeatureSet, sizes: Sequence[int], seed: int) -> list[tuple[int, FeatureSet]]:
    """Nested random training subsets, one per requested size (clipped to the available rows), smallest first."""
    if max(sizes) > len(train):
        logger.warning("num_train %s: only %d labelled training samples; sizes clipped", list(sizes), len(train))
    order = np.random.default_rng(seed).permutation(len(train))
    clipped = sorted({min(size, len(train)) for size in sizes})
    return [(size, train.select(np.sort(order[:size]))) for size in clipped]


FitResult = tuple[LinearProbe, dict[str, float], dict[str, Any], list[dict[str, float]]]
"""A task's fitted probe (largest training size), headline metrics, details and label-efficiency curve."""


def _classification(
    config: ProbeConfig, train: FeatureSet, val: FeatureSet, test: FeatureSet, sizes: Sequence[int]
) -> FitResult:
    """Logistic probe and weighted k-NN for every training size; metrics of the largest."""
    num_classes = len(TENGEOP_CLASSES)
    curve, probe, metrics, knn = [], None, {}, 0.0
    for size, subset in _train_subsets(train, sizes, config.seed):
        probe = fit_logistic_probe(
            subset.features,
            subset.labels["label"],
            val.features,
            val.labels["label"],
            num_classes,
            class_balanced=config.class_balanced,
        )
        metrics = classification_metrics(probe.predict(test.features), test.labels["label"], num_classes)
        knn_predictions = knn_classify(
            subset.features, subset.labels["label"], test.features, config.k, config.temperature, num_classes
        )
        knn = float((knn_predictions.numpy() == test.labels["label"]).mean())
        curve.append({"num_train": size, "accuracy": metrics["accuracy"], "knn_accuracy": knn})
    headline = {"accuracy": metrics["accuracy"], "knn_accuracy": knn}
    details = {
        "class_names": list(TENGEOP_CLASSES),
        "balanced_accuracy": metrics["balanced_accuracy"],
        "per_class_accuracy": dict(zip(TENGEOP_CLASSES, metrics["per_class_accuracy"], strict=True)),
        "support": metrics["support"],
        "confusion_matrix": metrics["confusion_matrix"],
        "knn": {"k": config.k, "temperature": config.temperature},
        "chance_accuracy": 1.0 / num_classes,
    }
    return probe, headline, details, curve


def _regression(
    config: ProbeConfig, train: FeatureSet, val: FeatureSet, test: FeatureSet, sizes: Sequence[int]
) -> FitResult:
    """Ridge probe for every training size; metrics of the largest, and the RMSE of predicting the train mean."""
    target = TASKS[config.task]["target"]
    curve, probe, metrics, baseline = [], None, {}, 0.0
    for size, subset in _train_subsets(train, sizes, config.seed):
        probe = fit_ridge_probe(subset.features, subset.labels[target], val.features, val.labels[target])
        metrics = regression_metrics(probe.predict(test.features), test.labels[target])
        baseline = float(np.sqrt(np.mean((test.labels[target] - subset.labels[target].mean()) ** 2)))
        curve.append({"num_train": size, "rmse": metrics["rmse"], "mae": metrics["mae"], "bias": metrics["bias"]})
    headline = {"rmse": metrics["rmse"], "mae": metrics["mae"], "bias": metrics["bias"]}
    details = {
        "target": target,
        "r2": metrics["r2"],
        "pearson": metrics["pearson"],
        "baseline_rmse_train_mean": baseline,
        "test_target_mean": float(test.labels[target].mean()),
        "test_target_std": float(test.labels[target].std()),
    }
    return probe, headline, details, curve


def _check_export(
    exported: OceanSARForImageClassification,
    probe: LinearProbe,
    test: FeatureSet,
    dataset: Any,
    processor: OceanSARImageProcessor,
    accelerator: Any,
) -> float:
    """Largest |exported logits - probe outputs| over a few test images (should be ~1e-5, float32 rounding)."""

    class _Logits(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.head = exported

        def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
            return self.head(pixel_values=pixel_values).logits

    wrapper = _Logits().to(accelerator.device if accelerator is not None else "cpu")
    indices = test.indices[:EXPORT_CHECK_SAMPLES].numpy()
    logits = extract_features(wrapper, dataset, indices, processor, progress=False, desc="export check")
    rows = np.searchsorted(test.indices.numpy(), logits.indices.numpy())
    expected = probe.outputs(test.features[torch.as_tensor(rows)])
    return float((logits.features.double() - expected).abs().max())


def _figure(
    config: ProbeConfig, output: Path, metrics: dict, details: dict, probe: LinearProbe, test: FeatureSet
) -> str:
    from .plots import plot_confusion_matrix, plot_regression_scatter

    name = Path(config.model).name or config.model
    if config.task == "tengeop":
        title = f"TenGeoP linear probe, {name}: accuracy {100 * metrics['accuracy']:.1f} % (N={len(test)})"
        path = plot_confusion_matrix(
            details["confusion_matrix"], TENGEOP_CLASSES, output / "confusion_matrix.png", title
        )
    else:
        target, unit = TASKS[config.task]["target"], TASKS[config.task]["unit"]
        quantity = "significant wave height" if config.task == "wave" else "wind speed"
        title = (
            f"{quantity} ridge probe, {name}\nRMSE {metrics['rmse']:.2f} {unit}, bias {metrics['bias']:+.2f} {unit} "
            f"(N={len(test)})"
        )
        path = plot_regression_scatter(
            test.labels[target], probe.predict(test.features), output / "scatter.png", quantity, unit, title
        )
    return path.name


PROBE_GROUPS = (
    ArgumentGroup(ProbeConfig),
    ArgumentGroup(SyntheticArchiveConfig, prefix="synthetic_", exclude=("num_samples", "seed", "balanced")),
)
"""The argument groups of `python -m training.probe`: the probe, and how its synthetic data is rendered (split sizes
and seeds come from `--num_train/--num_val/--num_test` and `--seed`)."""


def run_probe(
    config: ProbeConfig, accelerator: Any = None, synthetic: SyntheticArchiveConfig | None = None
) -> dict[str, Any] | None:
    """Extract features, fit the probes, write results.json, the figure and the exported model.

    `synthetic` renders the synthetic data (default: `SyntheticArchiveConfig()`). Returns the results dict (the
    `ProbeResults` JSON) on the main process, None on the others.
    """
    model, processor, fingerprint = load_backbone(config.model, config.input_size, config.seed)
    if accelerator is not None:
        model.to(accelerator.device)
    sizes = {
        "train": max(config.num_train) if config.num_train else None,
        "val": config.num_val,
        "test": config.num_test,
    }
    synthetic = synthetic or SyntheticArchiveConfig()
    data = build_probe_data(config.data, config.task, synthetic, sizes, config.seed, config.split_fractions)
    features = _split_features(config, data, model, processor, fingerprint, accelerator)
    if accelerator is not None and not accelerator.is_main_process:
        return None
    target = TASKS[config.task]["target"]
    labelled, dropped = {}, {}
    for name, feature_set in features.items():
        if target not in feature_set.labels:
            raise ValueError(f"the {name} split of {config.data!r} has no {target!r} values for task {config.task!r}")
        labelled[name], dropped[name] = _labelled(feature_set, target)
        if len(labelled[name]) == 0:
            raise ValueError(f"the {name} split of {config.data!r} has no sample with a known {target!r}")
    train, val, test = labelled["train"], labelled["val"], labelled["test"]
    train_sizes = config.num_train or [len(train)]
    fit = _classification if config.task == "tengeop" else _regression
    probe, metrics, details, curve = fit(config, train, val, test, train_sizes)
    output = Path(config.output)
    output.mkdir(parents=True, exist_ok=True)
    details.update(
        {
            "num_samples": {name: len(fs) for name, fs in labelled.items()},
            "num_train_used": curve[-1]["num_train"],
            "skipped_corrupt": {name: fs.n_skipped for name, fs in features.items()},
            "skipped_corrupt_names": [name for fs in features.values() for name in fs.skipped],
            "skipped_records": data.skipped_records,
            "dropped_without_target": dropped,
            "sweep": probe.sweep,
            "chosen": probe.chosen,
            "by_num_train": curve,
            "feature_dim": int(train.features.shape[1]),
            "input_size": processor.size["height"],
            "figure": _figure(config, output, metrics, details, probe, test),
        }
    )
    if config.export:
        exported = export_probe(model, probe, config.task, output / "model", processor)
        details["export_dir"] = "model"
        details["export_max_abs_diff"] = _check_export(
            exported, probe, test, data.splits["test"].dataset, processor, accelerator
        )
    results = ProbeResults(
        task=config.task,
        model=config.model,
        dataset_name=data.name,
        split="test",
        num_samples=len(test),
        synthetic=data.synthetic,
        metrics=metrics,
        units=TASKS[config.task]["unit"],
        details={**details, "config": asdict(config), "synthetic": asdict(synthetic)},
    )
    results.write(output / "results.json")
    return results.to_dict()


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point: parse arguments, run the probe, print the headline metrics."""
    from accelerate import Accelerator

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    config, synthetic = parse_groups(
        PROBE_GROUPS,
        list(sys.argv[1:] if argv is None else argv),
        prog="python -m training.probe",
        description="Linear / k-NN probes of a frozen OceanSAR backbone on TenGeoP, wave height or wind speed.",
        renamed={"image_size": "input_size"},
    )
    accelerator = Accelerator(cpu=config.cpu)
    results = run_probe(config, accelerator, synthetic)
    if results is not None:
        print(json.dumps({"task": results["task"], "metrics": results["metrics"], "output": config.output}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

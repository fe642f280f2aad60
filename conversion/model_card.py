# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Model cards: probe results JSON + an exported folder → `README.md` with Hub metadata and a `model-index`.

The templates are `model_cards/{base,tengeop,wave,wind}.md` (Jinja, rendered by `huggingface_hub.ModelCard
.from_template`). Data-driven blocks (input specification, evaluation table, training configuration, limitations
that depend on whether the numbers come from synthetic data) are built here and passed in as variables.

Probe results files follow `oceansar_hf.probe_results.ProbeResults` (written by the probes, validated here).

    python -m conversion.model_card --folder exported/oceansar-demo --kind base --repo-id me/oceansar-demo \\
        --results probes/tengeop.json probes/wave.json probes/wind.json --training-config outputs/demo/config.yaml
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from huggingface_hub import EvalResult, ModelCard, ModelCardData
from safetensors import safe_open

from oceansar_hf import BACKBONE_PRESETS, OceanSARConfig
from oceansar_hf.image_processing_oceansar import LEGACY_INPUT_KINDS
from oceansar_hf.probe_results import ProbeResults, ProbeResultsError
from oceansar_hf.tasks import TASKS


def template_dir() -> Path:
    """The card templates: `model_cards/` installed beside this module (wheel), or at the repository root (clone)."""
    here = Path(__file__).resolve().parent
    for folder in (here / "model_cards", here.parent / "model_cards"):
        if folder.is_dir():
            return folder
    raise CardError(f"the model card templates are missing (looked in {here / 'model_cards'} and {here.parent})")


LICENSE = "apache-2.0"
LIBRARY = "transformers"
COMMON_TAGS = [
    *("sar", "sentinel-1", "ocean", "remote-sensing", "earth-observation", "self-supervised", "dino"),
    *("dataset-pruning", "oceansar", "custom_code", "arxiv:2504.06962"),
]
NATIVE = {
    "resnet": {"class": "ResNetModel", "load": "", "features": "pooler_output.flatten(1)"},
    "vit": {"class": "ViTModel", "load": ", add_pooling_layer=False", "features": "last_hidden_state[:, 0]"},
}
"""Backbone folders written by `conversion.to_transformers` (by `model_type`): the transformers class, the
`AutoModel.from_pretrained` arguments and the expression that gives OceanSAR's (B, D) features."""


@dataclass(frozen=True)
class Kind:
    """What differs between the four cards: template, Hub pipeline tag, extra tags and the tasks it reports."""

    template: str
    pipeline_tag: str
    tags: tuple[str, ...]
    tasks: tuple[str, ...]
    architecture: str


KINDS = {
    "base": Kind(
        "base.md", "image-feature-extraction", ("feature-extraction",), ("tengeop", "wave", "wind"), "OceanSARModel"
    ),
    "tengeop": Kind(
        "tengeop.md",
        "image-classification",
        ("tengeop", "classification"),
        ("tengeop",),
        "OceanSARForImageClassification",
    ),
    "wave": Kind(
        "wave.md",
        "image-classification",
        ("regression", "wave-height", "linear-probing"),
        ("wave",),
        "OceanSARForImageClassification",
    ),
    "wind": Kind(
        "wind.md",
        "image-classification",
        ("regression", "wind-speed", "linear-probing"),
        ("wind",),
        "OceanSARForImageClassification",
    ),
}

METRIC_NAMES = {
    "accuracy": "linear-probe accuracy",
    "knn_accuracy": "k-NN accuracy",
    "rmse": "RMSE",
    "mae": "MAE",
    "bias": "bias (mean prediction − truth)",
}
PAPER_RESNET50 = {"tengeop": "75.5 % accuracy", "wave": "0.63 m RMSE", "wind": "1.62 m/s RMSE"}
"""Linear-probe results of the released OceanSAR-1 ResNet50 (Kerdreux et al. 2025, model cards), on real data."""

CITATION = """@article{kerdreux2025efficientselfsupervisedlearningearth,
  title={Efficient Self-Supervised Learning for Earth Observation via Dynamic Dataset Curation},
  author={Kerdreux, Thomas and Tuel, Alexandre and Febvre, Quentin and Mouche, Alexis and Chapron, Bertrand},
  journal={arXiv preprint arXiv:2504.06962},
  year={2025},
  eprint={2504.06962},
  archivePrefix={arXiv},
  primaryClass={cs.CV},
  url={https://arxiv.org/abs/2504.06962},
}"""

ARCHITECTURE_NAMES = {
    "resnet50": "ResNet-50",
    "vit_small_patch16": "ViT-S/16",
    "vit_small_patch8": "ViT-S/8",
    "vit_base_patch8": "ViT-B/8",
    "resnet_tiny": "tiny ResNet (test preset)",
    "vit_tiny_patch8": "tiny ViT/8 (test preset)",
}


def _preset_of(config: dict[str, Any]) -> str:
    """The `BACKBONE_PRESETS` name whose architecture a native ResNet / ViT config has (else its model type)."""
    for name, preset in BACKBONE_PRESETS.items():
        if preset["architecture"] == config.get("model_type") and all(
            config.get(key) == value for key, value in preset.items() if key not in ("architecture", "hidden_act")
        ):
            return name
    return str(config.get("model_type"))


def _num_features(config: dict[str, Any]) -> int:
    if config.get("model_type") in NATIVE:
        return config["hidden_sizes"][-1] if config["model_type"] == "resnet" else config["hidden_size"]
    return OceanSARConfig.from_dict(config).num_features


class CardError(ValueError):
    """Invalid probe results, a folder that does not fit the requested card, or an unusable template."""


def load_results(path: str | Path) -> ProbeResults:
    """Read and validate one probe results JSON file (the schema is `oceansar_hf.probe_results.ProbeResults`)."""
    try:
        return ProbeResults.read(path)
    except ProbeResultsError as error:
        raise CardError(str(error)) from error


def _read_json(path: Path, what: str) -> dict[str, Any]:
    if not path.is_file():
        raise CardError(f"{path.parent} has no {path.name} ({what}); export the model folder first.")
    try:
        return json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CardError(f"{path} is not valid JSON ({error}).") from error


def _num_parameters(folder: Path) -> int:
    total = 0
    for weights in sorted(folder.glob("*.safetensors")):
        with safe_open(str(weights), framework="pt") as handle:
            total += sum(math.prod(handle.get_slice(k).get_shape()) for k in handle.keys())  # noqa: SIM118
    return total


def _format_value(name: str, value: float, units: str | None) -> str:
    if name.endswith("accuracy"):
        return f"{100 * value:.2f} %"
    return f"{value:.3f} {units}"


def evaluation_table(results: list[ProbeResults]) -> str:
    """Markdown table of every metric of every results file (accuracies shown in %)."""
    if not results:
        return "This model has not been evaluated yet."
    rows = ["| Task | Dataset | Split | Samples | Synthetic | Metric | Value |", "|---|---|---|---|---|---|---|"]
    for result in results:
        for name, value in result.metrics.items():
            rows.append(
                f"| {TASKS[result.task]['name']} | {result.dataset_name} | {result.split} | {result.num_samples} | "
                f"{'yes' if result.synthetic else 'no'} | {METRIC_NAMES[name]} | "
                f"{_format_value(name, value, result.units)} |"
            )
    models = sorted({r.model for r in results})
    return "\n".join(rows) + "\n\nProbed model: " + ", ".join(f"`{m}`" for m in models) + "."


def data_caveat(results: list[ProbeResults]) -> str:
    """What the evaluation numbers can and cannot tell, depending on synthetic vs real evaluation data."""
    synthetic = sorted({r.dataset_name for r in results if r.synthetic})
    if not results:
        return "No evaluation results are attached to this card; the model's skill is unknown."
    if synthetic:
        return (
            f"**The evaluation numbers above come from synthetic data ({', '.join(synthetic)}): procedurally "
            "generated Wave Mode-like images, not real Sentinel-1 acquisitions.** They show that the pipeline "
            "works end to end; they say nothing about accuracy on real ocean scenes and must not be compared with "
            "the paper's numbers, which were measured on real data."
        )
    return "The evaluation numbers above were measured on real Sentinel-1 WV data (see the table for the splits)."


def _size_text(resize_mode: str, size: dict[str, int]) -> str:
    height, width = size.get("height"), size.get("width")
    if resize_mode == "resize":
        return (
            f"the whole image is resized to {height} × {width} pixels (a 20 km WV vignette then has pixels of "
            f"about {20_000 / height:.0f} m)"
        )
    if resize_mode == "center_crop":
        return f"a central {height} × {width} crop at the native pixel spacing (smaller images are resized up first)"
    return "kept as given (the model accepts any size)"


def input_specification(processor: dict[str, Any]) -> str:
    """Markdown bullets describing the input the model expects, read from `preprocessor_config.json`."""
    kind = LEGACY_INPUT_KINDS.get(processor.get("input_kind", "sigma0"), processor.get("input_kind", "sigma0"))
    size = processor.get("size", {})
    log = processor.get("do_log_scale", True)
    scale = "10·log10(σ0)"
    normalization = processor.get("normalization", "fixed") if processor.get("do_normalize", True) else "none"
    mean, std = processor.get("image_mean", ["?"])[0], processor.get("image_std", ["?"])[0]
    norm_text = {
        "fixed": f"(x − {mean:g} dB) / {std:g} dB, fixed dataset constants that keep the absolute backscatter level",
        "per_image": "per-image standardisation (discards the absolute backscatter level)",
        "none": "none (values stay in dB)",
    }[normalization]
    nodata = processor.get("nodata_value")
    constant = processor.get("calibration_constant")
    calibration = f", σ0 = DN² / {constant:g}²" if constant is not None else ""
    target = processor.get("target_pixel_spacing", [50.0, 50.0])[0]
    given = processor.get("pixel_spacing")
    spacing = (
        f"inputs at {given[0]:g} × {given[1]:g} m are averaged (in linear σ0) to {target:g} m"
        if given
        else f"pass `pixel_spacing=` (m) with each image to average it (in linear σ0) to {target:g} m first"
    )
    return "\n".join(
        [
            "- One channel: Sentinel-1 Wave Mode **VV** backscatter, one vignette per image (about 20 × 20 km).",
            f"- Raw input the processor expects: **{kind}** (`input_kind`{calibration}), a 2-D array (H, W) of any "
            "size or dtype.",
            f"- Pixel spacing: {spacing}.",
            f"- Log scaling: {scale + ' in dB' if log else 'none'}; σ0 below {processor.get('log_floor', 1e-6):g} "
            "is raised to it first.",
            f"- Missing pixels: non-finite, zero or negative values{f' and {nodata:g}' if nodata is not None else ''} "
            "are replaced by the image's median σ0 (counted and logged).",
            f"- Size: {_size_text(processor.get('resize_mode', 'resize'), size)}.",
            f"- Normalisation: {norm_text}.",
            "- Model input `pixel_values`: float32 (B, 1, H, W). Always use the bundled image processor; do not "
            "repeat the channel to RGB.",
        ]
    )


def _pruning_text(config: dict[str, Any]) -> str:
    if not config.get("pruning"):
        return "- Dynamic dataset pruning: **disabled** in this run (`pruning: false`); plain DINO on all images."
    settings = [
        f"{label} {config[key]}"
        for key, label in (
            ("pruning_warmup_epochs", "warm-up epochs"),
            ("pruning_every_epochs", "re-drawn every (epochs)"),
            ("pruning_rho", "kept fraction ρ"),
            ("pruning_eta", "η"),
        )
        if key in config
    ]
    return "- Dynamic dataset pruning: **enabled**" + (f" ({', '.join(settings)})." if settings else ".")


def training_section(training_config: str | Path | None, exported: dict[str, Any] | None = None) -> str:
    """Markdown: where the weights come from (`oceansar_training` in config.json), pruning on/off, the full config.

    `training_config` is the run's YAML/JSON (e.g. `<output_dir>/config.yaml`), shown in a collapsible block.
    """
    lines = []
    if exported:
        step = f"optimisation step {exported.get('global_step', '?')} (epoch {exported.get('epoch', '?')})"
        scores = {k: v for k, v in exported.items() if k not in ("global_step", "epoch", "dataset")}
        lines.append(
            f"- Weights exported at {step} of a run on the `{exported.get('dataset', '?')}` data"
            + (f"; last evaluation: {', '.join(f'{k} = {v}' for k, v in scores.items())}." if scores else ".")
        )
    if training_config is None:
        lines.append("- The exact training configuration was not attached to this card.")
        return "\n".join(lines)
    path = Path(training_config)
    try:
        config = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise CardError(f"{path}: cannot read the training configuration ({error}).") from error
    if not isinstance(config, dict):
        raise CardError(f"{path}: the training configuration must be a mapping, got {type(config).__name__}.")
    if "pruning" in config:
        lines.append(_pruning_text(config))
    dumped = yaml.safe_dump(config, sort_keys=False).strip()
    lines.append(
        f"\n<details>\n<summary>Configuration used (<code>{path.name}</code>)</summary>\n\n```yaml\n{dumped}\n```\n\n"
        "</details>"
    )
    return "\n".join(lines)


def render_card(
    folder: str | Path,
    kind: str,
    repo_id: str,
    results: list[ProbeResults] = (),
    base_model: str | None = None,
    training_config: str | Path | None = None,
    datasets: list[str] = (),
) -> ModelCard:
    """The model card of the exported `folder` (config.json, *.safetensors, preprocessor_config.json) as `kind`.

    Raises `CardError` when the folder does not hold the model `kind` describes, a result belongs to another task,
    or a head card has no `base_model`.
    """
    if kind not in KINDS:
        raise CardError(f"kind must be one of {sorted(KINDS)}, got {kind!r}.")
    spec, folder, results = KINDS[kind], Path(folder), list(results)
    config = _read_json(folder / "config.json", "the model config")
    processor = _read_json(folder / "preprocessor_config.json", "the image processor config")
    native = NATIVE.get(config.get("model_type"))
    if native and kind != "base":
        raise CardError(
            f"{folder} is a transformers-native backbone ({native['class']}); a {kind!r} card describes a head."
        )
    architecture = native["class"] if native else spec.architecture
    if architecture not in (config.get("architectures") or []):
        raise CardError(
            f"{folder} holds {config.get('architectures')}, but a {kind!r} card describes a {architecture}."
        )
    if kind != "base" and config.get("finetuning_task") not in (None, kind):
        raise CardError(f"{folder} is a {config['finetuning_task']!r} head, not a {kind!r} head.")
    if wrong := [r.task for r in results if r.task not in spec.tasks]:
        raise CardError(f"a {kind!r} card reports tasks {list(spec.tasks)}; got results for {wrong}.")
    if kind != "base" and not base_model:
        raise CardError(f"a {kind!r} head card needs --base-model (the Hub id of its backbone repo).")
    model_name = repo_id.rstrip("/").rsplit("/", 1)[-1]
    eval_results = [
        EvalResult(
            task_type=TASKS[r.task]["hub_task"],
            task_name=TASKS[r.task]["name"],
            dataset_type=r.dataset_name,
            dataset_name=f"{r.dataset_name}{' (synthetic)' if r.synthetic else ''}",
            dataset_split=r.split,
            metric_type=name,
            metric_value=value,
            metric_name=METRIC_NAMES[name].split(" (")[0] + (f" [{r.units}]" if r.units else ""),
        )
        for r in results
        for name, value in r.metrics.items()
    ]
    card_data = ModelCardData(
        license=LICENSE,
        library_name=LIBRARY,
        pipeline_tag=spec.pipeline_tag,
        tags=[*(t for t in COMMON_TAGS if not (native and t == "custom_code")), *spec.tags],
        base_model=base_model,
        datasets=list(dict.fromkeys([*datasets, *(r.dataset_name for r in results)])) or None,
        model_name=model_name,
        eval_results=eval_results or None,
    )
    backbone = _preset_of(config) if native else config.get("backbone", "resnet50")
    size = processor.get("size", {})
    template = template_dir() / spec.template
    if not template.is_file():
        raise CardError(f"the card template {template} is missing.")
    return ModelCard.from_template(
        card_data,
        template_path=str(template),
        repo_id=repo_id,
        model_name=model_name,
        architecture_name=ARCHITECTURE_NAMES.get(backbone, backbone),
        num_parameters=f"{_num_parameters(folder) / 1e6:.1f} M",
        num_features=_num_features(config),
        native=native,
        image_size=size.get("height"),
        input_kind=processor.get("input_kind", "sigma0"),
        class_names=list((config.get("id2label") or {}).values()),
        input_spec=input_specification(processor),
        training=training_section(training_config, config.get("oceansar_training")),
        evaluation=evaluation_table(results),
        limitations=data_caveat(results),
        paper_result=PAPER_RESNET50.get(kind),
        citation=CITATION,
    )


def write_card(folder: str | Path, kind: str, repo_id: str, **kwargs: Any) -> Path:
    """Render the card (see `render_card`), check that it parses back, and write `folder/README.md`."""
    card = render_card(folder, kind, repo_id, **kwargs)
    path = Path(folder) / "README.md"
    path.write_text(str(card), encoding="utf-8")
    ModelCard.load(path)
    return path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m conversion.model_card",
        description="Write README.md (Hub model card with metadata and model-index) into an exported OceanSAR folder.",
    )
    parser.add_argument("--folder", required=True, help="exported model folder (config.json, safetensors, ...)")
    parser.add_argument("--kind", required=True, choices=sorted(KINDS), help="which card to render")
    parser.add_argument("--repo-id", required=True, help="Hub repo id the card is written for (used in the snippet)")
    parser.add_argument("--results", nargs="*", default=[], help="probe results JSON files (see the schema)")
    parser.add_argument("--base-model", default=None, help="Hub id of the backbone repo (required for head cards)")
    parser.add_argument("--training-config", default=None, help="YAML/JSON training configuration to include")
    parser.add_argument("--dataset", action="append", default=[], help="extra `datasets` metadata entry (repeatable)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        path = write_card(
            args.folder,
            args.kind,
            args.repo_id,
            results=[load_results(p) for p in args.results],
            base_model=args.base_model,
            training_config=args.training_config,
            datasets=args.dataset,
        )
    except CardError as error:
        raise SystemExit(f"error: {error}") from None
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

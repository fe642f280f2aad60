# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Embed an archive to parquet shards: one embedding per readable sample, written shard by shard, resumable.

    python -m training.embed --model FOLDER --output DIR [--dataset png --data_path QUICKLOOKS] [--dtype auto]
    accelerate launch -m training.embed --model FOLDER --output DIR --dataset synthetic --synthetic_num_samples 20000

`--model` is a model folder (OceanSAR backbone or head, or the released transformers-ResNet format) or
`random:BACKBONE`; the dataset options are the pretraining ones (`--dataset`, `--data_path`, `--synthetic_*`, ...;
processor settings given here override the model folder's processor). The inference options are
`oceansar_hf.inference.InferenceOptions` (`--dtype auto|float32|bfloat16|float16`, `--channels_last`, `--fuse`,
`--compile`).

Output under DIR:
- `embeddings-SSSSS-of-NNNNN.parquet`: shard S holds the samples with dataset index in [S·shard_size, (S+1)·shard_size)
  that could be read, sorted by index. Columns: `index` (int64), `embedding` (fixed-size list of float32 or float16,
  `--storage`), `file` (the sample's file or record name), `label` (int64, -1 unknown), `wind_speed` (m/s),
  `wave_height` (m), `incidence_angle` (deg) (float32, NaN unknown). The shard's schema metadata `oceansar_embed`
  names the corrupt samples skipped in it. Read with `datasets.load_dataset("parquet", data_files="DIR/*.parquet")`
  or `read_embeddings(DIR)`.
- `embed_config.json`: the settings, written first; a restart with other settings is refused.
- `manifest.json`: model, dtype, features, count, skipped (written when every shard is done).

Each shard is written to `<name>.tmp`, fsynced and renamed, so a killed run never leaves a half-written shard
visible; a restart with the same command skips the finished shards. Under `accelerate launch`, process r embeds the
shards S with S mod world = r.

Features: `pooler_output` by default (ResNet: global average pool of the last stage; ViT: CLS token after the final
layer norm). `--layer L` takes `hidden_states[L]` instead (0 = stem / patch embeddings, -1 = last block, before the
ViT's final layer norm), pooled with `--layer_pooling`: `mean` (ResNet: spatial mean; ViT: mean of the patch tokens)
or `cls` (ViT only: the CLS token).
"""

from __future__ import annotations

import json
import logging
import math
import os
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch
from accelerate import Accelerator
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from oceansar_hf import OceanSARImageProcessor
from oceansar_hf.inference import InferenceModel, InferenceOptions, prepare_for_inference

from .arguments import ArgumentGroup, parse_groups
from .build import build_dataset, has_accelerator
from .config import DataArguments
from .data import SyntheticArchiveConfig, collate_samples
from .data.readers import TARGET_KEYS
from .inputs import ModelInputs
from .probes.models import load_backbone

logger = logging.getLogger(__name__)

STORAGE_DTYPES = {"float32": pa.float32(), "float16": pa.float16()}
POOLINGS = ("mean", "cls")
METADATA_KEY = b"oceansar_embed"
PROCESSOR_FIELDS = (
    "input_kind",
    "calibration_constant",
    "pixel_spacing",
    "nodata_value",
    "normalization",
    "image_mean",
    "image_std",
)
"""`DataArguments` fields that, when given, override the model folder's image processor."""


@dataclass
class EmbedArguments:
    """What to embed with, where to write it, and which features."""

    model: str = field(
        metadata={"help": "Model folder (OceanSAR or released transformers-ResNet format), or random:BACKBONE."}
    )
    output: str = field(metadata={"help": "Folder of the parquet shards, embed_config.json and manifest.json."})
    batch_size: int = field(default=64, metadata={"help": "Images per forward pass when extracting features."})
    shard_size: int = field(default=4096, metadata={"help": "Dataset indices per parquet shard (the resume unit)."})
    storage: str = field(default="float32", metadata={"help": "Embedding column type: float32 or float16."})
    layer: int | None = field(
        default=None,
        metadata={"help": "None: pooled features. L: hidden_states[L] (0 = stem/patches, -1 = last block), pooled."},
    )
    layer_pooling: str = field(
        default="mean", metadata={"help": "Pooling of --layer: mean (spatial / patch tokens) or cls (ViT CLS token)."}
    )
    input_size: int = field(
        default=256,
        metadata={
            "help": "Side (px) of the processed image: the image processor's output and the model's native input size."
        },
    )
    seed: int = field(default=0, metadata={"help": "Seed of a random:BACKBONE model's weights."})

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.shard_size < 1:
            raise ValueError(f"batch_size and shard_size must be >= 1, got {self.batch_size}, {self.shard_size}")
        if self.storage not in STORAGE_DTYPES:
            raise ValueError(f"storage must be one of {sorted(STORAGE_DTYPES)}, got {self.storage!r}")
        if self.layer_pooling not in POOLINGS:
            raise ValueError(f"layer_pooling must be one of {POOLINGS}, got {self.layer_pooling!r}")


EMBED_GROUPS = (
    ArgumentGroup(EmbedArguments),
    ArgumentGroup(InferenceOptions),
    ArgumentGroup(DataArguments, exclude=("fit_normalization_samples",)),
    ArgumentGroup(SyntheticArchiveConfig, prefix="synthetic_"),
)
"""The argument groups of `python -m training.embed`."""


def shard_name(shard: int, num_shards: int) -> str:
    return f"embeddings-{shard:05d}-of-{num_shards:05d}.parquet"


def pool_features(outputs: Any, layer: int | None, pooling: str) -> torch.Tensor:
    """(B, D) features from a backbone output: `pooler_output`, or `hidden_states[layer]` pooled (see module doc)."""
    if layer is None:
        return outputs.pooler_output.flatten(1)
    hidden = outputs.hidden_states[layer]
    if hidden.ndim == 4:  # ResNet stage output (B, C, H, W)
        return hidden.mean(dim=(2, 3))
    return hidden[:, 0] if pooling == "cls" else hidden[:, 1:].mean(dim=1)  # ViT tokens (B, 1 + N, D)


def _processor(model_processor: OceanSARImageProcessor, data: DataArguments) -> OceanSARImageProcessor:
    overrides = {name: getattr(data, name) for name in PROCESSOR_FIELDS if getattr(data, name) is not None}
    if not overrides:
        return model_processor
    logger.info("image processor settings from the command line override the model's: %s", overrides)
    return OceanSARImageProcessor.from_dict({**model_processor.to_dict(), **overrides})


def _write_atomic(path: Path, write: Any) -> None:
    """`write(temp_path)`, fsync, rename to `path`, fsync the folder: the file appears whole or not at all."""
    temp = path.with_name(path.name + ".tmp")
    write(temp)
    with temp.open("rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(temp, path)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def _write_json(path: Path, value: dict[str, Any]) -> None:
    _write_atomic(path, lambda temp: temp.write_text(json.dumps(value, indent=2, default=str) + "\n"))


class ShardWriter:
    """Collects one shard's rows batch by batch and writes it as a parquet file atomically."""

    def __init__(self, folder: Path, shard: int, num_shards: int, storage: str) -> None:
        self.path = folder / shard_name(shard, num_shards)
        self.shard, self.storage = shard, storage
        self.embeddings: list[np.ndarray] = []
        self.columns: dict[str, list[Any]] = {key: [] for key in ("index", "file", "label", *TARGET_KEYS)}
        self.skipped: list[str] = []

    def add(self, batch: dict, embeddings: np.ndarray, files: list[str]) -> None:
        self.skipped.extend(batch["skipped"])
        if not batch["batch_size"]:
            return
        count = batch["batch_size"]
        self.embeddings.append(embeddings)
        self.columns["index"].extend(np.asarray(batch["index"], dtype=np.int64).tolist())
        self.columns["file"].extend(files)
        self.columns["label"].extend(np.asarray(batch.get("label", np.full(count, -1)), np.int64).tolist())
        for key in TARGET_KEYS:
            self.columns[key].extend(np.asarray(batch.get(key, np.full(count, np.nan)), np.float32).tolist())

    def write(self, dim: int) -> None:
        vectors = np.concatenate(self.embeddings) if self.embeddings else np.zeros((0, dim), np.float32)
        numpy_dtype = np.float16 if self.storage == "float16" else np.float32
        values = pa.array(vectors.astype(numpy_dtype).reshape(-1), type=STORAGE_DTYPES[self.storage])
        table = pa.table(
            {
                "index": pa.array(self.columns["index"], pa.int64()),
                "embedding": pa.FixedSizeListArray.from_arrays(values, dim),
                "file": pa.array(self.columns["file"], pa.string()),
                "label": pa.array(self.columns["label"], pa.int64()),
                **{key: pa.array(self.columns[key], pa.float32()) for key in TARGET_KEYS},
            }
        )
        table = table.replace_schema_metadata({METADATA_KEY: json.dumps({"skipped": self.skipped}).encode()})
        _write_atomic(self.path, lambda temp: pq.write_table(table, temp))


def _batches(shards: Sequence[int], shard_size: int, length: int, batch_size: int) -> Iterator[list[int]]:
    for shard in shards:
        indices = list(range(shard * shard_size, min((shard + 1) * shard_size, length)))
        for start in range(0, len(indices), batch_size):
            yield indices[start : start + batch_size]


def _settings(args: EmbedArguments, inference: InferenceOptions, data: DataArguments, synthetic: Any, **extra: Any):
    dataset = {**asdict(data), **({"synthetic": asdict(synthetic)} if data.dataset == "synthetic" else {})}
    return json.loads(json.dumps({**asdict(args), "inference": asdict(inference), "data": dataset, **extra}))


def embed(
    args: EmbedArguments,
    inference: InferenceOptions,
    data: DataArguments,
    synthetic: SyntheticArchiveConfig,
    accelerator: Accelerator | None = None,
) -> dict[str, Any] | None:
    """Embed the archive into `args.output` (see the module docstring); returns the manifest (main process) or None."""
    accelerator = accelerator or Accelerator(cpu=not has_accelerator())
    rank, world = accelerator.process_index, accelerator.num_processes
    output = Path(args.output)
    model, model_processor, fingerprint = load_backbone(args.model, args.input_size, args.seed)
    if args.layer is not None and args.layer_pooling == "cls" and model.config.architecture != "vit":
        raise ValueError("--layer_pooling cls needs a ViT (a ResNet stage has no CLS token); use mean")
    processor = _processor(model_processor, data)
    dataset = build_dataset(data, synthetic)
    num_shards = math.ceil(len(dataset) / args.shard_size)
    settings = _settings(
        args, inference, data, synthetic, model_fingerprint=fingerprint, processor=processor.to_dict(),
        dataset_length=len(dataset), num_shards=num_shards,
    )  # fmt: skip
    config_path = output / "embed_config.json"
    if accelerator.is_main_process:
        output.mkdir(parents=True, exist_ok=True)
        if not config_path.is_file():
            _write_json(config_path, settings)
    accelerator.wait_for_everyone()
    previous = json.loads(config_path.read_text())
    if previous != settings:
        changed = sorted(key for key in settings.keys() | previous.keys() if settings.get(key) != previous.get(key))
        raise ValueError(
            f"{output} holds embeddings made with other settings (differing: {changed}); resume with the same "
            "command, or choose another --output"
        )
    mine = [s for s in range(rank, num_shards, world) if not (output / shard_name(s, num_shards)).is_file()]
    fast = prepare_for_inference(model, inference, accelerator.device)
    logger.info(
        "process %d/%d: %d of %d shards to embed (compute dtype %s)", rank, world, len(mine), num_shards,
        fast.compute_dtype,
    )  # fmt: skip
    batches = list(_batches(mine, args.shard_size, len(dataset), args.batch_size))
    loader = DataLoader(
        ModelInputs(dataset, processor),
        batch_sampler=batches,
        num_workers=data.num_workers,
        collate_fn=collate_samples,
        pin_memory=accelerator.device.type == "cuda",
    )
    bar = tqdm(total=sum(map(len, batches)), unit="img", desc="embedding", disable=not accelerator.is_main_process)
    writer: ShardWriter | None = None
    with torch.inference_mode():
        probe = torch.zeros(1, model.config.num_channels, args.input_size, args.input_size, device=accelerator.device)
        dim = pool_features(fast(pixel_values=probe, output_hidden_states=True), args.layer, args.layer_pooling).shape[
            1
        ]
        for requested, batch in zip(batches, loader, strict=True):  # the loader keeps the batch_sampler's order
            shard = requested[0] // args.shard_size
            if writer is None or writer.shard != shard:
                writer = ShardWriter(output, shard, num_shards, args.storage)
            embeddings = np.zeros((0, dim), np.float32)
            if batch["batch_size"]:
                pixels = batch["pixel_values"].to(accelerator.device, non_blocking=True)
                outputs = fast(pixel_values=pixels, output_hidden_states=args.layer is not None)
                embeddings = pool_features(outputs, args.layer, args.layer_pooling).float().cpu().numpy()
            writer.add(batch, embeddings, [dataset.describe(int(i)) for i in batch.get("index", [])])
            bar.update(len(requested))
            if requested[-1] == min((shard + 1) * args.shard_size, len(dataset)) - 1:
                writer.write(dim)
    bar.close()
    accelerator.wait_for_everyone()
    if not accelerator.is_main_process:
        return None
    manifest = _manifest(output, settings, num_shards, fast.compute_dtype, dim)
    _write_json(output / "manifest.json", manifest)
    return manifest


def _manifest(output: Path, settings: dict, num_shards: int, dtype: torch.dtype, dim: int) -> dict[str, Any]:
    rows, skipped = 0, []
    for shard in range(num_shards):
        path = output / shard_name(shard, num_shards)
        schema = pq.read_schema(path)
        skipped.extend(json.loads(schema.metadata[METADATA_KEY])["skipped"])
        rows += pq.read_metadata(path).num_rows
    features = "pooler_output" if settings["layer"] is None else f"hidden_states[{settings['layer']}]"
    return {
        "model": settings["model"],
        "model_fingerprint": settings["model_fingerprint"],
        "features": features + ("" if settings["layer"] is None else f" {settings['layer_pooling']}-pooled"),
        "dim": dim,
        "compute_dtype": str(dtype).removeprefix("torch."),
        "storage": settings["storage"],
        "count": rows,
        "skipped": len(skipped),
        "skipped_samples": skipped,
        "num_shards": num_shards,
        "shards": [shard_name(s, num_shards) for s in range(num_shards)],
        "settings": settings,
    }


@dataclass
class Embeddings:
    """An embedded archive read back: rows sorted by dataset index.

    Attributes:
        indices: (N,) int64 dataset indices. vectors: (N, D) float32 embeddings. files: (N,) sample names.
        manifest: the run's `manifest.json` (model, dtype, features, counts, settings).
    """

    indices: np.ndarray
    vectors: np.ndarray
    files: list[str]
    manifest: dict[str, Any]


def read_embeddings(folder: str | Path) -> Embeddings:
    """The shards of a finished embed run (its `manifest.json` lists them); an unfinished run is an error."""
    folder = Path(folder)
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        raise FileNotFoundError(
            f"{folder} has no manifest.json: not the output of a finished `python -m training.embed` run (re-run the "
            "same command to finish it)"
        )
    manifest = json.loads(manifest_path.read_text())
    columns = ["index", "embedding", "file"]
    table = pa.concat_tables([pq.read_table(folder / name, columns=columns) for name in manifest["shards"]])
    values = table["embedding"].combine_chunks().flatten().to_numpy(zero_copy_only=False)
    vectors = values.astype(np.float32, copy=False).reshape(table.num_rows, manifest["dim"])
    indices = table["index"].to_numpy()
    order = np.argsort(indices, kind="stable")
    if np.any(np.diff(indices[order]) == 0):
        raise ValueError(f"{folder}: a dataset index appears in two shards; the run's files were mixed")
    files = table["file"].to_pylist()
    return Embeddings(indices[order], vectors[order], [files[i] for i in order], manifest)


def archive_of(manifest: dict[str, Any]) -> tuple[Any, OceanSARImageProcessor]:
    """(dataset, image processor) an embed run read, rebuilt from its manifest (for montages and queries)."""
    data = dict(manifest["settings"]["data"])
    synthetic = SyntheticArchiveConfig(**data.pop("synthetic", {}))
    dataset = build_dataset(DataArguments(**data), synthetic)
    return dataset, OceanSARImageProcessor.from_dict(manifest["settings"]["processor"])


def model_of(manifest: dict[str, Any], device: torch.device | str = "cpu") -> tuple[InferenceModel, EmbedArguments]:
    """The backbone of an embed run, set up with its inference options, and the run's `EmbedArguments`."""
    settings = manifest["settings"]
    args = EmbedArguments(**{name: settings[name] for name in EmbedArguments.__dataclass_fields__})
    model, _, _ = load_backbone(args.model, args.input_size, args.seed)
    return prepare_for_inference(model, InferenceOptions(**settings["inference"]), device), args


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the groups and embed; prints the manifest's summary."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args, inference, data, synthetic = parse_groups(
        EMBED_GROUPS,
        sys.argv[1:] if argv is None else argv,
        prog="python -m training.embed",
        description="Embed an archive with an OceanSAR backbone into resumable parquet shards.",
    )
    start = time.perf_counter()
    manifest = embed(args, inference, data, synthetic)
    if manifest is not None:
        seconds = time.perf_counter() - start
        print(
            f"embedded {manifest['count']} samples ({manifest['skipped']} corrupt skipped) of dim {manifest['dim']} "
            f"in {seconds:.1f}s ({manifest['compute_dtype']}) → {args.output}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

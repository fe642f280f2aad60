# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Checkpoint IO of pretraining runs: the layout (written once, here), saving, finding, loading, and model export.

A checkpoint is `<output_dir>/checkpoints/checkpoint-<global_step:08d>/`:

- Accelerate's `save_state`: `model.safetensors` (student: `backbone.*` = `OceanSARModel`, `head.*` = DINO head),
  `model_1.safetensors` (teacher, same keys), `optimizer.bin`, `random_states_<rank>.pkl` (and `scaler.pt` with fp16).
  Accelerate reads these back with `torch.load(weights_only=True)` and an allow-list of numpy types: no arbitrary
  object is unpickled. No custom object is registered with Accelerate (those it would unpickle without restriction);
- `trainer_tensors.safetensors`: the DINO center and the tensors / arrays of the callbacks' states;
- `oceansar_config.json` (the backbone's `OceanSARConfig`) and `preprocessor_config.json` (the run's processor);
- `trainer_state.json`, written last: format version, `layout` (which file holds what: `conversion/` reads it), run
  state, callbacks' JSON state and the run's flat config.

Every file is written in `.tmp-checkpoint-<step>/`, fsynced, and the folder is renamed into place (then the parent is
fsynced). **A checkpoint is complete iff its `trainer_state.json` exists and is a JSON object** — the one rule
resume (`find_checkpoint`) and conversion (`conversion/from_training_checkpoint.py`, which reads the same file and
its `layout`) apply; resume also needs format `FORMAT_VERSION`. Exported models (`final_model/`) are written the same
way.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

logger = logging.getLogger(__name__)

CHECKPOINT_PREFIX = "checkpoint-"
STATE_FILE = "trainer_state.json"
TENSORS_FILE = "trainer_tensors.safetensors"
MASK_TOKEN_KEY = "embeddings.mask_token"
"""iBOT's mask token in a ViT backbone's state dict (training only: not exported)."""
FORMAT = "oceansar-hf pretraining checkpoint"
FORMAT_VERSION = 2
LAYOUT = {
    "student": "model.safetensors",
    "teacher": "model_1.safetensors",
    "backbone_prefix": "backbone.",
    "backbone_config": "oceansar_config.json",
    "processor": "preprocessor_config.json",
    "tensors": TENSORS_FILE,
}
"""Which file of a checkpoint holds what. Accelerate names prepared models in order: student first, teacher second."""

_NAME = re.compile(rf"^{CHECKPOINT_PREFIX}(\d+)$")


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used: incomplete, from another format version, or from another run's config."""


# ----------------------------------------------------------------------------------------------------- finding


def read_state(checkpoint: Path) -> dict[str, Any]:
    """The `trainer_state.json` of a complete checkpoint; `CheckpointError` says why a folder is not one."""
    path = Path(checkpoint) / STATE_FILE
    if not path.is_file():
        raise CheckpointError(f"{checkpoint} is not a complete checkpoint (no {STATE_FILE}: interrupted while saving?)")
    try:
        state = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{path} is unreadable ({error})") from error
    if not isinstance(state, dict):
        raise CheckpointError(f"{path} is not a checkpoint state (a JSON object)")
    return state


def check_version(checkpoint: Path, state: dict[str, Any]) -> None:
    """Resume needs the current format; older checkpoints can still be exported by `conversion/`."""
    version = state.get("format_version", 1)
    if version != FORMAT_VERSION:
        raise CheckpointError(
            f"{checkpoint} has checkpoint format {version}; this version resumes format {FORMAT_VERSION}. Resume it "
            "with oceansar-hf 0.1 (format 1), or export its weights with "
            "`python -m conversion.from_training_checkpoint`."
        )


def is_complete(checkpoint: Path) -> bool:
    """Whether `checkpoint` is a complete checkpoint of the current format (see the module docstring)."""
    try:
        read_state(checkpoint)
    except CheckpointError:
        return False
    return True


def list_checkpoints(output_dir: Path) -> list[Path]:
    """The `checkpoint-<step>` folders under `output_dir/checkpoints`, by step (temporary folders excluded)."""
    root = Path(output_dir) / "checkpoints"
    if not root.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in root.iterdir() if p.is_dir() and (m := _NAME.match(p.name))]
    return [path for _, path in sorted(found)]


def find_checkpoint(output_dir: Path, resume: str) -> Path | None:
    """`resume` = "latest" (newest complete checkpoint of the run), "auto" (the same, or None when there is none
    yet: a fresh start, for requeued jobs) or a checkpoint folder (which must be complete)."""
    if resume not in ("latest", "auto"):
        check_version(Path(resume), read_state(Path(resume)))
        return Path(resume)
    complete = [c for c in list_checkpoints(output_dir) if is_complete(c)]
    if complete:
        check_version(complete[-1], read_state(complete[-1]))
        return complete[-1]
    if resume == "auto":
        return None
    raise FileNotFoundError(f"--resume latest: no complete checkpoint under {Path(output_dir) / 'checkpoints'}")


RUN_FILES = ("checkpoints", "final_model", "metrics.jsonl", "config.yaml", "training_curves.png", "pruning")
"""What a run writes in its output_dir (besides the tracker's folder): a fresh run refuses a folder holding any."""


def previous_run_files(output_dir: Path, tracker_dir: str) -> list[Path]:
    """The files and folders an earlier run left in `output_dir` (`tracker_dir`: the tracker's log folder name)."""
    return [Path(output_dir) / name for name in (*RUN_FILES, tracker_dir) if (Path(output_dir) / name).exists()]


# ------------------------------------------------------------------------------------- JSON + tensors state


def split_tensors(value: Any, tensors: dict[str, torch.Tensor], path: str = "state") -> Any:
    """`value` with every tensor / numpy array replaced by `{"__tensor__": key, "numpy": bool}` and stored in
    `tensors[key]` (contiguous CPU copies); the rest must be JSON values (dict keys are strings)."""
    if isinstance(value, torch.Tensor | np.ndarray):
        tensors[path] = torch.as_tensor(value).detach().cpu().contiguous().clone()
        return {"__tensor__": path, "numpy": isinstance(value, np.ndarray)}
    if isinstance(value, dict):
        return {str(k): split_tensors(v, tensors, f"{path}.{k}") for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [split_tensors(v, tensors, f"{path}.{i}") for i, v in enumerate(value)]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"checkpoint state at {path}: {type(value).__name__} is neither JSON nor a tensor/array")


def join_tensors(value: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """Inverse of `split_tensors`."""
    if isinstance(value, dict):
        if "__tensor__" in value:
            tensor = tensors[value["__tensor__"]]
            return tensor.numpy() if value.get("numpy") else tensor
        return {k: join_tensors(v, tensors) for k, v in value.items()}
    if isinstance(value, list):
        return [join_tensors(v, tensors) for v in value]
    return value


# ------------------------------------------------------------------------------------------------- writing


def fsync_tree(folder: Path) -> None:
    """fsync every file under `folder`, then the folders themselves (so a rename after it publishes durable data)."""
    for root, _, files in os.walk(folder):
        for name in files:
            with open(os.path.join(root, name), "rb") as handle:
                os.fsync(handle.fileno())
        fsync_dir(Path(root))


def fsync_dir(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def publish(tmp: Path, final: Path) -> None:
    """fsync `tmp`, replace `final` by it (rename), fsync the parent folder."""
    fsync_tree(tmp)
    if final.exists():
        shutil.rmtree(final)
    tmp.rename(final)
    fsync_dir(final.parent)


def save_checkpoint(
    accelerator: Any,
    output_dir: Path,
    step: int,
    state: dict[str, Any],
    backbone_config_json: str,
    processor: Any,
    keep_last: int,
) -> Path:
    """Write the checkpoint of global step `step` (collective: call on every process) and keep the last `keep_last`.

    `state` holds the run state (JSON values and tensors/arrays: split into `trainer_state.json` and
    `trainer_tensors.safetensors`). Returns the checkpoint folder.
    """
    root = Path(output_dir) / "checkpoints"
    name = f"{CHECKPOINT_PREFIX}{step:08d}"
    final, tmp = root / name, root / f".tmp-{name}"
    if accelerator.is_main_process:
        shutil.rmtree(tmp, ignore_errors=True)
        root.mkdir(parents=True, exist_ok=True)
    accelerator.wait_for_everyone()
    accelerator.save_state(str(tmp))
    if accelerator.is_main_process:
        tensors: dict[str, torch.Tensor] = {}
        json_state = split_tensors(state, tensors)
        save_file(tensors, str(tmp / TENSORS_FILE))
        (tmp / LAYOUT["backbone_config"]).write_text(backbone_config_json)
        processor.save_pretrained(tmp)
        for key in ("student", "teacher", "backbone_config", "processor"):
            if not (tmp / LAYOUT[key]).is_file():
                raise CheckpointError(f"checkpoint layout changed: {LAYOUT[key]} ({key}) was not written in {tmp}")
        record = {"format": FORMAT, "format_version": FORMAT_VERSION, "layout": LAYOUT, **json_state}
        (tmp / STATE_FILE).write_text(json.dumps(record, indent=2))  # last: marks the checkpoint complete
        publish(tmp, final)
        for old in list_checkpoints(output_dir)[:-keep_last]:
            shutil.rmtree(old)
    accelerator.wait_for_everyone()
    return final


def load_checkpoint(accelerator: Any, checkpoint: Path) -> dict[str, Any]:
    """Restore models, optimizer and RNG states with Accelerate (no custom objects) and return the saved state
    (JSON values with their tensors/arrays put back)."""
    record = read_state(checkpoint)
    check_version(checkpoint, record)
    _check_random_states(Path(checkpoint), accelerator.process_index)
    accelerator.load_state(str(checkpoint))
    tensors = load_file(str(Path(checkpoint) / TENSORS_FILE))
    state = {k: v for k, v in record.items() if k not in ("format", "format_version", "layout")}
    return join_tensors(state, tensors)


def _check_random_states(checkpoint: Path, rank: int) -> None:
    """Accelerate skips an unreadable RNG-state file with a log line; a resume must not silently lose it. The file is
    read the way Accelerate reads it (`weights_only=True` with its allow-list), so nothing is executed."""
    from accelerate.utils import load

    path = checkpoint / f"random_states_{rank}.pkl"
    try:
        load(path, map_location="cpu")
    except Exception as error:  # torch raises UnpicklingError, OSError, RuntimeError... for a bad file
        raise CheckpointError(f"{path} cannot be restored safely: {str(error).splitlines()[0]}") from error


def export_model(backbone: Any, processor: Any, folder: Path, training_info: dict[str, Any]) -> Path:
    """Teacher backbone → `OceanSARModel` folder (safetensors, config with `oceansar_training` = `training_info`,
    preprocessor config, code files for `trust_remote_code`), written atomically. Main process only. iBOT's mask token
    is a training-only parameter: a backbone that has one is exported as the plain model, without it."""
    if getattr(getattr(backbone, "embeddings", None), "mask_token", None) is not None:
        plain = type(backbone)(backbone.config)
        plain.load_state_dict({k: v for k, v in backbone.state_dict().items() if k != MASK_TOKEN_KEY})
        backbone = plain
    backbone.config.oceansar_training = training_info
    tmp = folder.with_name(f".tmp-{folder.name}")
    shutil.rmtree(tmp, ignore_errors=True)
    backbone.save_pretrained(tmp)
    processor.save_pretrained(tmp)
    publish(tmp, folder)
    return folder

# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Upload an exported OceanSAR folder (with its README model card) to the Hugging Face Hub, after checking it.

What is uploaded: `*.safetensors` (+ index), `config.json`, `preprocessor_config.json`, the Python files that their
`auto_map` names (for `trust_remote_code`) and `README.md`. Other files are left out and listed.

Either form of a model is published, as the folder holds it: an OceanSAR folder (`model_type` "oceansar", loaded
with `trust_remote_code`) or a transformers-native backbone folder written by `conversion.to_transformers`
(`ResNetModel` / `ViTModel`, loaded without remote code; only its image processor is OceanSAR code). The card
(`conversion.model_card`) reads the same folder, so its usage section matches the form published.

Refused, each with a clear message: pickle weights anywhere in the folder (.bin, .pt, .pth, .pkl, .ckpt, ...),
missing required files, a card whose metadata does not parse (`ModelCard.load`) or lacks license / library_name /
pipeline_tag, and a folder that does not load with `AutoModel.from_pretrained(folder, trust_remote_code=True)` (a
native folder: without `trust_remote_code`) in a fresh Python process that never imports `oceansar_hf`.

That load check **runs the folder's Python code** (its `auto_map` files), with a dry run too. It runs isolated from
the token (`isolated_environment`): a new process whose environment holds only PATH, the locale and thread counts
(no HF_TOKEN / HUGGING_FACE_HUB_TOKEN, nor any other variable of yours), whose HOME, HF_HOME, token paths and XDG
folders are empty temporary folders, with the Hub offline and a temporary working directory. It runs as your user,
so code that reads your files by absolute path is not stopped: for a folder whose code you do not trust, use
`--no-load-check`, which runs none of it and checks instead that the safetensors tensor names and shapes (read from
the file headers) are those the installed `oceansar_hf` builds from config.json, and whether the code files are the
installed package's.

The token comes from `HF_TOKEN` or the stored login (`hf auth login`); it is never printed, logged or written. An
unreachable Hub (offline, no network) ends with one line saying so; nothing is committed.

    python -m conversion.push_to_hub exported/oceansar-demo --repo-id me/oceansar-demo --dry-run /tmp/upload-preview
    python -m conversion.push_to_hub exported/oceansar-demo --repo-id me/oceansar-demo --private
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import site
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

import httpx2
import torch
from huggingface_hub import HfApi, ModelCard, get_token
from huggingface_hub.errors import HfHubHTTPError
from safetensors import safe_open

import oceansar_hf
from oceansar_hf import OceanSARConfig, OceanSARForImageClassification, OceanSARModel

from .to_transformers import NATIVE_CLASSES, native_load_kwargs
from .verify import PICKLE_SUFFIXES, check_state_dict, ensure_writable, staged_folder

REQUIRED_METADATA = ("license", "library_name", "pipeline_tag")
CONFIG_FILES = ("config.json", "preprocessor_config.json")
LOAD_CHECK_TIMEOUT_S = 600
KEPT_ENVIRONMENT = (
    "PATH",
    "LANG",
    "LANGUAGE",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "TMPDIR",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
)
"""The only variables of the caller's environment that the load check's process sees."""
MODEL_CLASSES = {cls.__name__: cls for cls in (OceanSARModel, OceanSARForImageClassification)}

LOAD_CHECK = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from transformers import AutoImageProcessor, AutoModel, AutoModelForImageClassification

    folder = Path(sys.argv[1])
    config = json.loads((folder / "config.json").read_text())
    native = {"resnet": {}, "vit": {"add_pooling_layer": False}}.get(config.get("model_type"))
    if native is not None:  # transformers-native form: the model must load without remote code
        loaded = [AutoModel.from_pretrained(folder, **native)]
    else:
        loaded = [AutoModel.from_pretrained(folder, trust_remote_code=True)]
    architectures = config.get("architectures") or []
    if native is None and any(name.endswith("ForImageClassification") for name in architectures):
        loaded.append(AutoModelForImageClassification.from_pretrained(folder, trust_remote_code=True))
    if (folder / "preprocessor_config.json").is_file():
        loaded.append(AutoImageProcessor.from_pretrained(folder, trust_remote_code=True))
    if "oceansar_hf" in sys.modules:
        raise SystemExit("the folder's code imports the oceansar_hf package; it must be self-contained")
    print(", ".join(type(item).__name__ for item in loaded))
    """
)


class PushError(ValueError):
    """A folder that must not be uploaded (the message says why and what was expected)."""


def _code_files(folder: Path) -> list[str]:
    """The `.py` files that the `auto_map` entries of config.json / preprocessor_config.json refer to."""
    names = []
    for config_name in CONFIG_FILES:
        path = folder / config_name
        if not path.is_file():
            continue
        try:
            auto_map = json.loads(path.read_text()).get("auto_map") or {}
        except (UnicodeDecodeError, json.JSONDecodeError, AttributeError) as error:
            raise PushError(f"{path} is not a valid JSON object ({error}).") from error
        for reference in auto_map.values():
            for item in reference if isinstance(reference, list) else [reference]:
                if item:
                    names.append(item.split("--")[-1].rsplit(".", 1)[0] + ".py")
    return sorted(set(names))


def select_files(folder: str | Path) -> tuple[list[str], list[str]]:
    """(files to upload, files left out) of `folder`, after refusing pickles and checking the required files."""
    folder = Path(folder)
    if not folder.is_dir():
        raise PushError(f"{folder} is not a folder.")
    present = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    if pickles := [name for name in present if name.lower().endswith(PICKLE_SUFFIXES)]:
        raise PushError(
            f"{folder} contains pickle weights {pickles}; only safetensors are published (pickles can run code when "
            "loaded). Remove them, or re-export the folder with save_pretrained (safetensors is the default)."
        )
    weights = [name for name in present if name.endswith(".safetensors") and "/" not in name]
    code = _code_files(folder)
    missing = [name for name in ("config.json", "README.md", *code) if name not in present]
    if not weights:
        missing.append("model.safetensors")
    if missing:
        raise PushError(
            f"{folder} is missing {missing}. Expected an exported model folder (conversion.from_*) with a model "
            "card written by `python -m conversion.model_card`."
        )
    wanted = {*weights, *code, "config.json", "README.md"}
    wanted |= {name for name in (*CONFIG_FILES, "model.safetensors.index.json") if name in present}
    return sorted(wanted), sorted(set(present) - wanted)


def check_card(readme: Path) -> ModelCard:
    """Parse the card with `ModelCard.load` and require license, library_name and pipeline_tag."""
    try:
        card = ModelCard.load(readme)
    except Exception as error:  # huggingface_hub raises ValueError or yaml errors for broken metadata
        raise PushError(f"{readme}: the model card metadata does not parse ({error}).") from error
    metadata = card.data.to_dict()
    if missing := [key for key in REQUIRED_METADATA if not metadata.get(key)]:
        raise PushError(
            f"{readme}: the card metadata lacks {missing}; render it with `python -m conversion.model_card`."
        )
    return card


def isolated_environment(home: Path) -> dict[str, str]:
    """The load check's environment: `KEPT_ENVIRONMENT` only, the Hub offline, and HOME, HF_HOME, the token files and
    the XDG folders inside the empty folder ``home``, so that neither a token variable nor the stored login (or any
    other credential file under HOME) is found. The user's site-packages stay importable."""
    env = {key: os.environ[key] for key in KEPT_ENVIRONMENT if key in os.environ}
    hf_home = home / "huggingface"
    env.update(
        HOME=str(home),
        HF_HOME=str(hf_home),
        HF_TOKEN_PATH=str(hf_home / "token"),
        HF_STORED_TOKENS_PATH=str(hf_home / "stored_tokens"),
        XDG_CACHE_HOME=str(home / "cache"),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_DATA_HOME=str(home / "data"),
        HF_HUB_OFFLINE="1",
        HF_HUB_DISABLE_TELEMETRY="1",
    )
    user_site = site.getusersitepackages()
    if site.ENABLE_USER_SITE and user_site in sys.path:  # packages installed with `pip install --user`
        env["PYTHONPATH"] = user_site
    return env


def check_loads(folder: Path) -> str:
    """Load `folder` (with trust_remote_code unless it is transformers-native) in a fresh, isolated process
    (`isolated_environment`) without oceansar_hf; returns the loaded class names.

    AutoModel always, AutoModelForImageClassification for heads, AutoImageProcessor when a processor config exists.
    """
    with tempfile.TemporaryDirectory(prefix="oceansar-load-check-") as tmp:
        home, cwd = Path(tmp) / "home", Path(tmp) / "cwd"
        home.mkdir()
        cwd.mkdir()
        run = subprocess.run(
            [sys.executable, "-c", LOAD_CHECK, str(folder.resolve())],
            capture_output=True,
            text=True,
            env=isolated_environment(home),
            cwd=cwd,
            timeout=LOAD_CHECK_TIMEOUT_S,
        )
    if run.returncode != 0:
        raise PushError(
            f"{folder} does not load with AutoModel.from_pretrained (trust_remote_code=True unless "
            f"transformers-native) in a fresh process:\n{run.stderr.strip()[-2000:]}"
        )
    return run.stdout.strip().splitlines()[-1]


def check_without_running(folder: Path) -> str:
    """Check `folder` without running any of its code; returns what was checked.

    The tensors in its safetensors headers must have the names and shapes of the model that the *installed*
    `oceansar_hf` builds from its config.json (on the meta device: nothing allocated); the code files are compared
    with the installed package's (a difference is reported, not refused: they were neither run nor checked).
    """
    try:
        config_dict = json.loads((folder / "config.json").read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PushError(f"{folder / 'config.json'} is not valid JSON ({error}).") from error
    model_type = config_dict.get("model_type")
    if model_type in NATIVE_CLASSES and config_dict.get("architectures") == [NATIVE_CLASSES[model_type].__name__]:
        return _check_native_weights(folder, model_type)
    else:
        architectures = [name for name in config_dict.get("architectures") or [] if name in MODEL_CLASSES]
        if model_type != OceanSARConfig.model_type or len(architectures) != 1:
            raise PushError(
                f"{folder / 'config.json'}: --no-load-check verifies OceanSAR folders (model_type "
                f"{OceanSARConfig.model_type!r}, architectures one of {sorted(MODEL_CLASSES)}) and transformers-native "
                f"backbones (ResNetModel, ViTModel); found model_type {model_type!r}, architectures "
                f"{config_dict.get('architectures')}."
            )
        with torch.device("meta"):
            model = MODEL_CLASSES[architectures[0]](OceanSARConfig.from_pretrained(folder))
    shapes = {}
    for weights in sorted(folder.glob("*.safetensors")):
        try:
            with safe_open(str(weights), framework="pt") as tensors:
                shapes.update({key: tensors.get_slice(key).get_shape() for key in tensors.keys()})  # noqa: SIM118
        except Exception as error:  # safetensors raises its own SafetensorError for unreadable headers
            raise PushError(f"{weights}: not a readable safetensors file ({error}).") from error
    check_state_dict(
        model.state_dict(),
        {key: torch.empty(shape, device="meta") for key, shape in shapes.items()},
        f"{folder} safetensors",
    )
    installed = Path(oceansar_hf.__file__).parent
    differ = [name for name in _code_files(folder) if (folder / name).read_bytes() != _read(installed / name)]
    code = (
        f"code files differ from the installed oceansar_hf {oceansar_hf.__version__}: {differ} (not run, not checked)"
        if differ
        else f"code files identical to the installed oceansar_hf {oceansar_hf.__version__} (not run)"
    )
    return f"{len(shapes)} tensors match {architectures[0]} built from config.json (no code run); {code}"


def _check_native_weights(folder: Path, model_type: str) -> str:
    """A transformers-native folder has no model code: its safetensors are loaded by the installed transformers class
    (which knows its own on-disk key names) and must fill it exactly."""
    cls = NATIVE_CLASSES[model_type]
    try:
        model, info = cls.from_pretrained(
            folder, output_loading_info=True, use_safetensors=True, **native_load_kwargs(model_type)
        )
    except (OSError, ValueError) as error:
        raise PushError(f"{folder}: the weights do not load into transformers' {cls.__name__} ({error}).") from error
    problems = {key: value for key, value in info.items() if value and key != "error_msgs"}
    if problems or info.get("error_msgs"):
        raise PushError(f"{folder}: the weights do not fill transformers' {cls.__name__}: {problems or info}.")
    tensors = len(model.state_dict())
    return f"{tensors} tensors fill transformers' {cls.__name__} exactly (a native folder has no model code to run)"


def _is_native(folder: Path) -> bool:
    """Whether `folder` holds the transformers-native form (a ResNetModel / ViTModel config.json)."""
    return json.loads((folder / "config.json").read_text()).get("model_type") in NATIVE_CLASSES


def _read(path: Path) -> bytes | None:
    return path.read_bytes() if path.is_file() else None


def stage(folder: str | Path, destination: Path, load_check: bool = True) -> list[str]:
    """Check `folder` and copy exactly what would be uploaded into the new folder `destination`; returns the files.

    With `load_check`, the copy is loaded by `check_loads` (which runs the folder's code, isolated from the token);
    without, the folder is checked by `check_without_running`.
    """
    folder = Path(folder)
    files, left_out = select_files(folder)
    check_card(folder / "README.md")
    checked = None if load_check else check_without_running(folder)
    with staged_folder(destination, overwrite=False) as staged:
        for name in files:
            shutil.copy2(folder / name, staged / name)
        if load_check:
            code = ", ".join(_code_files(staged)) or "none"
            print(
                f"load check: running the folder's Python code ({code}) in a fresh process without your token, "
                "stored login or environment, Hub offline (--no-load-check checks without running it)"
            )
            how = "without trust_remote_code" if _is_native(staged) else "with trust_remote_code"
            checked = f"loads as {check_loads(staged)} {how} in a fresh, isolated process"
    print(f"checked: {checked}; card metadata parses")
    if left_out:
        print(f"not uploaded: {', '.join(left_out)}")
    return files


def _list(folder: Path, files: list[str]) -> None:
    for name in files:
        print(f"  {name}  ({(folder / name).stat().st_size:,} bytes)")


def push(
    folder: str | Path,
    repo_id: str,
    private: bool = False,
    revision: str | None = None,
    create_pr: bool = False,
    commit_message: str | None = None,
    dry_run: str | Path | None = None,
    load_check: bool = True,
) -> str | None:
    """Check and upload `folder` to the model repo `repo_id`; with `dry_run`, write the upload folder there instead.

    A `revision` other than main is created as a branch if needed; `create_pr` opens a pull request against the
    default branch instead of committing (it cannot be combined with a `revision`). `load_check=False` checks the
    folder without running its code (see `stage`). Returns the commit or pull request URL, or None for a dry run.
    Raises `PushError` for a refused folder and for a Hub that cannot be reached or refuses the request.
    """
    if create_pr and revision not in (None, "main"):
        raise PushError(
            f"--create-pr opens a pull request against the default branch; it cannot target --revision {revision!r}."
        )
    message = commit_message or f"Upload {Path(folder).name} with oceansar-hf"
    if dry_run is not None:
        destination = Path(dry_run)
        ensure_writable(destination, overwrite=False)
        files = stage(folder, destination, load_check)
        target = "a pull request" if create_pr else f"branch {revision or 'main'}"
        print(
            f"dry run: would upload {len(files)} files from {destination} to {repo_id} ({target}, "
            f"{'private' if private else 'default visibility'}, commit message {message!r}; no network used):"
        )
        _list(destination, files)
        return None
    if not get_token():
        raise PushError("no Hugging Face token: set HF_TOKEN or run `hf auth login` first.")
    with tempfile.TemporaryDirectory() as tmp:
        upload_dir = Path(tmp) / "upload"
        files = stage(folder, upload_dir, load_check)
        try:
            info = _upload(upload_dir, repo_id, private, revision, create_pr, message)
        except HfHubHTTPError as error:
            detail = f" ({error.server_message})" if error.server_message else ""
            raise PushError(f"the Hub refused the request: {_first_line(error)}{detail}") from None
        except (OSError, httpx2.HTTPError) as error:  # offline mode, DNS, refused or dropped connections, timeouts
            raise PushError(
                f"cannot reach the Hugging Face Hub ({type(error).__name__}: {_first_line(error)}); nothing was "
                "committed. Check the network (and that HF_HUB_OFFLINE is unset), then run the same command again."
            ) from None
    result = info.pr_url or info.commit_url
    print(f"uploaded {len(files)} files: {result}")
    return result


def _upload(upload_dir: Path, repo_id: str, private: bool, revision: str | None, create_pr: bool, message: str) -> Any:
    """Create the repo (and branch) if needed and commit `upload_dir`; returns huggingface_hub's CommitInfo."""
    api = HfApi()
    # private=None keeps the Hub's (or the organisation's) default visibility for a new repo
    url = api.create_repo(repo_id, repo_type="model", private=private or None, exist_ok=True)
    print(f"repository: {url}")
    if revision not in (None, "main"):
        api.create_branch(repo_id, branch=revision, repo_type="model", exist_ok=True)
    return api.upload_folder(
        repo_id=repo_id,
        folder_path=upload_dir,
        repo_type="model",
        revision=revision,
        create_pr=create_pr,
        commit_message=message,
    )


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m conversion.push_to_hub",
        description="Check an exported OceanSAR folder (safetensors only, card metadata, fresh-process "
        "trust_remote_code load) and upload it to the Hugging Face Hub. Token: HF_TOKEN or the stored login.",
    )
    parser.add_argument("folder", help="exported model folder with README.md (see conversion.model_card)")
    parser.add_argument("--repo-id", required=True, help="target model repo, e.g. my-org/oceansar-resnet50")
    parser.add_argument("--private", action="store_true", help="create the repo as private (if it does not exist)")
    parser.add_argument("--revision", default=None, help="branch to commit to (created if missing; default main)")
    parser.add_argument("--create-pr", action="store_true", help="open a pull request instead of committing")
    parser.add_argument("--commit-message", default=None, help="commit message (default: 'Upload <folder> ...')")
    parser.add_argument(
        "--dry-run",
        metavar="DIR",
        default=None,
        help="write the exact folder that would be uploaded to DIR and list it; no network. The load check still "
        "runs the folder's Python code (isolated from your token); add --no-load-check not to run it",
    )
    parser.add_argument(
        "--no-load-check",
        dest="load_check",
        action="store_false",
        help="do not run the folder's code: check instead that its safetensors tensor names and shapes are those "
        "the installed oceansar_hf builds from config.json, and report whether its code files are the installed ones",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        push(
            args.folder,
            args.repo_id,
            private=args.private,
            revision=args.revision,
            create_pr=args.create_pr,
            commit_message=args.commit_message,
            dry_run=args.dry_run,
            load_check=args.load_check,
        )
    except ValueError as error:  # PushError, ConversionError, and the Hub's "Invalid metadata in README.md"
        raise SystemExit(f"error: {error}") from None
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

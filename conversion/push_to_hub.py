# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Upload an exported OceanSAR folder (with its README model card) to the Hugging Face Hub, after checking it.

What is uploaded: `*.safetensors` (+ index), `config.json`, `preprocessor_config.json`, the Python files that their
`auto_map` names (for `trust_remote_code`) and `README.md`. Other files are left out and listed.

Refused, each with a clear message: pickle weights anywhere in the folder (.bin, .pt, .pth, .pkl, .ckpt, ...),
missing required files, a card whose metadata does not parse (`ModelCard.load`) or lacks license / library_name /
pipeline_tag, and a folder that does not load with `AutoModel.from_pretrained(folder, trust_remote_code=True)` in a
fresh Python process that never imports `oceansar_hf`.

The token comes from `HF_TOKEN` or the stored login (`hf auth login`); it is never printed, logged or written.

    python -m conversion.push_to_hub exported/oceansar-demo --repo-id me/oceansar-demo --dry-run /tmp/upload-preview
    python -m conversion.push_to_hub exported/oceansar-demo --repo-id me/oceansar-demo --private
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from huggingface_hub import HfApi, ModelCard, get_token
from huggingface_hub.errors import HfHubHTTPError

from .verify import ensure_writable, move_into_place, staging_folder

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".pth.tar", ".joblib")
REQUIRED_METADATA = ("license", "library_name", "pipeline_tag")
CONFIG_FILES = ("config.json", "preprocessor_config.json")
LOAD_CHECK_TIMEOUT_S = 600

LOAD_CHECK = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from transformers import AutoImageProcessor, AutoModel, AutoModelForImageClassification

    folder = Path(sys.argv[1])
    loaded = [AutoModel.from_pretrained(folder, trust_remote_code=True)]
    architectures = json.loads((folder / "config.json").read_text()).get("architectures") or []
    if any(name.endswith("ForImageClassification") for name in architectures):
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


def check_loads(folder: Path) -> str:
    """Load `folder` with trust_remote_code in a fresh process without oceansar_hf; returns the loaded class names.

    AutoModel always, AutoModelForImageClassification for heads, AutoImageProcessor when a processor config exists.
    """
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")}
    env["HF_HUB_OFFLINE"] = "1"
    with tempfile.TemporaryDirectory() as cwd:
        run = subprocess.run(
            [sys.executable, "-c", LOAD_CHECK, str(folder.resolve())],
            capture_output=True,
            text=True,
            env=env,
            cwd=cwd,
            timeout=LOAD_CHECK_TIMEOUT_S,
        )
    if run.returncode != 0:
        raise PushError(
            f"{folder} does not load with AutoModel.from_pretrained(folder, trust_remote_code=True) in a fresh "
            f"process:\n{run.stderr.strip()[-2000:]}"
        )
    return run.stdout.strip().splitlines()[-1]


def stage(folder: str | Path, destination: Path) -> list[str]:
    """Check `folder` and copy exactly what would be uploaded into the new folder `destination`; returns the files."""
    folder = Path(folder)
    files, left_out = select_files(folder)
    check_card(folder / "README.md")
    staged = staging_folder(destination)
    try:
        for name in files:
            shutil.copy2(folder / name, staged / name)
        loaded = check_loads(staged)
        move_into_place(staged, destination, overwrite=False)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    print(f"checked: loads as {loaded} with trust_remote_code in a fresh process; card metadata parses")
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
) -> str | None:
    """Check and upload `folder` to the model repo `repo_id`; with `dry_run`, write the upload folder there instead.

    A `revision` other than main is created as a branch if needed; `create_pr` opens a pull request against the
    default branch instead of committing (it cannot be combined with a `revision`). Returns the commit or pull
    request URL, or None for a dry run.
    """
    if create_pr and revision not in (None, "main"):
        raise PushError(
            f"--create-pr opens a pull request against the default branch; it cannot target --revision {revision!r}."
        )
    message = commit_message or f"Upload {Path(folder).name} with oceansar-hf"
    if dry_run is not None:
        destination = Path(dry_run)
        ensure_writable(destination, overwrite=False)
        files = stage(folder, destination)
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
        files = stage(folder, upload_dir)
        api = HfApi()
        # private=None keeps the Hub's (or the organisation's) default visibility for a new repo
        url = api.create_repo(repo_id, repo_type="model", private=private or None, exist_ok=True)
        print(f"repository: {url}")
        if revision not in (None, "main"):
            api.create_branch(repo_id, branch=revision, repo_type="model", exist_ok=True)
        info = api.upload_folder(
            repo_id=repo_id,
            folder_path=upload_dir,
            repo_type="model",
            revision=revision,
            create_pr=create_pr,
            commit_message=message,
        )
    result = info.pr_url or info.commit_url
    print(f"uploaded {len(files)} files: {result}")
    return result


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
        help="write the exact folder that would be uploaded to DIR and list it; no network",
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
        )
    except HfHubHTTPError as error:
        raise SystemExit(f"error: the Hub refused the request: {error}") from None
    except ValueError as error:  # PushError, ConversionError, and the Hub's "Invalid metadata in README.md"
        raise SystemExit(f"error: {error}") from None
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

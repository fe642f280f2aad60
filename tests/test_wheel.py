"""The package as a user gets it: a wheel installed into a fresh virtual environment outside the checkout.

The dependencies (torch, transformers, ...) come from the test environment through a `.pth` path entry, so nothing is
downloaded; `.pth` files in that directory are not processed, so the checkout's editable install stays invisible.
Every console script's `--help`, then a tiny pretraining from the packaged demo config, a probe, card rendering and a
`push_to_hub --dry-run` run with the working directory elsewhere and no repository on `sys.path`.
"""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

SCRIPTS = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["scripts"]
TINY = [
    *("--synthetic_num_samples", "64", "--input_size", "32", "--synthetic_image_size", "32"),
    *("--global_crop_size", "32", "--local_crop_size", "16", "--num_local_crops", "2", "--batch_size", "8"),
    *("--out_dim", "64", "--hidden_dim", "32", "--bottleneck_dim", "16", "--epochs", "1", "--steps_per_epoch", "2"),
    *("--eval_every_epochs", "0", "--pruning", "false", "--num_workers", "0", "--fit_normalization_samples", "8"),
    *("--report_to", "none"),
]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv (outside the checkout) with the freshly built wheel installed; returns its bin/ folder."""
    root = tmp_path_factory.mktemp("wheel")
    dist = root / "dist"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(dist), str(REPO_ROOT)],
        capture_output=True,
        text=True,
        cwd=root,
        timeout=600,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    (wheel,) = dist.glob("oceansar_hf-*.whl")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    target = next(Path(p) for p in (venv / "lib").glob("python3*/site-packages"))
    (target / "test-dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    install = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--no-deps", "--no-index", str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    return venv / "bin"


def _run(installed: Path, command: list[str], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env |= {"HF_HUB_OFFLINE": "1", "PATH": f"{installed}:{env['PATH']}", "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout)
    assert result.returncode == 0, f"{command}: {result.stderr[-3000:]}"
    return result


def test_installed_names_are_the_projects_own_and_independent_of_the_checkout(installed, tmp_path):
    code = (
        "import importlib.util, sys, oceansar_training, oceansar_conversion, oceansar_hf; "
        "print(oceansar_training.__file__); "
        "assert importlib.util.find_spec('training') is None and importlib.util.find_spec('conversion') is None; "
        f"import pathlib; assert pathlib.Path({str(REPO_ROOT)!r}) not in [pathlib.Path(p).resolve() for p in sys.path]"
    )
    out = _run(installed, [str(installed / "python"), "-c", code], tmp_path).stdout
    assert "site-packages/oceansar_training/__init__.py" in out


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_every_console_script_has_help(installed, tmp_path, script):
    out = _run(installed, [str(installed / script), "--help"], tmp_path).stdout
    assert "usage:" in out


def test_pretrain_probe_card_and_publish_dry_run_from_the_wheel(installed, tmp_path):
    run_dir = tmp_path / "run"
    _run(installed, ["oceansar-pretrain", "--config", "demo", "--output_dir", str(run_dir), *TINY], tmp_path)
    model = run_dir / "final_model"
    assert (model / "model.safetensors").is_file()
    probe = tmp_path / "probe"
    sizes = ["--num_train", "40", "--num_val", "10", "--num_test", "20", "--num_workers", "0"]
    _run(
        installed, ["oceansar-probe", "--model", str(model), "--task", "wave", "--output", str(probe), *sizes], tmp_path
    )
    assert json.loads((probe / "results.json").read_text())["task"] == "wave"
    card = ["--folder", str(model), "--kind", "base", "--repo-id", "me/oceansar-tiny"]
    _run(installed, ["oceansar-model-card", *card, "--results", str(probe / "results.json")], tmp_path)
    assert "me/oceansar-tiny" in (model / "README.md").read_text()
    preview = tmp_path / "preview"
    push = ["oceansar-push-to-hub", str(model), "--repo-id", "me/oceansar-tiny", "--dry-run", str(preview)]
    push = _run(installed, push, tmp_path)
    assert preview.is_dir() and (preview / "README.md").is_file()
    listed = _run(installed, ["oceansar-configs", "--path", "accelerate/multi_cpu"], tmp_path).stdout.strip()
    assert listed.endswith("oceansar_training/configs/accelerate/multi_cpu.yaml") and Path(listed).is_file()

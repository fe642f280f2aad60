"""Native export: an OceanSAR folder → plain transformers ResNetModel / ViTModel, loaded where oceansar_hf is absent."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import sysconfig
import textwrap

import pytest
import torch
from huggingface_hub import ModelCard
from safetensors.torch import load_file, save_file

from conversion.model_card import write_card
from conversion.push_to_hub import main as push_main
from conversion.to_transformers import convert
from conversion.verify import ConversionError, reference_input
from oceansar_hf import OceanSARConfig, OceanSARImageProcessor, OceanSARModel
from tests.conftest import REPO_ROOT, run_fresh_python
from tests.conversion import TEST_SIZE, export_folder, randomise

NATIVE_UPLOAD = {
    "README.md",
    "config.json",
    "model.safetensors",
    "preprocessor_config.json",
    "image_processing_oceansar.py",
}
NATIVE_LOAD = textwrap.dedent(
    """
    import importlib.util, json, sys
    sys.path.append(sys.argv[1])  # site-packages only: no .pth files, so no editable oceansar_hf finder
    assert importlib.util.find_spec("oceansar_hf") is None, "oceansar_hf is importable"
    from safetensors.torch import load_file, save_file
    from transformers import AutoModel
    folder, x_path, out_path = sys.argv[2:]
    model_type = json.load(open(f"{folder}/config.json"))["model_type"]
    # no trust_remote_code; DINO trained no ViT pooler, so none is built (the default would add a random one)
    extra = {"add_pooling_layer": False} if model_type == "vit" else {}
    model = AutoModel.from_pretrained(folder, **extra).eval()
    x = load_file(x_path)["x"]
    outputs = model(x)
    if type(model).__name__ == "ResNetModel":
        features = outputs.pooler_output.flatten(1)  # native ResNet pools to (B, 2048, 1, 1)
    else:
        assert outputs.pooler_output is None  # no dense+tanh pooler: DINO's feature is the normed CLS token
        features = outputs.last_hidden_state[:, 0]
    save_file({"features": features.detach().contiguous()}, out_path)
    print(type(model).__name__, model.config.num_channels, model.config.to_dict().get("layer_norm_eps"))
    """
)


def load_without_oceansar(folder, x: torch.Tensor, tmp_path) -> tuple[str, torch.Tensor]:
    """Run NATIVE_LOAD in `python -I -S` (no user site, no PYTHONPATH, no .pth files) from an empty folder."""
    save_file({"x": x.contiguous()}, str(tmp_path / "x.safetensors"))
    cwd = tmp_path / "elsewhere"
    cwd.mkdir(exist_ok=True)
    site_packages = sysconfig.get_paths()["purelib"]
    run = subprocess.run(
        [sys.executable, "-I", "-S", "-c", NATIVE_LOAD, site_packages, str(folder), str(tmp_path / "x.safetensors"),
         str(tmp_path / "out.safetensors")],
        capture_output=True, text=True, cwd=cwd, timeout=300, env={"HF_HUB_OFFLINE": "1"},
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    return run.stdout.strip().splitlines()[-1], load_file(str(tmp_path / "out.safetensors"))["features"]


def test_resnet_export_by_the_cli_loads_natively_with_equal_features(tmp_path):
    source = tmp_path / "oceansar"
    model = export_folder(source)
    run = subprocess.run(
        [sys.executable, "-m", "conversion.to_transformers", str(source), str(tmp_path / "native")],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    assert "max |source - converted|" in run.stdout
    native = tmp_path / "native"
    config = json.loads((native / "config.json").read_text())
    assert (config["model_type"], config["architectures"], config["num_channels"]) == ("resnet", ["ResNetModel"], 1)
    assert "auto_map" not in config and not (native / "modeling_oceansar.py").exists()
    assert (
        OceanSARImageProcessor.from_pretrained(native).to_dict()
        == OceanSARImageProcessor.from_pretrained(source).to_dict()
    )
    x = reference_input(TEST_SIZE, batch=3, seed=7)
    described, features = load_without_oceansar(native, x, tmp_path)
    assert described.split()[:2] == ["ResNetModel", "1"]
    with torch.no_grad():
        torch.testing.assert_close(features, model(x).pooler_output, rtol=0, atol=1e-5)


def test_vit_export_keeps_dino_epsilon_and_reads_cls_from_last_hidden_state(tmp_path):
    config = OceanSARConfig(backbone="vit_tiny_patch8", image_size=32, num_hidden_layers=2)
    model = randomise(OceanSARModel(config), 5)
    model.save_pretrained(tmp_path / "oceansar")
    OceanSARImageProcessor(size=32).save_pretrained(tmp_path / "oceansar")
    assert convert(tmp_path / "oceansar", tmp_path / "native") <= 1e-5
    x = reference_input(32, batch=2, seed=3)
    described, features = load_without_oceansar(tmp_path / "native", x, tmp_path)
    assert described.split() == ["ViTModel", "1", "1e-06"]
    with torch.no_grad():
        torch.testing.assert_close(features, model(x).pooler_output, rtol=0, atol=1e-5)
    assert not any(k.startswith("pooler") for k in load_file(str(tmp_path / "native" / "model.safetensors")))


def test_head_folders_and_other_models_are_refused(tmp_path):
    export_folder(tmp_path / "head", "wave")
    with pytest.raises(ConversionError, match=r"expected an OceanSAR backbone folder .*OceanSARForImageClassification"):
        convert(tmp_path / "head", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_native_card_and_publish_dry_run_need_no_remote_code(tmp_path, capsys):
    export_folder(tmp_path / "oceansar")
    native = tmp_path / "native"
    convert(tmp_path / "oceansar", native)
    write_card(native, "base", str(native))
    card = ModelCard.load(native / "README.md")
    assert "custom_code" not in card.data.tags and "trust_remote_code=True" not in card.text
    assert "transformers `ResNetModel`" in card.text and ".pooler_output.flatten(1)" in card.text
    (snippet,) = re.findall(r"```python\n(.*?)```", card.text, flags=re.S)
    run = run_fresh_python(snippet, cwd=tmp_path)
    assert run.stdout.strip().splitlines()[-1] == "torch.Size([1, 256])"
    for check, preview in (([], "preview"), (["--no-load-check"], "preview-unrun")):
        argv = [str(native), "--repo-id", "me/oceansar-native", "--dry-run", str(tmp_path / preview), *check]
        assert push_main(argv) == 0
        assert {p.name for p in (tmp_path / preview).iterdir()} == NATIVE_UPLOAD
    out = capsys.readouterr().out
    assert "loads as ResNetModel, OceanSARImageProcessor without trust_remote_code in a fresh, isolated process" in out
    assert "tensors fill transformers' ResNetModel exactly" in out

"""save_pretrained / from_pretrained: safetensors, auto_map, fresh-process trust_remote_code loading, pipelines."""

from __future__ import annotations

import json
import os
import textwrap

import numpy as np
import pytest
import torch
from PIL import Image
from transformers import AutoImageProcessor, AutoModel, AutoModelForImageClassification, pipeline

from oceansar_hf import (
    OceanSARConfig,
    OceanSARForImageClassification,
    OceanSARImageProcessor,
    OceanSARModel,
    task_config,
)
from tests.conftest import run_fresh_python


def save_head(folder, backbone="resnet_tiny", task="tengeop", **overrides):
    model = OceanSARForImageClassification(task_config(task, backbone=backbone, image_size=64, **overrides)).eval()
    model.save_pretrained(folder)
    OceanSARImageProcessor(size=64).save_pretrained(folder)
    return model


@pytest.mark.parametrize("backbone", ["resnet_tiny", "vit_tiny_patch8"])
def test_round_trip_identical_outputs(tmp_path, backbone):
    model = OceanSARModel(OceanSARConfig(backbone=backbone, image_size=64)).eval()
    model.save_pretrained(tmp_path)
    files = set(os.listdir(tmp_path))
    assert {"config.json", "model.safetensors", "configuration_oceansar.py", "modeling_oceansar.py"} <= files
    assert not any(f.endswith((".bin", ".pt", ".pth")) for f in files)
    loaded = AutoModel.from_pretrained(tmp_path).eval()
    assert type(loaded) is OceanSARModel
    x = torch.randn(2, 1, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x).pooler_output, model(x).pooler_output, rtol=0, atol=0)


def test_auto_map_names_every_auto_class(tmp_path):
    save_head(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["auto_map"] == {
        "AutoConfig": "configuration_oceansar.OceanSARConfig",
        "AutoModel": "modeling_oceansar.OceanSARModel",
        "AutoModelForImageClassification": "modeling_oceansar.OceanSARForImageClassification",
        "AutoBackbone": "modeling_oceansar.OceanSARBackbone",
    }
    processor = json.loads((tmp_path / "preprocessor_config.json").read_text())
    assert processor["auto_map"] == {"AutoImageProcessor": "image_processing_oceansar.OceanSARImageProcessor"}
    assert (tmp_path / "image_processing_oceansar.py").is_file()
    assert type(AutoImageProcessor.from_pretrained(tmp_path)) is OceanSARImageProcessor
    assert type(AutoModelForImageClassification.from_pretrained(tmp_path)) is OceanSARForImageClassification


FRESH_PROCESS = textwrap.dedent(
    """
    import sys, numpy as np, torch
    from transformers import AutoImageProcessor, AutoModel, AutoModelForImageClassification
    folder, x_path, out_path = sys.argv[1:]
    x = torch.load(x_path)
    backbone = AutoModel.from_pretrained(folder, trust_remote_code=True).eval()
    head = AutoModelForImageClassification.from_pretrained(folder, trust_remote_code=True).eval()
    processor = AutoImageProcessor.from_pretrained(folder, trust_remote_code=True)
    assert "oceansar_hf" not in sys.modules, "the package must not be imported"
    pixels = processor(np.full((50, 70), 120.0, dtype=np.float32))["pixel_values"]
    with torch.no_grad():
        torch.save({"pooled": backbone(x).pooler_output, "logits": head(x).logits, "pixels": pixels,
                    "classes": [type(backbone).__name__, type(head).__name__, type(processor).__name__]}, out_path)
    """
)


@pytest.mark.parametrize("backbone", ["resnet_tiny", "vit_tiny_patch8"])
def test_fresh_process_trust_remote_code(tmp_path, backbone):
    folder = tmp_path / "model"
    model = save_head(folder, backbone=backbone, task="wave")
    x = torch.randn(2, 1, 64, 64)
    torch.save(x, tmp_path / "x.pt")
    run_fresh_python(FRESH_PROCESS, str(folder), str(tmp_path / "x.pt"), str(tmp_path / "out.pt"), cwd=tmp_path)
    result = torch.load(tmp_path / "out.pt")
    assert result["classes"] == ["OceanSARModel", "OceanSARForImageClassification", "OceanSARImageProcessor"]
    with torch.no_grad():
        torch.testing.assert_close(result["pooled"], model.oceansar(x).pooler_output, rtol=1e-6, atol=1e-6)
        torch.testing.assert_close(result["logits"], model(x).logits, rtol=1e-6, atol=1e-6)
    expected = OceanSARImageProcessor(size=64)(np.full((50, 70), 120.0, dtype=np.float32))["pixel_values"]
    torch.testing.assert_close(result["pixels"], expected)


def test_feature_extraction_pipeline_on_real_quicklook(tmp_path, quicklook_paths):
    model = save_head(tmp_path).oceansar
    extractor = pipeline("image-feature-extraction", model=str(tmp_path), trust_remote_code=True)
    image = Image.open(quicklook_paths[0])
    features = np.asarray(extractor(image, pool=True))
    assert features.shape == (1, 256)
    pixels = OceanSARImageProcessor(size=64)(image)["pixel_values"]
    with torch.no_grad():
        np.testing.assert_allclose(features[0], model(pixels).pooler_output[0].numpy(), rtol=1e-5, atol=1e-5)
    assert np.asarray(extractor(str(quicklook_paths[1]), pool=True)).shape == (1, 256)


def test_image_classification_pipeline(tmp_path, quicklook_paths):
    save_head(tmp_path)
    classifier = pipeline("image-classification", model=str(tmp_path), trust_remote_code=True)
    top = classifier(Image.open(quicklook_paths[2]), top_k=10)
    assert len(top) == 10 and abs(sum(p["score"] for p in top) - 1.0) < 1e-4
    assert {p["label"] for p in top} >= {"sea ice", "pure ocean waves"}
    amplitude = np.random.default_rng(0).gamma(4, 100, size=(100, 120)).astype(np.float32)
    assert len(classifier(amplitude, top_k=3)) == 3

"""This project's training checkpoint → OceanSARModel folder (teacher by default, --student on request)."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from conversion.from_training_checkpoint import main
from conversion.verify import model_outputs, reference_input
from oceansar_hf import OceanSARImageProcessor, OceanSARModel
from tests.conversion import TEST_SIZE, make_training_checkpoint


def refused(argv: list[str]) -> str:
    with pytest.raises(SystemExit) as error:
        main(argv)
    return str(error.value.code)


@pytest.mark.parametrize("backbone", ["resnet_tiny", "vit_tiny_patch8"])
def test_teacher_exported_by_default(tmp_path, capsys, backbone):
    checkpoint, models = make_training_checkpoint(tmp_path / "run", backbone)
    out = tmp_path / "export"
    assert main([str(checkpoint), str(out)]) == 0
    assert "teacher backbone: max |source - converted| = " in capsys.readouterr().out
    files = {p.name for p in out.iterdir()}
    assert files == {
        "config.json",
        "model.safetensors",
        "preprocessor_config.json",
        "configuration_oceansar.py",
        "modeling_oceansar.py",
        "image_processing_oceansar.py",
    }
    assert "head.mlp.0.weight" not in load_file(out / "model.safetensors")
    exported = OceanSARModel.from_pretrained(out)
    x = torch.randn(3, 1, TEST_SIZE, TEST_SIZE)
    torch.testing.assert_close(model_outputs(exported, x), model_outputs(models["teacher"], x), rtol=0, atol=1e-5)
    assert not torch.allclose(model_outputs(exported, x), model_outputs(models["student"], x), atol=1e-3)
    processor = OceanSARImageProcessor.from_pretrained(out)
    assert processor.size == {"height": TEST_SIZE, "width": TEST_SIZE} and processor.image_mean == [35.0]


def test_student_and_latest_checkpoint_of_a_run(tmp_path, capsys):
    make_training_checkpoint(tmp_path / "run", step=10)
    _, models = make_training_checkpoint(tmp_path / "run", step=200)
    assert main([str(tmp_path / "run"), str(tmp_path / "export"), "--student", "--verify-size", "32"]) == 0
    out = capsys.readouterr().out
    assert "checkpoint-00000200" in out and "over outputs (2, 256)" in out
    x = reference_input(TEST_SIZE, seed=5)
    exported = OceanSARModel.from_pretrained(tmp_path / "export")
    torch.testing.assert_close(model_outputs(exported, x), model_outputs(models["student"], x), rtol=0, atol=1e-5)


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_corrupt_weights_are_refused(tmp_path, damage):
    checkpoint, _ = make_training_checkpoint(tmp_path / "run")
    weights = checkpoint / "model_1.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2] if damage == "truncated" else b"\x00garbage" * 100)
    message = refused([str(checkpoint), str(tmp_path / "export")])
    assert "model_1.safetensors is not a readable safetensors file" in message
    assert not (tmp_path / "export").exists()


def test_mismatched_weights_are_refused_by_name(tmp_path):
    checkpoint, _ = make_training_checkpoint(tmp_path / "run")
    weights = checkpoint / "model_1.safetensors"
    tensors = load_file(weights)
    del tensors["backbone.embedder.embedder.convolution.weight"]
    tensors["backbone.encoder.stages.1.layers.0.layer.0.normalization.weight"] = torch.ones(7)
    save_file(tensors, str(weights))
    message = refused([str(checkpoint), str(tmp_path / "export")])
    assert "(teacher backbone) does not match" in message
    assert "1 missing: embedder.embedder.convolution.weight" in message
    assert "encoder.stages.1.layers.0.layer.0.normalization.weight (checkpoint (7,), model (64,))" in message
    assert not (tmp_path / "export").exists()


def test_missing_or_invalid_config_is_refused(tmp_path):
    checkpoint, _ = make_training_checkpoint(tmp_path / "run")
    config = checkpoint / "oceansar_config.json"
    config.write_text(json.dumps({"model_type": "resnet"}))
    assert "is not an OceanSARConfig" in refused([str(checkpoint), str(tmp_path / "export")])
    config.unlink()
    assert "has no oceansar_config.json" in refused([str(checkpoint), str(tmp_path / "export")])
    assert "neither a complete checkpoint" in refused([str(tmp_path), str(tmp_path / "export")])


def test_help_and_existing_output(tmp_path, capsys):
    with pytest.raises(SystemExit) as error:
        main(["--help"])
    assert error.value.code == 0 and "--student" in capsys.readouterr().out
    checkpoint, _ = make_training_checkpoint(tmp_path / "run")
    (tmp_path / "export").mkdir()
    (tmp_path / "export" / "keep.txt").write_text("x")
    assert "pass --overwrite" in refused([str(checkpoint), str(tmp_path / "export")])
    assert (tmp_path / "export" / "keep.txt").read_text() == "x"

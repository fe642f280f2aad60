"""Released transformers ResNet folders (OceanSAR-1 base and heads) → OceanSAR folders."""

from __future__ import annotations

import json
import os

import pytest
import torch
from transformers import ResNetConfig, ResNetForImageClassification, ResNetModel

from conversion.from_released import main
from conversion.verify import model_outputs
from oceansar_hf import OceanSARForImageClassification, OceanSARImageProcessor, OceanSARModel
from tests.conversion import Payload, randomise, write_json

SMALL = {"num_channels": 1, "embedding_size": 16, "hidden_sizes": [16, 32, 64, 128], "depths": [1, 1, 1, 1]}


def released_folder(folder, head: bool):
    if head:
        config = ResNetConfig(
            **SMALL, num_labels=1, problem_type="regression", id2label={0: "wind_speed"}, finetuning_task="wind"
        )
        model = ResNetForImageClassification(config)
    else:
        model = ResNetModel(ResNetConfig(**SMALL))
    randomise(model, 4).save_pretrained(folder)
    return model


@pytest.mark.parametrize("head", [False, True], ids=["base", "wind-head"])
def test_round_trip(tmp_path, capsys, head):
    original = released_folder(tmp_path / "released", head)
    processor = OceanSARImageProcessor(size=64, input_kind="sigma0_db").save_pretrained(tmp_path / "processor")[0]
    argv = [str(tmp_path / "released"), str(tmp_path / "out"), "--verify-size", "64", "--processor-config", processor]
    assert main(argv) == 0
    expected_class = OceanSARForImageClassification if head else OceanSARModel
    assert f"vs {expected_class.__name__}: max |source - converted|" in capsys.readouterr().out
    converted = expected_class.from_pretrained(tmp_path / "out")
    x = torch.randn(2, 1, 64, 64)
    torch.testing.assert_close(model_outputs(converted, x), model_outputs(original, x), rtol=0, atol=1e-5)
    assert OceanSARImageProcessor.from_pretrained(tmp_path / "out").input_kind == "sigma0_db"
    if head:
        assert converted.config.id2label == {0: "wind_speed"} and converted.config.problem_type == "regression"


def test_default_processor_is_announced(tmp_path, capsys):
    released_folder(tmp_path / "released", head=False)
    assert main([str(tmp_path / "released"), str(tmp_path / "out"), "--verify-size", "32"]) == 0
    assert "ships no image processor" in capsys.readouterr().out
    assert (tmp_path / "out" / "preprocessor_config.json").is_file()


def test_mismatched_and_corrupt_folders_are_refused(tmp_path):
    released_folder(tmp_path / "released", head=False)
    config = json.loads((tmp_path / "released" / "config.json").read_text())
    write_json(tmp_path / "released" / "config.json", {**config, "depths": [2, 1, 1, 1]})
    with pytest.raises(SystemExit) as error:
        main([str(tmp_path / "released"), str(tmp_path / "out")])
    assert "missing ['encoder.stages.0.layers.1.layer.0.convolution.weight'" in str(error.value.code)

    write_json(tmp_path / "released" / "config.json", config)
    weights = tmp_path / "released" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(SystemExit) as error:
        main([str(tmp_path / "released"), str(tmp_path / "out")])
    assert f"{weights}: the weights are not a readable safetensors file" in str(error.value.code)
    with pytest.raises(SystemExit) as error:
        main([str(tmp_path / "nowhere" / "x" / "y"), str(tmp_path / "out")])
    assert "neither a folder nor a Hub repo id" in str(error.value.code)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("payload", [False, True], ids=["plain-tensors", "malicious"])
def test_pickle_weights_are_refused_with_the_way_to_safetensors(tmp_path, payload):
    model = released_folder(tmp_path / "released", head=False)
    (tmp_path / "released" / "model.safetensors").unlink()
    marker = tmp_path / "payload-ran"
    state = {**model.state_dict(), **({"hook": Payload(os.system, f"touch {marker}")} if payload else {})}
    torch.save(state, tmp_path / "released" / "pytorch_model.bin")
    with pytest.raises(SystemExit) as error:
        main([str(tmp_path / "released"), str(tmp_path / "out")])
    message = str(error.value.code)
    assert message.startswith(f"error: {tmp_path / 'released' / 'pytorch_model.bin'}: pickle weights are refused")
    assert "found ['pytorch_model.bin'], expected model.safetensors" in message
    assert "save_file({k: v.contiguous() for k, v in torch.load('pytorch_model.bin', weights_only=True)" in message
    assert not marker.exists() and not (tmp_path / "out").exists()


def test_three_channel_stem_is_a_clear_error(tmp_path):
    config = ResNetConfig(**{**SMALL, "num_channels": 3})
    randomise(ResNetModel(config), 4).save_pretrained(tmp_path / "rgb")
    with pytest.raises(SystemExit) as error:
        main([str(tmp_path / "rgb"), str(tmp_path / "out"), "--verify-size", "32"])
    message = str(error.value.code)
    assert message.startswith(f"error: {tmp_path / 'rgb'} (ResNetModel) vs OceanSARModel: the weights' stem takes ")
    assert "3-channel images, expected 1" in message and not (tmp_path / "out").exists()

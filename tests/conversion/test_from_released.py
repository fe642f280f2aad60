"""Released transformers ResNet folders (OceanSAR-1 base and heads) → OceanSAR folders."""

from __future__ import annotations

import json

import pytest
import torch
from transformers import ResNetConfig, ResNetForImageClassification, ResNetModel

from conversion.from_released import main
from conversion.verify import model_outputs
from oceansar_hf import OceanSARForImageClassification, OceanSARImageProcessor, OceanSARModel
from tests.conversion import randomise, write_json

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
    processor = OceanSARImageProcessor(size=64, input_kind="db").save_pretrained(tmp_path / "processor")[0]
    argv = [str(tmp_path / "released"), str(tmp_path / "out"), "--verify-size", "64", "--processor-config", processor]
    assert main(argv) == 0
    expected_class = OceanSARForImageClassification if head else OceanSARModel
    assert f"vs {expected_class.__name__}: max |source - converted|" in capsys.readouterr().out
    converted = expected_class.from_pretrained(tmp_path / "out")
    x = torch.randn(2, 1, 64, 64)
    torch.testing.assert_close(model_outputs(converted, x), model_outputs(original, x), rtol=0, atol=1e-5)
    assert OceanSARImageProcessor.from_pretrained(tmp_path / "out").input_kind == "db"
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
    assert "the weights are not a readable safetensors file" in str(error.value.code)
    with pytest.raises(SystemExit) as error:
        main([str(tmp_path / "nowhere" / "x" / "y"), str(tmp_path / "out")])
    assert "neither a folder nor a Hub repo id" in str(error.value.code)
    assert not (tmp_path / "out").exists()

"""The shared gate: seeded input, agreement check, state-dict check, atomic writes."""

from __future__ import annotations

import importlib

import pytest
import torch

from conversion.verify import (
    ConversionError,
    check_agreement,
    check_state_dict,
    model_outputs,
    reference_input,
    write_verified_folder,
)
from oceansar_hf import OceanSARImageProcessor, OceanSARModel
from tests.conversion import TEST_SIZE, export_folder


def test_reference_input_is_seeded():
    x = reference_input(32)
    assert x.shape == (2, 1, 32, 32) and x.dtype == torch.float32
    torch.testing.assert_close(x, reference_input(32), rtol=0, atol=0)
    assert not torch.equal(x, reference_input(32, seed=1))


def test_check_agreement(capsys):
    a = torch.zeros(2, 4)
    assert check_agreement(a, a + 5e-6, atol=1e-5, what="demo") == pytest.approx(5e-6)
    assert "demo: max |source - converted| = 5.000e-06" in capsys.readouterr().out
    with pytest.raises(ConversionError, match=r"differ from the source by 2\.000e-05 > atol 1e-05"):
        check_agreement(a, a + 2e-5, atol=1e-5)
    with pytest.raises(ConversionError, match="differ"):
        check_agreement(a, a * float("nan"))
    with pytest.raises(ConversionError, match=r"shapes differ: source \(2, 4\) vs converted \(2, 5\)"):
        check_agreement(a, torch.zeros(2, 5))


def test_check_state_dict_names_every_problem():
    expected = {"a": torch.zeros(2), "b": torch.zeros(3), "c": torch.zeros(1), "counter": torch.zeros(())}
    found = {"a": torch.zeros(2), "b": torch.zeros(4), "extra": torch.zeros(1)}
    with pytest.raises(ConversionError) as error:
        check_state_dict(expected, found, "demo.safetensors", optional=["counter"])
    message = str(error.value)
    assert "demo.safetensors" in message
    assert "1 missing: c" in message and "counter" not in message
    assert "1 unexpected: extra" in message
    assert "b (checkpoint (4,), model (3,))" in message
    check_state_dict(expected, {"a": torch.ones(2), "b": torch.ones(3), "c": torch.ones(1)}, "ok", optional=["counter"])


def test_write_is_verified_and_atomic(tmp_path):
    model = export_folder(tmp_path / "source")
    destination = tmp_path / "out" / "model"
    x = reference_input(TEST_SIZE)
    with pytest.raises(ConversionError, match="nothing written"):
        write_verified_folder(
            model, OceanSARImageProcessor(size=TEST_SIZE), destination, lambda v: model_outputs(model, v) + 1e-3, x
        )
    assert not destination.exists() and list((tmp_path / "out").iterdir()) == []  # no partial folder left behind

    difference = write_verified_folder(
        model, OceanSARImageProcessor(size=TEST_SIZE), destination, lambda v: model_outputs(model, v), x
    )
    assert difference <= 1e-5
    assert {"config.json", "model.safetensors", "preprocessor_config.json", "modeling_oceansar.py"} <= {
        p.name for p in destination.iterdir()
    }
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["model"]
    torch.testing.assert_close(model_outputs(OceanSARModel.from_pretrained(destination), x), model_outputs(model, x))

    with pytest.raises(ConversionError, match="already exists and is not empty; pass --overwrite"):
        write_verified_folder(model, OceanSARImageProcessor(), destination, lambda v: model_outputs(model, v), x)
    (destination / "stale.txt").write_text("old")
    write_verified_folder(
        model, OceanSARImageProcessor(size=TEST_SIZE), destination, lambda v: model_outputs(model, v), x, overwrite=True
    )
    assert not (destination / "stale.txt").exists() and (destination / "model.safetensors").is_file()
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["model"]


@pytest.mark.parametrize(
    "name", ["from_training_checkpoint", "from_oceansar1_dino", "from_released", "model_card", "push_to_hub"]
)
def test_every_tool_has_help(name, capsys):
    module = importlib.import_module(f"conversion.{name}")
    with pytest.raises(SystemExit) as exit_info:
        module.main(["--help"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: python -m conversion.{name} ")

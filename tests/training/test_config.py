"""Pretraining settings from YAML and the command line: `--config NAME`, `--config PATH`, `--config=PATH`, errors."""

from __future__ import annotations

import logging

import pytest

from tests.training.test_trainer import tiny_config
from training.config import parse_config
from training.configs import CONFIG_DIR, shipped_configs


def test_config_equals_form_and_space_form_and_name_give_the_same_run(tmp_path):
    [_, path] = tiny_config(tmp_path, epochs=3)
    spaced = parse_config(["--config", path, "--lr", "0.01"]).to_dict()
    equals = parse_config([f"--config={path}", "--lr", "0.01"]).to_dict()
    assert spaced == equals and spaced["epochs"] == 3 and spaced["lr"] == 0.01
    by_name = parse_config(["--config", "demo"]).to_dict()
    assert by_name == parse_config(["--config", str(CONFIG_DIR / "demo.yaml")]).to_dict()
    assert {"demo", "resnet50", "accelerate/multi_cpu"} <= set(shipped_configs())


def test_unknown_or_unreadable_configs_are_errors_not_defaults(tmp_path):
    with pytest.raises(FileNotFoundError, match="not the name of a shipped config.*demo"):
        parse_config(["--config", "demo_typo"])
    bad = tmp_path / "bad.yaml"
    bad.write_text("epochz: 3\n")
    with pytest.raises(ValueError, match=r"unknown keys \['epochz'\]"):
        parse_config(["--config", str(bad)])
    bad.write_text("- a list\n")
    with pytest.raises(ValueError, match="a mapping of flag: value"):
        parse_config([f"--config={bad}"])
    bad.write_text("epochs: [unclosed\n")
    with pytest.raises(ValueError, match="cannot read the config"):
        parse_config(["--config", str(bad)])
    with pytest.raises(ValueError, match="given 2 times"):
        parse_config(["--config", "demo", "--config=demo"])


def test_renamed_flags_are_accepted_with_a_warning(tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    [_, path] = tiny_config(tmp_path)
    config = parse_config(["--config", path, "--image_size", "48", "--global_crop_size", "48"])
    assert config.model.input_size == 48 and "'image_size' is now called 'input_size'" in caplog.text


def test_help_lists_every_group_and_escapes_percent_signs(capsys):
    with pytest.raises(SystemExit) as exit_:
        parse_config(["--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    for flag in ("--input_size", "--synthetic_num_samples", "--global_crop_size", "--clip_grad", "--knn_data"):
        assert flag in text
    assert "--pruning_rho" in text and "--max_skipped_fraction" in text


def test_the_synthetic_archive_is_calibrated_by_its_own_constant_other_archives_are_sigma0():
    """The synthetic archive emits amplitude DN (A = `SyntheticArchiveConfig.calibration`); the run's processor
    calibrates them unless `input_kind` is given. Other archives default to σ0 (what the SAFE ingest writes)."""
    from training.build import build_processor
    from training.config import DataArguments
    from training.data import SyntheticArchiveConfig, SyntheticWVArchive

    archive = SyntheticWVArchive(SyntheticArchiveConfig(num_samples=8, image_size=32, calibration=250.0))
    processor = build_processor(DataArguments(fit_normalization_samples=8), 32, archive, seed=0)
    assert (processor.input_kind, processor.calibration_constant) == ("digital_number", 250.0)
    assert -25.0 < processor.image_mean[0] < -5.0  # σ0 in dB, not DN (≈ +35 dB)
    given = DataArguments(input_kind="sigma0_amplitude", image_mean=0.0, image_std=1.0, pixel_spacing=25.0)
    processor = build_processor(given, 32, archive, seed=0)
    assert (processor.input_kind, processor.calibration_constant, processor.pixel_spacing) == (
        "sigma0_amplitude",
        None,
        [25.0, 25.0],
    )

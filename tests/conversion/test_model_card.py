"""Model cards: probe-results validation, Hub metadata and model-index, and usage snippets that run as written."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from huggingface_hub import ModelCard

from conversion.model_card import KINDS, CardError, load_results, main, training_section
from oceansar_hf import TENGEOP_CLASSES
from tests.conversion import TEST_SIZE, export_folder, probe_results, write_json

BASE_ID = "me/oceansar-demo"


def render(tmp_path, kind: str, results: list[dict], *extra: str) -> ModelCard:
    folder = tmp_path / kind
    if not folder.exists():
        export_folder(folder, None if kind == "base" else kind)
    paths = [str(write_json(tmp_path / f"{kind}-{i}.json", r)) for i, r in enumerate(results)]
    base = [] if kind == "base" else ["--base-model", BASE_ID]
    assert (
        main(["--folder", str(folder), "--kind", kind, "--repo-id", f"me/{kind}", "--results", *paths, *base, *extra])
        == 0
    )
    return ModelCard.load(folder / "README.md")


@pytest.mark.parametrize("kind", ["tengeop", "wave", "wind"])
def test_head_cards_carry_metadata_and_results(tmp_path, kind):
    card = render(tmp_path, kind, [probe_results(kind)])
    data = card.data
    assert data.license == "apache-2.0" and data.library_name == "transformers"
    assert data.pipeline_tag == "image-classification" and data.base_model == BASE_ID
    assert {"sar", "sentinel-1", "ocean", "self-supervised", "dino", "custom_code"} <= set(data.tags)
    assert data.datasets == ["synthetic-wv"]
    expected = probe_results(kind)["metrics"]
    got = {r.metric_type: r.metric_value for r in data.eval_results}
    assert got == expected
    result = data.eval_results[0]
    assert result.dataset_split == "test" and result.dataset_type == "synthetic-wv"
    assert result.task_type == ("image-classification" if kind == "tengeop" else "image-regression")
    assert "come from synthetic data" in card.text and "not real Sentinel-1 acquisitions" in card.text
    assert "@article{kerdreux2025efficientselfsupervisedlearningearth" in card.text
    assert "trust_remote_code=True" in card.text and f'repo = "me/{kind}"' in card.text


def test_base_card_collects_all_three_probes(tmp_path):
    results = [probe_results(task, synthetic=False) for task in ("tengeop", "wave", "wind")]
    config = tmp_path / "config.yaml"
    config.write_text("backbone: resnet_tiny\nteacher_temp: 0.04\npruning: true\npruning_rho: 0.3\npruning_eta: 0.5\n")
    export_folder(tmp_path / "base")
    exported = json.loads((tmp_path / "base" / "config.json").read_text())
    exported["oceansar_training"] = {"global_step": 480, "epoch": 7, "dataset": "synthetic", "knn_top1": 0.71}
    write_json(tmp_path / "base" / "config.json", exported)
    results[0]["details"] = {"balanced_accuracy": 0.6}  # what training.probe adds; accepted and not used
    card = render(tmp_path, "base", results, "--training-config", str(config), "--dataset", "s1-wv-archive")
    assert card.data.pipeline_tag == "image-feature-extraction" and card.data.base_model is None
    assert card.data.datasets == ["s1-wv-archive", "synthetic-wv"]
    assert len(card.data.eval_results) == 2 + 3 + 3
    assert "measured on real Sentinel-1 WV data" in card.text and "come from synthetic data" not in card.text
    assert "teacher_temp: 0.04" in card.text and "<summary>Configuration used (<code>config.yaml</code>)" in card.text
    assert "- Dynamic dataset pruning: **enabled** (kept fraction ρ 0.3, η 0.5)." in card.text
    assert (
        "exported at optimisation step 480 (epoch 7) of a run on the `synthetic` data; last evaluation: " in card.text
    )
    assert "knn_top1 = 0.71" in card.text
    assert "| Wind speed regression | synthetic-wv | test | 320 | no | RMSE | 0.710 m/s |" in card.text
    tengeop_row = "| TenGeoP classification (10 geophysical phenomena) | synthetic-wv | test | 320 | no |"
    assert tengeop_row + " linear-probe accuracy | 62.50 % |" in card.text
    assert f"pixel_values: (1, 1, {TEST_SIZE}, {TEST_SIZE})" in card.text and "(1, 256)" in card.text


def test_invalid_results_files_are_refused_by_the_card(tmp_path):
    record = probe_results("tengeop")
    record["metrics"]["accuracy"] = 75.5
    with pytest.raises(CardError, match=r"fraction in \[0, 1\], got 75.5"):
        load_results(write_json(tmp_path / "pct.json", record))
    export_folder(tmp_path / "wave", "wave")
    (tmp_path / "bad.json").write_text("{not json")
    argv = ["--folder", str(tmp_path / "wave"), "--kind", "wave", "--repo-id", "me/w", "--base-model", BASE_ID]
    with pytest.raises(SystemExit) as error:
        main([*argv, "--results", str(tmp_path / "bad.json")])
    assert "bad.json: cannot read probe results JSON" in str(error.value.code)


def test_cards_that_do_not_fit_the_folder_are_refused(tmp_path):
    export_folder(tmp_path / "wave", "wave")
    wind_results = str(write_json(tmp_path / "wind.json", probe_results("wind")))
    cases = [
        (["--folder", str(tmp_path / "wave"), "--kind", "base"], "but a 'base' card describes a OceanSARModel"),
        (["--folder", str(tmp_path / "wave"), "--kind", "wind", "--base-model", BASE_ID], "is a 'wave' head"),
        (["--folder", str(tmp_path / "wave"), "--kind", "wave"], "needs --base-model"),
        (
            ["--folder", str(tmp_path / "wave"), "--kind", "wave", "--base-model", BASE_ID, "--results", wind_results],
            "got results for ['wind']",
        ),
    ]
    for argv, message in cases:
        with pytest.raises(SystemExit) as error:
            main([*argv, "--repo-id", "me/x"])
        assert message in str(error.value.code)
    assert not (tmp_path / "wave" / "README.md").exists()


def test_usage_snippets_run_as_written(tmp_path):
    """Every card's Python block, with the repo id pointing at a local folder, in one fresh process."""
    snippets = []
    for kind in KINDS:
        folder = tmp_path / kind
        export_folder(folder, None if kind == "base" else kind)
        base = [] if kind == "base" else ["--base-model", BASE_ID]
        main(["--folder", str(folder), "--kind", kind, "--repo-id", str(folder), *base])
        text = ModelCard.load(folder / "README.md").text
        snippets += re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(snippets) == 4
    script = "\n".join(snippets) + '\nimport sys\nassert "oceansar_hf" not in sys.modules\n'
    env = {**os.environ, "PYTHONPATH": "", "HF_HUB_OFFLINE": "1"}
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300
    )
    assert run.returncode == 0, run.stderr[-3000:]
    lines = run.stdout.strip().splitlines()
    assert lines[0] == "torch.Size([1, 256])"
    label, probability = lines[1].rsplit(" ", 1)
    assert label in TENGEOP_CLASSES and 0.0 < float(probability) <= 1.0
    assert re.fullmatch(r"Hs = -?\d+\.\d\d m", lines[2]) and re.fullmatch(r"U10 = -?\d+\.\d m/s", lines[3])


def test_training_section_says_when_pruning_was_off(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("pruning: false\nepochs: 8\n")
    text = training_section(config, {"global_step": 2, "epoch": 0, "dataset": "synthetic"})
    assert "- Dynamic dataset pruning: **disabled** in this run" in text
    assert text.startswith("- Weights exported at optimisation step 2 (epoch 0) of a run on the `synthetic` data.")
    assert training_section(None) == "- The exact training configuration was not attached to this card."
    config.write_text("- just\n- a list\n")
    with pytest.raises(CardError, match="must be a mapping, got list"):
        training_section(config)

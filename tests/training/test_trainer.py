"""The DINO trainer end to end on tiny runs: checkpoints, exact resume, corrupt files, exported model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from tests.conftest import REPO_ROOT, run_fresh_python
from training.config import parse_config
from training.pretrain import build_callbacks
from training.trainer import Trainer

TINY = {
    "backbone": "resnet_tiny",
    "input_size": 32,
    "synthetic_image_size": 32,
    "synthetic_num_samples": 96,
    "num_workers": 0,
    "global_crop_size": 32,
    "local_crop_size": 16,
    "num_local_crops": 2,
    "out_dim": 64,
    "hidden_dim": 64,
    "bottleneck_dim": 32,
    "lr": 0.001,
    "warmup_epochs": 1,
    "batch_size": 8,
    "steps_per_epoch": 3,
    "eval_every_epochs": 0,
    "log_every_steps": 1,
    "fit_normalization_samples": 16,
    "report_to": "none",
}


def tiny_config(tmp_path: Path, **overrides) -> list[str]:
    """Write a YAML config of a ~seconds-long run and return the argv that uses it."""
    import yaml

    path = tmp_path / f"config-{len(list(tmp_path.glob('config-*')))}.yaml"
    path.write_text(yaml.safe_dump({**TINY, **overrides}))
    return ["--config", str(path)]


def run(argv: list[str]) -> Path | None:
    config = parse_config(argv)
    return Trainer(config, build_callbacks(config)).train()


def test_cli_overrides_yaml(tmp_path):
    argv = [*tiny_config(tmp_path, epochs=3), "--epochs", "5", "--lr", "0.01", "--local_crop_scale", "0.1", "0.3"]
    config = parse_config(argv)
    assert config.run.epochs == 5 and config.dino.lr == 0.01 and config.model.backbone == "resnet_tiny"
    assert tuple(config.augment.local_crop_scale) == (0.1, 0.3)
    bad = tmp_path / "bad.yaml"
    bad.write_text("epochz: 3\n")
    with pytest.raises(ValueError, match="unknown keys \\['epochz'\\]"):
        parse_config(["--config", str(bad)])


def test_run_writes_checkpoints_export_logs_and_plot(tmp_path):
    out = tmp_path / "run"
    final = run([*tiny_config(tmp_path, epochs=2, output_dir=str(out), keep_last=1)])
    assert final == out / "final_model"
    checkpoints = sorted((out / "checkpoints").iterdir())
    assert [c.name for c in checkpoints] == ["checkpoint-00000006"]  # keep_last=1 removed checkpoint-00000003
    ckpt = checkpoints[0]
    state = json.loads((ckpt / "trainer_state.json").read_text())
    for key in ("student", "teacher", "backbone_config", "processor", "tensors"):
        assert (ckpt / state["layout"][key]).is_file(), key
    assert not (ckpt / "export").exists()  # the teacher backbone is stored once, in the teacher's file
    teacher = load_file(ckpt / "model_1.safetensors")
    assert any(k.startswith("backbone.") for k in teacher) and any(k.startswith("head.") for k in teacher)
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2, 3, 4, 5, 6]
    for key in ("loss", "lr", "weight_decay", "teacher_temp", "momentum", "images_per_s", "teacher_entropy"):
        assert all(np.isfinite(r[key]) for r in records), key
    assert records[0]["ln_out_dim"] == pytest.approx(np.log(64))
    assert (out / "training_curves.png").stat().st_size > 10_000
    assert not list((out / "checkpoints").glob(".tmp-*"))


def test_resume_equals_uninterrupted_run(tmp_path):
    straight = tmp_path / "straight"
    run([*tiny_config(tmp_path, epochs=2, output_dir=str(straight))])
    broken = tmp_path / "broken"
    argv = tiny_config(tmp_path, epochs=2, output_dir=str(broken), save_every_steps=2, stop_after_steps=4)
    assert run(argv) is None
    assert (broken / "checkpoints" / "checkpoint-00000004").is_dir()
    assert not (broken / "final_model").exists()
    run([*tiny_config(tmp_path, epochs=2, output_dir=str(broken)), "--resume", "latest"])
    for name in ("model.safetensors", "model_1.safetensors"):
        a = load_file(straight / "checkpoints" / "checkpoint-00000006" / name)
        b = load_file(broken / "checkpoints" / "checkpoint-00000006" / name)
        assert a.keys() == b.keys()
        for key in a:
            torch.testing.assert_close(b[key], a[key], rtol=0, atol=0, msg=f"{name}:{key}")


def test_corrupt_files_are_skipped_and_counted(tmp_path):
    from training.data import SyntheticArchiveConfig, SyntheticWVArchive

    folder = tmp_path / "npy"
    folder.mkdir()
    archive = SyntheticWVArchive(SyntheticArchiveConfig(num_samples=22, image_size=32, seed=3))
    for i in range(len(archive)):
        np.save(folder / f"wv_{i:03d}.npy", archive[i]["image"])
    (folder / "wv_900.npy").write_bytes(b"not a numpy file")
    np.save(folder / "wv_901.npy", np.full((32, 32), np.nan, dtype=np.float32))
    out = tmp_path / "run"
    with pytest.warns(UserWarning, match="wv_90[01].npy"):
        run([*tiny_config(tmp_path, dataset="npy", data_path=str(folder), epochs=1, output_dir=str(out))])
    last = json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])
    assert last["skipped_samples"] == 2  # 3 steps x 8 = 24 = every file once: both bad files met, skipped, counted
    assert (out / "final_model" / "model.safetensors").is_file()


def test_resume_auto_starts_fresh_without_checkpoint_and_latest_refuses(tmp_path):
    out = tmp_path / "run"
    with pytest.raises(FileNotFoundError, match="no complete checkpoint"):
        run([*tiny_config(tmp_path, epochs=1, output_dir=str(out)), "--resume", "latest"])
    assert run([*tiny_config(tmp_path, epochs=1, output_dir=str(out)), "--resume", "auto"]) == out / "final_model"


def test_empty_archive_stops_at_start(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="empty"):
        Trainer(parse_config(tiny_config(tmp_path, dataset="npy", data_path=str(tmp_path / "empty"))))


FRESH_LOAD = textwrap.dedent(
    """
    import sys, torch
    from transformers import AutoModel, AutoImageProcessor
    model = AutoModel.from_pretrained(sys.argv[1], trust_remote_code=True).eval()
    processor = AutoImageProcessor.from_pretrained(sys.argv[1], trust_remote_code=True)
    assert "oceansar_hf" not in sys.modules
    import numpy as np
    pixels = processor(np.random.default_rng(0).gamma(4, 100, size=(50, 50)).astype("float32"))["pixel_values"]
    with torch.no_grad():
        print(tuple(model(pixels).pooler_output.shape))
    """
)


def test_two_process_accelerate_launch_and_fresh_load(tmp_path):
    out = tmp_path / "ddp"
    argv = tiny_config(tmp_path, epochs=1, output_dir=str(out))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    accelerate_config = Path(__file__).resolve().parents[2] / "training" / "configs" / "accelerate" / "multi_cpu.yaml"
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(accelerate_config)]
    launch += ["--main_process_port", str(29500 + os.getpid() % 1000)]
    result = subprocess.run(
        [*launch, "-m", "training.pretrain", *argv], capture_output=True, text=True, env=env, timeout=600
    )
    assert result.returncode == 0, result.stderr[-4000:]
    ckpt = out / "checkpoints" / "checkpoint-00000003"
    assert (ckpt / "random_states_0.pkl").is_file() and (ckpt / "random_states_1.pkl").is_file()
    assert "MULTI_CPU" in result.stderr and "num_processes=2" in result.stderr
    loaded = run_fresh_python(FRESH_LOAD, str(out / "final_model"), cwd=tmp_path)
    assert loaded.stdout.strip() == "(1, 256)"


CONFIG_DIR = Path(__file__).resolve().parents[2] / "training" / "configs"


@pytest.mark.parametrize("name", ["demo", "resnet50", "vit_small_patch16", "vit_small_patch8", "vit_base_patch8"])
def test_shipped_configs_parse_and_build_their_backbone(name):
    from oceansar_hf import OceanSARConfig

    config = parse_config(["--config", str(CONFIG_DIR / f"{name}.yaml")])
    assert config.model.backbone == name if name != "demo" else config.model.backbone == "resnet_tiny"
    backbone = OceanSARConfig(backbone=config.model.backbone, image_size=config.model.input_size)
    assert backbone.num_channels == 1
    assert config.augment.global_crop_size <= config.model.input_size
    assert config.pruning.pruning, "every shipped config runs the paper's dynamic pruning"


def test_knn_evaluation_during_training_is_logged_and_exported(tmp_path):
    out = tmp_path / "run"
    overrides = {"epochs": 2, "eval_every_epochs": 1, "knn_train_samples": 40, "knn_test_samples": 20}
    run(tiny_config(tmp_path, output_dir=str(out), **overrides))
    evals = [r for r in map(json.loads, (out / "metrics.jsonl").read_text().splitlines()) if r["kind"] == "eval"]
    assert [r["step"] for r in evals] == [0, 3, 6]  # random weights at step 0, then every epoch
    assert all(0.0 <= r["knn_accuracy"] <= 1.0 and r["knn_num_test"] == 20 for r in evals)
    exported = json.loads((out / "final_model" / "config.json").read_text())["oceansar_training"]
    assert exported["knn_accuracy"] == pytest.approx(evals[-1]["knn_accuracy"], abs=1e-6)
    assert exported["knn_accuracy_at_init"] == pytest.approx(evals[0]["knn_accuracy"], abs=1e-6)


def test_teacher_keeps_its_own_batchnorm_statistics_during_training(tmp_path):
    out = tmp_path / "run"
    run(tiny_config(tmp_path, epochs=1, output_dir=str(out)))
    checkpoint = out / "checkpoints" / "checkpoint-00000003"
    student, teacher = load_file(checkpoint / "model.safetensors"), load_file(checkpoint / "model_1.safetensors")
    stats = [k for k in teacher if k.endswith("running_mean")]
    assert stats and all(not torch.equal(student[k], teacher[k]) for k in stats)


def test_sync_batchnorm_converts_student_and_teacher_and_is_refused_on_cpu_processes():
    from accelerate import Accelerator

    from oceansar_hf import OceanSARConfig, OceanSARModel
    from training.build import build_dino, sync_batchnorm
    from training.dino import DINOConfig, DINOHead, DINOModel, make_teacher

    backbone = OceanSARModel(OceanSARConfig(backbone="resnet_tiny", image_size=32))
    config = DINOConfig(out_dim=16, hidden_dim=16, bottleneck_dim=8, use_bn_in_head=True, sync_batchnorm=True)
    student = sync_batchnorm(DINOModel(backbone, DINOHead.from_config(backbone.config.num_features, config)))
    for model in (student, make_teacher(student)):
        norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
        assert norms and all(isinstance(m, torch.nn.SyncBatchNorm) for m in norms)
    accelerator = Accelerator(cpu=True)
    build_dino(OceanSARModel(backbone.config), config, accelerator)  # one process: nothing to synchronise


SYNC_REFUSED = textwrap.dedent(
    """
    import pytest
    from accelerate import Accelerator
    from oceansar_hf import OceanSARConfig, OceanSARModel
    from training.build import build_dino
    from training.dino import DINOConfig
    accelerator = Accelerator(cpu=True)
    assert accelerator.num_processes == 2
    with pytest.raises(ValueError, match="sync_batchnorm needs GPU processes"):
        build_dino(OceanSARModel(OceanSARConfig(backbone="resnet_tiny")), DINOConfig(sync_batchnorm=True), accelerator)
    print("refused")
    """
)


def test_sync_batchnorm_in_two_cpu_processes_is_a_clear_error(tmp_path):
    script = tmp_path / "sync.py"
    script.write_text(SYNC_REFUSED)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO_ROOT)}
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2"]
    command += ["--master_port", str(31500 + os.getpid() % 1000), str(script)]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("refused") == 2


def test_exported_vit_runs_at_its_input_size_without_interpolation(tmp_path):
    from transformers import AutoImageProcessor, AutoModel

    import oceansar_hf  # noqa: F401  (registers the Auto classes)

    out = tmp_path / "vit"
    vit = {"backbone": "vit_tiny_patch8", "epochs": 1, "output_dir": str(out), "steps_per_epoch": 1}
    run(tiny_config(tmp_path, **vit))
    model = AutoModel.from_pretrained(out / "final_model").eval()
    processor = AutoImageProcessor.from_pretrained(out / "final_model")
    assert model.config.image_size == processor.size["height"] == TINY["input_size"]
    calls = []
    original = model.embeddings.interpolate_pos_encoding
    model.embeddings.interpolate_pos_encoding = lambda *a, **k: calls.append(1) or original(*a, **k)
    image = np.random.default_rng(0).gamma(4, 100, size=(50, 50)).astype("float32")
    with torch.no_grad():
        model(**processor(image))
        assert calls == []  # the documented input size is the position grid's size
        model(torch.zeros(1, 1, 48, 48))
        assert calls == [1]  # another size still works, by interpolation


def test_knn_evaluation_data_follows_the_config(tmp_path):
    from tests.training.test_labelled import write_tengeop_folder
    from training.data import TenGeoPFolder

    root = write_tengeop_folder(tmp_path / "tengeop")
    out = tmp_path / "run"
    knn = {"eval_every_epochs": 1, "knn_data": f"tengeop:{root}", "knn_train_samples": 50, "knn_test_samples": 1000}
    run(tiny_config(tmp_path, output_dir=str(out), epochs=1, **knn))
    evals = [r for r in map(json.loads, (out / "metrics.jsonl").read_text().splitlines()) if r["kind"] == "eval"]
    test_size = len(TenGeoPFolder(root, split="test", seed=0))
    assert {r["knn_num_train"] for r in evals} == {50} and {r["knn_num_test"] for r in evals} == {test_size}

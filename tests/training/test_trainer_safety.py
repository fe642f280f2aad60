"""Nothing lost, nothing run that should not be: run directories, resume safety, skip accounting, signals, timeouts.

Real processes and real signals where recovery is the point."""

from __future__ import annotations

import json
import logging
import os
import pickle
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from safetensors.torch import load_file

from tests.conftest import REPO_ROOT
from tests.training.test_trainer import TINY, run, tiny_config
from training.checkpoints import CheckpointError


def test_fresh_run_refuses_a_used_output_dir_and_overwrite_replaces_it(tmp_path):
    out = tmp_path / "run"
    run(tiny_config(tmp_path, epochs=1, output_dir=str(out), keep_last=1))
    with pytest.raises(FileExistsError, match="holds a previous run .*--resume latest.*--overwrite_output_dir"):
        run(tiny_config(tmp_path, epochs=2, output_dir=str(out), keep_last=1))
    run(tiny_config(tmp_path, epochs=2, output_dir=str(out), keep_last=1, overwrite_output_dir=True))
    assert [c.name for c in (out / "checkpoints").iterdir()] == ["checkpoint-00000006"]  # the new run's, kept
    steps = [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4, 5, 6]  # only the new run's records


def test_resume_refuses_other_settings_and_other_formats(tmp_path):
    out = tmp_path / "run"
    run(tiny_config(tmp_path, epochs=1, output_dir=str(out)))
    with pytest.raises(ValueError, match=r"other settings: \{'lr': \(0.001, 0.01\)\}"):
        run([*tiny_config(tmp_path, epochs=1, output_dir=str(out), lr=0.01), "--resume", "latest"])
    checkpoint = out / "checkpoints" / "checkpoint-00000003"
    state = json.loads((checkpoint / "trainer_state.json").read_text())
    del state["format_version"]  # what oceansar-hf 0.1 wrote
    (checkpoint / "trainer_state.json").write_text(json.dumps(state))
    with pytest.raises(CheckpointError, match="format 1; this version resumes format 2.*oceansar-hf 0.1"):
        run([*tiny_config(tmp_path, epochs=1, output_dir=str(out)), "--resume", "latest"])


class _Payload:
    """Unpickling this runs `touch MARKER`: what a crafted checkpoint file would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_resume_never_unpickles_arbitrary_objects(tmp_path):
    out = tmp_path / "run"
    argv = tiny_config(tmp_path, epochs=2, output_dir=str(out), save_every_steps=2, stop_after_steps=2)
    run(argv)
    checkpoint = out / "checkpoints" / "checkpoint-00000002"
    marker = tmp_path / "pwned"
    with (checkpoint / "custom_checkpoint_0.pkl").open("wb") as handle:  # Accelerate would load it with pickle
        pickle.dump(_Payload(marker), handle)
    resume = [*tiny_config(tmp_path, epochs=2, output_dir=str(out)), "--resume", "latest"]
    with pytest.raises(RuntimeError, match="does not match the number of registered objects"):
        run(resume)  # nothing is registered as a custom object: the file is refused, never opened
    assert not marker.exists()
    (checkpoint / "custom_checkpoint_0.pkl").unlink()
    run(resume)
    checkpoint = out / "checkpoints" / "checkpoint-00000006"
    with (checkpoint / "random_states_0.pkl").open("wb") as handle:  # read with weights_only=True
        pickle.dump({"random_state": _Payload(marker)}, handle)
    with pytest.raises(CheckpointError, match="random_states_0.pkl.*Weights only load failed"):
        run([*tiny_config(tmp_path, epochs=2, output_dir=str(out)), "--resume", str(checkpoint)])
    assert not marker.exists()


def test_metrics_log_has_each_step_once_after_resumes(tmp_path):
    out = tmp_path / "run"
    run(tiny_config(tmp_path, epochs=2, output_dir=str(out), save_every_steps=2, stop_after_steps=5))
    run([*tiny_config(tmp_path, epochs=2, output_dir=str(out), stop_after_steps=5), "--resume", "latest"])
    run([*tiny_config(tmp_path, epochs=2, output_dir=str(out)), "--resume", "latest"])
    steps = [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4, 5, 6]


def _npy_archive(folder: Path, good: int, bad: int) -> Path:
    from training.data import SyntheticArchiveConfig, SyntheticWVArchive

    folder.mkdir()
    archive = SyntheticWVArchive(SyntheticArchiveConfig(num_samples=max(good, 1), image_size=32, seed=3))
    for i in range(good):
        np.save(folder / f"good_{i:03d}.npy", archive[i]["image"])
    for i in range(bad):
        (folder / f"bad_{i:03d}.npy").write_bytes(b"not a numpy file")
    return folder


CORRUPT_SHARE = r"of \d+ samples read so far were corrupt .*max_skipped_fraction"


def test_a_half_corrupt_archive_stops_after_the_epoch_with_counts(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    folder = _npy_archive(tmp_path / "npy", good=16, bad=16)
    out = tmp_path / "run"
    with pytest.raises(RuntimeError, match=CORRUPT_SHARE), pytest.warns(UserWarning):
        run(tiny_config(tmp_path, dataset="npy", data_path=str(folder), epochs=1, output_dir=str(out)))
    assert re.search(r"fitted on (\d+) of 16 sampled images \((\d+) corrupt skipped\)", caplog.text)
    last = json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])
    assert last["samples_read"] == 24 and 0.2 < last["skipped_samples"] / 24 < 0.8
    assert not (out / "final_model").exists()


def test_a_94_percent_corrupt_archive_is_an_error_not_a_run(tmp_path):
    folder = _npy_archive(tmp_path / "npy", good=2, bad=30)
    with pytest.raises(RuntimeError, match=CORRUPT_SHARE), pytest.warns(UserWarning):
        run(tiny_config(tmp_path, dataset="npy", data_path=str(folder), epochs=1, output_dir=str(tmp_path / "r")))


def test_an_all_corrupt_archive_names_its_files(tmp_path):
    folder = _npy_archive(tmp_path / "npy", good=0, bad=4)
    message = r"all 4 archive images sampled were corrupt \(e.g. .*bad_00"
    with pytest.raises(ValueError, match=message), pytest.warns(UserWarning):
        run(tiny_config(tmp_path, dataset="npy", data_path=str(folder), output_dir=str(tmp_path / "r")))


def _launch(argv: list[str], cwd: Path, processes: int = 1) -> subprocess.Popen:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO_ROOT)}
    if processes == 1:
        command = [sys.executable, "-m", "training.pretrain", *argv]
    else:
        accelerate = REPO_ROOT / "training" / "configs" / "accelerate" / "multi_cpu.yaml"
        command = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(accelerate)]
        command += ["--main_process_port", str(32500 + os.getpid() % 1000), "-m", "training.pretrain", *argv]
    return subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )


def _wait_for_step(metrics: Path, step: int, process: subprocess.Popen, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if metrics.is_file() and any(json.loads(x)["step"] >= step for x in metrics.read_text().splitlines() if x):
            return
        if process.poll() is not None:
            pytest.fail(f"the run ended early: {process.communicate()[1][-3000:]}")
        time.sleep(0.2)
    pytest.fail(f"step {step} not reached in {timeout} s")


def test_sigterm_to_the_job_writes_a_checkpoint_and_resume_is_exact(tmp_path):
    """SLURM sends SIGTERM to every process of the job (here: the process group, dataloader workers included)."""
    straight, broken = tmp_path / "straight", tmp_path / "broken"
    settings = {"epochs": 3, "num_workers": 2, "save_every_epochs": 0}
    run(tiny_config(tmp_path, output_dir=str(straight), **settings))
    process = _launch(tiny_config(tmp_path, output_dir=str(broken), **settings), tmp_path)
    _wait_for_step(broken / "metrics.jsonl", 2, process)
    os.killpg(process.pid, signal.SIGTERM)
    _, stderr = process.communicate(timeout=240)
    assert process.returncode == 0, stderr[-3000:]
    assert "SIGTERM: stopped at step" in stderr and "Traceback" not in stderr
    (checkpoint,) = (broken / "checkpoints").iterdir()
    stopped = json.loads((checkpoint / "trainer_state.json").read_text())["state"]["global_step"]
    assert 2 <= stopped < 9 and not (broken / "final_model").exists()
    run([*tiny_config(tmp_path, output_dir=str(broken), **settings), "--resume", "auto"])
    a, b = (
        load_file(straight / "final_model" / "model.safetensors"),
        load_file(broken / "final_model" / "model.safetensors"),
    )
    for key in a:
        torch.testing.assert_close(b[key], a[key], rtol=0, atol=0, msg=key)


def test_a_stalled_process_fails_the_run_after_ddp_timeout(tmp_path):
    """SIGSTOP one of two processes: the other waits in a collective for `ddp_timeout` seconds, then the run fails."""
    out = tmp_path / "ddp"
    argv = tiny_config(tmp_path, output_dir=str(out), epochs=50, ddp_timeout=20)
    process = _launch(argv, tmp_path, processes=2)
    _wait_for_step(out / "metrics.jsonl", 2, process)
    workers = [pid for pid in _children(process.pid) if "training.pretrain" in _cmdline(pid)]
    rank1 = next(pid for pid in workers if _environ(pid).get("RANK") == "1")
    os.kill(rank1, signal.SIGSTOP)
    stopped_at = time.monotonic()
    try:
        _, stderr = process.communicate(timeout=240)
    finally:
        os.killpg(process.pid, signal.SIGKILL) if process.poll() is None else None
    waited = time.monotonic() - stopped_at
    assert process.returncode != 0
    assert 15 < waited < 200, f"failed after {waited:.0f} s"
    assert re.search(r"timed? ?out", stderr, re.IGNORECASE), stderr[-3000:]  # gloo's collective timeout


def _children(pid: int) -> list[int]:
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        for child in Path(f"/proc/{parent}/task/{parent}/children").read_text().split():
            found.append(int(child))
            frontier.append(int(child))
    return found


def _cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def _environ(pid: int) -> dict[str, str]:
    pairs = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(p.decode(errors="replace").split("=", 1) for p in pairs if b"=" in p)


def test_config_yaml_round_trips(tmp_path):
    out = tmp_path / "run"
    run(tiny_config(tmp_path, epochs=1, output_dir=str(out)))
    saved = yaml.safe_load((out / "config.yaml").read_text())
    assert saved["input_size"] == TINY["input_size"] and saved["max_skipped_fraction"] == 0.1


def test_settings_added_since_a_checkpoint_count_as_their_defaults():
    from training.config import parse_config
    from training.trainer import _config_changes

    current = parse_config(["--config", "demo"]).to_dict()
    older = {k: v for k, v in current.items() if k != "koleo_weight"}  # written before KoLeo existed
    assert _config_changes(older, current) == {}
    turned_on = {**current, "koleo_weight": 0.1}
    assert _config_changes(older, turned_on) == {"koleo_weight": (0.0, 0.1)}

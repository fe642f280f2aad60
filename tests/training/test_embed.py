"""The embed job: shards of a real-file archive, a real `kill -9` mid-run and a resume that completes it exactly,
two processes under `accelerate launch`, corrupt files counted and named, settings changes refused."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image

from training.embed import main as embed_main
from training.embed import read_embeddings

REPO_ROOT = Path(__file__).resolve().parents[2]
COPIES = 6  # 15 real quicklooks × 6 crops + 3 corrupt files = 93 samples: 16 shards of 6
CORRUPT = ("broken.png", "empty.png", "truncated.png")


@pytest.fixture(scope="module")
def archive(tmp_path_factory, quicklook_paths) -> Path:
    """A PNG folder: 96-px crops of the real quicklooks (6 per quicklook, at different places) and three corrupt
    files (garbage, empty, truncated)."""
    folder = tmp_path_factory.mktemp("archive")
    for path in quicklook_paths:
        image = Image.open(path)
        for copy in range(COPIES):
            left, top = 40 + 60 * copy, 40 + 50 * copy
            image.crop((left, top, left + 96, top + 96)).save(folder / f"{path.stem}-{copy}.png")
    (folder / CORRUPT[0]).write_bytes(b"not a png at all" * 10)
    (folder / CORRUPT[1]).write_bytes(b"")
    (folder / CORRUPT[2]).write_bytes(quicklook_paths[0].read_bytes()[:300])
    return folder


def argv(archive: Path, output: Path) -> list[str]:
    return [
        "--model", "random:resnet_tiny", "--input_size", "32", "--output", str(output), "--dataset", "png",
        "--data_path", str(archive), "--nodata_value", "0", "--shard_size", "6", "--batch_size", "3",
        "--num_workers", "0", "--dtype", "float32",
    ]  # fmt: skip


def _env() -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO_ROOT)}


def _shards(folder: Path) -> list[Path]:
    return sorted(folder.glob("embeddings-*.parquet"))


def _vectors(table) -> np.ndarray:
    width = table.schema.field("embedding").type.list_size
    return table["embedding"].combine_chunks().flatten().to_numpy().reshape(table.num_rows, width)


def test_killed_run_resumes_to_the_shards_of_an_uninterrupted_two_process_run(tmp_path, archive):
    straight, broken = tmp_path / "straight", tmp_path / "broken"
    config = REPO_ROOT / "training" / "configs" / "accelerate" / "multi_cpu.yaml"
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(config)]
    launch += ["--main_process_port", str(31500 + os.getpid() % 1000)]
    result = subprocess.run(
        [*launch, "-m", "training.embed", *argv(archive, straight)],
        capture_output=True, text=True, env=_env(), cwd=REPO_ROOT, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-4000:]
    assert "process 1/2" in result.stderr  # the second process embedded its own shards

    process = subprocess.Popen(
        [sys.executable, "-m", "training.embed", *argv(archive, broken)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env(), cwd=REPO_ROOT,
    )  # fmt: skip
    deadline = time.monotonic() + 300
    while len(_shards(broken)) < 2 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    done = _shards(broken)
    assert 2 <= len(done) < 16, f"the kill should land mid-run, {len(done)} of 16 shards were written"
    files = sorted(p.name for p in archive.iterdir())
    readable = [i for i, name in enumerate(files) if name not in CORRUPT]
    for path in done:  # every visible shard is whole: all its readable samples
        shard = int(path.name.split("-")[1])
        assert pq.read_table(path)["index"].to_pylist() == [i for i in readable if i // 6 == shard]
    assert not (broken / "manifest.json").exists()

    embed_main(argv(archive, broken))  # the same command again: skips the finished shards
    assert [p.name for p in _shards(broken)] == [p.name for p in _shards(straight)]
    assert not list(broken.glob("*.tmp"))
    for a, b in zip(_shards(straight), _shards(broken), strict=True):
        ta, tb = pq.read_table(a), pq.read_table(b)
        assert ta.column_names == tb.column_names
        for column in ta.column_names:
            if column == "embedding":
                np.testing.assert_allclose(_vectors(tb), _vectors(ta), rtol=1e-5, atol=1e-5)
            else:  # NaN (unknown wind speed ...) equals NaN here
                np.testing.assert_array_equal(np.asarray(tb[column].to_pylist()), np.asarray(ta[column].to_pylist()))
        assert tb.schema.metadata == ta.schema.metadata  # the same skipped names

    loaded = read_embeddings(broken)
    assert loaded.indices.tolist() == readable  # no duplicate, no missing index
    assert [Path(f).name for f in loaded.files] == [files[i] for i in readable]
    manifest = json.loads((broken / "manifest.json").read_text())
    assert manifest["count"] == 90 and manifest["skipped"] == 3
    assert sorted(Path(name).name for name in manifest["skipped_samples"]) == sorted(CORRUPT)
    assert manifest["compute_dtype"] == "float32" and manifest["dim"] == 256


def test_hidden_states_float16_storage_and_other_settings_refused(tmp_path, quicklook_paths):
    folder = tmp_path / "few"
    folder.mkdir()
    for path in quicklook_paths[:4]:
        shutil.copy(path, folder / path.name)
    base = [
        "--model", "random:vit_tiny_patch8", "--input_size", "32", "--dataset", "png", "--data_path", str(folder),
        "--nodata_value", "0", "--num_workers", "0", "--output", str(tmp_path / "out"),
    ]  # fmt: skip
    embed_main([*base, "--layer", "2", "--layer_pooling", "cls", "--storage", "float16"])
    loaded = read_embeddings(tmp_path / "out")
    assert loaded.vectors.shape == (4, 192)
    assert pq.read_schema(_shards(tmp_path / "out")[0]).field("embedding").type.value_type == "halffloat"
    assert loaded.manifest["features"] == "hidden_states[2] cls-pooled"
    with pytest.raises(ValueError, match="other settings.*layer"):
        embed_main([*base, "--layer", "1"])
    (tmp_path / "out").rename(tmp_path / "moved")  # a moved folder resumes (nothing left to do here)
    moved = [*base[:-1], str(tmp_path / "moved"), "--layer", "2", "--layer_pooling", "cls", "--storage", "float16"]
    embed_main(moved)
    assert read_embeddings(tmp_path / "moved").manifest["count"] == 4

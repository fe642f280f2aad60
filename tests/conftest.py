"""Shared test setup: offline Hub, small thread count, the real Sentinel-1 WV quicklooks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

if os.environ.get("PYTEST_XDIST_WORKER"):
    # Under pytest-xdist every worker is a process of its own: one intra-op thread each avoids oversubscribing the
    # cores (the test tensors are tiny; subprocesses the tests start set their own threads).
    torch.set_num_threads(1)

REPO_ROOT = Path(__file__).resolve().parents[1]
QUICKLOOK_DIR = REPO_ROOT / "tests" / "data" / "s1-wv-quicklooks"  # copied from ../shared/data (see its README)


@pytest.fixture(scope="session")
def quicklook_paths() -> list[Path]:
    """The 15 real Sentinel-1 WV quicklooks (8-bit PNG) shipped in ../shared/data."""
    paths = sorted(QUICKLOOK_DIR.glob("*.png"))
    assert len(paths) == 15, f"expected the 15 real quicklooks in {QUICKLOOK_DIR}, found {len(paths)}"
    return paths


def run_fresh_python(code: str, *args: str, cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run `code` in a new Python process as a user's fresh session would: no PYTHONPATH (so `oceansar_hf` is only
    importable if the code imports it), the Hub offline. Asserts success and returns the completed process."""
    env = {**os.environ, "PYTHONPATH": "", "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result

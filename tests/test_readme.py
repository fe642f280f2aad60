"""The README's code runs as written, and CI runs the README's test command."""

from __future__ import annotations

import re
from pathlib import Path

from oceansar_hf import OceanSARConfig, OceanSARImageProcessor, OceanSARModel
from tests.conftest import run_fresh_python

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_usage_example_runs_as_written(tmp_path):
    folder = tmp_path / "outputs" / "demo" / "final_model"
    OceanSARModel(OceanSARConfig(backbone="resnet_tiny", image_size=64)).save_pretrained(folder)
    OceanSARImageProcessor(size=64).save_pretrained(folder)
    section = README.split("## Use a model", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    result = run_fresh_python(code, cwd=tmp_path)
    assert result.stdout.strip() == "torch.Size([1, 256])"


def test_ci_runs_the_readme_test_command():
    quickstart = README.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```bash\n(.*?)\n```", quickstart, re.S)
    assert len(commands) == 2, "the quickstart is exactly two commands"
    assert "training.pretrain --config demo" in commands[0]
    test_command = commands[1].split("&& ")[-1]
    ci = (ROOT / ".ci" / "run").read_text()
    assert test_command in ci, f"CI must run the README's test command: {test_command}"

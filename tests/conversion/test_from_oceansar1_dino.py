"""Original OceanSAR-1 DINO checkpoint (torchvision-layout ResNet) → OceanSARModel, checked against a reference."""

from __future__ import annotations

import argparse
import os
import pickle
from pathlib import Path

import pytest
import torch

import conversion.from_oceansar1_dino as dino
from conversion.from_oceansar1_dino import TorchvisionLayoutResNet, main, to_oceansar_key
from conversion.verify import model_outputs
from oceansar_hf import OceanSARModel
from tests.conversion import Payload, randomise

SMALL = {"depths": [1, 2, 1, 1], "widths": [4, 8, 8, 16]}
RESNET50 = {"depths": [3, 4, 6, 3], "widths": [64, 128, 256, 512]}
INDEX = {"conv1": "0", "bn1": "1", "layer1": "4", "layer2": "5", "layer3": "6", "layer4": "7"}


def dino_state(arch: dict, prefix: str = "") -> tuple[dict[str, torch.Tensor], dict[str, TorchvisionLayoutResNet]]:
    """A lightly-style DINO state dict (both backbones + heads) and the two reference backbones it holds."""
    backbones = {
        branch: randomise(TorchvisionLayoutResNet(**arch), seed) for branch, seed in (("student", 1), ("teacher", 2))
    }
    state = {}
    for branch, backbone in backbones.items():
        for key, value in backbone.state_dict().items():
            child, _, rest = key.partition(".")
            state[f"{prefix}{branch}_backbone.backbone.{INDEX[child]}.{rest}"] = value
        state[f"{prefix}{branch}_head.layers.0.weight"] = torch.randn(8, 4)
    return state, backbones


def refused(argv: list[str]) -> str:
    with pytest.raises(SystemExit) as error:
        main(argv)
    return str(error.value.code)


def test_reference_has_torchvision_resnet50_names_and_shapes():
    reference = TorchvisionLayoutResNet(**RESNET50)
    state = reference.state_dict()
    assert len(state) == 318  # torchvision resnet50 without fc.weight / fc.bias
    assert sum(p.numel() for p in reference.parameters()) == 23_501_760  # the released backbone's parameter count
    assert state["conv1.weight"].shape == (64, 1, 7, 7)
    assert state["layer2.0.downsample.0.weight"].shape == (512, 256, 1, 1)
    assert state["layer4.2.conv3.weight"].shape == (2048, 512, 1, 1)
    assert reference.layer2[0].conv2.stride == (2, 2) and reference.layer2[0].conv1.stride == (1, 1)  # v1.5
    assert reference(torch.zeros(1, 1, 64, 64)).shape == (1, 2048)


def test_key_mapping():
    assert to_oceansar_key("conv1.weight") == "embedder.embedder.convolution.weight"
    assert to_oceansar_key("bn1.running_var") == "embedder.embedder.normalization.running_var"
    assert to_oceansar_key("layer3.5.conv2.weight") == "encoder.stages.2.layers.5.layer.1.convolution.weight"
    assert to_oceansar_key("layer1.0.bn3.bias") == "encoder.stages.0.layers.0.layer.2.normalization.bias"
    assert to_oceansar_key("layer4.0.downsample.0.weight") == "encoder.stages.3.layers.0.shortcut.convolution.weight"
    assert to_oceansar_key("layer4.0.downsample.1.weight") == "encoder.stages.3.layers.0.shortcut.normalization.weight"


@pytest.mark.parametrize(
    ("wrap", "prefix"),
    [
        (lambda s: s, ""),
        (lambda s: {"state_dict": s, "epoch": 164}, "module."),
        (lambda s: {"model": s, "knn": 73.15}, ""),
        (lambda s: {"state_dict": s, "hyper_parameters": {"lr": 0.03}}, "model."),
        (lambda s: {"student": {"model": s}}, "module."),
    ],
    ids=["top-level", "state_dict-ddp", "model", "lightning", "student-model-ddp"],
)
def test_teacher_by_default_in_plausible_wrappers(tmp_path, capsys, wrap, prefix):
    state, backbones = dino_state(SMALL, prefix)
    torch.save(wrap(state), tmp_path / "ckpt.pth.tar")
    assert main([str(tmp_path / "ckpt.pth.tar"), str(tmp_path / "out"), "--verify-size", "64"]) == 0
    out = capsys.readouterr().out
    assert f"found {len(backbones['teacher'].state_dict())} teacher backbone tensors" in out and "'teacher_head'" in out
    assert f"under prefix '{prefix}teacher_backbone.backbone.'" in out
    assert "vs torchvision-layout reference: max |source - converted| = " in out
    exported = OceanSARModel.from_pretrained(tmp_path / "out")
    x = torch.randn(2, 1, 48, 80)
    with torch.no_grad():
        torch.testing.assert_close(model_outputs(exported, x), backbones["teacher"](x), rtol=0, atol=1e-5)
        assert not torch.allclose(model_outputs(exported, x), backbones["student"](x), atol=1e-3)


def test_resnet50_student_branch(tmp_path, capsys):
    state, backbones = dino_state(RESNET50)
    torch.save({"state_dict": state}, tmp_path / "ckpt.pth.tar")
    argv = [str(tmp_path / "ckpt.pth.tar"), str(tmp_path / "out"), "--branch", "student", "--verify-size", "64"]
    assert main(argv) == 0
    assert "found 318 student backbone tensors" in capsys.readouterr().out
    exported = OceanSARModel.from_pretrained(tmp_path / "out")
    assert exported.config.depths == [3, 4, 6, 3] and exported.config.hidden_sizes == [256, 512, 1024, 2048]
    assert exported.config.layer_type == "bottleneck" and exported.config.num_channels == 1
    x = torch.randn(1, 1, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(model_outputs(exported, x), backbones["student"](x), rtol=0, atol=1e-5)


def test_verification_catches_a_wrong_mapping(tmp_path, monkeypatch):
    state, _ = dino_state(SMALL)
    torch.save(state, tmp_path / "ckpt.pth.tar")
    swap = {"layer2.1.bn1.": "layer2.1.bn2.", "layer2.1.bn2.": "layer2.1.bn1."}  # same shapes, different roles

    def wrong(name: str) -> str:
        for old, new in swap.items():
            if name.startswith(old):
                return to_oceansar_key(new + name[len(old) :])
        return to_oceansar_key(name)

    monkeypatch.setattr(dino, "to_oceansar_key", wrong)
    message = refused([str(tmp_path / "ckpt.pth.tar"), str(tmp_path / "out"), "--verify-size", "64"])
    assert "converted outputs differ from the source" in message and "nothing written" in message
    assert not (tmp_path / "out").exists()


def malicious_checkpoints(folder: Path, marker: Path) -> dict[str, str]:
    """Checkpoints that would create `marker` if unpickled; {file name: the global the refusal must name}."""
    state, _ = dino_state(SMALL)
    touch = Payload(os.system, f"touch {marker}")
    evaluate = Payload(eval, f"open({str(marker)!r}, 'w').close()")
    torch.save({"state_dict": state, "hook": touch}, folder / "zip.pth.tar")  # torch's zip format
    torch.save({"state_dict": state, "hook": touch}, folder / "legacy.pth.tar", _use_new_zipfile_serialization=False)
    (folder / "raw-protocol-4.pth.tar").write_bytes(pickle.dumps({"hook": touch}, protocol=4))
    (folder / "protocol-0.pth.tar").write_bytes(pickle.dumps({"hook": evaluate}, protocol=0))
    torch.save({"state_dict": state, "args": argparse.Namespace(arch="resnet50")}, folder / "namespace.pth.tar")
    system = f"{os.system.__module__}.system"  # posix.system on Linux
    return {
        "zip.pth.tar": system,
        "legacy.pth.tar": system,
        "raw-protocol-4.pth.tar": system,
        "protocol-0.pth.tar": "__builtin__.eval",
        "namespace.pth.tar": "argparse.Namespace",
    }


def test_malicious_checkpoints_are_refused_by_name_and_not_executed(tmp_path):
    marker = tmp_path / "payload-ran"
    for name, unsafe in malicious_checkpoints(tmp_path, marker).items():
        message = refused([str(tmp_path / name), str(tmp_path / "out")])
        assert message.startswith(
            f"error: {tmp_path / name}: refused: the checkpoint pickles {unsafe} which is not an allowed type"
        ), message
        assert "it was not executed" in message and "Traceback" not in message
        assert not marker.exists(), f"{name} ran its payload"
    assert not (tmp_path / "out").exists()


def test_truncated_and_garbage_files_are_refused(tmp_path):
    state, _ = dino_state(SMALL)
    torch.save(state, tmp_path / "good.pth.tar")
    data = (tmp_path / "good.pth.tar").read_bytes()
    (tmp_path / "truncated.pth.tar").write_bytes(data[: len(data) // 3])
    (tmp_path / "garbage.pth.tar").write_bytes(b"definitely not a checkpoint\n" * 20)
    for name in ("truncated", "garbage"):
        message = refused([str(tmp_path / f"{name}.pth.tar"), str(tmp_path / "out")])
        assert f"{name}.pth.tar is not a readable PyTorch checkpoint" in message
    assert not (tmp_path / "out").exists()


def test_three_channel_stem_is_refused_in_verification(tmp_path):
    state, _ = dino_state({**SMALL, "in_channels": 3})
    torch.save({"state_dict": state}, tmp_path / "rgb.pth.tar")
    message = refused([str(tmp_path / "rgb.pth.tar"), str(tmp_path / "out"), "--verify-size", "64"])
    assert message.startswith(f"error: {tmp_path / 'rgb.pth.tar'}: OceanSAR-1 teacher backbone")
    assert "the weights' stem takes 3-channel images, expected 1" in message and "(B, 1, H, W)" in message
    assert not (tmp_path / "out").exists()


def test_mismatched_checkpoints_are_refused_by_name(tmp_path):
    state, _ = dino_state(SMALL)
    torch.save(
        {"state_dict": {k.replace("backbone.backbone", "encoder"): v for k, v in state.items()}}, tmp_path / "a.pth"
    )
    message = refused([str(tmp_path / "a.pth"), str(tmp_path / "out")])
    assert "no '*teacher_backbone.backbone.*' tensors found" in message and "['state_dict']" in message

    mixed = {**state, "module.teacher_backbone.backbone.0.weight": state["teacher_backbone.backbone.0.weight"]}
    torch.save(mixed, tmp_path / "mixed.pth")
    assert "sit under several prefixes ['', 'module.']" in refused([str(tmp_path / "mixed.pth"), str(tmp_path / "out")])

    del state["teacher_backbone.backbone.4.0.bn2.running_var"]
    state["teacher_backbone.backbone.5.1.conv2.weight"] = torch.zeros(8, 8, 1, 1)
    state["teacher_backbone.backbone.fc.weight"] = torch.zeros(10, 64)
    torch.save(state, tmp_path / "b.pth")
    message = refused([str(tmp_path / "b.pth"), str(tmp_path / "out")])
    assert "the teacher backbone (torchvision names) does not match" in message
    assert "1 missing: layer1.0.bn2.running_var" in message
    assert "1 unexpected: fc.weight" in message
    assert "layer2.1.conv2.weight (checkpoint (8, 8, 1, 1), model (8, 8, 3, 3))" in message
    assert not (tmp_path / "out").exists()

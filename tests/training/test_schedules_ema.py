import math
from itertools import pairwise

import pytest
import torch
from torch import nn

from training.dino import (
    WEIGHT_DECAY_KEY,
    CosineSchedule,
    DINOConfig,
    DINOHead,
    DINOSchedules,
    LinearThenConstant,
    apply_to_optimizer,
    make_teacher,
    param_groups,
    update_teacher,
)


def test_cosine_schedule_warmup_then_cosine_then_final():
    s = CosineSchedule(base_value=1.0, final_value=0.1, total_steps=110, warmup_steps=10, warmup_start_value=0.5)
    assert s(0) == 0.5
    assert s(5) == pytest.approx(0.75)
    assert s(2.5) == pytest.approx(0.625)  # fractional steps are fine
    assert s(10) == pytest.approx(1.0)
    assert s(60) == pytest.approx(0.55)  # half-way through the cosine: mean of base and final
    assert s(35) == pytest.approx(0.1 + 0.45 * (1 + math.cos(math.pi / 4)))
    assert s(110) == pytest.approx(0.1)
    assert s(10**9) == 0.1
    values = [s(step) for step in range(10, 111)]
    assert all(a >= b for a, b in pairwise(values))


def test_cosine_schedule_without_warmup_starts_at_base():
    s = CosineSchedule(0.996, 1.0, total_steps=4)
    assert [s(step) for step in range(5)] == pytest.approx(
        [
            0.996,
            0.996 + 0.004 * (1 - math.cos(math.pi / 4)) / 2,
            0.998,
            0.996 + 0.004 * (1 - math.cos(3 * math.pi / 4)) / 2,
            1.0,
        ]
    )


@pytest.mark.parametrize(
    "kwargs", [{"total_steps": 0}, {"total_steps": 5, "warmup_steps": 6}, {"total_steps": 5, "warmup_steps": -1}]
)
def test_cosine_schedule_rejects_bad_lengths(kwargs):
    with pytest.raises(ValueError, match="total_steps"):
        CosineSchedule(1.0, 0.0, **kwargs)


def test_schedules_reject_negative_steps():
    with pytest.raises(ValueError, match="step must be >= 0"):
        CosineSchedule(1.0, 0.0, total_steps=3)(-1)
    with pytest.raises(ValueError, match="step must be >= 0"):
        LinearThenConstant(0.04, 0.07, ramp_steps=3)(-0.5)


def test_linear_then_constant():
    s = LinearThenConstant(0.04, 0.07, ramp_steps=30)
    assert [s(0), s(10), s(30), s(31), s(10**8)] == pytest.approx([0.04, 0.05, 0.07, 0.07, 0.07])
    assert LinearThenConstant(0.04, 0.07, ramp_steps=0)(0) == 0.07
    with pytest.raises(ValueError, match="ramp_steps"):
        LinearThenConstant(0.04, 0.07, ramp_steps=-1)


def test_dino_schedules_follow_dino_recipe():
    sched = DINOSchedules(
        epoch_steps=(100,) * 20,
        lr=1e-3,
        min_lr=1e-6,
        warmup_epochs=2,
        weight_decay=0.04,
        weight_decay_end=0.4,
        momentum_teacher=0.996,
        warmup_teacher_temp=0.04,
        teacher_temp=0.07,
        warmup_teacher_temp_epochs=3,
    )
    assert sched.total_steps == 2000
    start, warm, middle, end = sched.at(0), sched.at(200), sched.at(1000), sched.at(2000)
    assert start == pytest.approx({"lr": 0.0, "weight_decay": 0.04, "momentum": 0.996, "teacher_temp": 0.04})
    assert sched.at(100)["lr"] == pytest.approx(5e-4)
    assert warm["lr"] == pytest.approx(1e-3)
    assert middle["weight_decay"] == pytest.approx(0.22)
    assert middle["momentum"] == pytest.approx(0.998)
    assert middle["lr"] == pytest.approx(1e-6 + (1e-3 - 1e-6) * 0.5 * (1 + math.cos(math.pi * 800 / 1800)))
    assert sched.at(150)["teacher_temp"] == pytest.approx(0.055)
    assert sched.at(300)["teacher_temp"] == pytest.approx(0.07)
    assert end == pytest.approx({"lr": 1e-6, "weight_decay": 0.4, "momentum": 1.0, "teacher_temp": 0.07})


def test_dino_schedules_from_config_scale_lr_and_huge_runs_need_no_arrays():
    config = DINOConfig()
    sched = DINOSchedules.from_config(config, [12_000_000 // 1024] * 1000, global_batch=1024)
    assert sched.lr == pytest.approx(config.lr * 1024 / 256)  # DINO's linear scaling rule
    assert sched.at(sched.total_steps - 1)["momentum"] == pytest.approx(1.0)
    assert sched.at(0)["teacher_temp"] == config.warmup_teacher_temp
    short = DINOSchedules.from_config(config, [10, 10, 10], global_batch=256)
    assert short.warmup_epochs == 3  # the warm-up is capped at the run


@pytest.mark.parametrize(
    "kwargs", [{"epoch_steps": (10, 0)}, {"epoch_steps": ()}, {"warmup_epochs": 11}, {"warmup_teacher_temp_epochs": -1}]
)
def test_dino_schedules_reject_bad_config(kwargs):
    values = {"lr": 1e-3, "min_lr": 1e-6, "warmup_epochs": 1, "weight_decay": 0.04, "weight_decay_end": 0.4}
    values |= {"momentum_teacher": 0.996, "warmup_teacher_temp": 0.04, "teacher_temp": 0.04}
    values |= {"warmup_teacher_temp_epochs": 0}
    with pytest.raises(ValueError, match="DINOSchedules"):
        DINOSchedules(**{"epoch_steps": (10,) * 10, **values, **kwargs})


def _backbone_and_head() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 4, 3),
        nn.BatchNorm2d(4),
        nn.Flatten(),
        nn.Linear(4, 6),
        DINOHead(6, out_dim=10, hidden_dim=8, bottleneck_dim=4, num_layers=3, use_bn=False, norm_last_layer=True),
    )


def test_param_groups_no_decay_on_biases_and_norms_frozen_left_out():
    model = _backbone_and_head()
    decayed, not_decayed = param_groups(model, weight_decay=0.04)
    assert decayed["weight_decay"] == 0.04 and decayed[WEIGHT_DECAY_KEY]
    assert not_decayed["weight_decay"] == 0.0 and not not_decayed[WEIGHT_DECAY_KEY]
    names = {id(p): n for n, p in model.named_parameters()}
    assert all(p.ndim >= 2 for p in decayed["params"])
    assert {names[id(p)] for p in not_decayed["params"]} == {
        "0.bias",
        "1.weight",
        "1.bias",
        "3.bias",
        "4.mlp.0.bias",
        "4.mlp.2.bias",
        "4.mlp.4.bias",
    }
    n_trainable = sum(p.requires_grad for p in model.parameters())
    assert len(decayed["params"]) + len(not_decayed["params"]) == n_trainable < len(list(model.parameters()))
    assert len(param_groups(nn.Linear(2, 2, bias=False), 0.1)) == 1  # empty groups dropped


def test_apply_to_optimizer_sets_lr_everywhere_and_weight_decay_on_decayed_groups():
    model = _backbone_and_head()
    optimizer = torch.optim.AdamW(param_groups(model, weight_decay=0.04), lr=1.0)
    apply_to_optimizer(optimizer, lr=3e-4, weight_decay=0.2)
    assert [g["lr"] for g in optimizer.param_groups] == [3e-4] * 2
    assert [g["weight_decay"] for g in optimizer.param_groups] == [0.2, 0.0]
    optimizer.add_param_group({"params": [nn.Linear(2, 2).weight], "weight_decay": 0.5})
    with pytest.raises(KeyError, match="param_groups"):  # a group built elsewhere is an error, not a guess
        apply_to_optimizer(optimizer, lr=3e-4, weight_decay=0.2)


def _tiny_bn_net() -> nn.Module:
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))


def test_update_teacher_exact_value():
    student, teacher = _tiny_bn_net(), _tiny_bn_net()
    # dyadic values keep every operation exact in float32
    with torch.no_grad():
        for i, (s, t) in enumerate(zip(student.parameters(), teacher.parameters(), strict=True)):
            s.copy_(torch.arange(s.numel()).reshape(s.shape) / 8 + i)
            t.copy_(-torch.arange(t.numel()).reshape(t.shape) / 4)
    expected = [0.75 * t + 0.25 * s for s, t in zip(student.parameters(), teacher.parameters(), strict=True)]
    update_teacher(student, teacher, momentum=0.75)
    for got, want in zip(teacher.parameters(), expected, strict=True):
        assert torch.equal(got, want)


def test_momentum_one_keeps_params_and_zero_copies_them():
    torch.manual_seed(0)
    student, teacher = _tiny_bn_net(), _tiny_bn_net()
    before = [p.clone() for p in teacher.parameters()]
    update_teacher(student, teacher, momentum=1.0)
    assert all(torch.equal(a, b) for a, b in zip(teacher.parameters(), before, strict=True))
    update_teacher(student, teacher, momentum=0.0)
    assert all(torch.equal(a, b) for a, b in zip(teacher.parameters(), student.parameters(), strict=True))


def test_teacher_keeps_its_own_batchnorm_statistics():
    """DINO: the EMA touches parameters only; the teacher's running statistics come from its own forwards."""
    student = _tiny_bn_net()
    teacher = make_teacher(student)
    student(torch.randn(8, 3) + 5.0)  # train-mode forwards update each network's own running stats
    teacher(torch.randn(8, 3) - 5.0)
    teacher_stats = teacher[1].running_mean.clone()
    update_teacher(student, teacher, momentum=0.9)
    assert torch.equal(teacher[1].running_mean, teacher_stats)
    assert not torch.allclose(teacher[1].running_mean, student[1].running_mean)


def test_make_teacher_is_frozen_independent_copy_in_same_mode():
    student = _backbone_and_head()
    teacher = make_teacher(student)
    assert teacher.training and all(not p.requires_grad for p in teacher.parameters())
    assert any(p.requires_grad for p in student.parameters())
    for (name, s), (_, t) in zip(student.named_parameters(), teacher.named_parameters(), strict=True):
        assert torch.equal(s, t) and s.data_ptr() != t.data_ptr(), name


def test_teacher_receives_no_gradient():
    student = _backbone_and_head()
    teacher = make_teacher(student)
    x = torch.randn(4, 1, 3, 3)
    (student(x) * teacher(x).softmax(dim=-1)).sum().backward()
    assert all(p.grad is None for p in teacher.parameters())
    assert student[0].weight.grad is not None


def test_mismatched_modules_raise():
    with pytest.raises(ValueError, match="names differ"):
        update_teacher(_tiny_bn_net(), nn.Sequential(nn.Linear(3, 4)), momentum=0.9)
    with pytest.raises(ValueError, match="shape"):
        update_teacher(_tiny_bn_net(), nn.Sequential(nn.Linear(3, 5), nn.BatchNorm1d(5)), momentum=0.9)
    with pytest.raises(ValueError, match="momentum"):
        update_teacher(_tiny_bn_net(), _tiny_bn_net(), momentum=1.5)


def test_schedules_over_epochs_of_different_lengths():
    """Pruned epochs shorter (epoch_length: active_set): warm-ups in epochs follow the planned epoch lengths."""
    values = {"lr": 1e-3, "min_lr": 0.0, "warmup_epochs": 2.5, "weight_decay": 0.04, "weight_decay_end": 0.04}
    values |= {"momentum_teacher": 0.996, "warmup_teacher_temp": 0.04, "teacher_temp": 0.07}
    sched = DINOSchedules(epoch_steps=(10, 10, 4, 4, 4), warmup_teacher_temp_epochs=3, **values)
    assert sched.total_steps == 32 and sched.epoch_starts == (0, 10, 20, 24, 28, 32)
    assert [sched.epoch_of(s) for s in (0, 9, 10, 20, 23, 24, 31)] == [0, 0, 1, 2, 2, 3, 4]
    assert sched.steps_in(2.5) == 22 and sched.lr_schedule.warmup_steps == 22
    assert sched.at(24)["teacher_temp"] == pytest.approx(0.07) and sched.at(12)["teacher_temp"] < 0.07

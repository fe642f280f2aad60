import copy

import pytest
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from training.dino import DINOHead, cancel_last_layer_gradients, make_teacher, param_groups, update_teacher

SMALL = {
    "in_dim": 12,
    "out_dim": 32,
    "hidden_dim": 16,
    "bottleneck_dim": 8,
    "num_layers": 3,
    "use_bn": False,
    "norm_last_layer": True,
}


def _student() -> nn.Module:
    """Backbone stand-in + head, as the trainer composes them."""
    return nn.Sequential(nn.Linear(6, 12), DINOHead(**SMALL))


def test_forward_shape_and_cosine_outputs_with_unit_norm_last_layer():
    head = DINOHead(**SMALL)
    out = head(torch.randn(5, 12))
    assert out.shape == (5, 32)
    row_norms = head.last_layer.weight.norm(dim=1)
    torch.testing.assert_close(row_norms, torch.ones(32))
    assert out.abs().max() <= 1.0 + 1e-6  # unit-norm input · unit-norm rows = cosine
    magnitude = head.last_layer.parametrizations.weight.original0
    assert not magnitude.requires_grad
    assert DINOHead(**{**SMALL, "norm_last_layer": False}).last_layer.parametrizations.weight.original0.requires_grad


@pytest.mark.parametrize(
    ("num_layers", "use_bn", "n_linear", "n_bn"),
    [(1, False, 1, 0), (3, False, 3, 0), (3, True, 3, 2), (4, False, 4, 0)],
)
def test_mlp_layout(num_layers, use_bn, n_linear, n_bn):
    head = DINOHead(**{**SMALL, "num_layers": num_layers, "use_bn": use_bn})
    linears = [m for m in head.mlp if isinstance(m, nn.Linear)]
    assert len(linears) == n_linear
    assert sum(isinstance(m, nn.BatchNorm1d) for m in head.mlp) == n_bn
    assert sum(isinstance(m, nn.GELU) for m in head.mlp) == num_layers - 1
    assert linears[0].in_features == 12 and linears[-1].out_features == 8
    assert head(torch.randn(3, 12)).shape == (3, 32)


def test_init_trunc_normal_and_zero_bias():
    head = DINOHead(**{**SMALL, "in_dim": 256, "out_dim": 64, "hidden_dim": 256, "bottleneck_dim": 256})
    for module in head.mlp:
        if isinstance(module, nn.Linear):
            assert torch.count_nonzero(module.bias) == 0
            assert module.weight.std().item() == pytest.approx(0.02, rel=0.1)


@pytest.mark.parametrize("kwargs", [{"in_dim": 0}, {"num_layers": 0}, {"out_dim": 2.5}])
def test_bad_sizes_raise(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        DINOHead(**{**SMALL, **kwargs})


def test_bad_input_shape_raises():
    with pytest.raises(ValueError, match=r"\(B, 12\)"):
        DINOHead(**SMALL)(torch.randn(4, 11))


def test_deepcopy_is_independent_and_equal():
    head = DINOHead(**SMALL)
    clone = copy.deepcopy(head)
    x = torch.randn(4, 12)
    torch.testing.assert_close(clone(x), head(x), atol=0, rtol=0)
    with torch.no_grad():
        clone.last_layer.parametrizations.weight.original1.add_(1.0)
    assert not torch.equal(clone(x), head(x))
    assert not clone.last_layer.parametrizations.weight.original0.requires_grad


def test_state_dict_round_trip_through_file(tmp_path):
    torch.manual_seed(0)
    head = DINOHead(**{**SMALL, "norm_last_layer": False})
    torch.save(head.state_dict(), tmp_path / "head.pt")
    torch.manual_seed(1)
    fresh = DINOHead(**{**SMALL, "norm_last_layer": False})
    x = torch.randn(4, 12)
    assert not torch.equal(fresh(x), head(x))
    fresh.load_state_dict(torch.load(tmp_path / "head.pt"))
    assert torch.equal(fresh(x), head(x))
    assert "last_layer.parametrizations.weight.original0" in head.state_dict()


def _adamw_step(student: nn.Module, cancel: bool) -> None:
    optimizer = torch.optim.AdamW(param_groups(student, weight_decay=0.1), lr=1e-2)
    student(torch.randn(8, 6)).pow(2).sum().backward()
    if cancel:
        cancel_last_layer_gradients(student)
    optimizer.step()


@pytest.mark.parametrize("cancel", [True, False])
def test_cancelled_last_layer_is_untouched_by_adamw_with_weight_decay(cancel):
    torch.manual_seed(0)
    student = _student()
    head = student[1]
    before = {name: p.detach().clone() for name, p in student.named_parameters()}
    _adamw_step(student, cancel)
    for name, param in student.named_parameters():
        if "last_layer" in name and (cancel or not param.requires_grad):
            assert torch.equal(param, before[name]), name
        else:
            assert not torch.equal(param, before[name]), name
    assert all(p.grad is None for p in head.last_layer_parameters()) == cancel


def test_cancel_without_head_raises():
    with pytest.raises(ValueError, match="no DINOHead"):
        cancel_last_layer_gradients(nn.Linear(2, 2))


def test_ddp_wrapped_student_with_weight_norm(tmp_path):
    """DDP (gloo, in-process, world size 1) over a weight-normalised head: forward/backward, gradient cancelling,
    make_teacher and update_teacher on the wrapper, checkpoint of the unwrapped module."""
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'pg_init'}", rank=0, world_size=1)
    try:
        torch.manual_seed(0)
        student = DistributedDataParallel(_student())
        initial = {n: v.clone() for n, v in student.module.state_dict().items()}
        teacher = make_teacher(student)
        assert not isinstance(teacher, DistributedDataParallel)
        optimizer = torch.optim.AdamW(param_groups(student, weight_decay=0.04), lr=1e-2)
        student(torch.randn(4, 6)).logsumexp(dim=1).sum().backward()
        assert student.module[1].last_layer.parametrizations.weight.original1.grad is not None
        cancel_last_layer_gradients(student)
        optimizer.step()
        update_teacher(student, teacher, momentum=0.5)
        torch.save(student.module.state_dict(), tmp_path / "student.pt")
    finally:
        dist.destroy_process_group()
    trained = torch.load(tmp_path / "student.pt")
    for name, value in trained.items():
        changed = not torch.equal(value, initial[name])
        assert changed == ("last_layer" not in name), name  # last layer cancelled, everything else trained
        torch.testing.assert_close(teacher.state_dict()[name], 0.5 * initial[name] + 0.5 * value)
    reloaded = _student()
    reloaded.load_state_dict(trained)
    x = torch.randn(3, 6)
    assert torch.equal(reloaded(x), student.module(x))

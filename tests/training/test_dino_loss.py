import math

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from training.dino import DINOLoss

OUT_DIM = 7


def make_loss(student_temp: float = 0.1, center_momentum: float = 0.9) -> DINOLoss:
    """DINO's defaults unless a test changes one."""
    return DINOLoss(OUT_DIM, student_temp, center_momentum)


def _log_softmax_by_hand(x: torch.Tensor) -> torch.Tensor:
    shifted = x - x.max(dim=-1, keepdim=True).values
    return shifted - shifted.exp().sum(dim=-1, keepdim=True).log()


def _reference_loss(student, teacher, center, student_temp, teacher_temp, n_global):
    """DINO loss written as explicit loops over (teacher crop, student crop, image)."""
    batch = teacher.shape[0] // n_global
    n_crops = student.shape[0] // batch
    total, n_terms = 0.0, 0
    for i in range(n_global):
        for v in range(n_crops):
            if v == i:
                continue
            pair = 0.0
            for b in range(batch):
                t_row = teacher[i * batch + b]
                s_row = student[v * batch + b]
                q = torch.exp(_log_softmax_by_hand((t_row - center[0]) / teacher_temp))
                pair = pair - (q * _log_softmax_by_hand(s_row / student_temp)).sum()
            total = total + pair / batch
            n_terms += 1
    return total / n_terms


@pytest.mark.parametrize(("n_global", "n_crops", "batch"), [(2, 6, 3), (1, 3, 4), (2, 2, 5)])
def test_loss_and_gradient_match_explicit_loops_in_float64(n_global, n_crops, batch):
    gen = torch.Generator().manual_seed(n_crops)
    student = torch.randn(n_crops * batch, OUT_DIM, generator=gen, dtype=torch.float64)
    teacher = torch.randn(n_global * batch, OUT_DIM, generator=gen, dtype=torch.float64)
    criterion = make_loss(student_temp=0.2).double()
    criterion.center.copy_(torch.randn(1, OUT_DIM, generator=gen, dtype=torch.float64))
    reference_center = criterion.center.clone()

    ours_input = student.clone().requires_grad_(True)
    ref_input = student.clone().requires_grad_(True)
    ours, _ = criterion(ours_input, teacher, teacher_temp=0.05, n_global=n_global)
    ref = _reference_loss(ref_input, teacher, reference_center, 0.2, 0.05, n_global)
    assert ours.dtype == torch.float64
    assert abs(ours.item() - ref.item()) < 1e-6
    ours.backward()
    ref.backward()
    torch.testing.assert_close(ours_input.grad, ref_input.grad, atol=1e-9, rtol=0)


def test_center_update_is_ema_of_teacher_mean():
    gen = torch.Generator().manual_seed(1)
    teacher = torch.randn(6, OUT_DIM, generator=gen)
    criterion = make_loss(center_momentum=0.8)
    criterion.center.fill_(0.5)
    assert not dist.is_initialized()  # single process, no process group
    criterion(torch.randn(9, OUT_DIM, generator=gen), teacher, teacher_temp=0.04, n_global=2)
    expected = 0.8 * 0.5 + 0.2 * teacher.mean(dim=0, keepdim=True)
    torch.testing.assert_close(criterion.center, expected)
    assert "center" in criterion.state_dict()


def test_gradient_reaches_student_only():
    gen = torch.Generator().manual_seed(2)
    student_layer, teacher_layer = torch.nn.Linear(5, OUT_DIM), torch.nn.Linear(5, OUT_DIM)
    x = torch.randn(4 * 3, 5, generator=gen)
    loss, _ = make_loss()(student_layer(x), teacher_layer(x[:6]), teacher_temp=0.04, n_global=2)
    loss.backward()
    assert student_layer.weight.grad is not None and student_layer.weight.grad.abs().sum() > 0
    assert teacher_layer.weight.grad is None and teacher_layer.bias.grad is None


def test_bfloat16_inputs_give_float32_loss_equal_to_upcast_inputs():
    gen = torch.Generator().manual_seed(3)
    student = torch.randn(8, OUT_DIM, generator=gen).bfloat16()
    teacher = torch.randn(4, OUT_DIM, generator=gen).bfloat16()
    loss_bf16, _ = make_loss()(student, teacher, teacher_temp=0.04)
    loss_fp32, _ = make_loss()(student.float(), teacher.float(), teacher_temp=0.04)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss_autocast, _ = make_loss()(student.float(), teacher.float(), teacher_temp=0.04)
    assert loss_bf16.dtype == loss_autocast.dtype == torch.float32
    assert loss_bf16.item() == loss_fp32.item() == loss_autocast.item()


def test_entropy_stats_show_both_collapse_modes():
    criterion = make_loss(center_momentum=1.0)
    student = torch.zeros(4, OUT_DIM)
    _, uniform = criterion(student, torch.zeros(2, OUT_DIM), teacher_temp=0.04)
    assert uniform["max_entropy"].item() == pytest.approx(math.log(OUT_DIM))
    assert uniform["teacher_entropy"].item() == pytest.approx(math.log(OUT_DIM), abs=1e-5)
    assert uniform["teacher_mean_entropy"].item() == pytest.approx(math.log(OUT_DIM), abs=1e-5)

    one_hot = torch.zeros(2, OUT_DIM)
    one_hot[:, 3] = 10.0
    _, dominated = criterion(student, one_hot, teacher_temp=0.04)
    assert dominated["teacher_entropy"].item() < 1e-6
    assert dominated["teacher_mean_entropy"].item() < 1e-6

    healthy = torch.zeros(2, OUT_DIM)
    healthy[0, 1], healthy[1, 5] = 10.0, 10.0  # sharp rows, different dims
    _, ok = criterion(student, healthy, teacher_temp=0.04)
    assert ok["teacher_entropy"].item() < 1e-6
    assert ok["teacher_mean_entropy"].item() == pytest.approx(math.log(2), abs=1e-5)


@pytest.mark.parametrize(
    ("student_shape", "teacher_shape", "temp", "n_global", "match"),
    [
        ((8, OUT_DIM), (4, OUT_DIM + 1), 0.04, 2, "teacher_out must have shape"),
        ((8, OUT_DIM), (5, OUT_DIM), 0.04, 2, "n_global=2"),
        ((7, OUT_DIM), (4, OUT_DIM), 0.04, 2, "n_crops"),
        ((2, OUT_DIM), (2, OUT_DIM), 0.04, 1, "n_crops"),
        ((8, OUT_DIM), (4, OUT_DIM), 0.0, 2, "teacher_temp"),
    ],
)
def test_bad_inputs_raise_clear_errors(student_shape, teacher_shape, temp, n_global, match):
    with pytest.raises(ValueError, match=match):
        make_loss()(torch.zeros(student_shape), torch.zeros(teacher_shape), temp, n_global)


def _rank_teacher(rank: int) -> torch.Tensor:
    """Rank-specific teacher logits with unequal batch sizes (2 images on rank 0, 3 on rank 1; 2 global crops)."""
    return torch.randn(2 * (2 + rank), OUT_DIM, generator=torch.Generator().manual_seed(100 + rank))


def _distributed_worker(rank: int, world_size: int, init_file: str, out_dir: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world_size)
    try:
        teacher = _rank_teacher(rank)
        student = torch.randn(4 * (2 + rank), OUT_DIM)
        criterion = make_loss()
        criterion.center.fill_(1.0)
        criterion(student, teacher, teacher_temp=0.04, n_global=2)
        torch.save(criterion.center, f"{out_dir}/center_{rank}.pt")
    finally:
        dist.destroy_process_group()


def test_center_is_all_reduced_over_two_gloo_processes(tmp_path):
    mp.spawn(_distributed_worker, args=(2, str(tmp_path / "pg_init"), str(tmp_path)), nprocs=2, join=True)
    centers = [torch.load(tmp_path / f"center_{rank}.pt") for rank in range(2)]
    assert torch.equal(centers[0], centers[1])
    global_mean = torch.cat([_rank_teacher(0), _rank_teacher(1)]).mean(dim=0, keepdim=True)
    torch.testing.assert_close(centers[0], 0.9 * 1.0 + 0.1 * global_mean)
    # a per-rank update would differ: the test can tell local from global means
    assert not torch.allclose(centers[0], 0.9 + 0.1 * _rank_teacher(0).mean(dim=0, keepdim=True))

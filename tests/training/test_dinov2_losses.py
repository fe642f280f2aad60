"""The DINOv2 recipe's losses against independent re-derivations (float64): iBOT's masked-patch loss, KoLeo,
Sinkhorn-Knopp centering (one process and two gloo processes), and their sum."""

import math

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from training.dino import (
    DINOLoss,
    DINOv2Loss,
    DINOv2Output,
    IBOTPatchLoss,
    KoLeoLoss,
    sinkhorn_knopp,
)

K = 6


def _softmax_rows(x: torch.Tensor) -> torch.Tensor:
    e = torch.exp(x - x.max(dim=-1, keepdim=True).values)
    return e / e.sum(dim=-1, keepdim=True)


def _reference_ibot(student, teacher, masks, center, student_temp, teacher_temp):
    """Loops over images and their masked patches; images without a mask add 0 and count in the mean."""
    total, row = 0.0, 0
    for image in range(masks.shape[0]):
        patches = [p for p in range(masks.shape[1]) if masks[image, p]]
        image_sum = 0.0
        for _ in patches:
            t = _softmax_rows(((teacher[row] - center[0]) / teacher_temp).unsqueeze(0))[0]
            log_s = torch.log(_softmax_rows((student[row] / student_temp).unsqueeze(0))[0])
            image_sum = image_sum - (t * log_s).sum()
            row += 1
        if patches:
            total = total + image_sum / len(patches)
    return total / masks.shape[0]


def _reference_sinkhorn(logits, temp, iterations):
    """Sinkhorn-Knopp as diagonal scalings: Q = diag(r) · exp(S/T) · diag(c), prototype then sample normalisation."""
    p = torch.exp(logits / temp)
    rows, prototypes = p.shape
    r = torch.ones(rows, dtype=p.dtype)
    c = torch.ones(prototypes, dtype=p.dtype)
    for _ in range(iterations):
        c = 1.0 / (prototypes * (r[:, None] * p).sum(dim=0))
        r = 1.0 / (rows * (p * c[None, :]).sum(dim=1))
    return rows * r[:, None] * p * c[None, :]


def _masks() -> torch.Tensor:
    masks = torch.zeros(4, 9, dtype=torch.bool)
    masks[0, [1, 2, 5]] = True
    masks[2, [0]] = True
    masks[3, [3, 4, 6, 7, 8]] = True  # image 1 unmasked
    return masks


def test_ibot_loss_and_gradient_match_loops_in_float64():
    gen = torch.Generator().manual_seed(0)
    masks = _masks()
    m = int(masks.sum())
    student = torch.randn(m, K, generator=gen, dtype=torch.float64)
    teacher = torch.randn(m, K, generator=gen, dtype=torch.float64)
    criterion = IBOTPatchLoss(K, student_temp=0.2, center_momentum=0.7).double()
    criterion.center.copy_(torch.randn(1, K, generator=gen, dtype=torch.float64))
    center = criterion.center.clone()
    ours_in, ref_in = student.clone().requires_grad_(True), student.clone().requires_grad_(True)
    ours, stats = criterion(ours_in, teacher, masks, teacher_temp=0.05)
    ref = _reference_ibot(ref_in, teacher, masks, center, 0.2, 0.05)
    assert ours.dtype == torch.float64 and abs(ours.item() - ref.item()) < 1e-6
    ours.backward()
    ref.backward()
    torch.testing.assert_close(ours_in.grad, ref_in.grad, atol=1e-9, rtol=0)
    torch.testing.assert_close(criterion.center, 0.7 * center + 0.3 * teacher.mean(dim=0, keepdim=True))
    assert stats["max_entropy"].item() == pytest.approx(math.log(K))


def test_ibot_loss_with_sinkhorn_targets_matches_reference():
    gen = torch.Generator().manual_seed(1)
    masks = _masks()
    m = int(masks.sum())
    student = torch.randn(m, K, generator=gen, dtype=torch.float64)
    teacher = torch.randn(m, K, generator=gen, dtype=torch.float64)
    criterion = IBOTPatchLoss(K, 0.1, 0.9, centering="sinkhorn_knopp", sinkhorn_iterations=3).double()
    ours, _ = criterion(student, teacher, masks, teacher_temp=0.3)
    q = _reference_sinkhorn(teacher, 0.3, 3)
    log_s = torch.log_softmax(student / 0.1, dim=-1)
    counts = masks.sum(dim=1)
    owner = torch.repeat_interleave(torch.arange(4), counts)
    ref = -sum((q[j] * log_s[j]).sum() / counts[owner[j]] for j in range(m)) / 4
    assert abs(ours.item() - ref.item()) < 1e-6
    assert torch.equal(criterion.center, torch.zeros(1, K, dtype=torch.float64))  # not used, not updated


def test_ibot_loss_rejects_mismatched_masks():
    criterion = IBOTPatchLoss(K, 0.1, 0.9)
    with pytest.raises(ValueError, match="masks select 9 patches but 4"):
        criterion(torch.zeros(4, K), torch.zeros(4, K), _masks(), 0.04)
    with pytest.raises(ValueError, match="bool tensor"):
        criterion(torch.zeros(4, K), torch.zeros(4, K), _masks().long(), 0.04)


def _reference_koleo(features, n_global, eps=1e-8):
    """Per crop: normalise, nearest neighbour by smallest Euclidean distance (loops), −log(d + eps), mean; sum."""
    batch = features.shape[0] // n_global
    total = 0.0
    for crop in range(n_global):
        rows = [features[crop * batch + b] / torch.sqrt((features[crop * batch + b] ** 2).sum()) for b in range(batch)]
        crop_sum = 0.0
        for b in range(batch):
            distances = [torch.sqrt(((rows[b] - rows[o]) ** 2).sum()) for o in range(batch) if o != b]
            crop_sum = crop_sum - torch.log(min(distances) + eps)
        total = total + crop_sum / batch
    return total


@pytest.mark.parametrize(("n_global", "batch", "dim"), [(2, 5, 4), (1, 7, 3)])
def test_koleo_matches_loops_in_float64(n_global, batch, dim):
    features = torch.randn(n_global * batch, dim, generator=torch.Generator().manual_seed(batch), dtype=torch.float64)
    ours_in, ref_in = features.clone().requires_grad_(True), features.clone().requires_grad_(True)
    ours = KoLeoLoss()(ours_in, n_global)
    ref = _reference_koleo(ref_in, n_global)
    assert ours.dtype == torch.float64 and abs(ours.item() - ref.item()) < 1e-6
    ours.backward()
    ref.backward()
    torch.testing.assert_close(ours_in.grad, ref_in.grad, atol=1e-9, rtol=0)


def test_koleo_gradient_pushes_nearest_neighbours_apart():
    angles = torch.tensor([0.0, 0.05, 1.6, 3.2, 4.7], dtype=torch.float64)  # rows 0 and 1 nearly coincide
    features = torch.stack([torch.cos(angles), torch.sin(angles)], dim=1).requires_grad_(True)
    loss = KoLeoLoss()(features, n_global=1)
    loss.backward()
    stepped = torch.nn.functional.normalize(features.detach() - 0.01 * features.grad, dim=1)
    before = torch.linalg.vector_norm(features[0] - features[1]).item()
    after = torch.linalg.vector_norm(stepped[0] - stepped[1]).item()
    assert after > before
    assert KoLeoLoss()(stepped, n_global=1).item() < loss.item()
    # the pair's gradients point away from each other along the circle
    tangent = torch.tensor([-math.sin(0.025), math.cos(0.025)], dtype=torch.float64)
    assert (features.grad[0] @ tangent).item() > 0 > (features.grad[1] @ tangent).item()


def test_koleo_identical_features_are_finite():
    features = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]], requires_grad=True)
    loss = KoLeoLoss()(features, n_global=1)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(features.grad).all()


@pytest.mark.parametrize("iterations", [1, 3])
def test_sinkhorn_matches_diagonal_scaling_reference(iterations):
    logits = torch.randn(11, K, generator=torch.Generator().manual_seed(iterations), dtype=torch.float64)
    torch.testing.assert_close(
        sinkhorn_knopp(logits, 0.2, iterations), _reference_sinkhorn(logits, 0.2, iterations), atol=1e-9, rtol=0
    )


def test_sinkhorn_converges_to_doubly_stochastic_assignments():
    logits = torch.randn(30, K, generator=torch.Generator().manual_seed(5))
    q = sinkhorn_knopp(logits, 0.1, iterations=200)
    torch.testing.assert_close(q.sum(dim=1), torch.ones(30), atol=1e-5, rtol=0)  # each sample: a distribution
    torch.testing.assert_close(q.sum(dim=0), torch.full((K,), 30 / K), atol=1e-3, rtol=0)  # prototypes used equally
    three = sinkhorn_knopp(logits, 0.1, iterations=3)
    torch.testing.assert_close(three.sum(dim=1), torch.ones(30), atol=1e-5, rtol=0)


def test_sinkhorn_survives_large_logits_and_names_underflow():
    logits = torch.tensor([[1000.0, 999.0], [998.0, 1000.0]])
    assert torch.isfinite(sinkhorn_knopp(logits, 0.5, 3)).all()  # shifted by the maximum: no overflow
    with pytest.raises(FloatingPointError, match="zero mass"):
        sinkhorn_knopp(torch.tensor([[0.0, -100.0], [0.0, -100.0]]), 0.04, 3)


def test_dino_loss_with_sinkhorn_centering_uses_sinkhorn_targets():
    gen = torch.Generator().manual_seed(3)
    student = torch.randn(4 * 3, K, generator=gen, dtype=torch.float64)
    teacher = torch.randn(2 * 3, K, generator=gen, dtype=torch.float64)
    ours, stats = DINOLoss(K, 0.1, 0.9, centering="sinkhorn_knopp").double()(student, teacher, 0.1)
    q = _reference_sinkhorn(teacher, 0.1, 3).view(2, 3, K)
    log_s = torch.log_softmax(student / 0.1, dim=-1).view(4, 3, K)
    pairs = [-(q[i] * log_s[v]).sum(dim=-1).mean() for i in range(2) for v in range(4) if v != i]
    assert abs(ours.item() - (sum(pairs) / len(pairs)).item()) < 1e-6
    assert torch.isfinite(stats["teacher_entropy"])


def test_dinov2_loss_is_the_weighted_sum_of_its_terms():
    gen = torch.Generator().manual_seed(4)
    masks = _masks()[:, :9]
    batch = 2  # 2 global crops x 2 images = the 4 mask rows
    m = int(masks.sum())

    def output() -> DINOv2Output:
        return DINOv2Output(
            torch.randn(4 * batch, K, generator=gen, dtype=torch.float64),
            torch.randn(2 * batch, 5, generator=gen, dtype=torch.float64),
            torch.randn(m, K, generator=gen, dtype=torch.float64),
        )

    student, teacher = output(), output()
    loss = DINOv2Loss(DINOLoss(K, 0.1, 0.9), IBOTPatchLoss(K, 0.1, 0.9), ibot_weight=0.5, koleo_weight=0.1).double()
    total, stats = loss(student, teacher, masks, teacher_temp=0.04, ibot_teacher_temp=0.07)
    dino, _ = DINOLoss(K, 0.1, 0.9).double()(student.cls_logits, teacher.cls_logits, 0.04)
    ibot, _ = IBOTPatchLoss(K, 0.1, 0.9).double()(student.patch_logits, teacher.patch_logits, masks, 0.07)
    koleo = KoLeoLoss()(student.cls_features, 2)
    assert abs(total.item() - (dino + 0.5 * ibot + 0.1 * koleo).item()) < 1e-9
    assert {"dino_loss", "ibot_loss", "koleo_loss", "ibot_teacher_entropy"} <= set(stats)
    assert set(loss.state_dict()) == {"dino.center", "ibot.center"}


def _rank_logits(rank: int) -> torch.Tensor:
    """Rank-specific teacher scores, unequal row counts (5 and 8), prototype 0 favoured on rank 0 only."""
    logits = torch.randn(5 + 3 * rank, K, generator=torch.Generator().manual_seed(10 + rank), dtype=torch.float64)
    if rank == 0:
        logits[:, 0] += 2.0
    return logits


def _sinkhorn_worker(rank: int, init_file: str, out_dir: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=2)
    try:
        q = sinkhorn_knopp(_rank_logits(rank), 0.3, iterations=3)
        criterion = IBOTPatchLoss(K, 0.1, 0.9).double()
        masks = torch.ones(1, _rank_logits(rank).shape[0], dtype=torch.bool)
        criterion(_rank_logits(rank), _rank_logits(rank), masks, 0.04)
        torch.save({"q": q, "center": criterion.center}, f"{out_dir}/rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def test_sinkhorn_and_ibot_center_are_global_over_two_gloo_processes(tmp_path):
    mp.spawn(_sinkhorn_worker, args=(str(tmp_path / "init"), str(tmp_path)), nprocs=2, join=True)
    results = [torch.load(tmp_path / f"rank{rank}.pt") for rank in range(2)]
    union = torch.cat([_rank_logits(0), _rank_logits(1)])
    torch.testing.assert_close(torch.cat([r["q"] for r in results]), _reference_sinkhorn(union, 0.3, 3))
    local = sinkhorn_knopp(_rank_logits(0), 0.3, iterations=3)
    assert not torch.allclose(results[0]["q"], local)  # a per-process Sinkhorn would differ: the test can tell
    assert torch.equal(results[0]["center"], results[1]["center"])
    torch.testing.assert_close(results[0]["center"], 0.1 * union.mean(dim=0, keepdim=True))


def test_ema_center_ignores_a_step_without_rows_and_dino_keeps_its_state_keys():
    from training.dino import ema_update

    center = torch.full((1, K), 0.5)
    ema_update(center, torch.zeros(0, K), momentum=0.9)  # e.g. no patch masked anywhere
    assert torch.equal(center, torch.full((1, K), 0.5))
    assert set(DINOLoss(K, 0.1, 0.9).state_dict()) == {"center"}  # DINO checkpoints keep their layout

"""Tests of training/augment.py: batched SAR multi-crop (shapes, randomness, geometry, photometry, errors)."""

from __future__ import annotations

import math
from dataclasses import fields, replace

import numpy as np
import pytest
import torch
from PIL import Image

from oceansar_hf import OceanSARImageProcessor
from tests.conftest import QUICKLOOK_DIR as QUICKLOOKS
from training.augment import MultiCropAugmentation, MultiCropConfig

# Identity-like setting: whole image, square box, no flips/turns/jitter/blur; tests switch on one thing at a time.
PLAIN = MultiCropConfig(
    global_crop_size=16,
    local_crop_size=8,
    num_local_crops=2,
    global_crop_scale=(1.0, 1.0),
    local_crop_scale=(1.0, 1.0),
    aspect_ratio=(1.0, 1.0),
    hflip_prob=0.0,
    vflip_prob=0.0,
    rot90=False,
    global_blur_prob=(0.0, 0.0),
    local_blur_prob=0.0,
    jitter_prob=0.0,
)


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def asymmetric_batch(batch: int = 6, side: int = 16) -> torch.Tensor:
    """Images with no symmetry at all (random), so every flip/turn is distinguishable."""
    return torch.randn(batch, 1, side, side, generator=seeded(123))


def dihedral(image: torch.Tensor) -> list[torch.Tensor]:
    """The 8 symmetries of a square image (H, W)."""
    return [torch.rot90(im, k, dims=(-2, -1)) for im in (image, image.flip(-1)) for k in range(4)]


def test_shapes_count_dtype_and_defaults_for_256_inputs() -> None:
    aug = MultiCropAugmentation()
    crops = aug(torch.randn(2, 1, 256, 256), seeded())
    assert aug.num_crops == len(crops) == 10
    assert [tuple(c.shape) for c in crops] == [(2, 1, 224, 224)] * 2 + [(2, 1, 96, 96)] * 8
    assert all(c.dtype == torch.float32 and torch.isfinite(c).all() for c in crops)


def test_small_demo_setting_batch_of_one_and_float64() -> None:
    config = MultiCropConfig(global_crop_size=56, local_crop_size=24, num_local_crops=3)
    crops = MultiCropAugmentation(config)(torch.randn(1, 1, 64, 64, dtype=torch.float64), seeded())
    assert [tuple(c.shape) for c in crops] == [(1, 1, 56, 56)] * 2 + [(1, 1, 24, 24)] * 3
    assert all(c.dtype == torch.float64 and torch.isfinite(c).all() for c in crops)


def test_no_local_crops() -> None:
    crops = MultiCropAugmentation(replace(PLAIN, num_local_crops=0))(asymmetric_batch(), seeded())
    assert len(crops) == 2


def test_same_seed_reproduces_other_seed_differs() -> None:
    aug = MultiCropAugmentation(MultiCropConfig(global_crop_size=28, local_crop_size=12, noise_prob=0.5))
    images = torch.randn(4, 1, 32, 32)
    first, again, other = aug(images, seeded(7)), aug(images, seeded(7)), aug(images, seeded(8))
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert all(not torch.allclose(a, b) for a, b in zip(first, other, strict=True))


def test_global_default_generator_follows_torch_manual_seed() -> None:
    aug = MultiCropAugmentation(MultiCropConfig(global_crop_size=28, local_crop_size=12))
    images = torch.randn(3, 1, 32, 32)
    torch.manual_seed(5)
    first = aug(images)
    torch.manual_seed(5)
    assert all(torch.equal(a, b) for a, b in zip(first, aug(images), strict=True))


def test_samples_and_crops_get_different_boxes() -> None:
    config = replace(PLAIN, global_crop_scale=(0.2, 0.6), local_crop_scale=(0.1, 0.3))
    images = asymmetric_batch(1).expand(4, 1, 16, 16)  # the same image four times
    crops = MultiCropAugmentation(config)(images, seeded())
    assert not torch.allclose(crops[0][0], crops[0][1])  # two samples, same crop index
    assert not torch.allclose(crops[0][0], crops[1][0])  # same sample, two crops


def test_identity_setting_returns_the_input() -> None:
    images = asymmetric_batch()
    crops = MultiCropAugmentation(PLAIN)(images, seeded())
    torch.testing.assert_close(crops[0], images, atol=1e-5, rtol=0)


@pytest.mark.parametrize(
    ("field", "expected"), [("hflip_prob", lambda x: x.flip(-1)), ("vflip_prob", lambda x: x.flip(-2))]
)
def test_flips_are_exact(field: str, expected) -> None:
    images = asymmetric_batch()
    crops = MultiCropAugmentation(replace(PLAIN, **{field: 1.0}))(images, seeded())
    torch.testing.assert_close(crops[0], expected(images), atol=1e-5, rtol=0)
    torch.testing.assert_close(crops[1], expected(images), atol=1e-5, rtol=0)


def test_rot90_gives_each_quarter_turn() -> None:
    images = asymmetric_batch(batch=1).expand(40, 1, 16, 16)
    crop = MultiCropAugmentation(replace(PLAIN, rot90=True))(images, seeded())[0]
    turns = []
    for sample in crop[:, 0]:
        errors = [float((sample - torch.rot90(images[0, 0], k)).abs().max()) for k in range(4)]
        assert min(errors) < 1e-5
        turns.append(int(np.argmin(errors)))
    assert set(turns) == {0, 1, 2, 3}


def test_flips_and_turns_together_stay_in_the_dihedral_group() -> None:
    images = asymmetric_batch(batch=1).expand(64, 1, 16, 16)
    config = replace(PLAIN, rot90=True, hflip_prob=0.5, vflip_prob=0.5)
    crop = MultiCropAugmentation(config)(images, seeded())[1]
    seen = set()
    for sample in crop[:, 0]:
        errors = [float((sample - sym).abs().max()) for sym in dihedral(images[0, 0])]
        assert min(errors) < 1e-5
        seen.add(int(np.argmin(errors)))
    assert len(seen) == 8


def test_crop_really_crops_a_gradient() -> None:
    side = 32
    ramp = torch.arange(side, dtype=torch.float32).expand(side, side)  # value = column index
    images = ramp.expand(64, 1, side, side)
    config = replace(PLAIN, global_crop_size=16, global_crop_scale=(0.25, 0.25))
    crop = MultiCropAugmentation(config)(images, seeded())[0]
    spans = crop.amax(dim=(1, 2, 3)) - crop.amin(dim=(1, 2, 3))
    # a quarter of the area with a square box is half the side: 16 input px, sampled at 16 centres 1 px apart
    torch.testing.assert_close(spans, torch.full_like(spans, 15.0), atol=1e-4, rtol=0)
    # boxes stay inside the image and are spread over all of it: some reach within 1 px of each side
    assert -1e-4 <= crop.amin() < 1.0 and side - 2.0 < crop.amax() <= side - 1 + 1e-4


@pytest.mark.parametrize("axis", ["x", "y"])
def test_antialias_pyramid_keeps_crop_geometry_on_odd_sizes(axis: str) -> None:
    height, width = 61, 63
    ys, xs = torch.meshgrid(
        torch.arange(height, dtype=torch.float64), torch.arange(width, dtype=torch.float64), indexing="ij"
    )
    ramp = (xs if axis == "x" else ys).expand(16, 1, height, width)
    # a 34-px box shrunk to 8 px (4.3×) is read from pyramid level 2, whose pixel centres span [1.5, 57.5]
    config = replace(PLAIN, global_crop_size=8, local_crop_size=8, global_crop_scale=(0.3, 0.3), rot90=True)
    sharp = MultiCropAugmentation(replace(config, antialias=False))(ramp, seeded())[0]
    smooth = MultiCropAugmentation(config)(ramp, seeded())[0]
    # bilinear sampling and 2×2 averaging are both exact on a ramp, so inside level 2 both must agree
    inside = (sharp > 1.5) & (sharp < 57.5)
    assert inside.float().mean() > 0.8
    torch.testing.assert_close(smooth[inside], sharp[inside], atol=1e-6, rtol=0)


def test_antialias_removes_speckle_aliasing() -> None:
    side = 64
    checker = (torch.arange(side)[:, None] + torch.arange(side)[None, :]) % 2 * 2.0 - 1.0  # finest texture, mean 0
    images = checker.expand(8, 1, side, side).float()
    config = replace(PLAIN, local_crop_size=8, local_crop_scale=(0.3, 0.5), aspect_ratio=(3 / 4, 4 / 3))
    aliased = MultiCropAugmentation(replace(config, antialias=False))(images, seeded())[2]
    smooth = MultiCropAugmentation(config)(images, seeded())[2]
    assert aliased.std() > 0.3
    assert smooth.std() < 0.05 * aliased.std()


def test_blur_reduces_high_frequency_variance() -> None:
    images = torch.randn(8, 1, 32, 32, generator=seeded(1))
    config = replace(PLAIN, global_crop_size=32, blur_sigma=(1.0, 2.0))
    sharp = MultiCropAugmentation(config)(images, seeded())[0]
    blurred = MultiCropAugmentation(replace(config, global_blur_prob=(1.0, 1.0)))(images, seeded())[0]

    def high_freq_var(x: torch.Tensor) -> torch.Tensor:
        return (x[..., 1:, :] - x[..., :-1, :]).var(dim=(1, 2, 3)) + (x[..., 1:] - x[..., :-1]).var(dim=(1, 2, 3))

    assert (high_freq_var(blurred) < 0.3 * high_freq_var(sharp)).all()
    torch.testing.assert_close(blurred.mean(dim=(2, 3)), sharp.mean(dim=(2, 3)), atol=0.05, rtol=0)  # keeps level


def test_blur_keeps_a_constant_image_including_its_edges() -> None:
    images = torch.full((3, 1, 16, 16), 3.0)
    config = replace(PLAIN, global_blur_prob=(1.0, 1.0), local_blur_prob=1.0, blur_sigma=(2.0, 2.0))
    for crop in MultiCropAugmentation(config)(images, seeded()):
        torch.testing.assert_close(crop, torch.full_like(crop, 3.0), atol=1e-5, rtol=0)


def test_asymmetric_blur_probabilities_of_the_two_globals() -> None:
    images = torch.randn(200, 1, 16, 16, generator=seeded(2))
    config = replace(PLAIN, global_blur_prob=(1.0, 0.1), local_blur_prob=0.5, blur_sigma=(1.0, 1.0))
    crops = MultiCropAugmentation(config)(images, seeded())  # globals keep the whole 16-px image: only blur acts
    fractions = [float(((crop - images).abs().amax(dim=(1, 2, 3)) > 1e-4).float().mean()) for crop in crops[:2]]
    assert fractions[0] == 1.0
    assert 0.03 < fractions[1] < 0.2


def test_brightness_and_contrast_move_mean_and_std() -> None:
    images = asymmetric_batch()
    config = replace(PLAIN, jitter_prob=1.0, brightness=(0.5, 0.5), contrast=(2.0, 2.0))
    crop = MultiCropAugmentation(config)(images, seeded())[0]
    torch.testing.assert_close(crop.mean(dim=(1, 2, 3)), images.mean(dim=(1, 2, 3)) + 0.5, atol=1e-5, rtol=0)
    torch.testing.assert_close(crop.std(dim=(1, 2, 3)), 2 * images.std(dim=(1, 2, 3)), atol=1e-5, rtol=1e-5)


def test_brightness_offsets_are_random_within_range() -> None:
    images = torch.zeros(64, 1, 16, 16)
    config = replace(PLAIN, jitter_prob=0.5, brightness=(-0.3, 0.3))
    shift = MultiCropAugmentation(config)(images, seeded())[0].mean(dim=(1, 2, 3))
    assert shift.abs().max() <= 0.3 + 1e-6
    assert 0.3 < float((shift == 0).float().mean()) < 0.7  # about half the samples not jittered
    assert shift.std() > 0.05


def test_noise_is_additive_with_the_configured_std() -> None:
    images = torch.zeros(16, 1, 32, 32)
    config = replace(PLAIN, global_crop_size=32, noise_prob=1.0, noise_std=0.2)
    crop = MultiCropAugmentation(config)(images, seeded())[0]
    assert abs(float(crop.std()) - 0.2) < 0.01
    assert abs(float(crop.mean())) < 0.01


def load_quicklooks(count: int, side: int) -> torch.Tensor:
    """Real S1 WV quicklooks through the project's processor (zero first row as no-data, dB, resize, fixed mean/std
    fitted on them) → (count, 1, side, side): the kind of batch training feeds to the augmentation."""
    paths = sorted(QUICKLOOKS.glob("*.png"))[:count]
    assert len(paths) == count, f"real quicklooks missing from {QUICKLOOKS}"
    arrays = [np.asarray(Image.open(path).convert("L")) for path in paths]
    processor = OceanSARImageProcessor(nodata_value=0, size=side).fit_normalization(arrays)
    return processor(arrays, return_tensors="pt")["pixel_values"]


def test_real_quicklooks_default_recipe() -> None:
    images = load_quicklooks(count=4, side=128)
    config = MultiCropConfig(global_crop_size=112, local_crop_size=48, num_local_crops=4)
    crops = MultiCropAugmentation(config)(images, seeded())
    assert [tuple(c.shape) for c in crops] == [(4, 1, 112, 112)] * 2 + [(4, 1, 48, 48)] * 4
    for crop in crops:
        assert torch.isfinite(crop).all()
        # crops keep the level of the image they come from (brightness is at most ±0.1, contrast about the mean)
        assert crop.mean(dim=(1, 2, 3)).abs().max() < 1.0
        assert (crop.std(dim=(1, 2, 3)) > 0.1).all()
    # geometry alone interpolates: values stay inside each image's own range
    geometric = MultiCropAugmentation(
        replace(config, global_blur_prob=(0.0, 0.0), local_blur_prob=0.0, jitter_prob=0.0)
    )(images, seeded())
    lows, highs = images.amin(dim=(1, 2, 3)), images.amax(dim=(1, 2, 3))
    for crop in geometric:
        assert (crop.amin(dim=(1, 2, 3)) >= lows - 1e-5).all() and (crop.amax(dim=(1, 2, 3)) <= highs + 1e-5).all()


@pytest.mark.parametrize(
    ("images", "message"),
    [
        (torch.zeros(16, 16), "shape"),
        (torch.zeros(1, 16, 16), "shape"),
        (torch.zeros(2, 3, 16, 16), "1 channel"),
        (torch.zeros(2, 1, 16, 16, dtype=torch.uint8), "floating-point"),
        (torch.zeros(0, 1, 16, 16), "empty"),
        (torch.zeros(2, 1, 12, 16), "larger than the input"),
        (torch.zeros(2, 1, 16, 16).index_fill_(2, torch.tensor([3]), math.nan), "32 non-finite"),
        (torch.zeros(2, 1, 16, 16).index_fill_(0, torch.tensor([1]), math.inf), "256 non-finite"),
        (np.zeros((2, 1, 16, 16), dtype=np.float32), "torch.Tensor"),
    ],
)
def test_bad_input_raises_a_clear_error(images, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MultiCropAugmentation(PLAIN)(images, seeded())


def test_huge_but_finite_values_are_accepted() -> None:
    images = torch.full((2, 1, 16, 16), 3e38)  # the sum overflows to inf; the values do not
    assert torch.isfinite(MultiCropAugmentation(PLAIN)(images, seeded())[0]).all()


def test_every_config_field_is_documented() -> None:
    for f in fields(MultiCropConfig):
        assert len(f.metadata.get("help", "")) > 20, f.name


def test_config_pairs_given_as_lists_become_tuples() -> None:
    config = MultiCropConfig(global_crop_scale=[0.3, 1], brightness=[-0.2, 0.2])  # as read from YAML
    assert config.global_crop_scale == (0.3, 1.0) and config.brightness == (-0.2, 0.2)


@pytest.mark.parametrize(
    "change",
    [
        {"global_crop_size": 0},
        {"num_local_crops": -1},
        {"global_crop_scale": (0.0, 1.0)},
        {"local_crop_scale": (0.5, 0.4)},
        {"local_crop_scale": (0.5, 1.5)},
        {"aspect_ratio": (0.0, 1.0)},
        {"hflip_prob": 1.5},
        {"global_blur_prob": (1.0, -0.1)},
        {"global_blur_prob": (1.0,)},
        {"contrast": 1.0},
        {"blur_sigma": (0.0, 2.0)},
        {"brightness": (0.2, -0.2)},
        {"contrast": (1.2, 0.8)},
        {"noise_std": -1.0},
    ],
)
def test_bad_config_raises(change: dict) -> None:
    with pytest.raises(ValueError, match=next(iter(change))):
        MultiCropConfig(**change)

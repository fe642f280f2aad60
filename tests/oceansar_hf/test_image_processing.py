"""OceanSARImageProcessor on what SAR users hold: arrays, tensors, 16-bit and 8-bit images, real quicklooks."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from PIL import Image

from oceansar_hf import OceanSARImageProcessor


@pytest.fixture
def processor() -> OceanSARImageProcessor:
    return OceanSARImageProcessor(size=64)


def amplitude(rng: np.random.Generator, shape=(80, 96), level=300.0) -> np.ndarray:
    return (level * np.sqrt(rng.gamma(4.0, 1 / 4.0, size=shape))).astype(np.float32)


def test_float_amplitude_to_db_and_fixed_normalisation(processor):
    image = np.full((64, 64), 100.0, dtype=np.float32)  # 20 log10(100) = 40 dB
    out = processor(image)
    expected = (40.0 - processor.image_mean[0]) / processor.image_std[0]
    assert out["pixel_values"].shape == (1, 1, 64, 64) and out["pixel_values"].dtype == torch.float32
    torch.testing.assert_close(out["pixel_values"], torch.full((1, 1, 64, 64), expected))


def test_intensity_and_db_inputs_agree():
    a = np.random.default_rng(0).uniform(10, 1000, size=(64, 64)).astype(np.float32)
    amp = OceanSARImageProcessor(size=64, input_kind="amplitude")(a)["pixel_values"]
    inten = OceanSARImageProcessor(size=64, input_kind="intensity")(a.astype(np.float64) ** 2)["pixel_values"]
    db = OceanSARImageProcessor(size=64, input_kind="db")(20 * np.log10(a))["pixel_values"]
    torch.testing.assert_close(amp, inten, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(amp, db, atol=1e-4, rtol=1e-4)


def test_fixed_normalisation_keeps_absolute_level_per_image_discards_it(processor):
    rng = np.random.default_rng(1)
    texture = amplitude(rng, (64, 64))
    calm, windy = texture, texture * 10.0  # +20 dB
    fixed = processor([calm, windy])["pixel_values"]
    assert fixed[1].mean() - fixed[0].mean() == pytest.approx(20.0 / processor.image_std[0], rel=1e-4)
    per_image = processor([calm, windy], normalization="per_image")["pixel_values"]
    torch.testing.assert_close(per_image[0], per_image[1], atol=1e-4, rtol=1e-4)


def test_integer_16_bit_digital_numbers_are_not_squeezed(processor):
    dn = np.array([[1000, 60000], [30000, 65535]], dtype=np.uint16)
    out = OceanSARImageProcessor(do_resize=False, do_normalize=False)(dn)["pixel_values"]
    np.testing.assert_allclose(out[0, 0].numpy(), 20 * np.log10(dn.astype(np.float64)), rtol=1e-6)
    pil16 = Image.fromarray(dn.astype(np.uint16))
    assert pil16.mode.startswith("I")
    np.testing.assert_allclose(
        OceanSARImageProcessor(do_resize=False, do_normalize=False)(pil16)["pixel_values"].numpy(), out.numpy()
    )


def test_batches_lists_and_tensors_of_different_sizes(processor):
    rng = np.random.default_rng(2)
    inputs = [
        amplitude(rng, (70, 90)),
        torch.from_numpy(amplitude(rng, (64, 64))),
        amplitude(rng, (1, 50, 50)),
        np.stack([amplitude(rng, (64, 64))] * 3),  # (B, H, W)
        torch.from_numpy(amplitude(rng, (2, 1, 40, 40))),
    ]
    out = processor(inputs)["pixel_values"]
    assert out.shape == (1 + 1 + 1 + 3 + 2, 1, 64, 64)
    assert torch.isfinite(out).all()


def test_nan_and_nodata_pixels_are_replaced_and_counted(processor, caplog):
    image = amplitude(np.random.default_rng(3), (64, 64))
    image[:4, :4] = np.nan
    image[10, 10] = np.inf
    image[20, :] = 0.0
    with caplog.at_level(logging.WARNING):
        out = OceanSARImageProcessor(size=64, nodata_value=0.0)(image, return_invalid_counts=True)
    assert torch.isfinite(out["pixel_values"]).all()
    assert out["invalid_pixel_count"].tolist() == [16 + 1 + 64]
    assert "81 invalid" in caplog.text


def test_all_nan_image_is_a_clear_error(processor):
    with pytest.raises(ValueError, match=r"images\[1\].*no valid pixel"):
        processor([np.ones((8, 8), np.float32), np.full((8, 8), np.nan, np.float32)])


def test_constant_image_gives_finite_output_in_every_mode(processor):
    constant = np.full((30, 30), 7.0, dtype=np.float32)
    for normalization in ("fixed", "per_image", "none"):
        out = processor(constant, normalization=normalization)["pixel_values"]
        assert torch.isfinite(out).all(), normalization
    zero = np.zeros((30, 30), dtype=np.float32)
    assert torch.isfinite(processor(zero)["pixel_values"]).all()


def test_center_crop_keeps_native_pixels():
    image = np.arange(100 * 100, dtype=np.float32).reshape(100, 100) + 1
    proc = OceanSARImageProcessor(size=64, resize_mode="center_crop", do_log_scale=False, do_normalize=False)
    out = proc(image)["pixel_values"][0, 0].numpy()
    np.testing.assert_array_equal(out, image[18:82, 18:82])


def test_colour_image_refused_grey_rgb_accepted(processor):
    grey = np.random.default_rng(4).integers(1, 255, size=(64, 64), dtype=np.uint8)
    as_rgb = Image.fromarray(grey).convert("RGB")
    torch.testing.assert_close(processor(as_rgb)["pixel_values"], processor(grey)["pixel_values"])
    colour = np.stack([grey, grey // 2, grey], axis=-1)
    with pytest.raises(ValueError, match="single-channel SAR image but got 3 channels"):
        processor(Image.fromarray(colour))
    with pytest.raises(ValueError, match=r"\(B, 1, H, W\)"):
        processor(torch.rand(2, 3, 64, 64))


def test_real_quicklooks(processor, quicklook_paths):
    images = [Image.open(p) for p in quicklook_paths]
    assert {im.mode for im in images} == {"L"}
    out = processor(images)["pixel_values"]
    assert out.shape == (15, 1, 64, 64) and torch.isfinite(out).all()
    # Quicklooks have a zero first row: the log floor keeps it finite.
    assert out.std() > 0.1


def test_fit_normalisation_gives_zero_mean_unit_std():
    rng = np.random.default_rng(5)
    images = [amplitude(rng, (64, 64), level=rng.uniform(50, 500)) for _ in range(8)]
    fitted = OceanSARImageProcessor(size=64).fit_normalization(images)
    out = fitted(images)["pixel_values"]
    assert abs(float(out.mean())) < 1e-3 and float(out.std()) == pytest.approx(1.0, abs=1e-2)


def test_save_and_reload(tmp_path):
    proc = OceanSARImageProcessor(size=128, image_mean=[35.5], image_std=[4.25], nodata_value=0)
    proc.save_pretrained(tmp_path)
    assert (tmp_path / "preprocessor_config.json").is_file()
    loaded = OceanSARImageProcessor.from_pretrained(tmp_path)
    assert (loaded.size, loaded.image_mean, loaded.image_std, loaded.nodata_value) == (
        {"height": 128, "width": 128},
        [35.5],
        [4.25],
        0,
    )


def test_invalid_settings():
    with pytest.raises(ValueError, match="input_kind"):
        OceanSARImageProcessor(input_kind="sigma_nought")
    with pytest.raises(ValueError, match="one finite number"):
        OceanSARImageProcessor(image_mean=[1.0, 2.0, 3.0])


def test_to_pixel_values_matches_preprocess(processor):
    image = amplitude(np.random.default_rng(6), (90, 70))
    torch.testing.assert_close(processor.to_pixel_values(image), processor(image)["pixel_values"][0])

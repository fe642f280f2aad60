"""OceanSARImageProcessor on what SAR users hold: arrays, tensors, 16-bit and 8-bit images, real quicklooks."""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest
import torch
from PIL import Image

from oceansar_hf import OceanSARImageProcessor
from oceansar_hf.image_processing_oceansar import resample_intensity


@pytest.fixture
def processor() -> OceanSARImageProcessor:
    return OceanSARImageProcessor(size=64)


def amplitude(rng: np.random.Generator, shape=(80, 96), level=300.0) -> np.ndarray:
    return (level * np.sqrt(rng.gamma(4.0, 1 / 4.0, size=shape))).astype(np.float32)


def test_float_sigma0_to_db_and_fixed_normalisation(processor):
    image = np.full((64, 64), 0.01, dtype=np.float32)  # σ0 linear (the default input_kind): 10 log10(0.01) = -20 dB
    out = processor(image)
    expected = (-20.0 - processor.image_mean[0]) / processor.image_std[0]
    assert out["pixel_values"].shape == (1, 1, 64, 64) and out["pixel_values"].dtype == torch.float32
    torch.testing.assert_close(out["pixel_values"], torch.full((1, 1, 64, 64), expected))


def test_float_amplitude_to_db_and_fixed_normalisation():
    processor = OceanSARImageProcessor(size=64, input_kind="sigma0_amplitude")
    image = np.full((64, 64), 100.0, dtype=np.float32)  # 20 log10(100) = 40 dB
    out = processor(image)
    expected = (40.0 - processor.image_mean[0]) / processor.image_std[0]
    assert out["pixel_values"].shape == (1, 1, 64, 64) and out["pixel_values"].dtype == torch.float32
    torch.testing.assert_close(out["pixel_values"], torch.full((1, 1, 64, 64), expected))


def test_every_input_kind_gives_the_same_sigma0():
    sigma0 = np.random.default_rng(0).uniform(1e-3, 1.0, size=(64, 64))
    dn = 400.0 * np.sqrt(sigma0)
    inputs = {
        "sigma0": sigma0,
        "sigma0_db": 10 * np.log10(sigma0),
        "sigma0_amplitude": np.sqrt(sigma0),
        "digital_number": dn,
    }
    outputs = {
        kind: OceanSARImageProcessor(
            size=64, input_kind=kind, calibration_constant=400.0 if kind == "digital_number" else None
        )(image.astype(np.float32))["pixel_values"]
        for kind, image in inputs.items()
    }
    for kind, out in outputs.items():
        torch.testing.assert_close(out, outputs["sigma0"], atol=1e-4, rtol=1e-4, msg=kind)
    complex_dn = (dn * np.exp(1j * np.random.default_rng(1).uniform(0, 2 * np.pi, dn.shape))).astype(np.complex64)
    from_slc = OceanSARImageProcessor(size=64, input_kind="digital_number", calibration_constant=400.0)(complex_dn)
    torch.testing.assert_close(from_slc["pixel_values"], outputs["sigma0"], atol=1e-4, rtol=1e-4)


def test_digital_numbers_need_a_calibration_constant():
    with pytest.raises(ValueError, match="calibration_constant"):
        OceanSARImageProcessor(input_kind="digital_number")
    with pytest.raises(ValueError, match="digital_number' only"):
        OceanSARImageProcessor(input_kind="sigma0", calibration_constant=400.0)


def test_legacy_input_kinds_load_with_the_same_transform(tmp_path):
    image = np.random.default_rng(2).uniform(10, 1000, size=(64, 64)).astype(np.float32)
    for old, new, raw in (
        ("amplitude", "sigma0_amplitude", image),
        ("intensity", "sigma0", image**2),
        ("db", "sigma0_db", 20 * np.log10(image)),
    ):
        with pytest.warns(FutureWarning, match=f"input_kind='{old}' is deprecated and read as '{new}'"):
            legacy = OceanSARImageProcessor(size=64, input_kind=old)
        assert legacy.input_kind == new
        expected = 20 * np.log10(image.astype(np.float64))
        out = legacy(raw, normalization="none")["pixel_values"][0, 0].numpy()
        np.testing.assert_allclose(out, expected, rtol=1e-5)


def test_fixed_normalisation_keeps_absolute_level_per_image_discards_it(processor):
    rng = np.random.default_rng(1)
    texture = amplitude(rng, (64, 64))
    calm, windy = texture, texture * 100.0  # σ0 x 100: +20 dB
    fixed = processor([calm, windy])["pixel_values"]
    assert fixed[1].mean() - fixed[0].mean() == pytest.approx(20.0 / processor.image_std[0], rel=1e-4)
    per_image = processor([calm, windy], normalization="per_image")["pixel_values"]
    torch.testing.assert_close(per_image[0], per_image[1], atol=1e-4, rtol=1e-4)


def test_integer_16_bit_digital_numbers_are_not_squeezed(processor):
    dn = np.array([[1000, 60000], [30000, 65535]], dtype=np.uint16)
    proc = OceanSARImageProcessor(
        input_kind="digital_number", calibration_constant=664.0, do_resize=False, do_normalize=False
    )
    out = proc(dn)["pixel_values"]
    np.testing.assert_allclose(out[0, 0].numpy(), 20 * np.log10(dn.astype(np.float64) / 664.0), rtol=1e-5)
    pil16 = Image.fromarray(dn.astype(np.uint16))
    assert pil16.mode.startswith("I")
    np.testing.assert_allclose(proc(pil16)["pixel_values"].numpy(), out.numpy())


def test_batches_lists_and_tensors_of_different_sizes(processor):
    rng = np.random.default_rng(2)
    inputs = [
        amplitude(rng, (70, 90)),
        torch.from_numpy(amplitude(rng, (64, 64))),
        amplitude(rng, (1, 50, 50)),
        np.stack([amplitude(rng, (64, 64))] * 5),  # (B, H, W)
        torch.from_numpy(amplitude(rng, (2, 1, 40, 40))),
    ]
    out = processor(inputs)["pixel_values"]
    assert out.shape == (1 + 1 + 1 + 5 + 2, 1, 64, 64)
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
    assert out["nonpositive_pixel_count"].tolist() == [0]  # the zeros were no-data
    assert "81 invalid" in caplog.text


def test_zero_border_is_counted_and_does_not_move_the_level(caplog):
    """Issue 12: a 25 % zero border used to be clamped to -120 dB (normalised mean 2.0 → -5.2), silently."""
    proc = OceanSARImageProcessor(size=64, image_mean=-20.0, image_std=5.0)
    sigma0 = np.full((64, 64), 1.0, np.float32)  # 0 dB: normalised mean (0 - -20) / 5 = 4.0
    bordered = sigma0.copy()
    bordered[:, :16] = 0.0
    bordered[0, 20] = -0.5
    with caplog.at_level(logging.WARNING):
        out = proc([sigma0, bordered], return_invalid_counts=True)
    torch.testing.assert_close(out["pixel_values"][1], out["pixel_values"][0])
    assert out["nonpositive_pixel_count"].tolist() == [0, 64 * 16 + 1]
    assert out["invalid_fraction"][1] == pytest.approx((64 * 16 + 1) / 64**2)
    assert "1025 invalid pixels (12.5 % no-data" in caplog.text and "1025 non-positive" in caplog.text
    report = proc.scale_image(bordered)[1]
    assert (report.nonpositive, report.invalid, report.total) == (1025, 1025, 4096)


@pytest.mark.parametrize(
    "image",
    [np.zeros((16, 16), np.float32), -np.ones((16, 16), np.float32), np.full((16, 16), np.nan, np.float32)],
    ids=["all-zero", "all-negative", "all-nan"],
)
def test_all_invalid_images_are_refused(processor, image):
    with pytest.raises(ValueError, match=r"images\[0\].*no valid pixel.*256 of 256 pixels invalid"):
        processor(image)


def test_all_nan_image_is_a_clear_error(processor):
    with pytest.raises(ValueError, match=r"images\[1\].*no valid pixel"):
        processor([np.ones((8, 8), np.float32), np.full((8, 8), np.nan, np.float32)])


def test_constant_image_gives_finite_output_in_every_mode(processor):
    constant = np.full((30, 30), 7.0, dtype=np.float32)
    for normalization in ("fixed", "per_image", "none"):
        out = processor(constant, normalization=normalization)["pixel_values"]
        assert torch.isfinite(out).all(), normalization


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


@pytest.mark.parametrize("channels", [3, 4])
def test_channel_first_arrays_are_ambiguous_and_refused(processor, channels):
    with pytest.raises(ValueError, match=rf"shape \({channels}, 64, 64\) is ambiguous.*Accepted shapes: \(H, W\)"):
        processor(np.ones((channels, 64, 64), np.float32))
    out = processor(np.ones((channels, 1, 64, 64), np.float32))["pixel_values"]  # an explicit batch is fine
    assert out.shape == (channels, 1, 64, 64)


def test_empty_arrays_and_bad_sizes_are_clear_errors(processor):
    with pytest.raises(ValueError, match=r"empty image array of shape \(0, 64\)"):
        processor(np.ones((0, 64), np.float32))
    with pytest.raises(ValueError, match="size must be positive"):
        OceanSARImageProcessor(size=0)
    with pytest.raises(ValueError, match="size must be positive"):
        OceanSARImageProcessor(size={"height": 64, "width": -1})
    for floor in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="log_floor must be a positive"):
            OceanSARImageProcessor(log_floor=floor)


def test_real_quicklooks(processor, quicklook_paths):
    images = [Image.open(p) for p in quicklook_paths]
    assert {im.mode for im in images} == {"L"}
    out = processor(images)["pixel_values"]
    assert out.shape == (15, 1, 64, 64) and torch.isfinite(out).all()
    # Quicklooks have a zero first row: counted and replaced, not clamped.
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
    with pytest.raises(ValueError, match="target_pixel_spacing must be a positive"):
        OceanSARImageProcessor(target_pixel_spacing=0)
    with pytest.raises(ValueError, match="one finite number"):
        OceanSARImageProcessor(image_mean=[1.0, 2.0, 3.0])


def test_to_pixel_values_matches_preprocess(processor):
    image = amplitude(np.random.default_rng(6), (90, 70))
    torch.testing.assert_close(processor.to_pixel_values(image), processor(image)["pixel_values"][0])


def single_look_speckle(rng: np.random.Generator, sigma0: float, shape: tuple[int, int]) -> np.ndarray:
    """Fully developed single-look speckle: intensity exponentially distributed with mean sigma0."""
    return rng.exponential(sigma0, size=shape).astype(np.float32)


def test_multilooking_in_linear_units_keeps_the_mean_db_first_is_biased():
    """5 m single-look speckle of σ0 = 0.1 (-10 dB) → 50 m: 100 looks averaged in intensity keep the level (the log
    of a 100-look mean is biased by only -0.02 dB); the log first, then averaging, is -2.5 dB off (Euler's γ)."""
    sigma0 = 0.1
    speckle = single_look_speckle(np.random.default_rng(7), sigma0, (400, 400))
    proc = OceanSARImageProcessor(pixel_spacing=5.0, do_resize=False, normalization="none")
    out = proc(speckle)["pixel_values"][0, 0]
    assert out.shape == (40, 40)
    level = 10 * math.log10(sigma0)
    assert abs(float(out.double().mean()) - level) < 0.05
    db_first = float(np.mean(10 * np.log10(speckle.astype(np.float64))))  # what the processor used to do
    assert db_first - level == pytest.approx(-10 * np.euler_gamma / math.log(10), abs=0.05)  # -2.51 dB
    # The same image given as √σ0 or dB is still averaged as intensity.
    for kind, raw in (("sigma0_amplitude", np.sqrt(speckle)), ("sigma0_db", 10 * np.log10(speckle))):
        other = proc(raw, input_kind=kind)["pixel_values"][0, 0]
        torch.testing.assert_close(other, out, atol=1e-3, rtol=1e-4)


def test_resampling_box_averages_integer_factors_and_antialiases_others():
    image = torch.arange(1.0, 1 + 10 * 12).reshape(10, 12)
    boxes = resample_intensity(image, 5.0, 10.0)
    torch.testing.assert_close(boxes, image.reshape(5, 2, 6, 2).mean(dim=(1, 3)))
    rows_only = resample_intensity(image, (25.0, 50.0), 50.0)  # (row, column) spacing: factor (2, 1)
    torch.testing.assert_close(rows_only, image.reshape(5, 2, 12).mean(dim=1))
    odd = resample_intensity(torch.full((90, 90), 3.0), (4.35, 4.35), 50.0)  # ground range of a WV SLC
    assert odd.shape == (8, 8)
    torch.testing.assert_close(odd, torch.full((8, 8), 3.0))


def test_pixel_spacing_per_image_in_a_call():
    rng = np.random.default_rng(8)
    fine, coarse = single_look_speckle(rng, 0.1, (200, 200)), single_look_speckle(rng, 0.1, (40, 40))
    proc = OceanSARImageProcessor(do_resize=False, normalization="none")
    out = proc([fine, coarse], pixel_spacing=[10.0, 50.0])["pixel_values"]
    assert out.shape == (2, 1, 40, 40)
    with pytest.raises(ValueError, match="one spacing per image; got 1 for 2 images"):
        proc([fine, coarse], pixel_spacing=[10.0])
    with pytest.raises(ValueError, match="pixel_spacing must be a positive number"):
        proc(fine, pixel_spacing=-5.0)

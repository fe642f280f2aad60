"""Throughput of the batched multi-crop (training/augment.py) against per-image loops, on the same inputs and run.

References, both drawing the same kinds of random crops as ours (box, flips, quarter turn, jitter, blur):
- ``loop``: plain torch per image — integer box by slicing, ``F.interpolate`` (bilinear, antialias), ``torch.flip`` /
  ``torch.rot90``, brightness/contrast, separable ``conv2d`` blur;
- ``pil``: a classic torchvision-style PIL pipeline per image (8-bit 'L' images made before timing, since PIL's blur
  refuses float images) — crop + resize (bilinear, antialiased), transpose, ``ImageFilter.GaussianBlur``, to tensor.

Prints images/s (input images turned into the full list of 2 + N crops per second), the ratio ours/reference and the
peak RSS increase during the timed calls. Default: both the 256-px recipe (2×224 + 8×96) and the 64-px demo recipe
(2×56 + 8×24), batch 32, under a minute on 2 cores.

    python benchmarks/bench_augment.py [--setting full|demo|both] [--batch-size 32] [--threads 1] [--figure]
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import psutil
import torch
import torch.nn.functional as F
from PIL import Image, ImageFilter

from oceansar_hf import OceanSARImageProcessor
from training.augment import MultiCropAugmentation, MultiCropConfig

SETTINGS = {"full": (256, 224, 96), "demo": (64, 56, 24)}  # input side, global side, local side
QUICKLOOKS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "s1-wv-quicklooks"
FIGURE = Path(__file__).resolve().parent / "figures" / "augment_examples.png"


def crop_specs(config: MultiCropConfig) -> list[tuple[int, tuple[float, float], float]]:
    """(output side, area scale range, blur probability) of each crop, in output order."""
    return [
        (config.global_crop_size, config.global_crop_scale, config.global_blur_prob[0]),
        (config.global_crop_size, config.global_crop_scale, config.global_blur_prob[1]),
    ] + [(config.local_crop_size, config.local_crop_scale, config.local_blur_prob)] * config.num_local_crops


def random_box(
    rng: random.Random, height: int, width: int, scale: tuple[float, float], ratio: tuple[float, float]
) -> tuple[int, int, int, int]:
    """Integer random-resized-crop box (top, left, h, w), torchvision-style: 10 tries, then the whole image."""
    for _ in range(10):
        area = rng.uniform(*scale) * height * width
        aspect = math.exp(rng.uniform(math.log(ratio[0]), math.log(ratio[1])))
        w, h = round(math.sqrt(area * aspect)), round(math.sqrt(area / aspect))
        if 0 < w <= width and 0 < h <= height:
            return rng.randint(0, height - h), rng.randint(0, width - w), h, w
    return 0, 0, height, width


def loop_crop(
    image: torch.Tensor,
    size: int,
    scale: tuple[float, float],
    blur_prob: float,
    config: MultiCropConfig,
    rng: random.Random,
) -> torch.Tensor:
    """One crop of one (1, H, W) image with per-image torch ops."""
    top, left, h, w = random_box(rng, image.shape[1], image.shape[2], scale, config.aspect_ratio)
    x = F.interpolate(
        image[None, :, top : top + h, left : left + w],
        size=(size, size),
        mode="bilinear",
        align_corners=False,
        antialias=True,
    )[0]
    if rng.random() < config.hflip_prob:
        x = x.flip(-1)
    if rng.random() < config.vflip_prob:
        x = x.flip(-2)
    if config.rot90:
        x = torch.rot90(x, rng.randrange(4), dims=(-2, -1))
    if rng.random() < config.jitter_prob:
        mean = x.mean()
        x = mean + rng.uniform(*config.contrast) * (x - mean) + rng.uniform(*config.brightness)
    if rng.random() < blur_prob:
        sigma = rng.uniform(*config.blur_sigma)
        radius = max(1, math.ceil(3 * sigma))
        kernel = torch.exp(-0.5 * (torch.arange(-radius, radius + 1, dtype=x.dtype) / sigma) ** 2)
        kernel = kernel / kernel.sum()
        x = F.pad(x[None], (radius,) * 4, mode="replicate")
        x = F.conv2d(F.conv2d(x, kernel.view(1, 1, 1, -1)), kernel.view(1, 1, -1, 1))[0]
    return x


def loop_augment(images: torch.Tensor, config: MultiCropConfig, rng: random.Random) -> list[torch.Tensor]:
    return [
        torch.stack([loop_crop(im, size, scale, p, config, rng) for im in images])
        for size, scale, p in crop_specs(config)
    ]


def to_pil(images: torch.Tensor) -> list[Image.Image]:
    """Normalised (B, 1, H, W) → 8-bit PIL images, mapping [-4, 4] to [0, 255] (done before timing)."""
    pixels = ((images[:, 0].clamp(-4, 4) + 4) * (255 / 8)).round().to(torch.uint8).numpy()
    return [Image.fromarray(p) for p in pixels]


def pil_crop(
    image: Image.Image,
    size: int,
    scale: tuple[float, float],
    blur_prob: float,
    config: MultiCropConfig,
    rng: random.Random,
) -> torch.Tensor:
    top, left, h, w = random_box(rng, image.height, image.width, scale, config.aspect_ratio)
    im = image.resize((size, size), Image.Resampling.BILINEAR, box=(left, top, left + w, top + h))
    if rng.random() < config.hflip_prob:
        im = im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if rng.random() < config.vflip_prob:
        im = im.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    if config.rot90 and (k := rng.randrange(4)):
        im = im.transpose((Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_180, Image.Transpose.ROTATE_270)[k - 1])
    if rng.random() < blur_prob:
        im = im.filter(ImageFilter.GaussianBlur(rng.uniform(*config.blur_sigma)))
    x = torch.from_numpy(np.asarray(im, dtype=np.float32)) * (8 / 255) - 4
    if rng.random() < config.jitter_prob:
        mean = x.mean()
        x = mean + rng.uniform(*config.contrast) * (x - mean) + rng.uniform(*config.brightness)
    return x[None]


def pil_augment(images: list[Image.Image], config: MultiCropConfig, rng: random.Random) -> list[torch.Tensor]:
    return [
        torch.stack([pil_crop(im, size, scale, p, config, rng) for im in images])
        for size, scale, p in crop_specs(config)
    ]


def measure(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median seconds per call (after one warm-up call) and peak RSS increase in MiB, sampled every 5 ms."""
    fn()
    process = psutil.Process()
    base = peak = process.memory_info().rss
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, process.memory_info().rss)
            time.sleep(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    done.set()
    sampler.join()
    return statistics.median(times), (peak - base) / 2**20


def bench(setting: str, batch: int, num_local: int, repeats: int, with_pil: bool) -> None:
    side, global_size, local_size = SETTINGS[setting]
    config = MultiCropConfig(global_crop_size=global_size, local_crop_size=local_size, num_local_crops=num_local)
    images = torch.randn(batch, 1, side, side, generator=torch.Generator().manual_seed(0))
    ours = MultiCropAugmentation(config)
    generator, rng = torch.Generator().manual_seed(1), random.Random(1)
    runs = {
        "ours (batched)": lambda: ours(images, generator),
        "loop (per-image torch)": lambda: loop_augment(images, config, rng),
    }
    if with_pil:
        pil_images = to_pil(images)
        runs["pil (per-image PIL)"] = lambda: pil_augment(pil_images, config, rng)
    print(
        f"\n{setting}: batch {batch} × 1×{side}² → 2×{global_size}² + {num_local}×{local_size}², "
        f"{torch.get_num_threads()} threads, median of {repeats}"
    )
    results = {name: measure(fn, repeats) for name, fn in runs.items()}
    ours_rate = batch / results["ours (batched)"][0]
    for name, (seconds, memory) in results.items():
        rate = batch / seconds
        ratio = "" if name.startswith("ours") else f"   ours/this = {ours_rate / rate:.1f}×"
        print(f"  {name:24s} {rate:9.1f} images/s  {seconds * 1e3:8.1f} ms/batch  peak RSS +{memory:6.1f} MiB{ratio}")


def load_quicklooks(count: int, side: int) -> torch.Tensor:
    """Real S1 WV quicklooks through ``OceanSARImageProcessor`` (zero first row as no-data, dB, resize to side²,
    fixed mean/std fitted on them) → (count, 1, side, side)."""
    paths = sorted(QUICKLOOKS.glob("*.png"))[:count]
    if len(paths) < count:
        raise FileNotFoundError(f"need {count} quicklooks in {QUICKLOOKS}, found {len(paths)}")
    arrays = [np.asarray(Image.open(path).convert("L")) for path in paths]
    processor = OceanSARImageProcessor(nodata_value=0, size=side).fit_normalization(arrays)
    return processor(arrays, return_tensors="pt")["pixel_values"]


def make_figure(path: Path, seed: int = 0, count: int = 4, locals_shown: int = 4) -> None:
    """Grid: each row one real quicklook (256 px, standardised) then its 2 global and first local crops."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    images = load_quicklooks(count, 256)
    crops = MultiCropAugmentation()(images, torch.Generator().manual_seed(seed))[: 2 + locals_shown]
    titles = ["input 256²", "global 1 (224²)", "global 2 (224²)"]
    titles += [f"local {i + 1} (96²)" for i in range(locals_shown)]
    fig, axes = plt.subplots(count, len(titles), figsize=(2 * len(titles), 2 * count), squeeze=False)
    for row in range(count):
        for col, panel in enumerate([images, *crops]):
            ax = axes[row][col]
            ax.imshow(panel[row, 0].numpy(), cmap="gray", vmin=-3, vmax=3, interpolation="antialiased")
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(titles[col], fontsize=9)
    fig.suptitle(
        "Sentinel-1 WV quicklooks (processor output) and their DINO multi-crops (training/augment.py "
        "defaults; grey scale fixed at ±3 normalised units)",
        fontsize=10,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    print(f"wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--setting",
        choices=[*SETTINGS, "both"],
        default="both",
        help="full: 256-px inputs → 2×224 + N×96; demo: 64-px inputs → 2×56 + N×24",
    )
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--num-local", type=int, default=8, help="local crops per image")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch intra-op threads (default 1: one data-loader worker; 0 keeps torch's default)",
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per method (median reported)")
    parser.add_argument("--no-pil", action="store_true", help="skip the PIL reference")
    parser.add_argument("--figure", action="store_true", help=f"also write the example figure to {FIGURE}")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    for setting in SETTINGS if args.setting == "both" else [args.setting]:
        bench(setting, args.batch_size, args.num_local, args.repeats, not args.no_pil)
    if args.figure:
        make_figure(FIGURE)


if __name__ == "__main__":
    main()

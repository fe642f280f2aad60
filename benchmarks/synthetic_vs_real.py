"""Montage of the 15 real Sentinel-1 WV quicklooks next to synthetic vignettes of each TenGeoP class.

Real quicklooks (8-bit, already contrast-stretched) are centre-cropped to a square and resized; synthetic vignettes are
shown in dB with a per-image 1-99 % percentile stretch. Usage:

    python benchmarks/synthetic_vs_real.py [--image-size 256] [--per-class 3] [--out benchmarks/figures/...png]
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

from training.data.synthetic import CLASS_NAMES, NUM_CLASSES, SyntheticArchiveConfig, balanced_split

REAL_DIR = Path(__file__).resolve().parents[1] / "tests" / "data" / "s1-wv-quicklooks"
DEFAULT_OUT = Path(__file__).resolve().parent / "figures" / "synthetic_vs_real.png"


def real_tiles(folder: Path, size: int) -> list[tuple[str, np.ndarray]]:
    """Centre-cropped square quicklooks resized to ``size`` px, (name, uint8 array) pairs."""
    tiles = []
    for path in sorted(folder.glob("*.png")):
        image = Image.open(path).convert("L")
        side = min(image.size)
        left, top = (image.width - side) // 2, (image.height - side) // 2
        crop = image.crop((left, top, left + side, top + side)).resize((size, size), Image.Resampling.BILINEAR)
        tiles.append((path.name[:6] + path.name[14:29], np.asarray(crop)))
    return tiles


def to_display(amplitude: np.ndarray) -> np.ndarray:
    """Amplitude DN -> dB of intensity with a 1-99 % stretch to [0, 1]."""
    db = 10.0 * np.log10(np.maximum(amplitude.astype(np.float64) ** 2, 1e-6))
    lo, hi = np.percentile(db, [1, 99])
    return np.clip((db - lo) / max(hi - lo, 1e-6), 0.0, 1.0)


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-size", type=int, default=256)
    parser.add_argument("--per-class", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--real-dir", type=Path, default=REAL_DIR)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    reals = real_tiles(args.real_dir, args.image_size)
    archive = balanced_split(SyntheticArchiveConfig(image_size=args.image_size, seed=args.seed), args.per_class)
    real_cols = 5
    real_rows = -(-len(reals) // real_cols)
    cols = max(real_cols, NUM_CLASSES)
    rows = real_rows + args.per_class
    fig, axes = plt.subplots(rows, cols, figsize=(1.9 * cols, 2.0 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for k, (name, tile) in enumerate(reals):
        ax = axes[k // real_cols, k % real_cols]
        ax.imshow(tile, cmap="gray", vmin=0, vmax=255)
        ax.set_title(f"real {name}", fontsize=6)
    for i in range(len(archive)):
        sample = archive[i]
        ax = axes[real_rows + i // NUM_CLASSES, sample["label"]]
        ax.imshow(to_display(sample["image"]), cmap="gray", vmin=0, vmax=1)
        title = f"{CLASS_NAMES[sample['label']]}\nU={sample['wind_speed']:.1f} Hs={sample['wave_height']:.1f}"
        ax.set_title(title + f" θ={sample['incidence_angle']:.0f}", fontsize=6)
    fig.suptitle(
        f"Top {real_rows} rows: real S1 WV quicklooks (8-bit). Below: synthetic archive, {args.image_size} px, "
        "dB, 1-99 % stretch",
        fontsize=9,
    )
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=100)
    plt.close(fig)
    Image.open(buffer).convert("L").save(args.out, optimize=True)  # greyscale: a third of the RGBA size
    print(f"wrote {args.out}")
    return args.out


if __name__ == "__main__":
    main()

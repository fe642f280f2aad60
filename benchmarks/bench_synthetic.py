"""Synthetic WV archive: generation speed and hand-crafted-feature separability of the ten classes.

Speed: images/s on one core at 64 and 256 px, compared with the targets of the data design (1000 img/s at 64 px,
100 img/s at 256 px). Separability: a scikit-learn logistic regression on hand-crafted features (radially averaged
power spectrum of the dB image, mean/std/percentiles of dB) trained on a class-balanced synthetic set and tested on
another (different seed); chance is 10 %. The classes should be well above chance but not trivially separable.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/bench_synthetic.py \
        [--num-speed 1000] [--per-class 200] [--size 64]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import confusion_matrix
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from training.data.synthetic import CLASS_NAMES, SyntheticArchiveConfig, SyntheticWVArchive, balanced_split

SPEED_TARGETS = {64: 1000.0, 256: 100.0}


def images_per_second(size: int, count: int) -> tuple[float, float]:
    """Images generated per wall-clock second and per CPU second of this process at ``size`` px (one thread).

    Per CPU second is the per-core figure on a shared machine; wall-clock also counts time lost to other processes.
    """
    archive = SyntheticWVArchive(SyntheticArchiveConfig(image_size=size, num_samples=count))
    archive[0]
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(count):
        archive[i]
    return count / (time.perf_counter() - wall), count / (time.process_time() - cpu)


def handcrafted_features(image: np.ndarray, bins: int = 16) -> np.ndarray:
    """Radially averaged log power spectrum of the dB image (``bins`` bins) + mean, std and percentiles of dB."""
    db = 10.0 * np.log10(np.maximum(image.astype(np.float64) ** 2, 1e-6))
    n = db.shape[0]
    power = np.abs(np.fft.fft2(db - db.mean())) ** 2
    ky, kx = np.meshgrid(np.fft.fftfreq(n), np.fft.fftfreq(n), indexing="ij")
    radius = np.minimum((np.hypot(kx, ky) / 0.5 * bins).astype(int), bins - 1)
    spectrum = np.bincount(radius.ravel(), power.ravel(), bins) / np.maximum(np.bincount(radius.ravel(), None, bins), 1)
    stats = [db.mean(), db.std(), *np.percentile(db, [1, 5, 50, 95, 99])]
    return np.concatenate([np.log(spectrum + 1e-9), stats])


def features_and_labels(archive: SyntheticWVArchive) -> tuple[np.ndarray, np.ndarray]:
    samples = [archive[i] for i in range(len(archive))]
    return np.stack([handcrafted_features(s["image"]) for s in samples]), np.array([s["label"] for s in samples])


def separability(size: int, per_class: int) -> tuple[float, np.ndarray]:
    """Test accuracy and confusion matrix of the hand-crafted baseline at ``size`` px."""
    config = SyntheticArchiveConfig(image_size=size, seed=0)
    x_train, y_train = features_and_labels(balanced_split(config, per_class, seed=11))
    x_test, y_test = features_and_labels(balanced_split(config, per_class, seed=12))
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    model.fit(x_train, y_train)
    predicted = model.predict(x_test)
    return float((predicted == y_test).mean()), confusion_matrix(y_test, predicted)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-speed", type=int, default=1000, help="images timed per size")
    parser.add_argument("--per-class", type=int, default=200, help="train and test images per class")
    parser.add_argument("--size", type=int, default=64, help="image size of the separability check")
    args = parser.parse_args(argv)

    for size, target in SPEED_TARGETS.items():
        count = args.num_speed if size <= 64 else max(args.num_speed // 5, 20)
        wall, cpu = images_per_second(size, count)
        print(
            f"generation {size:>3} px: {cpu:8.1f} img/s per CPU second, {wall:8.1f} img/s wall "
            f"(target {target:.0f} img/s per core, ratio {cpu / target:.2f})"
        )

    accuracy, confusion = separability(args.size, args.per_class)
    print(f"hand-crafted baseline at {args.size} px: accuracy {100 * accuracy:.1f} % (chance 10.0 %)")
    recall = confusion.diagonal() / confusion.sum(axis=1)
    for name, r in zip(CLASS_NAMES, recall, strict=True):
        print(f"  recall {name:<24} {100 * r:5.1f} %")


if __name__ == "__main__":
    main()

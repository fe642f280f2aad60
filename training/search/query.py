# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Nearest neighbours of a sample of the archive (by dataset index) or of an image file, with a montage PNG."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..data import FileDataset
from ..data.readers import read_npy, read_pil, read_tiff
from ..embed import Embeddings, archive_of, model_of, pool_features, read_embeddings
from .index import load_index, search
from .montage import save_montage, tile, tile_of

READERS = {".tif": read_tiff, ".tiff": read_tiff, ".npy": read_npy}
"""Decoder by file suffix for `--image` (anything else is read with Pillow)."""


@dataclass
class QueryArguments:
    """A nearest-neighbour query on an indexed archive."""

    embeddings: str = field(metadata={"help": "Folder written by `python -m training.embed` (shards + manifest)."})
    sample: int | None = field(default=None, metadata={"help": "Query by dataset index of an embedded sample."})
    image: str | None = field(default=None, metadata={"help": "Query by an image file (GeoTIFF, .npy, PNG)."})
    neighbours: int = field(default=8, metadata={"help": "Number of nearest samples returned."})
    montage: str | None = field(
        default=None, metadata={"help": "Montage PNG path (default: EMBEDDINGS/queries/<query>.png; '' = none)."}
    )

    def __post_init__(self) -> None:
        if (self.sample is None) == (self.image is None):
            raise ValueError("give exactly one of --sample INDEX or --image FILE")
        if self.neighbours < 1:
            raise ValueError(f"neighbours must be >= 1, got {self.neighbours}")


@dataclass
class Neighbours:
    """Result of a query. indices: (k,) dataset indices, nearest first; scores: cosine similarities or squared L2
    distances (see the index metric); files: their sample names; montage: the PNG written (or None)."""

    indices: np.ndarray
    scores: np.ndarray
    files: list[str]
    metric: str
    montage: Path | None


def embed_file(path: Path, embeddings: Embeddings) -> tuple[np.ndarray, np.ndarray]:
    """(embedding (D,), model input tile (S, S)) of an image file, with the run's model, processor and features."""
    _, processor = archive_of(embeddings.manifest)
    model, args = model_of(embeddings.manifest)
    image = FileDataset([path], READERS.get(path.suffix.lower(), read_pil))[0]["image"]
    pixels = torch.from_numpy(np.asarray(processor.to_pixel_values(image)))[None]
    with torch.inference_mode():
        outputs = model(pixel_values=pixels, output_hidden_states=args.layer is not None)
        vector = pool_features(outputs, args.layer, args.layer_pooling).float()[0].numpy()
    return vector, tile_of(image, processor)


def query(args: QueryArguments) -> Neighbours:
    """The `args.neighbours` nearest samples to the query, and their montage (query first, then nearest first)."""
    folder = Path(args.embeddings)
    embeddings = read_embeddings(folder)
    index, meta = load_index(folder, len(embeddings.indices))
    dataset, processor = archive_of(embeddings.manifest)
    if args.sample is not None:
        row = np.searchsorted(embeddings.indices, args.sample)
        if row >= len(embeddings.indices) or embeddings.indices[row] != args.sample:
            raise KeyError(f"sample {args.sample} is not in {folder} (out of range, or skipped as corrupt)")
        vector, query_tile, name = (
            embeddings.vectors[row],
            tile(dataset, args.sample, processor),
            f"sample-{args.sample}",
        )
    else:
        vector, query_tile = embed_file(Path(args.image), embeddings)
        name = Path(args.image).stem
    scores, rows = search(index, meta, vector, args.neighbours)
    rows, scores = rows[0][rows[0] >= 0], scores[0][rows[0] >= 0]
    indices = embeddings.indices[rows]
    files = [embeddings.files[r] for r in rows]
    montage = None
    if args.montage != "":
        montage = Path(args.montage) if args.montage else folder / "queries" / f"{name}.png"
        tiles = [query_tile, *(tile(dataset, i, processor) for i in indices)]
        unit = "cos" if meta["metric"] == "cosine" else "d²"
        titles = [f"query {name}"[:28], *(f"#{i} {unit} {s:.4f}" for i, s in zip(indices, scores, strict=True))]
        save_montage(tiles, titles, montage, f"{len(indices)} nearest of {meta['count']} ({meta['kind']} index)")
    return Neighbours(indices, scores, files, meta["metric"], montage)

# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""faiss indexes over an embedded archive, saved beside its shards (`index.faiss` + `index.json`).

Metrics: `cosine` (inner product of L2-normalised vectors; scores are cosine similarities, higher is nearer) or `l2`
(squared Euclidean distances, lower is nearer). Kinds: `flat` (exact, brute force: small archives), `ivf` (inverted
lists over `nlist` k-means cells, `nprobe` of them searched: approximate, for millions of vectors), `auto` (flat up to
`FLAT_LIMIT` vectors, IVF above). Row r of the index is row r of `read_embeddings` (sorted by dataset index). GPU faiss
is used for building and searching when it is installed and sees a GPU; the saved index is always the CPU form.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import faiss
import numpy as np

METRICS = ("cosine", "l2")
KINDS = ("auto", "flat", "ivf")
FLAT_LIMIT = 200_000
"""`auto` builds an exact index up to this many vectors (a 2048-d flat search of 200k vectors is ~0.1 s per query)."""
INDEX_FILE, META_FILE = "index.faiss", "index.json"


@dataclass
class IndexArguments:
    """Which index to build over an embedded archive."""

    embeddings: str = field(metadata={"help": "Folder written by `python -m training.embed` (shards + manifest)."})
    metric: str = field(default="cosine", metadata={"help": "cosine (normalised inner product) or l2 (squared)."})
    index_kind: str = field(
        default="auto", metadata={"help": "flat (exact), ivf (approximate, for millions) or auto (flat up to 200k)."}
    )
    nlist: int | None = field(default=None, metadata={"help": "IVF cells; None = 4·√N (at least 39 vectors a cell)."})
    nprobe: int = field(default=16, metadata={"help": "IVF cells searched per query (recall vs speed)."})
    gpu: bool = field(default=True, metadata={"help": "Use GPU faiss when it is installed and sees a GPU."})

    def __post_init__(self) -> None:
        if self.metric not in METRICS or self.index_kind not in KINDS:
            raise ValueError(f"metric must be one of {METRICS} and index_kind one of {KINDS}")
        if self.nprobe < 1 or (self.nlist is not None and self.nlist < 1):
            raise ValueError(f"nprobe and nlist must be >= 1, got {self.nprobe}, {self.nlist}")


def prepare_vectors(vectors: np.ndarray, metric: str) -> np.ndarray:
    """(N, D) float32 C-contiguous vectors as the index stores them (L2-normalised for `cosine`)."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if metric == "cosine":
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        if np.any(norms == 0):
            raise ValueError("a zero embedding has no direction: cosine search is undefined for it; use --metric l2")
        vectors = vectors / norms
    return vectors


def gpu_available() -> bool:
    return hasattr(faiss, "StandardGpuResources") and faiss.get_num_gpus() > 0


_GPU_RESOURCES: list[Any] = []


def _to_gpu(index: faiss.Index) -> Any:
    """`index` on GPU 0; the faiss GPU resources are created once and kept alive for the process."""
    if not _GPU_RESOURCES:
        _GPU_RESOURCES.append(faiss.StandardGpuResources())
    return faiss.index_cpu_to_gpu(_GPU_RESOURCES[0], 0, index)


def build_index(vectors: np.ndarray, args: IndexArguments) -> tuple[faiss.Index, dict[str, Any]]:
    """A trained, filled CPU index over `vectors` (N, D) and its description."""
    data = prepare_vectors(vectors, args.metric)
    count, dim = data.shape
    kind = args.index_kind if args.index_kind != "auto" else ("flat" if count <= FLAT_LIMIT else "ivf")
    faiss_metric = faiss.METRIC_INNER_PRODUCT if args.metric == "cosine" else faiss.METRIC_L2
    flat = faiss.IndexFlatIP(dim) if args.metric == "cosine" else faiss.IndexFlatL2(dim)
    meta: dict[str, Any] = {"metric": args.metric, "kind": kind, "count": count, "dim": dim}
    if kind == "flat":
        index = flat
    else:
        nlist = args.nlist or max(1, min(int(4 * math.sqrt(count)), count // 39))
        index = faiss.IndexIVFFlat(flat, dim, nlist, faiss_metric)
        meta |= {"nlist": nlist, "nprobe": args.nprobe}
    if args.gpu and gpu_available():
        gpu_index = _to_gpu(index)
        gpu_index.train(data)
        gpu_index.add(data)
        index = faiss.index_gpu_to_cpu(gpu_index)
    else:
        index.train(data)
        index.add(data)
    return index, meta


def save_index(folder: Path, index: faiss.Index, meta: dict[str, Any]) -> None:
    """`index.faiss` and `index.json` in `folder` (each written to a temp name and renamed)."""
    temp = folder / (INDEX_FILE + ".tmp")
    faiss.write_index(index, str(temp))
    temp.replace(folder / INDEX_FILE)
    (folder / (META_FILE + ".tmp")).write_text(json.dumps(meta, indent=2) + "\n")
    (folder / (META_FILE + ".tmp")).replace(folder / META_FILE)


def load_index(folder: Path, count: int, gpu: bool = True) -> tuple[Any, dict[str, Any]]:
    """The saved index of `folder` (on the GPU when asked and available); refused when it no longer matches the
    `count` embeddings read from the folder."""
    if not (folder / INDEX_FILE).is_file():
        raise FileNotFoundError(
            f"{folder} has no {INDEX_FILE}: build it with `oceansar-search index --embeddings {folder}`"
        )
    meta = json.loads((folder / META_FILE).read_text())
    if meta["count"] != count:
        raise ValueError(
            f"{folder}/{INDEX_FILE} holds {meta['count']} vectors but the shards {count}: rebuild the index"
        )
    index = faiss.read_index(str(folder / INDEX_FILE))
    if "nprobe" in meta:
        index.nprobe = meta["nprobe"]
    if gpu and gpu_available():
        index = _to_gpu(index)
    return index, meta


def search(index: Any, meta: dict[str, Any], queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(scores (Q, k), rows (Q, k)) of the k nearest rows to each query: cosine similarities (descending) or squared
    L2 distances (ascending); rows are positions in `read_embeddings` order (-1 where fewer than k exist)."""
    scores, rows = index.search(prepare_vectors(np.atleast_2d(queries), meta["metric"]), min(k, meta["count"]))
    return scores, rows

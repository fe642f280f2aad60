"""Similarity search and the cluster explorer on an embedded folder of real quicklook crops: the query comes back
first, neighbours equal a brute-force numpy search (exact and IVF, cosine and L2), montages and cluster files exist."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch
from PIL import Image

from training.embed import main as embed_main
from training.embed import read_embeddings
from training.pruning.kmeans import kmeans
from training.search.cli import main as search_main
from training.search.clusters import ClusterArguments, explore_clusters
from training.search.query import QueryArguments, query


@pytest.fixture(scope="module")
def embedded(tmp_path_factory, quicklook_paths) -> Path:
    """20 real crops (two 128-px crops of each of the first 10 quicklooks) embedded with a random ResNet."""
    root = tmp_path_factory.mktemp("search")
    images = root / "images"
    images.mkdir()
    for path in quicklook_paths[:10]:
        quicklook = Image.open(path)
        for n, (left, top) in enumerate(((60, 60), (260, 220))):
            quicklook.crop((left, top, left + 128, top + 128)).save(images / f"{path.stem}-{n}.png")
    output = root / "embeddings"
    embed_main(
        ["--model", "random:resnet_tiny", "--input_size", "32", "--output", str(output), "--dataset", "png",
         "--data_path", str(images), "--nodata_value", "0", "--num_workers", "0", "--shard_size", "8"]
    )  # fmt: skip
    return output


def brute_force(vectors: np.ndarray, query_vector: np.ndarray, k: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
    if metric == "cosine":
        unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        scores = unit @ (query_vector / np.linalg.norm(query_vector))
        order = np.argsort(-scores, kind="stable")[:k]
    else:
        scores = ((vectors - query_vector) ** 2).sum(axis=1)
        order = np.argsort(scores, kind="stable")[:k]
    return order, scores[order]


@pytest.mark.parametrize(("metric", "kind"), [("cosine", "flat"), ("l2", "flat"), ("cosine", "ivf")])
def test_neighbours_match_a_brute_force_search_and_the_query_comes_first(embedded, metric, kind):
    extra = ["--nlist", "2", "--nprobe", "2"] if kind == "ivf" else []  # every cell probed: IVF is then exact
    search_main(["index", "--embeddings", str(embedded), "--metric", metric, "--index_kind", kind, *extra])
    assert json.loads((embedded / "index.json").read_text())["kind"] == kind
    embeddings = read_embeddings(embedded)
    for sample in (0, 7, 19):
        found = query(QueryArguments(embeddings=str(embedded), sample=sample, neighbours=5, montage=""))
        assert found.indices[0] == sample
        rows, scores = brute_force(embeddings.vectors, embeddings.vectors[sample], 5, metric)
        assert found.indices.tolist() == embeddings.indices[rows].tolist()
        np.testing.assert_allclose(found.scores, scores, rtol=1e-4, atol=1e-5)


def test_query_by_image_file_finds_that_file_and_draws_a_montage(embedded):
    search_main(["index", "--embeddings", str(embedded)])
    embeddings = read_embeddings(embedded)
    file = Path(embeddings.files[5])
    found = query(QueryArguments(embeddings=str(embedded), image=str(file), neighbours=4))
    assert found.files[0] == str(file) and found.scores[0] == pytest.approx(1.0, abs=1e-5)
    assert found.montage is not None and Image.open(found.montage).size[0] > 200
    with pytest.raises(KeyError, match="not in"):
        query(QueryArguments(embeddings=str(embedded), sample=99, montage=""))


def test_cluster_explorer_uses_the_projects_kmeans(embedded):
    output = explore_clusters(ClusterArguments(embeddings=str(embedded), num_clusters=3, per_cluster=4))
    table = pq.read_table(output / "clusters.parquet")
    embeddings = read_embeddings(embedded)
    unit = embeddings.vectors / np.linalg.norm(embeddings.vectors, axis=1, keepdims=True)
    expected = kmeans(torch.from_numpy(unit), 3, n_iters=20, generator=0).assignment.numpy()
    assert table["cluster"].to_pylist() == expected.tolist()
    pictures = sorted(p.name for p in output.glob("*.png"))
    assert pictures == ["cluster_00.png", "cluster_01.png", "cluster_02.png", "cluster_sizes.png"]

# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""`oceansar-search` (`python -m training.search`): index, query and explore an archive embedded by
`python -m training.embed`.

    python -m training.search index --embeddings DIR [--metric cosine] [--index_kind auto]
    python -m training.search query --embeddings DIR --sample 12 [--neighbours 8]
    python -m training.search query --embeddings DIR --image vignette.tif
    python -m training.search clusters --embeddings DIR [--num_clusters 16]
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from ..arguments import ArgumentGroup, parse_groups
from ..embed import read_embeddings
from .clusters import ClusterArguments, explore_clusters
from .index import IndexArguments, build_index, save_index
from .query import QueryArguments, query

SEARCH_GROUPS = {
    "index": ArgumentGroup(IndexArguments),
    "query": ArgumentGroup(QueryArguments),
    "clusters": ArgumentGroup(ClusterArguments),
}
"""The argument group of each subcommand."""


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in SEARCH_GROUPS:
        asked = argv[:1] in ([], ["--help"], ["-h"])
        stream = sys.stdout if asked else sys.stderr
        commands = ",".join(SEARCH_GROUPS)
        print(f"usage: oceansar-search {{{commands}}} [FLAGS] (COMMAND --help: its flags)\n", file=stream)
        print(__doc__.strip() if asked else f"error: unknown command {argv[0]!r}", file=stream)
        return 0 if asked else 2
    command, rest = argv[0], argv[1:]
    (args,) = parse_groups(
        [SEARCH_GROUPS[command]], rest, prog=f"oceansar-search {command}", description=__doc__.splitlines()[0]
    )
    if command == "index":
        embeddings = read_embeddings(args.embeddings)
        index, meta = build_index(embeddings.vectors, args)
        save_index(Path(args.embeddings), index, meta)
        print(
            f"{meta['kind']} {meta['metric']} index of {meta['count']} × {meta['dim']} → {args.embeddings}/index.faiss"
        )
    elif command == "query":
        found = query(args)
        unit = "cosine" if found.metric == "cosine" else "squared L2"
        for rank, (index, score, name) in enumerate(zip(found.indices, found.scores, found.files, strict=True)):
            print(f"{rank:3d}  index {index:8d}  {unit} {score:.4f}  {name}")
        if found.montage is not None:
            print(f"montage: {found.montage}")
    else:
        print(f"cluster montages, sizes and assignment: {explore_clusters(args)}")
    return 0

# Copyright 2026 The oceansar-hf authors. Licensed under the Apache License, Version 2.0.
"""Similarity search and cluster exploration on an archive embedded by `training.embed` (faiss: the `search` extra):
`index.py` (build / save / load / search), `query.py` (neighbours of a sample or a file + montage), `clusters.py`
(k-means explorer), `montage.py` (PNG tiles), `cli.py` (`oceansar-search`)."""

"""Dynamic dataset pruning: k-means, hierarchical k-means and cluster-balanced sampling (OceanSAR / Vo et al.)."""

from .kmeans import (
    KMeansResult,
    LevelResult,
    assign,
    hierarchical_kmeans,
    kmeans,
    kmeans_plus_plus_init,
)
from .sampling import (
    STRATEGIES,
    Selection,
    SelectionConfig,
    balanced_budget,
    balanced_hierarchical_sample,
    class_balanced_sample,
    cluster_size_summary,
    draw_subset,
    flat_sizes,
    label_entropy,
    select_from_archive,
)

__all__ = [
    "STRATEGIES",
    "KMeansResult",
    "LevelResult",
    "Selection",
    "SelectionConfig",
    "assign",
    "balanced_budget",
    "balanced_hierarchical_sample",
    "class_balanced_sample",
    "cluster_size_summary",
    "draw_subset",
    "flat_sizes",
    "hierarchical_kmeans",
    "kmeans",
    "kmeans_plus_plus_init",
    "label_entropy",
    "select_from_archive",
]

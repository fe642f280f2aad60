"""benchmarks/pruning_experiment.py's command line: every flag reaches the run it describes."""

from __future__ import annotations

from benchmarks.pruning_experiment import EVAL_PER_CLASS, QUICK_EVAL_PER_CLASS, parse_args, probe_split_sizes


def test_eval_per_class_sets_the_probe_splits() -> None:
    assert probe_split_sizes(parse_args(["--eval-per-class", "7", "3", "5"])) == {"train": 7, "val": 3, "test": 5}
    assert probe_split_sizes(parse_args([])) == EVAL_PER_CLASS
    assert probe_split_sizes(parse_args(["--quick"])) == QUICK_EVAL_PER_CLASS

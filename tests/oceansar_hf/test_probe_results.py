"""The probe results schema (`oceansar_hf.probe_results`): what the probes write and the model cards read."""

from __future__ import annotations

import re

import pytest

from oceansar_hf.probe_results import ProbeResults, ProbeResultsError
from tests.conversion import probe_results


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r["metrics"].pop("rmse"), "metrics (task wave) is missing ['rmse']"),
        (lambda r: r.update(task="waves"), "task must be one of"),
        (lambda r: r.update(units="cm"), "units must be 'm' for task 'wave', got 'cm'"),
        (lambda r: r["metrics"].update(extra=1.0), "has unknown keys ['extra']"),
        (lambda r: r["metrics"].update(rmse="0.5"), "metrics.rmse must be a finite number"),
        (lambda r: r["dataset"].update(num_samples="10"), "dataset.num_samples must be an integer"),
        (lambda r: r["dataset"].update(synthetic="yes"), "dataset.synthetic must be true or false"),
        (lambda r: r["dataset"].pop("split"), "dataset is missing ['split']"),
        (lambda r: r.pop("model"), "the results is missing ['model']"),
    ],
)
def test_invalid_results_are_refused_clearly(change, message):
    record = probe_results("wave")
    change(record)
    with pytest.raises(ProbeResultsError, match=re.escape(message)):
        ProbeResults.from_dict(record, source="wave.json")


def test_round_trip_and_percentages_refused(tmp_path):
    record = probe_results("tengeop")
    results = ProbeResults.from_dict(record)
    assert ProbeResults.read(results.write(tmp_path / "r.json")) == results
    record["metrics"]["accuracy"] = 75.5
    with pytest.raises(ProbeResultsError, match=r"fraction in \[0, 1\], got 75.5"):
        ProbeResults.from_dict(record)
    with pytest.raises(ProbeResultsError, match="metrics.accuracy"):  # the writer validates too
        ProbeResults(**{**vars(results), "metrics": {"accuracy": 75.5}})

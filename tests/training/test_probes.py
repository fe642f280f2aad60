"""Probes on frozen features (training/probes): k-NN, logistic and ridge probes, local `evaluate` metrics, export."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import AutoModelForImageClassification

from oceansar_hf import (
    TENGEOP_CLASSES,
    OceanSARConfig,
    OceanSARForImageClassification,
    OceanSARImageProcessor,
    OceanSARModel,
)
from training.probes import (
    Standardizer,
    classification_metrics,
    export_probe,
    fit_logistic_probe,
    fit_ridge_probe,
    knn_accuracy,
    knn_classify,
    load_metric,
    regression_metrics,
)


def separable_classes(n_per_class: int, num_classes: int = 4, dim: int = 16, seed: int = 0):
    """Features of `num_classes` well-separated Gaussian blobs (centres 10 apart, unit noise) and their labels."""
    gen = torch.Generator().manual_seed(seed)
    centres = torch.randn(num_classes, dim, generator=gen) * 10
    labels = torch.arange(num_classes).repeat_interleave(n_per_class)
    return centres[labels] + torch.randn(len(labels), dim, generator=gen), labels


# ------------------------------------------------------------------------------------------------------- k-NN


def test_knn_separable_classes_are_all_right():
    train, train_labels = separable_classes(30, seed=0)
    test, test_labels = separable_classes(10, seed=0)  # same centres, fresh noise from the same stream prefix
    test = test + 0.1 * torch.randn_like(test)
    assert knn_accuracy(train, train_labels, test, test_labels, k=20, temperature=0.07) == 1.0


def test_knn_weighted_vote_beats_majority_and_uses_cosine():
    # One very close neighbour of class 1 against four far ones of class 0: exp(s/T) weights make class 1 win,
    # while a plain majority vote (huge T) picks class 0.
    train = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.8, -0.6], [0.6, 0.8], [0.6, -0.8]])
    labels = torch.tensor([1, 0, 0, 0, 0])
    test = torch.tensor([[5.0, 0.0]])  # scale does not matter (cosine)
    assert knn_classify(train, labels, test, k=5, temperature=0.07).tolist() == [1]
    assert knn_classify(train, labels, test, k=5, temperature=1e3).tolist() == [0]
    # k larger than the bank is clipped; num_classes beyond the labels is allowed
    assert knn_classify(train, labels, test, k=50, temperature=0.07, num_classes=10).tolist() == [1]


def test_knn_batches_agree_with_one_block():
    train, labels = separable_classes(20, num_classes=5, seed=1)
    test = torch.randn(37, 16) * 10
    whole = knn_classify(train, labels, test, batch_size=1024)
    assert torch.equal(whole, knn_classify(train, labels, test, batch_size=4))


def test_knn_rejects_bad_inputs():
    train, labels = separable_classes(3)
    with pytest.raises(ValueError, match="label -1"):
        knn_classify(train, torch.full_like(labels, -1), train)
    with pytest.raises(ValueError, match="expected train"):
        knn_classify(train, labels, torch.zeros(2, 3))
    with pytest.raises(ValueError, match="at least one labelled training point"):
        knn_classify(train[:0], labels[:0], train)


# ----------------------------------------------------------------------------------------------- linear probes


def test_logistic_probe_separable_classes_and_sweep():
    train, train_labels = separable_classes(40, seed=2)
    val, val_labels = separable_classes(10, seed=2)
    probe = fit_logistic_probe(train, train_labels, val + 0.1, val_labels, num_classes=4, weight_decays=(1e-4, 1e-2))
    test, test_labels = separable_classes(15, seed=2)
    assert (probe.predict(test - 0.1) == test_labels.numpy()).mean() == 1.0
    assert [r["weight_decay"] for r in probe.sweep] == [1e-2, 1e-4]  # a regularisation path, largest first
    assert probe.chosen in probe.sweep
    assert all(r["val_accuracy"] == 1.0 for r in probe.sweep)
    # ties on accuracy are broken by the validation loss
    assert probe.chosen["val_loss"] == min(r["val_loss"] for r in probe.sweep)


def test_logistic_probe_class_balancing_helps_rare_class():
    # 95 % class 0: overlapping blobs; the balanced loss moves the boundary towards class 0 and recalls class 1 more.
    gen = torch.Generator().manual_seed(3)
    labels = (torch.rand(2000, generator=gen) < 0.05).long()
    x = torch.randn(2000, 2, generator=gen) + 1.5 * labels[:, None]
    val_x, val_y = x[:200], labels[:200]
    recall = {}
    for balanced in (False, True):
        probe = fit_logistic_probe(x, labels, val_x, val_y, 2, weight_decays=(1e-3,), class_balanced=balanced)
        recall[balanced] = probe.predict(x[labels == 1]).mean()
    assert recall[True] > recall[False] + 0.2


def test_folded_probe_equals_standardised_probe():
    train, labels = separable_classes(20, num_classes=3, dim=8, seed=4)
    train[:, 0] = 5.0  # a constant feature: std clamped to 1, no division by zero
    probe = fit_logistic_probe(train, labels, train, labels, 3, weight_decays=(1e-3,))
    weight, bias = probe.folded()
    x = torch.randn(11, 8, dtype=torch.float64) * 7
    torch.testing.assert_close(x @ weight.T + bias, probe.outputs(x))
    assert torch.equal(Standardizer.fit(train).std[0], torch.tensor(1.0, dtype=torch.float64))


def test_ridge_exact_linear_target_has_zero_error():
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(300, 12, generator=gen) * torch.linspace(0.1, 30, 12) + 4.0
    w = torch.randn(12, generator=gen)
    y = x.double() @ w.double() + 2.5
    probe = fit_ridge_probe(x[:200], y[:200], x[200:250], y[200:250])
    assert probe.chosen["lambda"] <= 1e-6
    prediction = probe.predict(x[250:])
    assert np.sqrt(np.mean((prediction - y[250:].numpy()) ** 2)) < 1e-6
    weight, bias = probe.folded()
    torch.testing.assert_close(weight[0], w.double(), atol=1e-7, rtol=1e-6)
    assert abs(float(bias[0]) - 2.5) < 1e-5


def test_ridge_chooses_strong_penalty_for_noise():
    gen = torch.Generator().manual_seed(6)
    x = torch.randn(60, 50, generator=gen)
    y = torch.randn(60, generator=gen)  # no relation: the mean is the best predictor, a large λ wins
    probe = fit_ridge_probe(x[:40], y[:40], x[40:], y[40:])
    assert probe.chosen["lambda"] >= 10.0
    assert [r["lambda"] for r in probe.sweep] == sorted(r["lambda"] for r in probe.sweep)


def test_probes_reject_bad_inputs():
    x = torch.randn(10, 3)
    with pytest.raises(ValueError, match="NaN"):
        fit_ridge_probe(x, torch.tensor([np.nan] + [1.0] * 9), x, torch.ones(10))
    with pytest.raises(ValueError, match="must lie in"):
        fit_logistic_probe(x, torch.full((10,), 7), x, torch.zeros(10, dtype=torch.long), num_classes=4)
    with pytest.raises(ValueError, match="validation: no samples"):
        fit_logistic_probe(x, torch.zeros(10, dtype=torch.long), x[:0], torch.zeros(0, dtype=torch.long), 2)
    with pytest.raises(ValueError, match="positive"):
        fit_ridge_probe(x, torch.ones(10), x, torch.ones(10), lambdas=(0.0,))


# ----------------------------------------------------------------------------------------------------- metrics


def test_local_classification_metric():
    result = classification_metrics(np.array([0, 1, 1, 2, 2, 2]), np.array([0, 1, 2, 2, 2, 0]), num_classes=4)
    assert result["accuracy"] == pytest.approx(4 / 6)
    assert result["confusion_matrix"] == [[1, 0, 1, 0], [0, 1, 0, 0], [0, 1, 2, 0], [0, 0, 0, 0]]
    assert result["per_class_accuracy"][:3] == pytest.approx([0.5, 1.0, 2 / 3])
    assert np.isnan(result["per_class_accuracy"][3])  # class absent from the references
    assert result["balanced_accuracy"] == pytest.approx((0.5 + 1.0 + 2 / 3) / 3)
    assert result["support"] == [2, 1, 3, 0]


def test_local_regression_metric_and_loading_by_path():
    result = regression_metrics(np.array([1.0, 2.0, 4.0]), np.array([1.0, 1.0, 2.0]))
    assert result["rmse"] == pytest.approx(np.sqrt(5 / 3))
    assert result["mae"] == pytest.approx(1.0)
    assert result["bias"] == pytest.approx(1.0)
    assert result["num_samples"] == 3
    with pytest.raises(ValueError, match="finite"):
        regression_metrics(np.array([np.nan]), np.array([1.0]))
    with pytest.raises(ValueError, match="no local metric 'accuracy'.*sar_classification"):
        load_metric("accuracy")


# ------------------------------------------------------------------------------------------------------ export


@pytest.mark.parametrize("task", ["tengeop", "wave"])
def test_exported_head_reproduces_probe_after_from_pretrained(tmp_path, task):
    torch.manual_seed(0)
    backbone = OceanSARModel(OceanSARConfig(backbone="resnet_tiny", image_size=32)).eval()
    processor = OceanSARImageProcessor(size=32)
    images = 0.05 + 0.05 * torch.rand(48, 40, 40)  # σ0, linear (the processor's default input_kind)
    pixels = processor(list(images))["pixel_values"]
    with torch.no_grad():
        features = backbone(pixels).pooler_output
    if task == "tengeop":
        labels = torch.arange(48) % len(TENGEOP_CLASSES)
        probe = fit_logistic_probe(features, labels, features, labels, len(TENGEOP_CLASSES), weight_decays=(1e-2,))
    else:
        targets = features[:, :5].double().sum(1) * 3.0 + 1.0
        probe = fit_ridge_probe(features, targets, features, targets, lambdas=(1e-3,))
    export_probe(backbone, probe, task, tmp_path / "export", processor)
    loaded = AutoModelForImageClassification.from_pretrained(tmp_path / "export").eval()
    assert type(loaded) is OceanSARForImageClassification
    assert loaded.config.finetuning_task == task
    assert (tmp_path / "export" / "preprocessor_config.json").is_file()
    assert (tmp_path / "export" / "modeling_oceansar.py").is_file()
    with torch.no_grad():
        logits = loaded(pixel_values=pixels).logits.double()
    torch.testing.assert_close(logits, probe.outputs(features), atol=1e-4, rtol=1e-5)
    if task == "tengeop":
        assert np.array_equal(logits.argmax(1).numpy(), probe.predict(features))


def test_export_rejects_mismatched_probe(tmp_path):
    backbone = OceanSARModel(OceanSARConfig(backbone="resnet_tiny", image_size=32))
    x = torch.randn(20, 256)
    probe = fit_ridge_probe(x, x[:, 0], x, x[:, 0], lambdas=(1.0,))
    with pytest.raises(ValueError, match="does not fit the 'tengeop' head"):
        export_probe(backbone, probe, "tengeop", tmp_path)

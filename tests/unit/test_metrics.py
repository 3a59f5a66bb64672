"""Metrics: directions, task applicability and values against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest

from ml_action.core.metrics import METRICS, Predictions, metrics_for, primary_metric, score
from ml_action.errors import UserError

LOWER_IS_BETTER = {"log_loss", "rmse", "mae", "mape"}


@pytest.mark.parametrize("name", list(METRICS))
def test_direction(name: str) -> None:
    assert METRICS[name].greater_is_better is (name not in LOWER_IS_BETTER)


def test_binary_only_metrics_are_offered_for_binary_targets() -> None:
    assert "f1" in metrics_for("classification", 2)
    assert "f1" not in metrics_for("classification", 3)
    assert set(metrics_for("regression", None)) == {"rmse", "mae", "r2", "mape"}


def test_primary_metric_defaults_and_checks() -> None:
    assert primary_metric("", "classification", 3) == "f1_macro"
    assert primary_metric("", "regression", None) == "rmse"
    with pytest.raises(UserError) as info:
        primary_metric("f1", "classification", 3)
    assert info.value.input == "primary-metric"
    with pytest.raises(UserError):
        primary_metric("accuracy", "regression", None)
    with pytest.raises(UserError, match="unknown metric"):
        primary_metric("auc", "classification", 2)


def test_binary_scores_use_the_second_class_as_positive() -> None:
    from sklearn import metrics as skm

    y = np.array(["a", "b", "b", "a", "b"])
    labels = np.array(["a", "b", "a", "a", "b"])
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.7, 0.3], [0.1, 0.9]])
    values, notes = score(y, Predictions(labels, proba, ["a", "b"]), "classification", metrics_for("classification", 2))
    assert not notes
    assert values["recall"] == pytest.approx(skm.recall_score(y, labels, pos_label="b"))
    assert values["roc_auc"] == pytest.approx(skm.roc_auc_score(y == "b", proba[:, 1]))
    assert values["log_loss"] == pytest.approx(skm.log_loss(y, proba, labels=["a", "b"]))


def test_regression_scores() -> None:
    y, p = np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 5.0])
    values, _ = score(y, Predictions(p, None, None), "regression", metrics_for("regression", None))
    assert values["rmse"] == pytest.approx(np.sqrt(4 / 3)) and values["mae"] == pytest.approx(2 / 3)


def test_metric_without_probabilities_is_noted_not_crashing() -> None:
    values, notes = score(
        np.array([0, 1]), Predictions(np.array([0, 1]), None, [0, 1]), "classification", ["accuracy", "roc_auc"]
    )
    assert values == {"accuracy": 1.0} and "predict_proba" in notes["roc_auc"]


@pytest.mark.parametrize("seed", range(12))
def test_confusion_matrix_path_equals_scikit_learn(seed: int) -> None:
    """The fast label metrics give scikit-learn's numbers, including absent and never-predicted classes."""
    from sklearn import metrics as skm

    rng = np.random.default_rng(seed)
    classes = ["a", "b", "c", "d"][: 2 + seed % 3]
    y = rng.choice(classes[:-1] if seed % 4 == 0 else classes, 60)  # sometimes a class never occurs
    labels = np.where(rng.random(60) < 0.6, y, rng.choice(classes[:2], 60))  # sometimes never predicted
    values, _ = score(
        y, Predictions(labels, None, classes), "classification", metrics_for("classification", len(classes))
    )
    kw = {"zero_division": 0}
    assert values["accuracy"] == pytest.approx(skm.accuracy_score(y, labels))
    assert values["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, labels))
    assert values["precision_macro"] == pytest.approx(skm.precision_score(y, labels, average="macro", **kw))
    assert values["recall_macro"] == pytest.approx(skm.recall_score(y, labels, average="macro", **kw))
    assert values["f1_macro"] == pytest.approx(skm.f1_score(y, labels, average="macro", **kw))
    if len(classes) == 2 and len(set(y) | set(labels)) == 2:
        assert values["f1"] == pytest.approx(skm.f1_score(y, labels, pos_label=classes[1], **kw))
        assert values["precision"] == pytest.approx(skm.precision_score(y, labels, pos_label=classes[1], **kw))

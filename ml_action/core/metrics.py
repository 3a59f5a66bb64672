"""Metrics: each with its direction and the task it applies to, computed for one fitted model."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ml_action.errors import UserError, first_line


@dataclass(frozen=True)
class Metric:
    """A metric's name, direction and what it needs (labels or class probabilities)."""

    name: str
    task: str
    greater_is_better: bool
    needs_proba: bool = False
    binary_only: bool = False
    description: str = ""


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("accuracy", "classification", True, description="share of correct labels"),
        Metric("balanced_accuracy", "classification", True, description="mean recall over classes"),
        Metric("precision_macro", "classification", True, description="precision averaged over classes"),
        Metric("recall_macro", "classification", True, description="recall averaged over classes"),
        Metric("f1_macro", "classification", True, description="F1 averaged over classes"),
        Metric("precision", "classification", True, binary_only=True, description="precision of the positive class"),
        Metric("recall", "classification", True, binary_only=True, description="recall of the positive class"),
        Metric("f1", "classification", True, binary_only=True, description="F1 of the positive class"),
        Metric("roc_auc", "classification", True, needs_proba=True, description="ROC AUC (one-vs-rest if multiclass)"),
        Metric("log_loss", "classification", False, needs_proba=True, description="cross-entropy of probabilities"),
        Metric("rmse", "regression", False, description="root mean squared error"),
        Metric("mae", "regression", False, description="mean absolute error"),
        Metric("r2", "regression", True, description="coefficient of determination"),
        Metric("mape", "regression", False, description="mean absolute percentage error"),
    )
}

DEFAULT_PRIMARY = {"classification": "f1_macro", "regression": "rmse"}


def metrics_for(task: str, n_classes: int | None) -> list[str]:
    return [m.name for m in METRICS.values() if m.task == task and not (m.binary_only and (n_classes or 0) != 2)]


def check_metric_name(name: str, input_name: str, task: str | None = None) -> Metric:
    metric = METRICS.get(name)
    if metric is None:
        raise UserError(input_name, f"unknown metric '{name}'", f"Use one of: {', '.join(METRICS)}.")
    if task is not None and metric.task != task:
        valid = ", ".join(m for m, v in METRICS.items() if v.task == task)
        raise UserError(
            input_name, f"metric '{name}' is for {metric.task}, but this is a {task} task", f"Use one of: {valid}."
        )
    return metric


def primary_metric(name: str, task: str, n_classes: int | None) -> str:
    chosen = name or DEFAULT_PRIMARY[task]
    metric = check_metric_name(chosen, "primary-metric", task)
    if metric.binary_only and n_classes != 2:
        raise UserError(
            "primary-metric",
            f"'{chosen}' needs a binary target, this one has {n_classes} classes",
            "Use the macro version, e.g. f1_macro.",
        )
    return chosen


def _label_fn(name: str, pos: Any) -> Callable[[Any, Any], float]:
    from sklearn import metrics as skm

    table: dict[str, Callable[[Any, Any], float]] = {
        "accuracy": skm.accuracy_score,
        "balanced_accuracy": skm.balanced_accuracy_score,
        "precision_macro": lambda y, p: skm.precision_score(y, p, average="macro", zero_division=0),
        "recall_macro": lambda y, p: skm.recall_score(y, p, average="macro", zero_division=0),
        "f1_macro": lambda y, p: skm.f1_score(y, p, average="macro", zero_division=0),
        "precision": lambda y, p: skm.precision_score(y, p, pos_label=pos, zero_division=0),
        "recall": lambda y, p: skm.recall_score(y, p, pos_label=pos, zero_division=0),
        "f1": lambda y, p: skm.f1_score(y, p, pos_label=pos, zero_division=0),
        "rmse": lambda y, p: float(np.sqrt(skm.mean_squared_error(y, p))),
        "mae": skm.mean_absolute_error,
        "r2": skm.r2_score,
        "mape": skm.mean_absolute_percentage_error,
    }
    return table[name]


def metric_function(name: str, classes: list[Any] | None) -> Callable[[Any, Any], float]:
    """A ``f(y_true, pred)`` for ``name``; ``pred`` is labels, or probabilities when the metric needs them."""
    from sklearn import metrics as skm

    if name == "roc_auc":
        if classes is not None and len(classes) == 2:
            return lambda y, p: skm.roc_auc_score(np.asarray(y) == classes[1], p[:, 1])
        return lambda y, p: skm.roc_auc_score(y, p, multi_class="ovr", labels=classes)
    if name == "log_loss":
        return lambda y, p: skm.log_loss(y, p, labels=classes)
    pos = classes[1] if classes is not None and len(classes) == 2 else None
    return _label_fn(name, pos)


@dataclass
class Predictions:
    """What one model predicted on the holdout: labels/values, and class probabilities when it has them."""

    labels: Any
    proba: Any | None
    classes: list[Any] | None


def predict(model: Any, X: Any, task: str) -> Predictions:
    labels = model.predict(X)
    proba = None
    classes = None
    if task == "classification":
        classes = list(getattr(model, "classes_", [])) or None
        if hasattr(model, "predict_proba"):
            try:
                proba = model.predict_proba(X)
            except (AttributeError, NotImplementedError):
                proba = None
    return Predictions(labels=labels, proba=proba, classes=classes)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, 0 where den is 0 (scikit-learn's ``zero_division=0``)."""
    out = np.zeros_like(num, dtype="float64")
    np.divide(num, den, out=out, where=den > 0)
    return out


def confusion_scores(t: np.ndarray, p: np.ndarray, k: int, pos: int | None) -> dict[str, float]:
    """The label metrics from one confusion matrix of integer codes, as scikit-learn defines them.

    Macro averages run over the labels present in ``t`` or ``p`` (scikit-learn's ``unique_labels``);
    balanced accuracy over the labels present in ``t``; ``pos`` is the positive class's code.
    """
    cm = np.bincount(t * k + p, minlength=k * k).reshape(k, k).astype("float64")
    tp, true_n, pred_n = np.diag(cm), cm.sum(axis=1), cm.sum(axis=0)
    present = (true_n + pred_n) > 0
    precision, recall = _ratio(tp, pred_n), _ratio(tp, true_n)
    f1 = _ratio(2 * tp, pred_n + true_n)
    out = {
        "accuracy": float(tp.sum() / cm.sum()),
        "balanced_accuracy": float(recall[true_n > 0].mean()),
        "precision_macro": float(precision[present].mean()),
        "recall_macro": float(recall[present].mean()),
        "f1_macro": float(f1[present].mean()),
    }
    if pos is not None:
        out.update(precision=float(precision[pos]), recall=float(recall[pos]), f1=float(f1[pos]))
    return out


def _encode(y_true: Any, preds: Predictions) -> tuple[np.ndarray, np.ndarray, list[Any]]:
    """Integer codes for the truth and the predicted labels; the model's classes come first, in order."""
    import pandas as pd

    y = pd.Series(np.asarray(y_true, dtype=object))
    labels = pd.Series(np.asarray(preds.labels, dtype=object))
    cats = list(preds.classes or [])
    known = set(cats)
    extra = [v for v in pd.unique(pd.concat([y, labels], ignore_index=True)) if v not in known]
    cats += sorted(extra, key=str)
    t = pd.Categorical(y, categories=cats).codes.astype("int64")
    p = pd.Categorical(labels, categories=cats).codes.astype("int64")
    return t, p, cats


def score(y_true: Any, preds: Predictions, task: str, names: list[str]) -> tuple[dict[str, float], dict[str, str]]:
    """Compute ``names``; a metric that cannot be computed is left out with the reason in the second dict.

    Classification label metrics come from one confusion matrix of integer codes (the same numbers as
    scikit-learn's functions, without re-validating string labels for every metric)."""
    values: dict[str, float] = {}
    notes: dict[str, str] = {}
    fast: dict[str, float] = {}
    if task == "classification" and preds.classes:
        t, p, cats = _encode(y_true, preds)
        if (t >= 0).all() and (p >= 0).all():
            binary = len(preds.classes) == 2 and len(cats) == 2
            fast = confusion_scores(t, p, len(cats), 1 if binary else None)
    for name in names:
        metric = METRICS[name]
        if name in fast:
            values[name] = fast[name]
            continue
        if metric.needs_proba and preds.proba is None:
            notes[name] = "the model has no predict_proba"
            continue
        pred = preds.proba if metric.needs_proba else preds.labels
        try:
            value = float(metric_function(name, preds.classes)(y_true, pred))
        except (ValueError, IndexError, TypeError) as exc:
            notes[name] = first_line(exc, 200)
            continue
        if np.isfinite(value):
            values[name] = value
        else:
            notes[name] = "not finite"
    return values, notes

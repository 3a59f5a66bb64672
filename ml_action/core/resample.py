"""The bootstrap's fast paths: resampling rows or "cells" and scoring a whole block of resamples at once.

A plan turns rows (or, for classification labels, cells of (true, candidate, champion) labels) into a
feature matrix; a resample's weighted column sums give both models' metric values. Label metrics come
from per-class counts, row metrics (MAE, RMSE, R², MAPE, log loss) from per-row terms, binary ROC AUC
from counts over rows sorted once by score; above ``INDEX_ROWS`` rows the per-cell counts of a resample
are drawn from a multinomial (exactly the bootstrap distribution). Any other metric falls back to
``draw_loop``. ``stats`` builds the intervals on top. Pure: no network, no environment.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

LABEL_METRICS = (
    "accuracy",
    "balanced_accuracy",
    "precision_macro",
    "recall_macro",
    "f1_macro",
    "precision",
    "recall",
    "f1",
)
ROW_METRICS = ("mae", "mse", "rmse", "r2", "mape", "log_loss", "roc_auc")
MAX_CLASSES = 50  # above, per-class counts get large: use the generic loop
INDEX_ROWS = 5000  # label metrics on more rows draw per-cell counts from the multinomial instead of row indices
BLOCK_CELLS = 100_000  # resamples x units per block (bounds memory: ~0.8 MB per array, ~4 MB in all)


# ------------------------------------------------------------------------------ vectorised metrics
# A plan turns rows (or cells) into a feature matrix F; a resample's weighted column sums S = w @ F,
# with the resample size, give both models' metric values.

Stat = Callable[[np.ndarray, int], tuple[np.ndarray, np.ndarray]]


@dataclass
class _Plan:
    features: np.ndarray  # units x m
    stat: Stat
    cells: np.ndarray | None = None  # unit (cell) of each row when rows collapse into cells
    direct: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None  # metrics from counts, not sums


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), 0.0)


def _label_stat(name: str, k: int, pos: int | None) -> Stat:
    """Metric from per-class sums laid out as [support, pred_a, pred_b, tp_a, tp_b] blocks of ``k`` columns."""

    def one(support: np.ndarray, pred: np.ndarray, tp: np.ndarray, total: int) -> np.ndarray:
        if name == "accuracy":
            return tp.sum(axis=1) / total
        if name in ("precision", "recall", "f1"):
            s, p, t = support[:, pos], pred[:, pos], tp[:, pos]
            den = {"precision": p, "recall": s, "f1": s + p}[name]
            return _safe_div((2 if name == "f1" else 1) * t, den)
        if name == "balanced_accuracy":
            present = support > 0
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.where(present, _safe_div(tp, support), 0).sum(axis=1) / present.sum(axis=1)
        present = (support > 0) | (pred > 0)  # sklearn's labels: classes in y_true or y_pred
        per_class = {
            "precision_macro": _safe_div(tp, pred),
            "recall_macro": _safe_div(tp, support),
            "f1_macro": _safe_div(2 * tp, support + pred),
        }[name]
        return np.where(present, per_class, 0).sum(axis=1) / present.sum(axis=1)

    def stat(s: np.ndarray, total: int) -> tuple[np.ndarray, np.ndarray]:
        support, pred_a, pred_b, tp_a, tp_b = (s[:, i * k : (i + 1) * k] for i in range(5))
        return one(support, pred_a, tp_a, total), one(support, pred_b, tp_b, total)

    return stat


def _label_plan(name: str, y: np.ndarray, a: np.ndarray, b: np.ndarray, classes: Sequence[Any] | None) -> _Plan | None:
    if a.ndim != 1 or b.ndim != 1:
        return None
    labels, codes = np.unique(np.concatenate((y, a, b)), return_inverse=True)
    k = labels.size
    if k > MAX_CLASSES:
        return None
    pos = None
    if name in ("precision", "recall", "f1"):
        if k > 2 or classes is None or len(classes) != 2 or classes[1] not in set(labels.tolist()):
            return None  # sklearn raises or behaves differently here: let it decide in the loop
        pos = int(np.flatnonzero(labels == classes[1])[0])
    n = y.size
    yc, ac, bc = codes[:n], codes[n : 2 * n], codes[2 * n :]
    cells, row_cell = np.unique((yc * k + ac) * k + bc, return_inverse=True)
    cy, ca, cb = cells // (k * k), (cells // k) % k, cells % k
    onehot = np.eye(k)
    features = np.hstack(
        [onehot[cy], onehot[ca], onehot[cb], onehot[cy] * (cy == ca)[:, None], onehot[cy] * (cy == cb)[:, None]]
    )
    return _Plan(features=features, stat=_label_stat(name, k, pos), cells=row_cell.reshape(-1))


def _mean_stat(root: bool = False) -> Stat:
    def stat(s: np.ndarray, total: int) -> tuple[np.ndarray, np.ndarray]:
        m = s / total
        if root:
            m = np.sqrt(m)
        return m[:, 0], m[:, 1]

    return stat


def _r2_stat(s: np.ndarray, total: int) -> tuple[np.ndarray, np.ndarray]:
    sst = s[:, 1] - s[:, 0] ** 2 / total  # y is centred first, which keeps this subtraction accurate
    out = []
    for sse in (s[:, 2], s[:, 3]):
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = 1 - sse / sst
        # sklearn's force_finite: a constant y_true scores 1 when predicted exactly, else 0
        out.append(np.where(sst > 0, r2, np.where(sse == 0, 1.0, 0.0)))
    return out[0], out[1]


def _proba_true(p: np.ndarray, col: np.ndarray) -> np.ndarray:
    p = np.asarray(p, dtype="float64")
    if p.ndim == 1:  # binary: probability of the second class
        p = np.column_stack((1 - p, p))
    eps = np.finfo(p.dtype).eps
    return np.clip(p, eps, 1 - eps)[np.arange(p.shape[0]), col]


def _row_plan(name: str, y: np.ndarray, a: np.ndarray, b: np.ndarray, classes: Sequence[Any] | None) -> _Plan | None:
    if name == "log_loss":
        labels = np.asarray(classes) if classes is not None else np.unique(y)
        width = 2 if a.ndim == 1 else a.shape[1]
        if labels.size != width or not np.isin(y, labels).all():
            return None
        order = np.argsort(labels)
        col = order[np.searchsorted(labels[order], y)]
        losses = np.column_stack((-np.log(_proba_true(a, col)), -np.log(_proba_true(b, col))))
        return _Plan(features=losses, stat=_mean_stat())
    if a.ndim != 1 or b.ndim != 1:
        return None
    yf, af, bf = (np.asarray(v, dtype="float64") for v in (y, a, b))
    if name == "mae":
        return _Plan(features=np.column_stack((np.abs(yf - af), np.abs(yf - bf))), stat=_mean_stat())
    if name in ("mse", "rmse"):
        return _Plan(features=np.column_stack(((yf - af) ** 2, (yf - bf) ** 2)), stat=_mean_stat(name == "rmse"))
    if name == "mape":
        den = np.maximum(np.abs(yf), np.finfo("float64").eps)
        return _Plan(features=np.column_stack((np.abs(yf - af) / den, np.abs(yf - bf) / den)), stat=_mean_stat())
    if name == "r2":
        yc = yf - yf.mean()
        return _Plan(features=np.column_stack((yc, yc**2, (yf - af) ** 2, (yf - bf) ** 2)), stat=_r2_stat)
    return None


def _auc(order: np.ndarray, starts: np.ndarray, positive: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Weighted binary ROC AUC per resample: P(score of a positive > score of a negative), ties count half."""
    w = counts[:, order]
    pos_w = w * positive[order]
    per_score_pos = np.add.reduceat(pos_w, starts, axis=1)
    per_score_neg = np.add.reduceat(w - pos_w, starts, axis=1)
    below = np.cumsum(per_score_neg, axis=1) - per_score_neg
    num = (per_score_pos * (below + 0.5 * per_score_neg)).sum(axis=1)
    den = per_score_pos.sum(axis=1) * per_score_neg.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / den, np.nan)  # one class only: undefined, skipped


def _auc_plan(y: np.ndarray, a: np.ndarray, b: np.ndarray, classes: Sequence[Any] | None) -> _Plan | None:
    """Binary ROC AUC of the positive class ``classes[1]`` from its probability column (or a 1-D score)."""
    if classes is None or len(classes) != 2:
        return None
    prepared = []
    for p in (a, b):
        p = np.asarray(p, dtype="float64")
        score = p[:, 1] if p.ndim == 2 and p.shape[1] == 2 else p if p.ndim == 1 else None
        if score is None:
            return None
        order = np.argsort(score, kind="stable")
        ranked = score[order]
        starts = np.flatnonzero(np.concatenate(([True], ranked[1:] != ranked[:-1])))
        prepared.append((order, starts))
    positive = (y == classes[1]).astype("float64")

    def direct(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return _auc(*prepared[0], positive, counts), _auc(*prepared[1], positive, counts)

    return _Plan(features=np.empty((y.shape[0], 0)), stat=_mean_stat(), direct=direct)


def plan_values(plan: _Plan, counts: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Both models' metric values on each sample of ``counts`` (samples x units: how often each unit is drawn).

    Every resample goes through here, and so does the all-rows value of the label metrics (one sample: each
    cell's row count), which then needs no second scoring of ``n`` labels: scikit-learn re-encodes them on
    every call (0.67 s for two scores of 200,000 text labels); the counts give the same value, equal to
    scikit-learn's to the last bits (tested).
    """
    return plan.direct(counts) if plan.direct else plan.stat(counts @ plan.features, n)


def make_plan(
    metric_name: str | None,
    per_row: Callable[[Any, Any], Any] | None,
    y: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    classes: Sequence[Any] | None,
) -> _Plan | None:
    if per_row is not None:
        features = np.column_stack(
            (np.asarray(per_row(y, a), dtype="float64"), np.asarray(per_row(y, b), dtype="float64"))
        )
        return _Plan(features=features, stat=_mean_stat())
    if metric_name in LABEL_METRICS:
        return _label_plan(metric_name, y, a, b, classes)
    if metric_name == "roc_auc":
        return _auc_plan(y, a, b, classes)
    if metric_name in ROW_METRICS:
        return _row_plan(metric_name, y, a, b, classes)
    return None


# ------------------------------------------------------------------------------ resampling


def _index_blocks(rng: np.random.Generator, n: int, n_resamples: int):
    """Row indices of the resamples, a block at a time (the same stream for every path)."""
    block = max(1, BLOCK_CELLS // max(n, 1))
    done = 0
    while done < n_resamples:
        size = min(block, n_resamples - done)
        yield rng.integers(0, n, size=(size, n))
        done += size


def _unit_counts(units: np.ndarray, n_units: int) -> np.ndarray:
    """Per-resample counts of each unit: (resamples x rows) unit ids -> (resamples x n_units)."""
    r = units.shape[0]
    flat = (units + (np.arange(r) * n_units)[:, None]).ravel()
    return np.bincount(flat, minlength=r * n_units).reshape(r, n_units).astype("float64")


def draw_vectorised(plan: _Plan, rng: np.random.Generator, n: int, n_resamples: int) -> tuple[np.ndarray, np.ndarray]:
    out_a, out_b = [], []
    for idx in _index_blocks(rng, n, n_resamples):
        units = idx if plan.cells is None else plan.cells[idx]
        counts = _unit_counts(units, plan.features.shape[0])
        va, vb = plan_values(plan, counts, n)
        out_a.append(va)
        out_b.append(vb)
    return np.concatenate(out_a), np.concatenate(out_b)


def draw_multinomial(plan: _Plan, rng: np.random.Generator, n: int, n_resamples: int) -> tuple[np.ndarray, np.ndarray]:
    assert plan.cells is not None
    freq = np.bincount(plan.cells, minlength=plan.features.shape[0]) / n
    block = max(1, BLOCK_CELLS // plan.features.shape[0])
    out_a, out_b = [], []
    for start in range(0, n_resamples, block):
        counts = rng.multinomial(n, freq, size=min(block, n_resamples - start)).astype("float64")
        va, vb = plan_values(plan, counts, n)
        out_a.append(va)
        out_b.append(vb)
    return np.concatenate(out_a), np.concatenate(out_b)


def draw_loop(
    metric: Callable[[Any, Any], float],
    y: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    rng: np.random.Generator,
    n_resamples: int,
) -> tuple[np.ndarray, np.ndarray]:
    out_a = np.full(n_resamples, np.nan)
    out_b = np.full(n_resamples, np.nan)
    i = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # undefined-metric warnings on odd resamples: those are skipped below
        for idx in _index_blocks(rng, y.size, n_resamples):
            for row in idx:
                try:
                    out_a[i], out_b[i] = metric(y[row], a[row]), metric(y[row], b[row])
                except (ValueError, ZeroDivisionError, FloatingPointError):
                    pass  # e.g. a resample with one class: the metric is undefined, the resample skipped
                i += 1
    return out_a, out_b

"""Paired bootstrap confidence interval for a metric difference, candidate minus champion, on the same rows.

Each resample draws row indices with replacement and scores BOTH models on those same rows, so the
interval reflects the difference between the models and not the luck of the holdout. The percentile
interval says whether the candidate is significantly better, worse, or indistinguishable.

Speed: metrics that are sums over rows (accuracy, the macro/binary precision-recall-F1 family and
balanced accuracy through per-class counts; MAE, MSE, RMSE, R², MAPE, log loss through per-row terms)
are computed for a whole block of resamples at once as ``counts @ features``; binary ROC AUC from the
resample counts over rows sorted once by score. For classification
labels the rows collapse into "cells" (true label, candidate label, champion label); above 5,000 rows
the per-cell counts of a resample are drawn directly from a multinomial, which is exactly the bootstrap
distribution over all rows (below, row indices are drawn: the same ones the loop would score).
Any other metric is called once per resample on at most ``max_rows`` seeded rows.
``two_sample_bootstrap`` does the same for two different sets of rows (reference vs fresh, for the
monitor), resampling each on its own. Pure: no network, no environment.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

LABEL_METRICS = ("accuracy", "balanced_accuracy", "precision_macro", "recall_macro", "f1_macro",
                 "precision", "recall", "f1")
ROW_METRICS = ("mae", "mse", "rmse", "r2", "mape", "log_loss", "roc_auc")
MAX_CLASSES = 50  # above, per-class counts get large: use the generic loop
INDEX_ROWS = 5000  # label metrics on more rows draw per-cell counts from the multinomial instead of row indices
BLOCK_CELLS = 250_000  # resamples x units per block (bounds memory: ~2 MB per float64 array, ~10 MB in all)


@dataclass
class BootstrapResult:
    """A paired bootstrap interval for ``metric(candidate) - metric(champion)``."""

    observed: float  # on all rows
    low: float
    high: float
    confidence: float
    greater_is_better: bool
    n_resamples: int  # requested
    valid_resamples: int  # where the metric was defined for both models
    rows: int
    rows_used: int
    method: str  # "cells", "rows" (vectorised) or "loop"
    metric: str | None = None
    # the resampled differences and the candidate's own values (shifted like the interval), for intervals
    # at another confidence and for floors judged on the candidate's own value; not in ``to_dict``
    draws: np.ndarray | None = field(default=None, repr=False, compare=False)
    values: np.ndarray | None = field(default=None, repr=False, compare=False)

    def interval(self, confidence: float | None = None) -> tuple[float, float]:
        """The percentile interval of the difference at ``confidence`` (default: the one computed)."""
        if confidence is None or confidence == self.confidence or self.draws is None:
            return self.low, self.high
        return percentile_interval(self.draws, confidence)

    def value_interval(self, confidence: float | None = None) -> tuple[float, float]:
        """The percentile interval of the candidate's own metric value, from the same paired resamples."""
        if self.values is None:
            return math.nan, math.nan
        return percentile_interval(self.values, self.confidence if confidence is None else confidence)

    @property
    def skipped(self) -> int:
        return self.n_resamples - self.valid_resamples

    @property
    def significant(self) -> bool:
        """The interval excludes 0."""
        return bool(self.valid_resamples) and (self.low > 0 or self.high < 0)

    @property
    def direction(self) -> str:
        """``improvement``, ``regression`` or ``no significant change``, taking the metric's direction into account."""
        if not self.significant:
            return "no significant change"
        better = self.low > 0 if self.greater_is_better else self.high < 0
        return "improvement" if better else "regression"

    @property
    def whole_interval_regression(self) -> bool:
        """Every plausible difference is worse for the candidate."""
        return self.direction == "regression"

    def to_dict(self) -> dict[str, Any]:
        def num(v: float) -> float | None:
            return float(v) if math.isfinite(v) else None

        return {"metric": self.metric, "observed": num(self.observed), "low": num(self.low), "high": num(self.high),
                "confidence": self.confidence, "greater_is_better": self.greater_is_better,
                "n_resamples": self.n_resamples, "valid_resamples": self.valid_resamples, "skipped": self.skipped,
                "rows": self.rows, "rows_used": self.rows_used, "method": self.method,
                "significant": self.significant, "direction": self.direction,
                "whole_interval_regression": self.whole_interval_regression}


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
        per_class = {"precision_macro": _safe_div(tp, pred), "recall_macro": _safe_div(tp, support),
                     "f1_macro": _safe_div(2 * tp, support + pred)}[name]
        return np.where(present, per_class, 0).sum(axis=1) / present.sum(axis=1)

    def stat(s: np.ndarray, total: int) -> tuple[np.ndarray, np.ndarray]:
        support, pred_a, pred_b, tp_a, tp_b = (s[:, i * k:(i + 1) * k] for i in range(5))
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
    yc, ac, bc = codes[:n], codes[n:2 * n], codes[2 * n:]
    cells, row_cell = np.unique((yc * k + ac) * k + bc, return_inverse=True)
    cy, ca, cb = cells // (k * k), (cells // k) % k, cells % k
    onehot = np.eye(k)
    features = np.hstack([onehot[cy], onehot[ca], onehot[cb], onehot[cy] * (cy == ca)[:, None],
                          onehot[cy] * (cy == cb)[:, None]])
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


def _plan(metric_name: str | None, per_row: Callable[[Any, Any], Any] | None, y: np.ndarray, a: np.ndarray,
          b: np.ndarray, classes: Sequence[Any] | None) -> _Plan | None:
    if per_row is not None:
        features = np.column_stack((np.asarray(per_row(y, a), dtype="float64"),
                                    np.asarray(per_row(y, b), dtype="float64")))
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


def _vectorised(plan: _Plan, rng: np.random.Generator, n: int, n_resamples: int) -> tuple[np.ndarray, np.ndarray]:
    out_a, out_b = [], []
    for idx in _index_blocks(rng, n, n_resamples):
        units = idx if plan.cells is None else plan.cells[idx]
        counts = _unit_counts(units, plan.features.shape[0])
        va, vb = plan.direct(counts) if plan.direct else plan.stat(counts @ plan.features, n)
        out_a.append(va)
        out_b.append(vb)
    return np.concatenate(out_a), np.concatenate(out_b)


def _multinomial(plan: _Plan, rng: np.random.Generator, n: int, n_resamples: int) -> tuple[np.ndarray, np.ndarray]:
    assert plan.cells is not None
    freq = np.bincount(plan.cells, minlength=plan.features.shape[0]) / n
    block = max(1, BLOCK_CELLS // plan.features.shape[0])
    out_a, out_b = [], []
    for start in range(0, n_resamples, block):
        counts = rng.multinomial(n, freq, size=min(block, n_resamples - start)).astype("float64")
        va, vb = plan.stat(counts @ plan.features, n)
        out_a.append(va)
        out_b.append(vb)
    return np.concatenate(out_a), np.concatenate(out_b)


def _loop(metric: Callable[[Any, Any], float], y: np.ndarray, a: np.ndarray, b: np.ndarray,
          rng: np.random.Generator, n_resamples: int) -> tuple[np.ndarray, np.ndarray]:
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


def paired_bootstrap(y_true: Any, pred_candidate: Any, pred_champion: Any, metric: Callable[[Any, Any], float],
                     greater_is_better: bool, n_resamples: int = 1000, seed: int = 42, max_rows: int = 20000,
                     confidence: float = 0.95, *, metric_name: str | None = None,
                     per_row: Callable[[Any, Any], Any] | None = None,
                     classes: Sequence[Any] | None = None) -> BootstrapResult:
    """Percentile interval of ``metric(y, candidate) - metric(y, champion)`` over paired resamples.

    Parameters
    ----------
    y_true, pred_candidate, pred_champion : same number of rows; predictions are labels/values or
        probability arrays (n_rows x n_classes), indexed by row either way.
    metric : ``f(y_true, pred) -> float``; it computes ``observed`` on all rows and every resample of
        the loop path. A resample where it raises ``ValueError`` or returns NaN is skipped and counted.
    greater_is_better : the metric's direction, for ``direction``.
    n_resamples, seed, confidence : the bootstrap's size, seed and two-sided level.
    max_rows : rows scored per resample on the loop and per-row paths; above, a seeded subsample of
        ``max_rows`` rows is resampled and the interval is shifted to centre on the all-rows difference
        (so it is wider than an all-rows bootstrap: conservative). Label metrics use all rows at any size.
    metric_name : a name from ``LABEL_METRICS`` or ``ROW_METRICS`` selects the vectorised path, which
        must compute the same metric as ``metric`` (sklearn's definitions, ``zero_division=0``).
    per_row : instead, ``f(y_true, pred) -> per-row losses`` whose mean is the metric.
    classes : column order of probability arrays (log_loss), and ``classes[1]`` is the positive label of
        the binary ``precision``/``recall``/``f1``/``roc_auc`` (for log_loss, by default the sorted labels
        of ``y_true``; the binary metrics need it). Multiclass ROC AUC takes the loop.
    """
    y = np.asarray(y_true)
    a = np.asarray(pred_candidate)
    b = np.asarray(pred_champion)
    n = y.shape[0]
    if a.shape[0] != n or b.shape[0] != n:
        raise ValueError(f"y_true, pred_candidate and pred_champion have {n}, {a.shape[0]} and {b.shape[0]} rows")
    if n == 0:
        raise ValueError("no rows to bootstrap")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    observed = float(metric(y, a)) - float(metric(y, b))
    rng = np.random.default_rng(seed)
    plan = _plan(metric_name, per_row, y, a, b, classes)
    shift = 0.0
    rows_used = n
    if plan is not None and plan.cells is not None and n > min(max_rows, INDEX_ROWS):
        method = "cells"
        va, vb = _multinomial(plan, rng, n, n_resamples)
    else:
        if n > max_rows:
            keep = np.sort(rng.choice(n, size=max_rows, replace=False))
            y, a, b = y[keep], a[keep], b[keep]
            rows_used = max_rows
            shift = observed - (float(metric(y, a)) - float(metric(y, b)))
            plan = _plan(metric_name, per_row, y, a, b, classes)
        if plan is not None:
            method = "cells" if plan.cells is not None else "rows"
            va, vb = _vectorised(plan, rng, rows_used, n_resamples)
        else:
            method = "loop"
            va, vb = _loop(metric, y, a, b, rng, n_resamples)
    diffs = va - vb
    finite = np.isfinite(diffs)
    diffs = diffs[finite]
    alpha = (1 - confidence) / 2
    if diffs.size:
        low, high = (float(q) + shift for q in np.quantile(diffs, [alpha, 1 - alpha]))
    else:
        low = high = math.nan
    own_shift = 0.0
    if rows_used < n:  # the subsample's own value, moved to the all-rows value like the difference
        own_shift = float(metric(np.asarray(y_true), np.asarray(pred_candidate))) - float(metric(y, a))
    return BootstrapResult(observed=observed, low=low, high=high, confidence=confidence,
                           greater_is_better=greater_is_better, n_resamples=n_resamples,
                           valid_resamples=int(diffs.size), rows=n, rows_used=rows_used, method=method,
                           metric=metric_name, draws=diffs + shift, values=va[finite] + own_shift)


# ------------------------------------------------------------------------------ one sample, two samples


def percentile_interval(draws: np.ndarray, confidence: float) -> tuple[float, float]:
    """The two-sided percentile interval of ``draws`` (NaN when there are none)."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    draws = draws[np.isfinite(draws)]
    if not draws.size:
        return math.nan, math.nan
    alpha = (1 - confidence) / 2
    low, high = np.quantile(draws, [alpha, 1 - alpha])
    return float(low), float(high)


def bootstrap_values(y_true: Any, pred: Any, metric: Callable[[Any, Any], float], n_resamples: int = 1000,
                     seed: int = 42, max_rows: int = 20000, *, metric_name: str | None = None,
                     per_row: Callable[[Any, Any], Any] | None = None,
                     classes: Sequence[Any] | None = None,
                     rng: np.random.Generator | None = None) -> tuple[float, np.ndarray, str]:
    """One model's metric on all rows and on ``n_resamples`` bootstrap resamples of them.

    The same machinery as ``paired_bootstrap`` (the model paired with itself): the vectorised plans,
    the multinomial over cells above ``INDEX_ROWS`` rows, the loop otherwise, and above ``max_rows`` rows
    (loop and per-row paths) a seeded subsample whose values are shifted to centre on the all-rows value.
    Returns ``(observed, values, method)``; a resample where the metric is undefined is NaN in ``values``.
    """
    y = np.asarray(y_true)
    p = np.asarray(pred)
    n = y.shape[0]
    if p.shape[0] != n:
        raise ValueError(f"y_true and pred have {n} and {p.shape[0]} rows")
    if n == 0:
        raise ValueError("no rows to bootstrap")
    observed = float(metric(y, p))
    rng = np.random.default_rng(seed) if rng is None else rng
    plan = _plan(metric_name, per_row, y, p, p, classes)
    shift = 0.0
    if plan is not None and plan.cells is not None and n > min(max_rows, INDEX_ROWS):
        values, _ = _multinomial(plan, rng, n, n_resamples)
        return observed, values, "cells"
    if n > max_rows:
        keep = np.sort(rng.choice(n, size=max_rows, replace=False))
        y, p = y[keep], p[keep]
        shift = observed - float(metric(y, p))
        plan = _plan(metric_name, per_row, y, p, p, classes)
    if plan is not None:
        values, _ = _vectorised(plan, rng, y.shape[0], n_resamples)
        method = "cells" if plan.cells is not None else "rows"
    else:
        values, _ = _loop(metric, y, p, p, rng, n_resamples)
        method = "loop"
    return observed, values + shift, method


@dataclass
class TwoSampleResult:
    """The interval of ``metric(fresh) − metric(reference)`` from independent resamples of each."""

    reference: float  # the metric on all reference rows
    fresh: float  # on all fresh rows
    low: float
    high: float
    confidence: float
    greater_is_better: bool
    n_resamples: int
    valid_resamples: int
    reference_rows: int
    fresh_rows: int
    method: str
    metric: str | None = None
    draws: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def observed(self) -> float:
        return self.fresh - self.reference

    def interval(self, confidence: float | None = None) -> tuple[float, float]:
        if confidence is None or confidence == self.confidence or self.draws is None:
            return self.low, self.high
        return percentile_interval(self.draws, confidence)

    def to_dict(self) -> dict[str, Any]:
        def num(v: float) -> float | None:
            return float(v) if math.isfinite(v) else None

        return {"metric": self.metric, "reference": num(self.reference), "fresh": num(self.fresh),
                "observed": num(self.observed), "low": num(self.low), "high": num(self.high),
                "confidence": self.confidence, "greater_is_better": self.greater_is_better,
                "n_resamples": self.n_resamples, "valid_resamples": self.valid_resamples,
                "reference_rows": self.reference_rows, "fresh_rows": self.fresh_rows, "method": self.method}


def two_sample_bootstrap(y_reference: Any, pred_reference: Any, y_fresh: Any, pred_fresh: Any,
                         metric: Callable[[Any, Any], float], greater_is_better: bool, n_resamples: int = 1000,
                         seed: int = 42, max_rows: int = 20000, confidence: float = 0.95, *,
                         metric_name: str | None = None, per_row: Callable[[Any, Any], Any] | None = None,
                         classes: Sequence[Any] | None = None) -> TwoSampleResult:
    """Percentile interval of ``metric(fresh) − metric(reference)``, each sample resampled on its own.

    For the monitor: the reference rows (the holdout at publish, with the model's predictions then) and the
    fresh rows are different rows, so they cannot be paired; drawing each independently puts the noise of
    *both* estimates into the interval (a fixed reference number would ignore its own). The i-th reference
    resample is paired with the i-th fresh resample; parameters as in ``paired_bootstrap``.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    rng = np.random.default_rng(seed)
    ref, ref_values, ref_method = bootstrap_values(y_reference, pred_reference, metric, n_resamples,
                                                   max_rows=max_rows, metric_name=metric_name, per_row=per_row,
                                                   classes=classes, rng=rng)
    new, new_values, new_method = bootstrap_values(y_fresh, pred_fresh, metric, n_resamples, max_rows=max_rows,
                                                   metric_name=metric_name, per_row=per_row, classes=classes,
                                                   rng=rng)
    diffs = new_values - ref_values
    diffs = diffs[np.isfinite(diffs)]
    low, high = percentile_interval(diffs, confidence)
    method = ref_method if ref_method == new_method else f"{ref_method}+{new_method}"
    return TwoSampleResult(reference=ref, fresh=new, low=low, high=high, confidence=confidence,
                           greater_is_better=greater_is_better, n_resamples=n_resamples,
                           valid_resamples=int(diffs.size), reference_rows=int(np.asarray(y_reference).shape[0]),
                           fresh_rows=int(np.asarray(y_fresh).shape[0]), method=method, metric=metric_name,
                           draws=diffs)

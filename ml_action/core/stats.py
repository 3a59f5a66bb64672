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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ml_action.core.resample import INDEX_ROWS, draw_loop, draw_multinomial, draw_vectorised, make_plan, plan_values


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

        return {
            "metric": self.metric,
            "observed": num(self.observed),
            "low": num(self.low),
            "high": num(self.high),
            "confidence": self.confidence,
            "greater_is_better": self.greater_is_better,
            "n_resamples": self.n_resamples,
            "valid_resamples": self.valid_resamples,
            "skipped": self.skipped,
            "rows": self.rows,
            "rows_used": self.rows_used,
            "method": self.method,
            "significant": self.significant,
            "direction": self.direction,
            "whole_interval_regression": self.whole_interval_regression,
        }


def paired_bootstrap(
    y_true: Any,
    pred_candidate: Any,
    pred_champion: Any,
    metric: Callable[[Any, Any], float],
    greater_is_better: bool,
    n_resamples: int = 1000,
    seed: int = 42,
    max_rows: int = 20000,
    confidence: float = 0.95,
    *,
    metric_name: str | None = None,
    per_row: Callable[[Any, Any], Any] | None = None,
    classes: Sequence[Any] | None = None,
) -> BootstrapResult:
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
    plan = make_plan(metric_name, per_row, y, a, b, classes)
    if plan is not None and plan.cells is not None:  # label metrics: from the cells' counts, as the resamples are
        all_rows = np.bincount(plan.cells, minlength=plan.features.shape[0]).astype("float64")[None, :]
        va0, vb0 = plan_values(plan, all_rows, n)
        observed = float(va0[0]) - float(vb0[0])
    else:
        observed = float(metric(y, a)) - float(metric(y, b))
    rng = np.random.default_rng(seed)
    shift = 0.0
    rows_used = n
    if plan is not None and plan.cells is not None and n > min(max_rows, INDEX_ROWS):
        method = "cells"
        va, vb = draw_multinomial(plan, rng, n, n_resamples)
    else:
        if n > max_rows:
            keep = np.sort(rng.choice(n, size=max_rows, replace=False))
            y, a, b = y[keep], a[keep], b[keep]
            rows_used = max_rows
            shift = observed - (float(metric(y, a)) - float(metric(y, b)))
            plan = make_plan(metric_name, per_row, y, a, b, classes)
        if plan is not None:
            method = "cells" if plan.cells is not None else "rows"
            va, vb = draw_vectorised(plan, rng, rows_used, n_resamples)
        else:
            method = "loop"
            va, vb = draw_loop(metric, y, a, b, rng, n_resamples)
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
    return BootstrapResult(
        observed=observed,
        low=low,
        high=high,
        confidence=confidence,
        greater_is_better=greater_is_better,
        n_resamples=n_resamples,
        valid_resamples=int(diffs.size),
        rows=n,
        rows_used=rows_used,
        method=method,
        metric=metric_name,
        draws=diffs + shift,
        values=va[finite] + own_shift,
    )


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


def bootstrap_values(
    y_true: Any,
    pred: Any,
    metric: Callable[[Any, Any], float],
    n_resamples: int = 1000,
    seed: int = 42,
    max_rows: int = 20000,
    *,
    metric_name: str | None = None,
    per_row: Callable[[Any, Any], Any] | None = None,
    classes: Sequence[Any] | None = None,
    rng: np.random.Generator | None = None,
) -> tuple[float, np.ndarray, str]:
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
    plan = make_plan(metric_name, per_row, y, p, p, classes)
    shift = 0.0
    if plan is not None and plan.cells is not None and n > min(max_rows, INDEX_ROWS):
        values, _ = draw_multinomial(plan, rng, n, n_resamples)
        return observed, values, "cells"
    if n > max_rows:
        keep = np.sort(rng.choice(n, size=max_rows, replace=False))
        y, p = y[keep], p[keep]
        shift = observed - float(metric(y, p))
        plan = make_plan(metric_name, per_row, y, p, p, classes)
    if plan is not None:
        values, _ = draw_vectorised(plan, rng, y.shape[0], n_resamples)
        method = "cells" if plan.cells is not None else "rows"
    else:
        values, _ = draw_loop(metric, y, p, p, rng, n_resamples)
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

        return {
            "metric": self.metric,
            "reference": num(self.reference),
            "fresh": num(self.fresh),
            "observed": num(self.observed),
            "low": num(self.low),
            "high": num(self.high),
            "confidence": self.confidence,
            "greater_is_better": self.greater_is_better,
            "n_resamples": self.n_resamples,
            "valid_resamples": self.valid_resamples,
            "reference_rows": self.reference_rows,
            "fresh_rows": self.fresh_rows,
            "method": self.method,
        }


def two_sample_bootstrap(
    y_reference: Any,
    pred_reference: Any,
    y_fresh: Any,
    pred_fresh: Any,
    metric: Callable[[Any, Any], float],
    greater_is_better: bool,
    n_resamples: int = 1000,
    seed: int = 42,
    max_rows: int = 20000,
    confidence: float = 0.95,
    *,
    metric_name: str | None = None,
    per_row: Callable[[Any, Any], Any] | None = None,
    classes: Sequence[Any] | None = None,
) -> TwoSampleResult:
    """Percentile interval of ``metric(fresh) − metric(reference)``, each sample resampled on its own.

    For the monitor: the reference rows (the holdout at publish, with the model's predictions then) and the
    fresh rows are different rows, so they cannot be paired; drawing each independently puts the noise of
    *both* estimates into the interval (a fixed reference number would ignore its own). The i-th reference
    resample is paired with the i-th fresh resample; parameters as in ``paired_bootstrap``.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    rng = np.random.default_rng(seed)
    ref, ref_values, ref_method = bootstrap_values(
        y_reference,
        pred_reference,
        metric,
        n_resamples,
        max_rows=max_rows,
        metric_name=metric_name,
        per_row=per_row,
        classes=classes,
        rng=rng,
    )
    new, new_values, new_method = bootstrap_values(
        y_fresh,
        pred_fresh,
        metric,
        n_resamples,
        max_rows=max_rows,
        metric_name=metric_name,
        per_row=per_row,
        classes=classes,
        rng=rng,
    )
    diffs = new_values - ref_values
    diffs = diffs[np.isfinite(diffs)]
    low, high = percentile_interval(diffs, confidence)
    method = ref_method if ref_method == new_method else f"{ref_method}+{new_method}"
    return TwoSampleResult(
        reference=ref,
        fresh=new,
        low=low,
        high=high,
        confidence=confidence,
        greater_is_better=greater_is_better,
        n_resamples=n_resamples,
        valid_resamples=int(diffs.size),
        reference_rows=int(np.asarray(y_reference).shape[0]),
        fresh_rows=int(np.asarray(y_fresh).shape[0]),
        method=method,
        metric=metric_name,
        draws=diffs,
    )

"""Data checks: profile a frame, compare it with the champion's stored profile, warn about leakage.

Owns ``profile_frame`` (a bounded, JSON-serializable summary kept in the manifest, so drift can be
measured later without the old data), ``compare_profiles`` (schema diff, null-rate changes, new
categories, per-column drift tests chosen as Evidently does by default, label shift, dataset drift
share) and ``leakage_warnings`` (train/holdout duplicate rows, single features that give the label away).

Test choice (Evidently's ``get_stattest`` default): with at most 1000 non-null reference values,
Kolmogorov-Smirnov for numeric columns with more than 5 distinct values, else chi-square (z-test for
at most 2 values), drifted when p < 0.05; above 1000, Wasserstein distance divided by the reference
standard deviation for numeric columns with more than 5 values, else Jensen-Shannon distance (natural
log), drifted when >= 0.1. Pure: no network, no environment.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

PROFILE_VERSION = 1
N_QUANTILES = 101
TOP_CATEGORIES = 100
DISCRETE_MAX = 100  # numeric columns with at most this many distinct values also keep exact value counts
SAMPLE_BUDGET = 60_000  # numeric sample values shared by all columns of one profile (bounds the JSON size)
QUANTILE_SAMPLE = 100_000  # values sorted per numeric column for quantiles and the distinct count
MIN_COLUMN_SAMPLE = 1000  # ... but never fewer than this per column, so small references stay exact
SMALL_REFERENCE = 1000  # Evidently: <= 1000 reference values -> p-value tests, above -> distances
P_THRESHOLD = 0.05
DISTANCE_THRESHOLD = 0.1
CURRENT_CAP = 100_000  # values of a current DataFrame column used in a test (seeded subsample above)
NULL_POINTS = 0.05
EXAMPLES = 20  # new category names listed per column
LEAK_ROWS = 50_000
DUPLICATE_ROWS = 1_000_000
LEAK_SCORE = 0.99


# ----------------------------------------------------------------------------------------- profile


def column_kind(series: pd.Series) -> str:
    """The simple kind of a column: ``numeric``, ``categorical``, ``boolean`` or ``datetime``."""
    from pandas.api import types

    if types.is_bool_dtype(series.dtype):
        return "boolean"
    if types.is_datetime64_any_dtype(series.dtype):
        return "datetime"
    if types.is_numeric_dtype(series.dtype):
        return "numeric"
    return "categorical"


def _key(value: Any) -> str:
    """A category as a JSON key; integral floats read as integers so ``1`` and ``1.0`` agree."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    return str(value)


def _category_counts(series: pd.Series) -> dict[str, int]:
    """All non-null categories with their counts, most frequent first."""
    counts: dict[str, int] = {}
    vc = series.value_counts(dropna=True, sort=True)
    for value, count in zip(vc.index.tolist(), vc.to_numpy().tolist(), strict=True):
        if count:
            k = _key(value)
            counts[k] = counts.get(k, 0) + int(count)
    return counts


def _finite(series: pd.Series) -> np.ndarray:
    values = series.to_numpy(dtype="float64", na_value=np.nan)
    return values[np.isfinite(values)]


def _round_sig(values: np.ndarray, digits: int = 4) -> np.ndarray:
    """Round to ``digits`` significant digits so each value prints short in JSON."""
    with np.errstate(divide="ignore"):
        magnitude = np.floor(np.log10(np.abs(values)))
    magnitude[~np.isfinite(magnitude)] = 0
    decimals = (digits - 1 - magnitude).astype(np.int64)
    out = values.copy()
    pos = decimals >= 0
    scale = 10.0 ** np.abs(decimals)  # exact powers of ten, so the division/multiplication rounds once
    out[pos] = np.round(values[pos] * scale[pos]) / scale[pos]
    out[~pos] = np.round(values[~pos] / scale[~pos]) * scale[~pos]
    return out


def _plain(value: float) -> int | float:
    return int(value) if float(value).is_integer() and abs(value) < 2**53 else float(value)


def _numeric_profile(series: pd.Series, sample_rows: np.ndarray | None, exact: bool,
                     rng: np.random.Generator) -> dict[str, Any]:
    finite = _finite(series)
    out: dict[str, Any] = {"kind": "numeric", "nulls": 1.0 - finite.size / max(len(series), 1)}
    if finite.size == 0:
        out.update(count=0, n_unique=0)
        return out
    # quantiles and the distinct count come from a sorted seeded sample: sorting every value of every
    # column dominated the cost of a profile at a million rows
    if finite.size <= QUANTILE_SAMPLE:
        x = np.sort(finite)
    else:
        x = np.sort(finite[rng.integers(0, finite.size, QUANTILE_SAMPLE)])
    positions = np.linspace(0, x.size - 1, N_QUANTILES)
    lo = np.floor(positions).astype(np.int64)
    hi = np.minimum(lo + 1, x.size - 1)
    quantiles = x[lo] + (positions - lo) * (x[hi] - x[lo])
    distinct = int(np.count_nonzero(np.diff(x)) + 1)
    out.update(count=int(finite.size), n_unique=distinct, n_unique_at_least=finite.size > x.size,
               mean=float(finite.mean()), std=float(finite.std()), min=float(finite.min()), max=float(finite.max()),
               quantiles=[float(q) for q in quantiles])
    out["quantiles"][0], out["quantiles"][-1] = out["min"], out["max"]
    if distinct <= DISCRETE_MAX:  # few values in the sample: count them all exactly (hashing is cheap here)
        vc = pd.Series(finite).value_counts(sort=False).sort_index()
        out["n_unique"], out["n_unique_at_least"] = int(vc.size), False
        if vc.size <= DISCRETE_MAX:
            out["value_counts"] = [[_plain(v), int(c)] for v, c in zip(vc.index.tolist(), vc.tolist(), strict=True)]
    all_values = series.to_numpy(dtype="float64", na_value=np.nan)
    sample = all_values if sample_rows is None else all_values[sample_rows]
    sample = sample[np.isfinite(sample)]
    out["sample"] = (sample if exact else _round_sig(sample)).tolist()
    out["sample_exact"] = exact
    return out


def _categorical_profile(series: pd.Series, kind: str) -> dict[str, Any]:
    counts = _category_counts(series)
    total = sum(counts.values())
    top = dict(list(counts.items())[:TOP_CATEGORIES])
    return {
        "kind": kind, "nulls": float(series.isna().mean()) if len(series) else 0.0, "count": total,
        "n_unique": len(counts), "counts": top, "other": total - sum(top.values()),
    }


def _datetime_profile(series: pd.Series) -> dict[str, Any]:
    valid = series.dropna()
    out: dict[str, Any] = {"kind": "datetime", "nulls": float(series.isna().mean()) if len(series) else 0.0,
                           "count": int(valid.size)}
    if valid.size:
        out.update(min=valid.min().isoformat(), max=valid.max().isoformat())
    return out


def infer_label_task(column: dict[str, Any]) -> str:
    """``classification`` for non-numeric targets or numeric ones with at most 20 values, else ``regression``."""
    if column["kind"] != "numeric" or column.get("n_unique", 0) <= 20:
        return "classification"
    return "regression"


def _label_profile(column: dict[str, Any]) -> dict[str, Any]:
    task = infer_label_task(column)
    if task == "classification":
        if column["kind"] == "numeric":
            counts = {_key(v): c for v, c in column.get("value_counts", [])}
            return {"task": task, "counts": counts, "other": 0}
        return {"task": task, "counts": column["counts"], "other": column["other"]}
    keep = ("count", "mean", "std", "min", "max", "quantiles")
    return {"task": task, **{k: column[k] for k in keep if k in column}}


def profile_frame(df: pd.DataFrame, target: str | None, seed: int, sample_cap: int = 5000) -> dict[str, Any]:
    """A bounded, JSON-serializable profile of ``df`` for later drift checks.

    Parameters
    ----------
    df : the data (training rows, typically).
    target : the label column, profiled as a label distribution too; ``None`` when there is none.
    seed : seeds the row sample kept for numeric columns.
    sample_cap : most sample values kept per numeric column. The columns also share a budget of
        ``SAMPLE_BUDGET`` values (never fewer than ``MIN_COLUMN_SAMPLE`` each), so the JSON stays small.

    Returns
    -------
    dict with ``version``, ``rows``, ``seed``, ``target``, ``columns`` (name -> column profile) and
    ``label``. Numeric columns keep the rate of nulls (NaN and infinities), ``count``, ``mean``, population
    ``std``, ``min``, ``max`` (all exact), 101 ``quantiles`` and ``n_unique`` (exact up to 100,000 values;
    above, from a seeded sample of 100,000, and ``n_unique_at_least`` is true unless the column has at most
    100 distinct values, which are then counted exactly in ``value_counts``), and a seeded ``sample`` of the
    finite values: all of them, unrounded, when the frame has at most ``sample_cap`` rows (``sample_exact``),
    else rounded to 4 significant digits. Categorical and boolean columns keep the ``counts`` of the top 100
    categories, an ``other`` count and ``n_unique``. Datetime columns keep ``min`` and ``max``.
    """
    rows = len(df)
    numeric = [c for c in df.columns if column_kind(df[c]) == "numeric"]
    cap = min(sample_cap, max(MIN_COLUMN_SAMPLE, SAMPLE_BUDGET // max(len(numeric), 1)))
    exact = rows <= cap
    sample_rows = None
    rng = np.random.default_rng(seed)
    if not exact:
        sample_rows = np.sort(rng.choice(rows, size=cap, replace=False))
    columns: dict[str, dict[str, Any]] = {}
    for name in df.columns:
        series = df[name]
        kind = column_kind(series)
        if kind == "numeric":
            columns[str(name)] = _numeric_profile(series, sample_rows, exact, rng)
        elif kind == "datetime":
            columns[str(name)] = _datetime_profile(series)
        else:
            columns[str(name)] = _categorical_profile(series, kind)
    target = None if target is None else str(target)
    label = _label_profile(columns[target]) if target is not None and target in columns else None
    return {"version": PROFILE_VERSION, "rows": rows, "seed": seed, "sample_cap": cap, "target": target,
            "columns": columns, "label": label}


# ----------------------------------------------------------------------------------------- compare


@dataclass
class _View:
    """What a test needs from one side of one column, from a stored profile or a live column."""

    kind: str
    rows: int
    nulls: float
    count: int  # non-null values
    n_unique: int
    std: float = 0.0
    values: np.ndarray | None = None  # finite numeric values (all, or a sample)
    counts: dict[Any, int] | None = None  # categories (or discrete numeric values) -> count
    other: int = 0  # values outside ``counts``


def _view_from_profile(column: dict[str, Any], rows: int) -> _View:
    view = _View(kind=column["kind"], rows=rows, nulls=float(column.get("nulls", 0.0)),
                 count=int(column.get("count", 0)), n_unique=int(column.get("n_unique", 0)),
                 std=float(column.get("std", 0.0)))
    if view.kind == "numeric":
        if "sample" in column:
            view.values = np.asarray(column["sample"], dtype="float64")
        if "value_counts" in column:
            view.counts = {float(v): int(c) for v, c in column["value_counts"]}
    elif view.kind in ("categorical", "boolean"):
        view.counts = dict(column["counts"])
        view.other = int(column["other"])
    return view


def _view_from_series(series: pd.Series, ref: _View | None, seed: int) -> _View:
    kind = column_kind(series)
    rows = len(series)
    if kind == "numeric":
        finite = _finite(series)
        view = _View(kind=kind, rows=rows, nulls=1.0 - finite.size / max(rows, 1), count=int(finite.size),
                     n_unique=0, std=float(finite.std()) if finite.size else 0.0)
        if ref is not None and ref.counts is not None:  # reference is discrete: count values exactly
            uniq, cnt = np.unique(finite, return_counts=True)
            view.n_unique = int(uniq.size)
            if uniq.size <= DISCRETE_MAX:
                view.counts = {float(v): int(c) for v, c in zip(uniq.tolist(), cnt.tolist(), strict=True)}
        else:
            view.n_unique = DISCRETE_MAX + 1  # only compared with "> 5"; not needed exactly
        if finite.size > CURRENT_CAP:
            finite = np.random.default_rng(seed).choice(finite, size=CURRENT_CAP, replace=False)
        view.values = finite
        return view
    nulls = float(series.isna().mean()) if rows else 0.0
    if kind == "datetime":
        return _View(kind=kind, rows=rows, nulls=nulls, count=int(series.notna().sum()), n_unique=0)
    counts = _category_counts(series)
    return _View(kind=kind, rows=rows, nulls=nulls, count=sum(counts.values()), n_unique=len(counts), counts=counts)


def _align(ref: _View, cur: _View) -> tuple[np.ndarray, np.ndarray, list[Any]]:
    """Reference and current counts over the same keys, plus the current keys that are surely new.

    A key listed on one side only, when the other side lumped its rarer categories into ``other``, may be
    one of those: its count moves into a shared ``other`` bucket instead. A current key absent from a
    complete reference list is new (Evidently's chi-square then sees an expected count of 0).
    """
    ref_counts = ref.counts or {}
    cur_counts = cur.counts or {}
    keys: list[Any] = []
    ref_arr: list[float] = []
    cur_arr: list[float] = []
    ref_other, cur_other = ref.other, cur.other
    new: list[Any] = []
    for k, c in ref_counts.items():
        if k not in cur_counts and cur.other:
            ref_other += c
        else:
            keys.append(k)
            ref_arr.append(c)
            cur_arr.append(cur_counts.get(k, 0))
    for k, c in cur_counts.items():
        if k in ref_counts:
            continue
        if ref.other:
            cur_other += c
        else:
            new.append(k)
            keys.append(k)
            ref_arr.append(0)
            cur_arr.append(c)
    if ref_other or cur_other:
        ref_arr.append(ref_other)
        cur_arr.append(cur_other)
    return np.asarray(ref_arr, dtype="float64"), np.asarray(cur_arr, dtype="float64"), new


def chisquare_test(ref_counts: np.ndarray, cur_counts: np.ndarray) -> tuple[float, float]:
    """Evidently's chi-square: expected = reference counts scaled to the current total. (statistic, p)."""
    from scipy import stats

    expected = ref_counts * (cur_counts.sum() / ref_counts.sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        result = stats.chisquare(cur_counts, expected)
    return float(result.statistic), float(result.pvalue)


def z_test(ref_counts: np.ndarray, cur_counts: np.ndarray) -> tuple[float, float]:
    """Evidently's two-proportion z-test on the share of all but the first key. (statistic, p)."""
    from scipy import stats

    n1, n2 = ref_counts.sum(), cur_counts.sum()
    if np.count_nonzero(ref_counts + cur_counts) <= 1:
        return 0.0, 1.0
    p1, p2 = 1 - ref_counts[0] / n1, 1 - cur_counts[0] / n2
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    z = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return float(z), float(2 * (1 - stats.norm.cdf(abs(z))))


def jensenshannon_test(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """Jensen-Shannon distance (natural log, as Evidently) between the two category distributions."""
    from scipy.spatial import distance

    return float(distance.jensenshannon(ref_counts / ref_counts.sum(), cur_counts / cur_counts.sum()))


def wasserstein_norm(ref_values: np.ndarray, cur_values: np.ndarray, ref_std: float) -> float:
    """Wasserstein-1 distance divided by the reference standard deviation (at least 0.001), as Evidently.

    Equal to ``scipy.stats.wasserstein_distance(ref, cur) / std`` (the area between the two empirical
    CDFs), computed directly because scipy's general version is several times slower on large columns.
    """
    u, v = np.sort(ref_values), np.sort(cur_values)
    both = np.sort(np.concatenate((u, v)), kind="stable")  # two sorted runs: timsort merges them in O(n)
    deltas = np.diff(both)
    u_cdf = np.searchsorted(u, both[:-1], side="right") / u.size
    v_cdf = np.searchsorted(v, both[:-1], side="right") / v.size
    return float(np.sum(np.abs(u_cdf - v_cdf) * deltas) / max(ref_std, 0.001))


def choose_test(kind: str, reference_count: int, n_values: int) -> str:
    """Evidently's default test for a column: ``ks``, ``chisquare``, ``z``, ``wasserstein`` or ``jensenshannon``."""
    numeric = kind == "numeric"
    if reference_count <= SMALL_REFERENCE:
        if numeric and n_values > 5:
            return "ks"
        return "chisquare" if n_values > 2 else "z"
    return "wasserstein" if numeric and n_values > 5 else "jensenshannon"


@dataclass
class ColumnDrift:
    """One column's drift test: which test, its statistic, p-value (tests that have one), threshold, verdict."""

    column: str
    kind: str
    test: str
    statistic: float | None
    p_value: float | None
    threshold: float
    drifted: bool
    reference_count: int = 0
    current_count: int = 0

    @property
    def score(self) -> float | None:
        """The number compared with ``threshold``: the p-value, or the distance."""
        return self.p_value if self.p_value is not None else self.statistic

    @property
    def strength(self) -> float:
        """Comparable across tests (1 = at the threshold, larger = more drift): -log p / -log threshold
        for p-value tests, distance / threshold for distances."""
        if self.p_value is not None:
            return -math.log10(max(self.p_value, 1e-300)) / -math.log10(self.threshold)
        if self.statistic is None or not math.isfinite(self.statistic):
            return 0.0
        return self.statistic / self.threshold

    def to_dict(self) -> dict[str, Any]:
        return {"column": self.column, "kind": self.kind, "test": self.test, "statistic": _json_float(self.statistic),
                "p_value": _json_float(self.p_value), "threshold": self.threshold, "drifted": self.drifted,
                "strength": _json_float(self.strength), "reference_count": self.reference_count,
                "current_count": self.current_count}


def _json_float(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(value)


TEST_LABELS = {"ks": "Kolmogorov-Smirnov p-value", "chisquare": "chi-square p-value", "z": "Z-test p-value",
               "wasserstein": "Wasserstein distance (normed)", "jensenshannon": "Jensen-Shannon distance"}


def _test_column(name: str, ref: _View, cur: _View, kind: str) -> ColumnDrift | None:
    if ref.count == 0 or cur.count == 0:
        return None
    if kind == "numeric" and (ref.counts is None or cur.counts is None):
        n_values = max(ref.n_unique, cur.n_unique)  # some side has > 100 values
    else:
        n_values = len(set(ref.counts or {}) | set(cur.counts or {})) + (1 if ref.other or cur.other else 0)
    test = choose_test(kind, ref.count, n_values)
    row = ColumnDrift(column=name, kind=kind, test=test, statistic=None, p_value=None, threshold=P_THRESHOLD,
                      drifted=False, reference_count=ref.count, current_count=cur.count)
    if test == "ks":
        from scipy import stats

        result = stats.ks_2samp(ref.values, cur.values)
        row.statistic, row.p_value = float(result.statistic), float(result.pvalue)
    elif test == "wasserstein":
        row.statistic, row.threshold = wasserstein_norm(ref.values, cur.values, ref.std), DISTANCE_THRESHOLD
    else:
        ref_arr, cur_arr, _ = _align(ref, cur)
        if test == "chisquare":
            row.statistic, row.p_value = chisquare_test(ref_arr, cur_arr)
        elif test == "z":
            row.statistic, row.p_value = z_test(ref_arr, cur_arr)
        else:
            row.statistic, row.threshold = jensenshannon_test(ref_arr, cur_arr), DISTANCE_THRESHOLD
    if row.p_value is not None:
        row.drifted = bool(row.p_value < row.threshold)
    else:
        row.drifted = bool(row.statistic is not None and row.statistic >= row.threshold)
    return row


@dataclass
class DriftResult:
    """The data section of a run: schema changes, null-rate changes, new categories, drift tests, label shift."""

    reference_rows: int
    current_rows: int
    columns: list[ColumnDrift]
    reference_columns: list[str]
    current_columns: list[str]
    drift_share: float = 0.5
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    kind_changed: list[dict[str, str]] = field(default_factory=list)
    null_changes: list[dict[str, Any]] = field(default_factory=list)
    new_categories: dict[str, dict[str, Any]] = field(default_factory=dict)
    label: ColumnDrift | None = None
    target: str | None = None

    @property
    def drifted_columns(self) -> list[str]:
        return [c.column for c in self.columns if c.drifted]

    @property
    def share(self) -> float:
        """Share of tested feature columns that drifted (0 when none could be tested)."""
        return len(self.drifted_columns) / len(self.columns) if self.columns else 0.0

    @property
    def dataset_drift(self) -> bool:
        return bool(self.columns) and self.share >= self.drift_share

    @property
    def schema_changed(self) -> bool:
        return bool(self.added or self.removed or self.kind_changed)

    def missing_features(self, used: Iterable[str]) -> list[str]:
        """The features the champion was trained on that the current data no longer has."""
        present = set(self.current_columns)
        return [f for f in used if f not in present]

    def top_drifted(self, n: int = 10) -> list[ColumnDrift]:
        """The ``n`` columns with the strongest drift (drifted first), for a chart."""
        return sorted(self.columns, key=lambda c: (not c.drifted, -c.strength, c.column))[:n]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-safe data for reports and action outputs (non-finite numbers become ``None``)."""
        return {
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "target": self.target,
            "drift_share": self.drift_share,
            "share": self.share,
            "dataset_drift": self.dataset_drift,
            "n_tested": len(self.columns),
            "drifted_columns": self.drifted_columns,
            "columns": [c.to_dict() for c in self.top_drifted(len(self.columns))],
            "schema": {"changed": self.schema_changed, "added": self.added, "removed": self.removed,
                       "kind_changed": self.kind_changed},
            "null_changes": self.null_changes,
            "new_categories": self.new_categories,
            "label": self.label.to_dict() if self.label else None,
            "tests": {t: TEST_LABELS[t] for t in sorted({c.test for c in self.columns}
                                                        | ({self.label.test} if self.label else set()))},
        }


def _label_view(side: _View, task: str) -> _View:
    """For classification the label is compared as categories (keys normalised as in profiles)."""
    if task != "classification" or side.kind != "numeric":
        return side
    counts = {_key(k): c for k, c in (side.counts or {}).items()}
    return _View(kind="categorical", rows=side.rows, nulls=side.nulls, count=side.count, n_unique=len(counts),
                 counts=counts)


def compare_profiles(reference: dict[str, Any], current: dict[str, Any] | pd.DataFrame, target: str | None,
                     drift_share: float = 0.5) -> DriftResult:
    """Compare the champion's stored profile with current data (a DataFrame or another profile).

    A DataFrame column is used whole up to ``CURRENT_CAP`` values (a seeded subsample above), category
    counts always whole. Columns whose kind changed are reported as schema changes and not tested;
    datetime columns are not tested. The target is excluded from the feature share and tested as the
    label shift instead.
    """
    seed = int(reference.get("seed", 0))
    target = None if target is None else str(target)
    ref_columns: dict[str, dict[str, Any]] = reference["columns"]
    ref_rows = int(reference["rows"])
    if isinstance(current, pd.DataFrame):
        by_name = {str(c): c for c in current.columns}  # profiles name columns as strings
        cur_names = list(by_name)
        cur_rows = len(current)
        cur_profile = None
    else:
        cur_names = list(current["columns"])
        cur_rows = int(current["rows"])
        cur_profile = current["columns"]
    result = DriftResult(reference_rows=ref_rows, current_rows=cur_rows, columns=[],
                         reference_columns=list(ref_columns), current_columns=cur_names,
                         drift_share=drift_share, target=target)
    result.added = [c for c in cur_names if c not in ref_columns]
    result.removed = [c for c in ref_columns if c not in set(cur_names)]
    for name in [c for c in ref_columns if c in set(cur_names)]:
        ref = _view_from_profile(ref_columns[name], ref_rows)
        if cur_profile is not None:
            cur = _view_from_profile(cur_profile[name], cur_rows)
        else:
            cur = _view_from_series(current[by_name[name]], ref, seed)
        if abs(cur.nulls - ref.nulls) > NULL_POINTS:
            result.null_changes.append({"column": name, "reference": ref.nulls, "current": cur.nulls,
                                        "change": cur.nulls - ref.nulls})
        if ref.kind != cur.kind:
            result.kind_changed.append({"column": name, "reference": ref.kind, "current": cur.kind})
            continue
        if name == target:
            task = infer_label_task(ref_columns[name])
            label_kind = "categorical" if task == "classification" else "numeric"
            result.label = _test_column(name, _label_view(ref, task), _label_view(cur, task), label_kind)
            continue
        if ref.kind == "datetime":
            continue
        kind = "numeric" if ref.kind == "numeric" else "categorical"
        if kind == "categorical":
            _, _, new = _align(ref, cur)
            if new:
                rows_new = sum((cur.counts or {})[k] for k in new)
                result.new_categories[name] = {"count": len(new), "rows": rows_new,
                                               "examples": [str(k) for k in new[:EXAMPLES]]}
        row = _test_column(name, ref, cur, kind)
        if row is not None:
            result.columns.append(row)
    return result


# ----------------------------------------------------------------------------------------- leakage


def _cap(df: pd.DataFrame, rows: int, seed: int) -> pd.DataFrame:
    return df if len(df) <= rows else df.sample(n=rows, random_state=seed)


def _row_hashes(frame: pd.DataFrame) -> np.ndarray:
    """One hash per row; cells pandas cannot hash (lists, dicts) are hashed by their text."""
    try:
        return pd.util.hash_pandas_object(frame, index=False).to_numpy()
    except TypeError:
        text = frame.astype({c: str for c in frame.columns if frame[c].dtype == object})
        return pd.util.hash_pandas_object(text, index=False).to_numpy()


def _duplicate_warning(train: pd.DataFrame, test: pd.DataFrame, seed: int) -> str | None:
    columns = [c for c in train.columns if c in set(test.columns)]
    if not columns or test.empty or train.empty:
        return None
    sampled = len(train) > DUPLICATE_ROWS or len(test) > DUPLICATE_ROWS
    train_h = _row_hashes(_cap(train[columns], DUPLICATE_ROWS, seed))
    test_h = _row_hashes(_cap(test[columns], DUPLICATE_ROWS, seed))
    duplicated = int(np.isin(test_h, train_h).sum())
    if not duplicated:
        return None
    where = " (in a sample of 1,000,000 rows per side)" if sampled else ""
    return (f"{duplicated:,} holdout rows ({duplicated / len(test_h):.1%}) also appear in the training rows{where}: "
            "the holdout score overstates performance on unseen data. Deduplicate before splitting.")


def _leak_message(column: str, how: str) -> str:
    return (f"Column '{column}' predicts the target almost perfectly on its own ({how}). "
            "Check that it is not derived from the label or only known after the outcome.")


def _binned_accuracy(x: np.ndarray, y_codes: np.ndarray, bins: int = 1024) -> float:
    """Accuracy of predicting each quantile bin's majority label: a cheap upper screen for a small tree."""
    edges = np.unique(np.quantile(x, np.linspace(0, 1, bins + 1)[1:-1]))
    cells = np.searchsorted(edges, x, side="right")
    k = int(y_codes.max()) + 1
    table = np.bincount(cells * k + y_codes, minlength=(edges.size + 1) * k).reshape(-1, k)
    return float(table.max(axis=1).sum() / x.size)


def _numeric_leak(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
                  task: str, seed: int) -> str | None:
    from scipy import stats
    from sklearn.metrics import balanced_accuracy_score, r2_score
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    ok = np.isfinite(x_train)
    x_ok, y_ok = x_train[ok], y_train[ok]
    if x_ok.size < 10 or x_ok.min() == x_ok.max():
        return None
    if task == "regression":
        corr, name = stats.spearmanr(x_ok, y_ok).statistic, "Spearman"
    elif y_train.max() == 1:  # binary label coded 0/1: Pearson is the point-biserial correlation
        corr, name = stats.pearsonr(x_ok, y_ok).statistic, "point-biserial"
    else:
        corr, name = np.nan, ""
    if np.isfinite(corr) and abs(corr) >= LEAK_SCORE:
        return f"|{name} correlation| = {abs(corr):.3f}"
    if task != "regression" and _binned_accuracy(x_ok, y_ok) < LEAK_SCORE - 0.02:
        return None  # not even 1024 bins separate the labels: a depth-4 tree cannot
    x_tr = np.where(np.isfinite(x_train), x_train, np.nan)[:, None]
    x_te = np.where(np.isfinite(x_test), x_test, np.nan)[:, None]
    if task == "regression":
        tree = DecisionTreeRegressor(max_depth=4, random_state=seed).fit(x_tr, y_train)
        score = r2_score(y_test, tree.predict(x_te))
        label = "R²"
    else:
        tree = DecisionTreeClassifier(max_depth=4, random_state=seed).fit(x_tr, y_train)
        score = balanced_accuracy_score(y_test, tree.predict(x_te))
        label = "balanced accuracy"
    if score >= LEAK_SCORE:
        return f"a depth-4 tree on this column alone scores {label} {score:.3f} on {len(y_test):,} holdout rows"
    return None


def _categorical_leak(codes: np.ndarray, y: np.ndarray, task: str) -> str | None:
    n = codes.size
    n_cat = int(codes.max()) + 1 if n else 0
    if n == 0 or n_cat > n / 20:  # an identifier maps to the label trivially; not evidence of a leak
        return None
    if task == "regression":
        sums = np.bincount(codes, weights=y, minlength=n_cat)
        sizes = np.bincount(codes, minlength=n_cat)
        fitted = (sums / np.maximum(sizes, 1))[codes]
        sst = float(((y - y.mean()) ** 2).sum())
        r2 = 1 - float(((y - fitted) ** 2).sum()) / sst if sst > 0 else 0.0
        return f"category means explain R² {r2:.3f}" if r2 >= LEAK_SCORE else None
    y_codes, _ = pd.factorize(y)
    table = np.zeros((n_cat, int(y_codes.max()) + 1), dtype=np.int64)
    np.add.at(table, (codes, y_codes), 1)
    sizes = table.sum(axis=1)
    purity = table.max(axis=1) / np.maximum(sizes, 1)
    coverage = sizes[purity >= LEAK_SCORE].sum() / n
    if coverage >= LEAK_SCORE:
        return f"{coverage:.1%} of rows fall in categories that are ≥ 99% one label ({n_cat} categories)"
    return None


def leakage_warnings(train: pd.DataFrame, test: pd.DataFrame, target: str, task: str, seed: int) -> list[str]:
    """Warnings about leakage between the training rows and the holdout, and features that give the label away.

    Checks rows present in both (hashed with ``pd.util.hash_pandas_object(index=False)``), and for each
    feature on a seeded sample of at most 50,000 rows: numeric ones by |Spearman| (regression) or
    |point-biserial| (binary) correlation >= 0.99, or a one-feature depth-4 tree scoring >= 0.99 on the
    holdout (balanced accuracy, so an imbalanced label does not pass trivially; R² for regression);
    categorical ones when categories that are >= 99 % one label cover >= 99 % of rows, with at most one
    category per 20 rows.
    """
    warnings: list[str] = []
    duplicate = _duplicate_warning(train, test, seed)
    if duplicate:
        warnings.append(duplicate)
    if target not in train.columns or target not in test.columns:
        return warnings
    tr = _cap(train[train[target].notna()], LEAK_ROWS, seed)
    te = _cap(test[test[target].notna()], LEAK_ROWS, seed)
    if len(tr) < 20 or len(te) < 1:
        return warnings
    regression = task == "regression"
    if regression:
        y_tr = tr[target].to_numpy(dtype="float64")
        y_te = te[target].to_numpy(dtype="float64")
    else:
        codes, _ = pd.factorize(pd.concat([tr[target], te[target]], ignore_index=True))
        y_tr, y_te = codes[: len(tr)], codes[len(tr):]
        if np.bincount(y_tr).max() / len(y_tr) >= LEAK_SCORE:
            return warnings  # one label is (almost) everything: every feature looks "pure"
    for name in train.columns:
        if name == target or name not in te.columns:
            continue
        kind = column_kind(tr[name])
        how = None
        if kind == "numeric":
            how = _numeric_leak(tr[name].to_numpy(dtype="float64", na_value=np.nan), y_tr,
                                te[name].to_numpy(dtype="float64", na_value=np.nan), y_te,
                                "regression" if regression else "classification", seed)
        elif kind in ("categorical", "boolean"):
            try:
                codes, _ = pd.factorize(tr[name], use_na_sentinel=False)
            except TypeError:  # cells pandas cannot hash (lists, dicts): compare them by their text
                codes, _ = pd.factorize(tr[name].astype(str), use_na_sentinel=False)
            how = _categorical_leak(codes, y_tr.astype("float64") if regression else y_tr,
                                    "regression" if regression else "classification")
        if how:
            warnings.append(_leak_message(str(name), how))
    return warnings

"""The data profile: a bounded, JSON-serializable summary of a frame, kept in the manifest so drift can be
measured later without the old data, and the column views the drift tests read from a stored profile or a
live column.

Owns ``column_kind``, ``profile_frame``, ``infer_label_task`` and ``ColumnView`` with its two constructors
(``view_from_profile``, ``view_from_series``). Pure: no network, no environment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

PROFILE_VERSION = 2  # 2: categories kept up to MAX_CATEGORIES, the rest in hashed tail buckets; small columns whole
N_QUANTILES = 101
MAX_CATEGORIES = 2000  # categories of a column kept by name, most frequent first ...
CATEGORY_KEY_BYTES = 32_000  # ... while their names fit in this many UTF-8 bytes (bounds the JSON size)
TAIL_BUCKETS = 1024  # the rarer categories are counted in this many buckets by a stable hash of their key
SMALL_COLUMN = 1000  # numeric columns with at most this many finite values keep them all, unrounded (KS regime)
DISCRETE_MAX = 100  # numeric columns with at most this many distinct values also keep exact value counts
SAMPLE_BUDGET = 60_000  # numeric sample values shared by all columns of one profile (bounds the JSON size)
QUANTILE_SAMPLE = 100_000  # values sorted per numeric column for quantiles and the distinct count
MIN_COLUMN_SAMPLE = 1000  # ... but never fewer than this per column, so small references stay exact
CURRENT_CAP = 100_000  # values of a current DataFrame column used in a test (seeded subsample above)


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


def category_key(value: Any) -> str:
    """A category as a JSON key; integral floats read as integers so ``1`` and ``1.0`` agree."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    return str(value)


TAIL_HASH_KEY = "ml-action-tail-1"  # 16 bytes: SipHash's key; fixed, so buckets never move between runs


def tail_buckets(keys: list[str], buckets: int) -> np.ndarray:
    """The tail bucket of each category key: SipHash-2-4 of its UTF-8 bytes with the fixed ``TAIL_HASH_KEY``
    (``pandas.util.hash_array``, vectorized), modulo ``buckets``. Stable across processes and platforms
    (unlike ``hash``), so a profile stored today buckets like the data of tomorrow; a test pins the values."""
    from pandas.util import hash_array

    if not keys:
        return np.zeros(0, dtype=np.int64)
    hashed = hash_array(np.asarray(keys, dtype=object), encoding="utf8", hash_key=TAIL_HASH_KEY, categorize=False)
    return (hashed % np.uint64(buckets)).astype(np.int64)


def tail_bucket(key: str, buckets: int) -> int:
    """The tail bucket of one category key (see ``tail_buckets``)."""
    return int(tail_buckets([key], buckets)[0])


def bucket_counts(counts: dict[str, int], buckets: int) -> list[int]:
    """Category counts summed into ``buckets`` hashed buckets (see ``tail_buckets``)."""
    where = tail_buckets(list(counts), buckets)
    summed = np.bincount(
        where, weights=np.fromiter(counts.values(), dtype="float64", count=len(counts)), minlength=buckets
    )
    return [int(c) for c in summed]


def _category_counts(series: pd.Series) -> dict[str, int]:
    """All non-null categories with their counts, most frequent first."""
    counts: dict[str, int] = {}
    vc = series.value_counts(dropna=True, sort=True)
    if pd.api.types.infer_dtype(vc.index, skipna=True) == "string":  # keys already: skip the loop (ids: 10x)
        return dict(zip(vc.index.tolist(), vc.to_numpy().tolist(), strict=True))
    for value, count in zip(vc.index.tolist(), vc.to_numpy().tolist(), strict=True):
        if count:
            k = category_key(value)
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


def _numeric_profile(
    series: pd.Series, sample_rows: np.ndarray | None, exact: bool, rng: np.random.Generator
) -> dict[str, Any]:
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
    out.update(
        count=int(finite.size),
        n_unique=distinct,
        n_unique_at_least=finite.size > x.size,
        mean=float(finite.mean()),
        std=float(finite.std()),
        min=float(finite.min()),
        max=float(finite.max()),
        quantiles=[float(q) for q in quantiles],
    )
    out["quantiles"][0], out["quantiles"][-1] = out["min"], out["max"]
    if distinct <= DISCRETE_MAX:  # few values in the sample: count them all exactly (hashing is cheap here)
        vc = pd.Series(finite).value_counts(sort=False).sort_index()
        out["n_unique"], out["n_unique_at_least"] = int(vc.size), False
        if vc.size <= DISCRETE_MAX:
            out["value_counts"] = [[_plain(v), int(c)] for v, c in zip(vc.index.tolist(), vc.tolist(), strict=True)]
    all_values = series.to_numpy(dtype="float64", na_value=np.nan)
    if sample_rows is None or finite.size <= sample_rows.size:  # the column fits: keep every finite value
        sample = finite
        exact = exact or finite.size <= SMALL_COLUMN  # the KS test on <= 1000 values is exact, as Evidently's
    else:
        sample = all_values[sample_rows]
        sample = sample[np.isfinite(sample)]
    out["sample"] = (sample if exact else _round_sig(sample)).tolist()
    out["sample_exact"] = exact
    return out


def _categorical_profile(series: pd.Series, kind: str) -> dict[str, Any]:
    counts = _category_counts(series)
    total = sum(counts.values())
    kept: dict[str, int] = {}
    size = 0
    for key, count in counts.items():  # most frequent first
        size += len(key.encode("utf-8", "surrogatepass"))
        if len(kept) >= MAX_CATEGORIES or size > CATEGORY_KEY_BYTES:
            break
        kept[key] = count
    if len(kept) < len(counts):  # too many to keep whole: a value seen once (an id, an e-mail) is not named
        kept = {k: c for k, c in kept.items() if c > 1}
    out = {
        "kind": kind,
        "nulls": float(series.isna().mean()) if len(series) else 0.0,
        "count": total,
        "n_unique": len(counts),
        "counts": kept,
        "other": total - sum(kept.values()),
    }
    if out["other"]:
        rest = [k for k in counts if k not in kept]
        where = tail_buckets(rest, TAIL_BUCKETS)
        weights = np.fromiter((counts[k] for k in rest), dtype="float64", count=len(rest))
        out["tail"] = np.bincount(where, weights=weights, minlength=TAIL_BUCKETS).astype(np.int64).tolist()
    return out


def _datetime_profile(series: pd.Series) -> dict[str, Any]:
    valid = series.dropna()
    out: dict[str, Any] = {
        "kind": "datetime",
        "nulls": float(series.isna().mean()) if len(series) else 0.0,
        "count": int(valid.size),
    }
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
            counts = {category_key(v): c for v, c in column.get("value_counts", [])}
            return {"task": task, "counts": counts, "other": 0}
        tail = {"tail": column["tail"]} if "tail" in column else {}
        return {"task": task, "counts": column["counts"], "other": column["other"], **tail}
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
    100 distinct values, which are then counted exactly in ``value_counts``), and a ``sample`` of the finite
    values: all of them, unrounded (``sample_exact``), when the frame has at most ``sample_cap`` rows or the
    column at most ``SMALL_COLUMN`` (1,000) finite values; all of them rounded to 4 significant digits when
    they fit in the column's share of the budget; else those of a seeded row sample, rounded.
    Categorical and boolean columns keep ``n_unique`` and the ``counts`` of their categories, most frequent
    first, up to ``MAX_CATEGORIES`` (2,000) names and ``CATEGORY_KEY_BYTES`` (32,000) bytes of names; the
    rest (and, in a column too large to keep whole, every value seen once) is counted in ``other`` and,
    split by a stable hash of the name into ``TAIL_BUCKETS`` (1,024) buckets, in ``tail``, so a shift among
    rare categories stays visible. Datetime columns keep ``min`` and
    ``max``. A JSON of 20 columns stays under about 1.1 MB at any number of rows: numeric samples about
    0.5 MB in all, a categorical column at most about 55 kB (see the tests).
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
    return {
        "version": PROFILE_VERSION,
        "rows": rows,
        "seed": seed,
        "sample_cap": cap,
        "target": target,
        "columns": columns,
        "label": label,
    }


# ----------------------------------------------------------------------------------------- views


@dataclass
class ColumnView:
    """What a drift test needs from one side of one column, from a stored profile or a live column."""

    kind: str
    rows: int
    nulls: float
    count: int  # non-null values
    n_unique: int
    std: float = 0.0
    values: np.ndarray | None = None  # finite numeric values (all, or a sample)
    counts: dict[Any, int] | None = None  # categories (or discrete numeric values) -> count
    other: int = 0  # values outside ``counts``
    tail: list[int] | None = None  # ``other`` split into hashed buckets (``tail_bucket``); None: lumped (old profile)


def view_from_profile(column: dict[str, Any], rows: int) -> ColumnView:
    """The view of one column of a stored profile (``profile_frame(...)["columns"][name]``)."""
    view = ColumnView(
        kind=column["kind"],
        rows=rows,
        nulls=float(column.get("nulls", 0.0)),
        count=int(column.get("count", 0)),
        n_unique=int(column.get("n_unique", 0)),
        std=float(column.get("std", 0.0)),
    )
    if view.kind == "numeric":
        if "sample" in column:
            view.values = np.asarray(column["sample"], dtype="float64")
        if "value_counts" in column:
            view.counts = {float(v): int(c) for v, c in column["value_counts"]}
    elif view.kind in ("categorical", "boolean"):
        view.counts = dict(column["counts"])
        view.other = int(column["other"])
        if view.other and column.get("tail"):
            view.tail = [int(c) for c in column["tail"]]
    return view


def view_from_series(series: pd.Series, ref: ColumnView | None, seed: int) -> ColumnView:
    """The view of a live column; numeric values are counted exactly when the reference ``ref`` is discrete,
    and subsampled (seeded) above ``CURRENT_CAP``."""
    kind = column_kind(series)
    rows = len(series)
    if kind == "numeric":
        finite = _finite(series)
        view = ColumnView(
            kind=kind,
            rows=rows,
            nulls=1.0 - finite.size / max(rows, 1),
            count=int(finite.size),
            n_unique=0,
            std=float(finite.std()) if finite.size else 0.0,
        )
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
        return ColumnView(kind=kind, rows=rows, nulls=nulls, count=int(series.notna().sum()), n_unique=0)
    counts = _category_counts(series)
    return ColumnView(
        kind=kind, rows=rows, nulls=nulls, count=sum(counts.values()), n_unique=len(counts), counts=counts
    )

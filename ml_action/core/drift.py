"""Drift: per-column drift tests between a stored profile and current data, and dataset drift.

Owns ``compare_profiles`` (schema diff, null-rate changes, new categories, per-column drift tests chosen as
Evidently does by default, label shift, dataset drift share), its result ``DriftResult`` / ``ColumnDrift``,
and the tests (``ml_action.core.stattests``). The profile it reads is built by ``ml_action.core.profile``.

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

from ml_action.core.profile import (
    ColumnView,
    bucket_counts,
    category_key,
    infer_label_task,
    view_from_profile,
    view_from_series,
)
from ml_action.core.stattests import chisquare_test, choose_test, jensenshannon_test, wasserstein_norm, z_test

P_THRESHOLD = 0.05
DISTANCE_THRESHOLD = 0.1
NULL_POINTS = 0.05
EXAMPLES = 20  # new category names listed per column


def _tail_buckets(ref: ColumnView, cur: ColumnView) -> int:
    """How many hashed tail buckets both sides can share (0: a side lumped its tail into one ``other``)."""
    sizes = {len(side.tail) for side in (ref, cur) if side.other and side.tail is not None}
    lumped = any(side.other and side.tail is None for side in (ref, cur))
    return sizes.pop() if len(sizes) == 1 and not lumped else 0


def _tail(side: ColumnView, moved: dict[str, int], n_buckets: int) -> np.ndarray:
    """A side's tail buckets plus the counts of its named categories that the other side did not name."""
    tail = np.asarray(side.tail if side.other and side.tail else [0] * n_buckets, dtype="float64")
    return tail + np.asarray(bucket_counts(moved, n_buckets), dtype="float64")


def _align(ref: ColumnView, cur: ColumnView) -> tuple[np.ndarray, np.ndarray, list[Any]]:
    """Reference and current counts over the same keys, plus the current keys that are surely new.

    A key listed on one side only, when the other side kept only its most frequent categories by name, may
    be one of the others: its count moves into the same place on both sides. That place is the key's hashed
    tail bucket (``profile.tail_buckets``) when both sides can bucket, so a shift among rare categories stays
    visible; with a profile of an older version (one lumped ``other``), one shared ``other`` bucket. Buckets
    empty on both sides are left out. A current key absent from a complete reference list is new
    (Evidently's chi-square then sees an expected count of 0).
    """
    ref_counts = ref.counts or {}
    cur_counts = cur.counts or {}
    keys: list[Any] = []
    ref_arr: list[float] = []
    cur_arr: list[float] = []
    ref_moved: dict[str, int] = {}  # named on one side, among the unnamed of the other
    cur_moved: dict[str, int] = {}
    new: list[Any] = []
    for k, c in ref_counts.items():
        if k not in cur_counts and cur.other:
            ref_moved[str(k)] = c
        else:
            keys.append(k)
            ref_arr.append(c)
            cur_arr.append(cur_counts.get(k, 0))
    for k, c in cur_counts.items():
        if k in ref_counts:
            continue
        if ref.other:
            cur_moved[str(k)] = c
        else:
            new.append(k)
            keys.append(k)
            ref_arr.append(0)
            cur_arr.append(c)
    n_buckets = _tail_buckets(ref, cur)
    if n_buckets:
        ref_tail = _tail(ref, ref_moved, n_buckets)
        cur_tail = _tail(cur, cur_moved, n_buckets)
        filled = (ref_tail + cur_tail) > 0
        ref_arr.extend(ref_tail[filled].tolist())
        cur_arr.extend(cur_tail[filled].tolist())
    elif ref.other or cur.other:
        ref_arr.append(ref.other + sum(ref_moved.values()))
        cur_arr.append(cur.other + sum(cur_moved.values()))
    return np.asarray(ref_arr, dtype="float64"), np.asarray(cur_arr, dtype="float64"), new


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
        return {
            "column": self.column,
            "kind": self.kind,
            "test": self.test,
            "statistic": _json_float(self.statistic),
            "p_value": _json_float(self.p_value),
            "threshold": self.threshold,
            "drifted": self.drifted,
            "strength": _json_float(self.strength),
            "reference_count": self.reference_count,
            "current_count": self.current_count,
        }


def _json_float(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(value)


TEST_LABELS = {
    "ks": "Kolmogorov-Smirnov p-value",
    "chisquare": "chi-square p-value",
    "z": "Z-test p-value",
    "wasserstein": "Wasserstein distance (normed)",
    "jensenshannon": "Jensen-Shannon distance",
}


def _test_column(name: str, ref: ColumnView, cur: ColumnView, kind: str) -> ColumnDrift | None:
    if ref.count == 0 or cur.count == 0:
        return None
    if kind == "numeric" and (ref.counts is None or cur.counts is None):
        n_values = max(ref.n_unique, cur.n_unique)  # some side has > 100 values
    else:
        n_values = len(set(ref.counts or {}) | set(cur.counts or {})) + (1 if ref.other or cur.other else 0)
    test = choose_test(kind, ref.count, n_values)
    row = ColumnDrift(
        column=name,
        kind=kind,
        test=test,
        statistic=None,
        p_value=None,
        threshold=P_THRESHOLD,
        drifted=False,
        reference_count=ref.count,
        current_count=cur.count,
    )
    if test in ("ks", "wasserstein"):
        # a numeric view with values (count > 0) always holds them: the profile's sample or the live column
        assert ref.values is not None and cur.values is not None
        if test == "ks":
            from scipy import stats

            result = stats.ks_2samp(ref.values, cur.values)
            row.statistic, row.p_value = float(result.statistic), float(result.pvalue)
        else:
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
    unused: list[str] = field(default_factory=list)  # in both, but not used by the model: not tested
    truncated: list[dict[str, Any]] = field(default_factory=list)  # categorical profiles that kept only a top
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
            "schema": {
                "changed": self.schema_changed,
                "added": self.added,
                "removed": self.removed,
                "kind_changed": self.kind_changed,
                "unused": self.unused,
            },
            "truncated": self.truncated,
            "null_changes": self.null_changes,
            "new_categories": self.new_categories,
            "label": self.label.to_dict() if self.label else None,
            "tests": {
                t: TEST_LABELS[t]
                for t in sorted({c.test for c in self.columns} | ({self.label.test} if self.label else set()))
            },
        }


def _label_view(side: ColumnView, task: str) -> ColumnView:
    """For classification the label is compared as categories (keys normalised as in profiles)."""
    if task != "classification" or side.kind != "numeric":
        return side
    counts = {category_key(k): c for k, c in (side.counts or {}).items()}
    return ColumnView(
        kind="categorical", rows=side.rows, nulls=side.nulls, count=side.count, n_unique=len(counts), counts=counts
    )


def compare_profiles(
    reference: dict[str, Any],
    current: dict[str, Any] | pd.DataFrame,
    target: str | None,
    drift_share: float = 0.5,
    used: Iterable[str] | None = None,
) -> DriftResult:
    """Compare the champion's stored profile with current data (a DataFrame or another profile).

    A DataFrame column is used whole up to ``profile.CURRENT_CAP`` values (a seeded subsample above), category
    counts always whole. Columns whose kind changed are reported as schema changes and not tested;
    datetime columns are not tested. The target is excluded from the feature share and tested as the
    label shift instead. With ``used`` (the columns the model reads), a reference column still in the
    current data but not in ``used`` is listed in ``unused`` ("not used by the model"), not tested, and
    not called removed. A categorical column whose profile kept only its most frequent categories by name
    is listed in ``truncated`` (with how many were kept, of how many, and the tail buckets compared).
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
    result = DriftResult(
        reference_rows=ref_rows,
        current_rows=cur_rows,
        columns=[],
        reference_columns=list(ref_columns),
        current_columns=cur_names,
        drift_share=drift_share,
        target=target,
    )
    result.added = [c for c in cur_names if c not in ref_columns]
    result.removed = [c for c in ref_columns if c not in set(cur_names)]
    if used is not None:
        wanted = {str(c) for c in used} | ({target} if target is not None else set())
        result.unused = [c for c in ref_columns if c in set(cur_names) and c not in wanted]
    for name in [c for c in ref_columns if c in set(cur_names) and c not in result.unused]:
        ref = view_from_profile(ref_columns[name], ref_rows)
        if cur_profile is not None:
            cur = view_from_profile(cur_profile[name], cur_rows)
        else:
            cur = view_from_series(current[by_name[name]], ref, seed)
        if abs(cur.nulls - ref.nulls) > NULL_POINTS:
            result.null_changes.append(
                {"column": name, "reference": ref.nulls, "current": cur.nulls, "change": cur.nulls - ref.nulls}
            )
        if ref.kind != cur.kind:
            result.kind_changed.append({"column": name, "reference": ref.kind, "current": cur.kind})
            continue
        if ref.other or cur.other:  # the reference's (or the current profile's) rarer categories were not named
            side = ref if ref.other else cur
            result.truncated.append(
                {
                    "column": name,
                    "kept": len(side.counts or {}),
                    "n_unique": side.n_unique,
                    "buckets": _tail_buckets(ref, cur),
                }
            )
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
                result.new_categories[name] = {
                    "count": len(new),
                    "rows": rows_new,
                    "examples": [str(k) for k in new[:EXAMPLES]],
                }
        row = _test_column(name, ref, cur, kind)
        if row is not None:
            result.columns.append(row)
    return result

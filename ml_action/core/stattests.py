"""The statistical tests drift uses and which one a column gets, as Evidently's ``get_stattest`` default
chooses them: chi-square, the two-proportion z-test, Jensen-Shannon and the normalised Wasserstein
distance (Kolmogorov-Smirnov is scipy's). Pure functions of counts and values."""

from __future__ import annotations

import math

import numpy as np

SMALL_REFERENCE = 1000  # Evidently: <= 1000 reference values -> p-value tests, above -> distances


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

"""Paired bootstrap: covers a known difference, finds none between identical models, fast path = slow path."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn import metrics as skm

from ml_action.core.stats import paired_bootstrap


def labels(n: int, seed: int, acc_candidate: float, acc_champion: float, classes: int = 2):
    """Labels where each model is right with a known probability (wrong answers uniform over the others)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)

    def model(acc: float) -> np.ndarray:
        wrong = (y + rng.integers(1, classes, n)) % classes
        return np.where(rng.random(n) < acc, y, wrong)

    return y, model(acc_candidate), model(acc_champion)


def regression(n: int, seed: int, noise_candidate: float, noise_champion: float):
    rng = np.random.default_rng(seed)
    y = rng.normal(size=n)
    return y, y + rng.normal(scale=noise_candidate, size=n), y + rng.normal(scale=noise_champion, size=n)


F1_MACRO = lambda y, p: skm.f1_score(y, p, average="macro", zero_division=0)  # noqa: E731
RMSE = lambda y, p: float(np.sqrt(skm.mean_squared_error(y, p)))  # noqa: E731

LABEL_CASES = [
    ("accuracy", skm.accuracy_score, {}),
    ("balanced_accuracy", skm.balanced_accuracy_score, {}),
    ("f1_macro", F1_MACRO, {}),
    ("precision_macro", lambda y, p: skm.precision_score(y, p, average="macro", zero_division=0), {}),
    ("recall_macro", lambda y, p: skm.recall_score(y, p, average="macro", zero_division=0), {}),
    ("f1", lambda y, p: skm.f1_score(y, p, pos_label=1, zero_division=0), {"classes": [0, 1]}),
    ("precision", lambda y, p: skm.precision_score(y, p, pos_label=1, zero_division=0), {"classes": [0, 1]}),
    ("recall", lambda y, p: skm.recall_score(y, p, pos_label=1, zero_division=0), {"classes": [0, 1]}),
]
ROW_CASES = [
    ("mae", skm.mean_absolute_error),
    ("mse", skm.mean_squared_error),
    ("rmse", RMSE),
    ("r2", skm.r2_score),
    ("mape", skm.mean_absolute_percentage_error),
]


@pytest.mark.parametrize(("name", "metric", "kwargs"), LABEL_CASES)
def test_label_fast_path_equals_loop_on_the_same_indices(name: str, metric, kwargs) -> None:
    y, a, b = labels(1500, seed=1, acc_candidate=0.8, acc_champion=0.75, classes=2 if kwargs else 3)
    fast = paired_bootstrap(y, a, b, metric, True, n_resamples=60, seed=3, metric_name=name, **kwargs)
    slow = paired_bootstrap(y, a, b, metric, True, n_resamples=60, seed=3)
    assert (fast.method, slow.method) == ("cells", "loop")
    assert fast.low == pytest.approx(slow.low, abs=1e-12)
    assert fast.high == pytest.approx(slow.high, abs=1e-12)
    assert fast.observed == pytest.approx(slow.observed, abs=1e-12)  # fast: from the cells' counts
    assert fast.observed == pytest.approx(metric(y, a) - metric(y, b), abs=1e-12)


@pytest.mark.parametrize(("name", "metric", "kwargs"), LABEL_CASES)
def test_the_all_rows_difference_of_label_metrics_is_scikit_learns(name: str, metric, kwargs) -> None:
    """Above ``INDEX_ROWS`` (the multinomial path) the observed difference comes from the cells' counts, not
    from two more scikit-learn calls over every row: it is still scikit-learn's value."""
    y, a, b = labels(30_000, seed=5, acc_candidate=0.8, acc_champion=0.79, classes=2 if kwargs else 4)
    result = paired_bootstrap(y, a, b, metric, True, n_resamples=50, seed=1, metric_name=name, **kwargs)
    assert result.method == "cells" and result.rows_used == 30_000
    assert result.observed == pytest.approx(metric(y, a) - metric(y, b), abs=1e-12)


@pytest.mark.parametrize(("name", "metric"), ROW_CASES)
def test_row_fast_path_equals_loop_on_the_same_indices(name: str, metric) -> None:
    y, a, b = regression(1200, seed=2, noise_candidate=0.5, noise_champion=0.55)
    fast = paired_bootstrap(y, a, b, metric, False, n_resamples=60, seed=4, metric_name=name)
    slow = paired_bootstrap(y, a, b, metric, False, n_resamples=60, seed=4)
    assert fast.method == "rows"
    assert fast.low == pytest.approx(slow.low, rel=1e-9, abs=1e-12)
    assert fast.high == pytest.approx(slow.high, rel=1e-9, abs=1e-12)


def test_log_loss_fast_path_on_probability_arrays() -> None:
    rng = np.random.default_rng(5)
    y = rng.integers(0, 3, 1000)
    pa, pb = rng.dirichlet([2, 2, 2], 1000), rng.dirichlet([1, 1, 1], 1000)
    pa[np.arange(1000), y] += 0.5
    pa /= pa.sum(axis=1, keepdims=True)
    pb[0] = [1.0, 0.0, 0.0]  # exercises clipping at eps
    metric = lambda t, p: skm.log_loss(t, p, labels=[0, 1, 2])  # noqa: E731
    fast = paired_bootstrap(y, pa, pb, metric, False, n_resamples=100, metric_name="log_loss", classes=[0, 1, 2])
    slow = paired_bootstrap(y, pa, pb, metric, False, n_resamples=100)
    assert fast.method == "rows" and slow.method == "loop"
    assert (fast.low, fast.high) == pytest.approx((slow.low, slow.high), rel=1e-9)
    assert fast.direction == "improvement"  # lower loss for the candidate


def test_per_row_callable_is_a_fast_path() -> None:
    y, a, b = labels(800, seed=6, acc_candidate=0.9, acc_champion=0.8)
    fast = paired_bootstrap(y, a, b, skm.accuracy_score, True, n_resamples=100, per_row=lambda t, p: t == p)
    slow = paired_bootstrap(y, a, b, skm.accuracy_score, True, n_resamples=100)
    assert fast.method == "rows"
    assert (fast.low, fast.high) == pytest.approx((slow.low, slow.high), abs=1e-12)


@pytest.mark.parametrize(
    ("name", "metric", "n"),
    [
        ("accuracy", skm.accuracy_score, 5000),
        ("accuracy", skm.accuracy_score, 200_000),
        ("f1_macro", F1_MACRO, 200_000),
    ],
)
def test_known_improvement_is_covered_and_significant(name: str, metric, n: int) -> None:
    y, a, b = labels(n, seed=7, acc_candidate=0.85, acc_champion=0.80)
    result = paired_bootstrap(y, a, b, metric, True, metric_name=name, max_rows=20_000)
    true_difference = 0.05  # binary, balanced: accuracy and macro-F1 differ by ~0.05
    assert result.low < true_difference < result.high
    assert result.low > 0 and result.significant
    assert result.direction == "improvement" and not result.whole_interval_regression
    assert result.rows_used == n  # label metrics use every row, even above max_rows


def test_known_regression_on_a_loss_metric() -> None:
    y, a, b = regression(4000, seed=8, noise_candidate=0.6, noise_champion=0.5)
    result = paired_bootstrap(y, a, b, RMSE, False, metric_name="rmse")
    assert result.low < 0.1 < result.high
    assert result.direction == "regression" and result.whole_interval_regression


@pytest.mark.parametrize("name", ["accuracy", None])
def test_identical_models_are_not_significant(name: str | None) -> None:
    y, a, _ = labels(3000, seed=9, acc_candidate=0.8, acc_champion=0.8)
    result = paired_bootstrap(y, a, a.copy(), skm.accuracy_score, True, n_resamples=200, metric_name=name)
    assert result.low <= 0 <= result.high and result.observed == 0
    assert not result.significant and result.direction == "no significant change"


def test_equally_good_but_different_models_contain_zero() -> None:
    y, a, b = labels(3000, seed=10, acc_candidate=0.8, acc_champion=0.8)
    result = paired_bootstrap(y, a, b, skm.accuracy_score, True, metric_name="accuracy")
    assert result.low < 0 < result.high and not result.significant


@pytest.mark.parametrize("name", ["f1_macro", None])
def test_same_seed_same_interval(name: str | None) -> None:
    y, a, b = labels(2000, seed=11, acc_candidate=0.82, acc_champion=0.8)
    runs = [paired_bootstrap(y, a, b, F1_MACRO, True, n_resamples=40, seed=5, metric_name=name) for _ in range(2)]
    assert runs[0].to_dict() == runs[1].to_dict()
    other = paired_bootstrap(y, a, b, F1_MACRO, True, n_resamples=40, seed=6, metric_name=name)
    assert (other.low, other.high) != (runs[0].low, runs[0].high)


def test_loop_caps_rows_and_centres_on_the_all_rows_difference() -> None:
    y, a, b = regression(50_000, seed=12, noise_candidate=0.5, noise_champion=0.52)
    result = paired_bootstrap(y, a, b, skm.median_absolute_error, False, n_resamples=100, max_rows=5000)
    assert result.method == "loop" and result.rows_used == 5000 and result.rows == 50_000
    assert result.low < result.observed < result.high


def test_undefined_resamples_are_skipped_and_counted() -> None:
    y = np.array([0] * 9 + [1])
    a, b = y.copy(), np.zeros(10, dtype=int)
    slow = paired_bootstrap(y, a, b, skm.roc_auc_score, True, n_resamples=200, seed=0)
    fast = paired_bootstrap(
        y, a, b, skm.roc_auc_score, True, n_resamples=200, seed=0, metric_name="roc_auc", classes=[0, 1]
    )
    assert 0 < slow.skipped < 200 and slow.valid_resamples == 200 - slow.skipped
    assert (fast.method, fast.skipped, fast.low, fast.high) == ("rows", slow.skipped, slow.low, slow.high)


def test_probability_arrays_are_indexed_by_row_on_the_loop_path() -> None:
    rng = np.random.default_rng(13)
    y = rng.integers(0, 2, 2000)
    pa = np.clip(y + rng.normal(scale=0.4, size=2000), 0, 1)
    pb = np.clip(y + rng.normal(scale=0.8, size=2000), 0, 1)
    pa, pb = np.column_stack((1 - pa, pa)), np.column_stack((1 - pb, pb))
    result = paired_bootstrap(y, pa, pb, lambda t, p: skm.roc_auc_score(t, p[:, 1]), True, n_resamples=100)
    assert result.method == "loop" and result.direction == "improvement"


def test_to_dict_is_json_ready() -> None:
    y, a, b = labels(500, seed=14, acc_candidate=0.8, acc_champion=0.7)
    d = paired_bootstrap(y, a, b, skm.accuracy_score, True, n_resamples=50, metric_name="accuracy").to_dict()
    json.dumps(d, allow_nan=False)
    assert {
        "low",
        "high",
        "observed",
        "n_resamples",
        "rows_used",
        "significant",
        "direction",
        "whole_interval_regression",
    } <= set(d)


def test_mismatched_lengths_are_rejected() -> None:
    with pytest.raises(ValueError, match="rows"):
        paired_bootstrap([0, 1], [0, 1, 1], [0, 1], skm.accuracy_score, True)


@pytest.mark.parametrize("ties", [False, True])
def test_binary_roc_auc_fast_path_equals_loop(ties: bool) -> None:
    rng = np.random.default_rng(15)
    y = rng.choice(["no", "yes"], 1500, p=[0.7, 0.3])
    pos = y == "yes"
    sa = np.clip(pos + rng.normal(scale=0.7, size=1500), 0, 1)
    sb = np.clip(pos + rng.normal(scale=0.9, size=1500), 0, 1)
    if ties:
        sa, sb = np.round(sa, 1), np.round(sb, 1)
    pa, pb = np.column_stack((1 - sa, sa)), np.column_stack((1 - sb, sb))
    metric = lambda t, p: skm.roc_auc_score(np.asarray(t) == "yes", p[:, 1])  # noqa: E731
    fast = paired_bootstrap(y, pa, pb, metric, True, n_resamples=60, metric_name="roc_auc", classes=["no", "yes"])
    slow = paired_bootstrap(y, pa, pb, metric, True, n_resamples=60)
    assert fast.method == "rows" and slow.method == "loop"
    assert (fast.low, fast.high) == pytest.approx((slow.low, slow.high), abs=1e-12)


# ------------------------------------------------------------------------------ intervals at other levels, own values


def test_paired_result_keeps_its_draws_for_other_confidences_and_own_values() -> None:
    y, a, b = labels(2000, seed=7, acc_candidate=0.8, acc_champion=0.78)
    res = paired_bootstrap(y, a, b, skm.accuracy_score, True, n_resamples=400, seed=1, metric_name="accuracy")
    assert res.interval() == (res.low, res.high)
    low90, high90 = res.interval(0.90)
    assert res.low <= low90 <= high90 <= res.high
    v_low, v_high = res.value_interval(0.95)
    own = skm.accuracy_score(y, a)
    assert v_low < own < v_high
    assert v_high - v_low == pytest.approx(2 * 1.96 * np.sqrt(own * (1 - own) / 2000), rel=0.2)
    assert "draws" not in res.to_dict()


def test_own_values_on_the_subsampled_loop_centre_on_all_rows() -> None:
    y, a, b = regression(3000, seed=8, noise_candidate=0.5, noise_champion=0.6)
    res = paired_bootstrap(y, a, b, RMSE, False, n_resamples=100, seed=2, max_rows=1000)
    assert res.rows_used == 1000 and res.method == "loop"
    low, high = res.value_interval()
    assert low < RMSE(y, a) < high


# ------------------------------------------------------------------------------ one and two samples


def test_bootstrap_values_paths_agree_with_the_loop() -> None:
    from ml_action.core.stats import bootstrap_values

    y, a, _ = labels(1500, seed=9, acc_candidate=0.8, acc_champion=0.7, classes=3)
    obs_fast, fast, method = bootstrap_values(y, a, F1_MACRO, 50, seed=3, metric_name="f1_macro")
    obs_slow, slow, slow_method = bootstrap_values(y, a, F1_MACRO, 50, seed=3)
    assert (method, slow_method) == ("cells", "loop")
    assert obs_fast == obs_slow
    np.testing.assert_allclose(fast, slow, atol=1e-12)


def test_two_sample_covers_a_known_drop_and_not_a_null_one() -> None:
    from ml_action.core.stats import two_sample_bootstrap

    y_ref, a_ref, _ = labels(800, seed=10, acc_candidate=0.85, acc_champion=0.85)
    same_y, same_a, _ = labels(1500, seed=21, acc_candidate=0.85, acc_champion=0.85)
    worse_y, worse_a, _ = labels(1500, seed=12, acc_candidate=0.75, acc_champion=0.75)
    same = two_sample_bootstrap(
        y_ref, a_ref, same_y, same_a, skm.accuracy_score, True, n_resamples=500, metric_name="accuracy"
    )
    worse = two_sample_bootstrap(
        y_ref, a_ref, worse_y, worse_a, skm.accuracy_score, True, n_resamples=500, metric_name="accuracy"
    )
    assert same.low < 0 < same.high
    assert worse.high < 0
    assert worse.low < -0.10 < worse.high
    # both samples' noise: wider than either binomial interval alone
    se = np.sqrt(0.85 * 0.15 / 800 + 0.85 * 0.15 / 1500)
    assert same.high - same.low == pytest.approx(2 * 1.96 * se, rel=0.2)
    assert same.observed == pytest.approx(same.fresh - same.reference)
    assert (same.reference_rows, same.fresh_rows) == (800, 1500)
    assert same.interval(0.5)[1] - same.interval(0.5)[0] < same.high - same.low
    assert set(same.to_dict()) >= {"reference", "fresh", "low", "high"}


def test_two_sample_large_fresh_uses_the_multinomial_and_regression_rows() -> None:
    from ml_action.core.stats import two_sample_bootstrap

    y_ref, a_ref, _ = labels(800, seed=13, acc_candidate=0.8, acc_champion=0.8)
    y_new, a_new, _ = labels(12000, seed=14, acc_candidate=0.8, acc_champion=0.8)
    res = two_sample_bootstrap(y_ref, a_ref, y_new, a_new, F1_MACRO, True, n_resamples=200, metric_name="f1_macro")
    assert res.method == "cells" and res.low < 0 < res.high
    yr, pr, _ = regression(500, seed=15, noise_candidate=0.5, noise_champion=0.5)
    yn, pn, _ = regression(700, seed=16, noise_candidate=0.8, noise_champion=0.8)
    rmse = two_sample_bootstrap(yr, pr, yn, pn, RMSE, False, n_resamples=300, metric_name="rmse")
    assert rmse.method == "rows" and rmse.low > 0  # rmse clearly up on the fresh rows


def test_two_sample_rejects_a_bad_confidence() -> None:
    from ml_action.core.stats import two_sample_bootstrap

    y, a, _ = labels(50, seed=1, acc_candidate=0.8, acc_champion=0.8)
    with pytest.raises(ValueError):
        two_sample_bootstrap(y, a, y, a, skm.accuracy_score, True, confidence=1.0)


def test_two_sample_interval_covers_the_true_difference() -> None:
    """Same process on both sides, 200 repetitions: the 90 % interval holds 0 about 90 % of the time."""
    from ml_action.core.stats import two_sample_bootstrap

    covered = 0
    for rep in range(200):
        y_ref, a_ref, _ = labels(300, seed=1000 + rep, acc_candidate=0.8, acc_champion=0.8)
        y_new, a_new, _ = labels(500, seed=5000 + rep, acc_candidate=0.8, acc_champion=0.8)
        res = two_sample_bootstrap(
            y_ref,
            a_ref,
            y_new,
            a_new,
            skm.accuracy_score,
            True,
            n_resamples=200,
            seed=rep,
            confidence=0.9,
            metric_name="accuracy",
        )
        covered += res.low <= 0 <= res.high
    assert 0.84 <= covered / 200 <= 0.96

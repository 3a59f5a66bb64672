"""The ``search`` space parser, the name checks, the scorer of each primary metric and the trial cells."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml_action.core.metrics import METRICS, metric_function, predict
from ml_action.errors import UserError
from ml_action.pipeline import search, search_space


def test_a_space_of_every_kind_is_parsed() -> None:
    space = search_space.parse_space(
        "search",
        "max_depth: [2, 4, null]\nlearning_rate: {low: 0.001, high: 1, log: true}\n"
        "max_leaf_nodes: {int: [8, 64]}\nloss: {choices: [log_loss, exponential]}\n"
        "subsample: {low: 0.5, high: 1}",
    )
    assert space == {
        "max_depth": [2, 4, None],
        "learning_rate": {"low": 0.001, "high": 1.0, "log": True},
        "max_leaf_nodes": {"int": [8, 64]},
        "loss": ["log_loss", "exponential"],
        "subsample": {"low": 0.5, "high": 1.0, "log": False},
    }
    assert not search.is_grid(space)
    assert search_space.parse_space("search", "") == {} and search_space.parse_space("search", "  ") == {}
    assert search_space.parse_space("search", {"C": [1, 10]}) == {"C": [1, 10]}  # from the config file
    assert search.is_grid({"a": [1, 2], "b": [3, 4, 5]}) and search.grid_size({"a": [1, 2], "b": [3, 4, 5]}) == 6


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[1, 2]", "not a mapping"),
        ("max_depth: []", "'max_depth' has an empty list"),
        ("C: {low: 10, high: 1}", "low 10 is above high 1"),
        ("n: {int: [9, 2]}", "low 9 is above high 2"),
        ("C: {low: 1, high: 1}", "both 1"),
        ("C: {low: 0, high: 1, log: true}", "log scale needs low > 0"),
        ("C: {low: a, high: 1}", "not a number"),
        ("n: {int: [1.5, 3]}", "not a whole number"),
        ("n: {int: [1]}", "not a pair"),
        ("C: {low: 1, high: 2, log: yes please}", "not true or false"),
        ("C: {min: 1, max: 2}", "no distribution"),
        ("C: 3", "neither a list nor a distribution"),
        ("C: {choices: []}", "empty list"),
        ("C: [1, 2", "not valid YAML"),
    ],
)
def test_a_bad_space_names_the_input(text: str, words: str) -> None:
    with pytest.raises(UserError) as caught:
        search_space.parse_space("search", text)
    assert caught.value.input == "search" and words in caught.value.problem, caught.value.problem


def test_names_are_checked_against_the_estimator_and_params() -> None:
    valid = {"max_depth": None, "min_samples_leaf": 1}
    search.check_space({"max_depth": [2]}, "grid", {"min_samples_leaf": 3}, valid, "Tree")
    with pytest.raises(UserError, match="in both `params` and `search`"):
        search.check_space({"max_depth": [2]}, "random", {"max_depth": 3}, valid, "Tree")
    with pytest.raises(UserError, match="unknown parameter.*max_deepth for Tree") as caught:
        search.check_space({"max_deepth": [2]}, "random", {}, valid, "Tree")
    assert "max_depth, min_samples_leaf" in caught.value.hint
    with pytest.raises(UserError, match="needs a list of values") as caught:
        search.check_space({"max_depth": {"int": [1, 3]}}, "grid", {}, valid, "Tree")
    assert caught.value.input == "search-method"


def _classification(n_classes: int) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=120), "b": rng.normal(size=120)})
    labels = np.array(["ant", "bee", "cat"][:n_classes])
    y = pd.Series(
        labels[(X.a.to_numpy() * 2 + rng.normal(size=120) > 0).astype(int) + (X.b > 1).astype(int) * (n_classes - 2)]
    )
    return X, y


@pytest.mark.parametrize("n_classes", [2, 3])
def test_the_scorer_is_our_metric_with_its_sign(n_classes: int) -> None:
    """What the search maximises is exactly the holdout metric (negated where lower is better)."""
    from sklearn.linear_model import LogisticRegression

    X, y = _classification(n_classes)
    classes = sorted(y.unique())
    model = LogisticRegression().fit(X[:80], y[:80])
    preds = predict(model, X[80:], "classification")
    for name, metric in METRICS.items():
        if metric.task != "classification" or (metric.binary_only and n_classes != 2):
            continue
        ours = metric_function(name, classes)(y[80:], preds.proba if metric.needs_proba else preds.labels)
        theirs = search.scorer(name, classes)(model, X[80:], y[80:])
        assert theirs == pytest.approx(ours if metric.greater_is_better else -ours, abs=1e-12), name


def test_the_regression_scorers() -> None:
    from sklearn.linear_model import Ridge

    rng = np.random.default_rng(1)
    X = pd.DataFrame({"a": rng.normal(size=60)})
    y = pd.Series(3 * X.a + rng.normal(size=60) + 10)
    model = Ridge().fit(X, y)
    for name in ("rmse", "mae", "r2", "mape"):
        ours = metric_function(name, None)(y, model.predict(X))
        sign = 1 if METRICS[name].greater_is_better else -1
        assert search.scorer(name, None)(model, X, y) == pytest.approx(sign * ours), name


def test_cells_are_safe_in_a_table() -> None:
    assert search.cell(0.123456789) == "0.1235"
    assert "`" not in search.cell("x`y") and "\n" not in search.cell("x\ny") and "|" not in search.cell("x|y")
    assert search.cell(None) == "None" and search.cell(5) == "5"


def test_folds() -> None:
    assert search.folds_for(0) == 5 and search.folds_for(3) == 3
    with pytest.raises(UserError, match="not cross-validation"):
        search.folds_for(1)

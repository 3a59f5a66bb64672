"""``tree_check``: every index array scikit-learn walks without bounds checks is checked against its own sizes.

Each case breaks one rule in a fitted model the way a crafted file would (only after loading does a model hold
such state; nothing here predicts with it), and the check names the object and the problem. Well-formed models
of every kind pass, HGB on pandas categorical columns and isolation forests on feature subsets included.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris

from ml_action.records.tree_check import UnsafeModel, check_model
from tests.crafted import FAR, TREE_MODELS, corrupt, estimator

X, Y = load_iris(return_X_y=True)


def _fit(name: str, task: str = "classification") -> Any:
    return estimator(name, task).fit(X, Y if task == "classification" else X[:, 0])


def _refused(model: Any, *words: str) -> str:
    with pytest.raises(UnsafeModel) as caught:
        check_model(model)
    message = str(caught.value)
    assert all(word in message for word in words), message
    return message


@pytest.mark.parametrize("task", ["classification", "regression"])
@pytest.mark.parametrize("name", sorted(TREE_MODELS))
def test_fitted_models_pass_and_a_far_index_is_refused(name: str, task: str) -> None:
    model = _fit(name, task)
    check_model(model)
    for how in ("child", "feature") if "knn" not in name else ("child",):
        broken = _fit(name, task)
        corrupt(broken, how)
        _refused(broken, str(FAR))


def test_other_scikit_learn_tree_models_pass() -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier, IsolationForest
    from sklearn.neighbors import KernelDensity
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    frame = pd.DataFrame({"a": X[:, 0], "b": pd.Categorical(np.where(X[:, 1] > 3, "hi", "lo")), "c": X[:, 2]})
    hgb = HistGradientBoostingClassifier(max_iter=5, categorical_features="from_dtype").fit(frame, Y)
    assert hgb._preprocessor is not None  # its own encoder of the categorical column
    check_model(hgb)
    check_model(IsolationForest(n_estimators=5, max_features=2, random_state=0).fit(X))
    check_model(make_pipeline(StandardScaler(), KernelDensity(metric="manhattan")).fit(X))


def _tree(model: Any) -> Any:
    return model.estimators_[0].tree_ if hasattr(model, "estimators_") else model.tree_


def _nodes(model: Any, change: Callable[[Any], None]) -> Any:
    tree = _tree(model)
    state = tree.__getstate__()
    nodes = state["nodes"].copy()
    change(nodes)
    tree.__setstate__({**state, "nodes": nodes})
    return model


def _first_inner(nodes: Any) -> int:
    return int(np.flatnonzero(nodes["left_child"] != -1)[0])


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda n: n["left_child"].__setitem__(0, 0), ["node 0 has children 0"]),  # a loop: predict never ends
        (lambda n: n["right_child"].__setitem__(0, -1), ["one child"]),
        (lambda n: n["right_child"].__setitem__(0, n["left_child"][0]), ["more than one node"]),
        (lambda n: n["feature"].__setitem__(_first_inner(n), -5), ["feature -5"]),
        (lambda n: n["threshold"].__setitem__(_first_inner(n), np.nan), ["threshold"]),
    ],
)
def test_a_tree_node_out_of_line_is_refused(change: Callable[[Any], None], words: list[str]) -> None:
    _refused(_nodes(_fit("decision_tree"), change), "DecisionTreeClassifier.tree_", *words)


def test_tree_counts_and_widths_are_checked_against_each_other() -> None:
    model = _fit("decision_tree")
    _tree(model).node_count = _tree(model).capacity + 1000  # its arrays would be read past their end
    _refused(model, "`node_count`")
    model = _fit("decision_tree")
    _tree(model).max_depth = 1  # decision_path allocates (1 + max_depth) entries a row, then writes deeper
    _refused(model, "`max_depth` is 1")
    model = _fit("decision_tree")
    model.n_features_in_ = 2  # rows of 2 columns pass the estimator's check, then the tree reads column 3
    _refused(model, "its tree takes 4 features")
    forest = _fit("random_forest")
    forest.n_features_in_ = 2  # a forest hands its rows to the trees unchecked
    _refused(forest, "RandomForestClassifier")
    del forest.n_features_in_  # without it scikit-learn checks no width at all
    _refused(forest, "`n_features_in_`")


def test_gradient_boosting_grid_and_initial_prediction_must_agree() -> None:
    model = _fit("gradient_boosting")
    model.estimators_ = model.estimators_[:, :2]  # 3 classes, 2 trees a stage
    _refused(model, "trees per stage")
    model = _fit("gradient_boosting")
    model.n_trees_per_iteration_ = 4
    model.estimators_ = np.concatenate([model.estimators_, model.estimators_[:, :1]], axis=1)
    _refused(model, "initial prediction is not 4 wide")  # the trees would add into a 4th column of 3


def test_hist_gradient_boosting_bitsets_and_categories() -> None:
    frame = pd.DataFrame({"a": X[:, 0], "b": pd.Categorical(np.array(["s", "v", "g"])[Y]), "c": X[:, 2]})
    from sklearn.ensemble import HistGradientBoostingClassifier

    def fitted() -> Any:
        return HistGradientBoostingClassifier(max_iter=3, categorical_features="from_dtype").fit(frame, Y)

    model = fitted()
    predictor = model._predictors[0][0]
    cat = np.flatnonzero((predictor.nodes["is_categorical"] != 0) & (predictor.nodes["is_leaf"] == 0))
    assert cat.size
    predictor.nodes["bitset_idx"][cat[0]] = FAR
    _refused(model, "bitset beyond")
    model = fitted()
    predictor = model._predictors[0][0]
    predictor.raw_left_cat_bitsets = predictor.raw_left_cat_bitsets[:, :2].copy()
    _refused(model, "(k, 8)")
    model = fitted()
    model._bin_mapper.is_categorical_ = np.zeros(3, dtype=np.uint8)  # f_idx_map would send it to row 0 of none
    _refused(model, "not treat as categorical")
    model = fitted()
    model._bin_mapper.is_categorical_ = model._bin_mapper.is_categorical_[:1]
    _refused(model, "one entry per feature")
    model = fitted()
    model._preprocessor.transformers_ = model._preprocessor.transformers_[:1]  # fewer columns out than in
    _refused(model, "_preprocessor", "not the model's 3")
    model = _fit("hist_gradient_boosting")
    stray = model._predictors[0][0]
    model._predictors = model._predictors[1:]
    model.stray_ = stray
    _refused(model, "outside the `_predictors`")


def _binary_state(model: Any, index: int, value: Any) -> Any:
    state = list(model._tree.__getstate__())
    state[index] = value
    model._tree.__setstate__(tuple(state))
    return model


def test_kd_and_ball_trees() -> None:
    from sklearn.metrics import DistanceMetric

    model = _fit("knn-kd_tree")
    nodes = np.array(model._tree.__getstate__()[2], copy=True)
    nodes["idx_end"][0] = FAR
    _refused(_binary_state(model, 2, nodes), "rows are outside")
    model = _fit("knn-ball_tree")
    nodes = np.array(model._tree.__getstate__()[2], copy=True)
    nodes["is_leaf"][:] = 0  # the last level's nodes would read children past the array
    _refused(_binary_state(model, 2, nodes), "children are beyond")
    model = _fit("knn-kd_tree")
    bounds = np.array(model._tree.__getstate__()[3], copy=True)[:, :, :2].copy()
    _refused(_binary_state(model, 3, bounds), "`node_bounds`")
    model = _fit("knn-ball_tree")
    weighted = DistanceMetric.get_metric("minkowski", p=2, w=np.ones(2))  # 2 weights for 4 columns
    _refused(_binary_state(model, 11, weighted), "dist_metric", "does not fit")
    with pytest.raises(UnsafeModel, match="not square"):
        metric = DistanceMetric.get_metric("mahalanobis", VI=np.eye(4))
        state = list(metric.__getstate__())
        state[2] = np.ones((4, 1))
        metric.__setstate__(tuple(state))
        check_model({"metric": metric})


def test_a_deep_or_huge_object_graph_is_bounded(tmp_path: Path) -> None:
    import ml_action.records.tree_check as tc

    nested: list[Any] = []
    for _ in range(50):
        nested = [nested, _fit("decision_tree")]
    check_model(nested)  # walked without recursion
    saved = tc.MAX_OBJECTS
    tc.MAX_OBJECTS = 10
    try:
        _refused(nested, "more than 10 objects")
    finally:
        tc.MAX_OBJECTS = saved

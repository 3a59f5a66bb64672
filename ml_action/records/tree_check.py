"""Bounds checks of the index arrays inside a loaded model, run after skops loads it and before anything predicts.

scikit-learn's compiled code walks a tree's node array without checking an index against its size: a
``model.skops`` whose ``sklearn.tree._tree.Tree`` says ``left_child = 2e9`` (and whose sha256 was recomputed,
as anyone who can write the bucket or a bundle can) loads fine and then crashes ``predict`` with SIGSEGV. skops
leaves these types off its own trusted list for that reason; ml-action trusts them only because every one
reached from the model is checked here against its own sizes, and against the width of the rows scikit-learn
will hand it:

- ``Tree`` (decision trees, forests, extra trees, gradient boosting, AdaBoost, isolation forests):
  ``node_count`` equals the allocated capacity; a node is a leaf (both children ``-1``) or has two children
  with indices above its own and below ``node_count``, each node the child of at most one node (so a walk ends
  and a node is never visited twice); split features in ``[0, n_features)``; split thresholds finite;
  ``max_depth`` at least the depth of the nodes and at most ``node_count``; the owning estimator's
  ``n_features_in_`` equals ``n_features``.
- The histogram-GBM ``TreePredictor``: the same child rules, ``feature_idx`` below the model's
  ``n_features_in_``, a categorical split's ``bitset_idx`` inside both bitset arrays (``(k, 8)`` uint32) and
  on a feature the bin mapper marks categorical; the bin mapper's arrays one entry per feature.
- ``KDTree``/``BallTree``: ``idx_array`` a list of row numbers of ``data``, ``node_data`` ``n_nodes`` long,
  each node's ``[idx_start, idx_end)`` inside ``idx_array``, an inner node's children (``2i+1``, ``2i+2``)
  inside ``node_data``, ``node_bounds`` shaped ``(2 or 1, n_nodes, n_features)``, and the distance metric's
  own ``_validate_data`` on ``data`` (its weight vector or matrix as wide as the data).
- Ensembles that call their trees without re-checking the rows (forests, gradient boosting, isolation
  forests): each member's width equals the ensemble's (or its feature subset's); gradient boosting's trees
  form a ``(stages, n_trees_per_iteration_)`` grid and its initial prediction (from ``init_``) is as wide.

A model that fails raises ``UnsafeModel`` naming the object and the problem; ``artifacts.load_model`` turns it
into one ``… is damaged`` error. The checks are vectorised with numpy (cost: docs/registry.md).
"""

from __future__ import annotations

import functools
from typing import Any

from ml_action.records.tree_arrays import (
    UnsafeModel,
    check_binary_tree,
    check_bitsets,
    check_metric,
    check_predictor,
    check_tree,
    columns_of,
    fail,
)

__all__ = ["UnsafeModel", "check_model"]

MAX_OBJECTS = 5_000_000  # objects walked in one model


def check_model(model: Any) -> None:
    """Check every tree, HGB predictor, KD/ball tree and tree ensemble reached from ``model``."""
    import numpy as np

    kinds = _kinds()
    seen: set[int] = set()
    pending: list[tuple[Any, str]] = [(model, type(model).__name__)]
    probes: list[tuple[Any, str]] = []
    predictors: dict[int, str] = {}  # every HGB predictor met, each must be checked by its model
    checked: set[int] = set()
    while pending:
        obj, path = pending.pop()
        if id(obj) in seen or obj is None or isinstance(obj, (str, bytes, int, float, bool, complex)):
            continue
        seen.add(id(obj))
        if len(seen) > MAX_OBJECTS:
            raise UnsafeModel(f"it holds more than {MAX_OBJECTS:,} objects")
        if isinstance(obj, kinds.tree):
            check_tree(obj, path)
            continue
        if isinstance(obj, kinds.binary_trees):
            check_binary_tree(obj, isinstance(obj, kinds.kd_trees), path)
            continue
        if isinstance(obj, kinds.metric):
            check_metric(obj, None, path)
            continue
        if isinstance(obj, np.ndarray):
            if obj.dtype == object:
                pending.extend((item, f"{path}[{i}]") for i, item in enumerate(obj.flat))
            continue
        if isinstance(obj, dict):
            pending.extend((v, f"{path}[{_key(k)}]") for k, v in obj.items())
            pending.extend((k, f"{path}.keys()") for k in obj)
            continue
        if isinstance(obj, (list, tuple, set, frozenset)):
            pending.extend((item, f"{path}[{i}]") for i, item in enumerate(obj))
            continue
        state = getattr(obj, "__dict__", None)
        if isinstance(state, dict):
            _check_owner(obj, path, kinds)
            if isinstance(obj, kinds.hist):
                checked.update(_check_hist(obj, path, kinds))
            if isinstance(obj, kinds.gradient_boosting):
                probes.append((obj, path))
            if isinstance(obj, kinds.predictor):
                predictors[id(obj)] = path
            pending.extend((v, f"{path}.{k}") for k, v in state.items())
    for key, path in predictors.items():
        if key not in checked:
            raise fail(path, "a tree predictor outside the `_predictors` of a histogram gradient boosting model")
    for gb, path in probes:  # every part checked above: the initial prediction can run now
        _probe_gradient_boosting(gb, path, kinds)


def _key(key: Any) -> str:
    text = repr(key)
    return text if len(text) <= 40 else text[:40] + "…"


class _Kinds:
    def __init__(self) -> None:
        from sklearn.ensemble import IsolationForest
        from sklearn.ensemble._forest import BaseForest
        from sklearn.ensemble._gb import BaseGradientBoosting
        from sklearn.ensemble._hist_gradient_boosting.gradient_boosting import BaseHistGradientBoosting
        from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor
        from sklearn.metrics import DistanceMetric
        from sklearn.neighbors import _ball_tree, _kd_tree
        from sklearn.tree._tree import Tree

        self.tree = Tree
        self.predictor = TreePredictor
        self.kd_trees = (_kd_tree.BinaryTree64, _kd_tree.BinaryTree32)
        self.binary_trees = (*self.kd_trees, _ball_tree.BinaryTree64, _ball_tree.BinaryTree32)
        self.metric = DistanceMetric
        self.forest = BaseForest
        self.isolation = IsolationForest
        self.gradient_boosting = BaseGradientBoosting
        self.hist = BaseHistGradientBoosting


@functools.lru_cache(maxsize=1)
def _kinds() -> _Kinds:
    return _Kinds()


def _check_hist(model: Any, path: str, kinds: _Kinds) -> set[int]:
    """A histogram gradient boosting model: its bin mapper and every predictor, for rows of its width; returns
    the ids of the predictors it checked."""
    import numpy as np

    width = columns_of(model, path)
    if getattr(model, "_preprocessor", None) is not None:
        _check_hist_encoder(model._preprocessor, width, f"{path}._preprocessor")
    mapper = getattr(model, "_bin_mapper", None)
    categorical = getattr(mapper, "is_categorical_", None)
    sizes = {
        len(np.atleast_1d(getattr(mapper, "n_bins_non_missing_", ()))),
        len(getattr(mapper, "bin_thresholds_", ())),
    }
    if categorical is not None:
        sizes.add(np.asarray(categorical).size)
    if sizes != {width}:
        raise fail(f"{path}._bin_mapper", f"its arrays are not one entry per feature ({width})")
    predictors = getattr(model, "_predictors", None)
    if not isinstance(predictors, list) or not all(isinstance(stage, list) for stage in predictors):
        raise fail(path, "`_predictors` is not a list of lists of tree predictors")
    ids = set()
    for i, stage in enumerate(predictors):
        for k, predictor in enumerate(stage):
            where = f"{path}._predictors[{i}][{k}]"
            if not isinstance(predictor, kinds.predictor):
                raise fail(where, f"it is a {type(predictor).__name__}, not a tree predictor")
            check_bitsets(predictor, where)
            check_predictor(predictor, width, categorical, where)
            ids.add(id(predictor))
    return ids


def _checks_only(step: Any) -> bool:
    """HGB's pass-through of numeric columns: ``FunctionTransformer(partial(check_array, ...))``, same width."""
    import functools

    from sklearn.preprocessing import FunctionTransformer
    from sklearn.utils.validation import check_array

    func = getattr(step, "func", None)
    return (
        isinstance(step, FunctionTransformer)
        and isinstance(func, functools.partial)
        and func.func is check_array
        and not func.args
        and step.kw_args is None
    )


def _check_hist_encoder(encoder: Any, width: int, path: str) -> None:
    """The column transformer HGB builds for categorical columns (ordinal encoders and pass-through): its
    output is as wide as the columns it selects, which must be the model's width."""
    import numpy as np
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OrdinalEncoder

    if not isinstance(encoder, ColumnTransformer) or not isinstance(encoder.__dict__.get("transformers_"), list):
        raise fail(path, "it is not a fitted column transformer")
    out = 0
    for entry in encoder.transformers_:
        if not isinstance(entry, tuple) or len(entry) != 3:
            raise fail(path, "`transformers_` holds an entry that is not (name, transformer, columns)")
        _, step, cols = entry
        if isinstance(step, str) and step == "drop":
            continue
        if not (isinstance(step, OrdinalEncoder) or step == "passthrough" or _checks_only(step)):
            raise fail(path, f"it holds a {type(step).__name__}, not an ordinal encoder or pass-through")
        cols = np.asarray(cols)
        if cols.ndim != 1:
            raise fail(path, "a transformer's columns are not a list")
        out += int(np.count_nonzero(cols)) if cols.dtype == bool else int(cols.size)
    if out != width:
        raise fail(path, f"it gives {out} columns, not the model's {width}")


# ---------------------------------------------------------------------------------------------- owners


def _check_owner(obj: Any, path: str, kinds: _Kinds) -> None:
    """Checks that need the estimator around a tree: the widths it passes on unchecked."""
    tree = obj.__dict__.get("tree_")
    if isinstance(tree, kinds.tree) and int(tree.n_features) != columns_of(obj, path):
        raise fail(path, f"its tree takes {int(tree.n_features)} features, the estimator {obj.n_features_in_}")
    if isinstance(obj, kinds.forest) and "estimators_" in obj.__dict__:
        width = columns_of(obj, path)
        for i, member in enumerate(_members(obj.estimators_, path)):
            if columns_of(member, f"{path}.estimators_[{i}]") != width:
                raise fail(f"{path}.estimators_[{i}]", f"it takes {member.n_features_in_} features, not {width}")
    if isinstance(obj, kinds.isolation) and "estimators_" in obj.__dict__:
        _check_isolation(obj, path)


def _members(estimators: Any, path: str) -> list[Any]:
    import numpy as np

    if isinstance(estimators, np.ndarray) and estimators.dtype == object:
        return list(estimators.flat)
    if isinstance(estimators, list):
        return estimators
    raise fail(path, "`estimators_` is not a list of estimators")


def _check_isolation(model: Any, path: str) -> None:
    import numpy as np

    width = columns_of(model, path)
    members = _members(model.estimators_, path)
    features = getattr(model, "estimators_features_", None)
    if not isinstance(features, list) or len(features) != len(members):
        raise fail(path, "`estimators_features_` does not give one feature list per tree")
    for i, (member, cols) in enumerate(zip(members, features, strict=True)):
        cols = np.asarray(cols)
        if cols.ndim != 1 or cols.dtype.kind not in "iu" or ((cols < 0) | (cols >= width)).any():
            raise fail(f"{path}.estimators_features_[{i}]", f"it is not a list of columns below {width}")
        if columns_of(member, f"{path}.estimators_[{i}]") != cols.size:
            raise fail(f"{path}.estimators_[{i}]", f"it takes {member.n_features_in_} features, not {cols.size}")


def _probe_gradient_boosting(model: Any, path: str, kinds: _Kinds) -> None:
    """Gradient boosting adds tree ``k`` of a stage into column ``k`` of the initial prediction, unchecked."""
    import numpy as np

    if "estimators_" not in model.__dict__:
        return
    grid = model.estimators_
    if not isinstance(grid, np.ndarray) or grid.dtype != object or grid.ndim != 2 or not grid.size:
        raise fail(path, "`estimators_` is not a grid of trees (stages × trees per stage)")
    width = columns_of(model, path)
    for (i, k), member in np.ndenumerate(grid):
        where = f"{path}.estimators_[{i}, {k}]"
        if not isinstance(getattr(member, "tree_", None), kinds.tree) or columns_of(member, where) != width:
            raise fail(where, f"it is not a tree taking {width} features")
    if grid.shape[1] != getattr(model, "n_trees_per_iteration_", None):
        raise fail(path, f"`estimators_` has {grid.shape[1]} trees per stage, not `n_trees_per_iteration_`")
    try:
        start = model._raw_predict_init(np.zeros((1, width), dtype=np.float32))
    except Exception as exc:
        raise fail(f"{path}.init_", f"its initial prediction fails ({type(exc).__name__})") from None
    if not isinstance(start, np.ndarray) or start.shape != (1, grid.shape[1]):
        raise fail(f"{path}.init_", f"its initial prediction is not {grid.shape[1]} wide")

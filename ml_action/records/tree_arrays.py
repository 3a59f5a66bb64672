"""The array checks of one tree-like object against its own sizes (``tree_check`` walks the model and
supplies the widths): scikit-learn's ``Tree``, the histogram-GBM ``TreePredictor`` and its bitsets, a KD or ball
tree and its distance metric. See ``tree_check`` for the rules and why they are needed."""

from __future__ import annotations

from typing import Any

MAX_FEATURES = 10_000_000  # columns a model may say it takes (a probe row is allocated from it)


class UnsafeModel(Exception):
    """A model object whose index arrays do not fit its own sizes: scikit-learn could read out of bounds."""


def fail(path: str, problem: str) -> UnsafeModel:
    return UnsafeModel(f"{path}: {problem}")


def columns_of(owner: Any, path: str, field: str = "n_features_in_") -> int:
    import numpy as np

    value: Any = getattr(owner, field, None)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 1 <= value <= MAX_FEATURES:
        raise fail(path, f"`{field}` is {_short(value)}, not a number of columns from 1 to {MAX_FEATURES:,}")
    return int(value)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:40] + "…"


# ---------------------------------------------------------------------------------------------- trees


def children(left: Any, right: Any, leaf: Any, n: int, path: str) -> None:
    """Inner nodes point to two nodes after themselves and inside the array; no node has two parents."""
    import numpy as np

    inner = np.flatnonzero(~leaf)
    lo, hi = left[inner].astype(np.int64), right[inner].astype(np.int64)
    bad = (lo <= inner) | (lo >= n) | (hi <= inner) | (hi >= n)
    if bad.any():
        node = int(inner[np.argmax(bad)])
        raise fail(path, f"node {node} has children {int(left[node])} and {int(right[node])}, outside 1..{n - 1}")
    parents = np.bincount(np.concatenate([lo, hi]), minlength=n)
    if (parents > 1).any():
        raise fail(path, f"node {int(np.argmax(parents > 1))} is the child of more than one node")


def _depth(left: Any, right: Any, leaf: Any) -> int:
    """The depth of the deepest node, level by level (each node once: ``_children`` ran first)."""
    import numpy as np

    frontier, depth = np.array([0]), -1
    while frontier.size:
        depth += 1
        inner = frontier[~leaf[frontier]]
        frontier = np.concatenate([left[inner], right[inner]]).astype(np.int64)
    return depth


def check_tree(tree: Any, path: str) -> None:
    import numpy as np

    n = int(tree.node_count)
    if n < 1 or n != int(tree.capacity):  # checked before any array is read: they are node_count long
        raise fail(path, f"`node_count` is {n} for {int(tree.capacity)} allocated nodes")
    n_features = int(tree.n_features)
    if not 1 <= n_features <= MAX_FEATURES or int(tree.n_outputs) < 1 or int(tree.max_n_classes) < 1:
        raise fail(path, "its feature, output or class counts are out of range")
    left, right = np.asarray(tree.children_left), np.asarray(tree.children_right)
    leaf = left == -1
    if not np.array_equal(leaf, right == -1):
        raise fail(path, f"node {int(np.argmax(leaf != (right == -1)))} has one child")
    children(left, right, leaf, n, path)
    feature = np.asarray(tree.feature)[~leaf]
    if ((feature < 0) | (feature >= n_features)).any():
        raise fail(
            path,
            f"a split is on feature {int(feature[(feature < 0) | (feature >= n_features)][0])}, "
            f"not one of its {n_features}",
        )
    if not np.isfinite(np.asarray(tree.threshold)[~leaf]).all():
        raise fail(path, "a split threshold is not a finite number")
    depth = _depth(left, right, leaf)
    if not depth <= int(tree.max_depth) <= n:
        raise fail(path, f"`max_depth` is {int(tree.max_depth)} for nodes {depth} deep")
    if tuple(np.asarray(tree.value).shape) != (n, int(tree.n_outputs), int(tree.max_n_classes)):
        raise fail(path, "its value array does not have one row per node")


def check_predictor(predictor: Any, width: int, categorical: Any, path: str) -> None:
    """One HGB ``TreePredictor`` for rows ``width`` wide; ``categorical`` the bin mapper's mask (or None)."""
    import numpy as np
    from sklearn.ensemble._hist_gradient_boosting.common import PREDICTOR_RECORD_DTYPE

    nodes = getattr(predictor, "nodes", None)
    if not isinstance(nodes, np.ndarray) or nodes.ndim != 1 or nodes.dtype != PREDICTOR_RECORD_DTYPE or not nodes.size:
        raise fail(path, "`nodes` is not a non-empty array of predictor nodes")
    n = nodes.size
    leaf = nodes["is_leaf"] != 0
    children(nodes["left"], nodes["right"], leaf, n, path)
    inner = ~leaf
    feature = nodes["feature_idx"][inner]
    if ((feature < 0) | (feature >= width)).any():
        raise fail(
            path,
            f"a split is on feature {int(feature[(feature < 0) | (feature >= width)][0])}, "
            f"not one of the model's {width}",
        )
    cat = inner & (nodes["is_categorical"] != 0)
    if np.isnan(nodes["num_threshold"][inner & ~cat]).any():
        raise fail(path, "a split threshold is not a number")
    if cat.any():
        rows = min(predictor.raw_left_cat_bitsets.shape[0], predictor.binned_left_cat_bitsets.shape[0])
        if (nodes["bitset_idx"][cat] >= rows).any():
            raise fail(path, f"a categorical split names a bitset beyond the {rows} it has")
        features = nodes["feature_idx"][cat]
        if categorical is None or not np.asarray(categorical, dtype=bool)[features].all():
            raise fail(path, "a categorical split is on a feature the model does not treat as categorical")


def check_bitsets(predictor: Any, path: str) -> None:
    import numpy as np

    for name in ("raw_left_cat_bitsets", "binned_left_cat_bitsets"):
        bits = getattr(predictor, name, None)
        if not (
            isinstance(bits, np.ndarray)
            and bits.ndim == 2
            and bits.shape[1] == 8
            and bits.dtype == np.uint32
            and bits.flags.c_contiguous
        ):
            raise fail(path, f"`{name}` is not a (k, 8) array of uint32")


# ---------------------------------------------------------------------------------------------- KD/ball trees


def check_binary_tree(tree: Any, kd: bool, path: str) -> None:
    import numpy as np

    state = tree.__getstate__()
    data, idx, node_data, bounds = (np.asarray(a) for a in state[:4])
    n_nodes, metric, weight = state[6], state[11], state[12]
    if data.ndim != 2 or not data.shape[0] or not 1 <= data.shape[1] <= MAX_FEATURES:
        raise fail(path, "`data` is not a non-empty table")
    n_samples, n_features = data.shape
    if idx.shape != (n_samples,):
        raise fail(path, f"`idx_array` is not {n_samples} row numbers of its data")
    outside = (idx < 0) | (idx >= n_samples)
    if outside.any():
        raise fail(path, f"`idx_array` names row {int(idx[outside][0])}, not one of its {n_samples}")
    if node_data.ndim != 1 or node_data.size != n_nodes or n_nodes < 1:
        raise fail(path, f"`node_data` does not hold `n_nodes` ({n_nodes}) nodes")
    start, end = node_data["idx_start"], node_data["idx_end"]
    if ((start < 0) | (start > end) | (end > n_samples)).any():
        raise fail(path, f"a node's rows are outside its {n_samples}")
    inner = np.flatnonzero(node_data["is_leaf"] == 0)
    if (2 * inner + 2 >= n_nodes).any():
        raise fail(path, f"an inner node's children are beyond its {n_nodes} nodes")
    if bounds.shape != (2 if kd else 1, n_nodes, n_features):
        raise fail(path, "`node_bounds` does not match its nodes and features")
    if weight is not None and np.asarray(weight).shape != (n_samples,):
        raise fail(path, f"`sample_weight` is not {n_samples} long")
    check_metric(metric, data, f"{path}.dist_metric")


def check_metric(metric: Any, data: Any, path: str) -> None:
    import numpy as np

    state = metric.__getstate__()
    matrix = np.asarray(state[2])
    if "Mahalanobis" in type(metric).__name__ and (matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]):
        raise fail(path, "its matrix is not square")
    if data is not None:
        try:
            metric._validate_data(data)
        except (ValueError, TypeError) as exc:
            raise fail(path, f"it does not fit the tree's data ({str(exc)[:120]})") from None

"""Crafted models for the hostile-load tests: a fitted scikit-learn model whose tree, HGB predictor or KD/ball
tree holds an index that scikit-learn does not bounds-check, saved with skops as anyone with write access to
a bucket or a bundle could (the sha256 is then recomputed by the test).

``corrupt`` changes one index in the first such object it finds and returns a label for it; nothing else is
touched, so the file loads with skops' restricted loader exactly like the original.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np

FAR = 2_000_000_000  # an index ~2e9 entries past any array: reading there faults (SIGSEGV)

# every tree-based estimator the action offers (ml_action.pipeline.model.SHORT_NAMES), and KNN on a KD or ball tree
TREE_MODELS = {
    "random_forest": {},
    "extra_trees": {},
    "gradient_boosting": {},
    "hist_gradient_boosting": {},
    "decision_tree": {},
    "adaboost": {},
    "knn-kd_tree": {"algorithm": "kd_tree"},
    "knn-ball_tree": {"algorithm": "ball_tree"},
}


def estimator(name: str, task: str) -> Any:
    """A fresh estimator for a ``TREE_MODELS`` name (``knn-kd_tree`` is ``knn`` with ``algorithm=kd_tree``)."""
    from ml_action.pipeline.model import SHORT_NAMES

    short = name.split("-")[0]
    path = SHORT_NAMES[short][0 if task == "classification" else 1]
    assert path is not None
    module, _, cls = path.rpartition(".")
    params = dict(TREE_MODELS[name])
    if short in ("random_forest", "extra_trees", "gradient_boosting", "adaboost"):
        params["n_estimators"] = 5
    if short == "hist_gradient_boosting":
        params["max_iter"] = 5
    return getattr(importlib.import_module(module), cls)(**params)


def _objects(root: Any) -> Any:
    """Every object reached from ``root`` (attributes, containers, object arrays), depth first."""
    seen: set[int] = set()
    pending = [root]
    while pending:
        obj = pending.pop()
        if id(obj) in seen or isinstance(obj, (str, bytes, int, float, type(None))):
            continue
        seen.add(id(obj))
        yield obj
        if isinstance(obj, np.ndarray):
            if obj.dtype == object:
                pending.extend(reversed(list(obj.flat)))
        elif isinstance(obj, dict):
            pending.extend(reversed(list(obj.values())))
        elif isinstance(obj, (list, tuple)):
            pending.extend(reversed(obj))
        elif hasattr(obj, "__dict__"):
            pending.extend(reversed(list(vars(obj).values())))


def corrupt(model: Any, how: str = "child") -> str:
    """Point one index of the first tree-like object in ``model`` ~2e9 entries away; say which object."""
    from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor
    from sklearn.neighbors import _ball_tree, _kd_tree
    from sklearn.tree._tree import Tree

    for obj in _objects(model):
        if isinstance(obj, Tree):
            state = obj.__getstate__()
            nodes = state["nodes"].copy()
            inner = int(np.flatnonzero(nodes["left_child"] != -1)[0])
            if how == "child":
                nodes["left_child"][inner] = FAR
            else:
                nodes["feature"][inner] = FAR
            obj.__setstate__({**state, "nodes": nodes})
            return "Tree"
        if isinstance(obj, TreePredictor):
            nodes = obj.nodes.copy()
            inner = int(np.flatnonzero(nodes["is_leaf"] == 0)[0])
            nodes["left" if how == "child" else "feature_idx"][inner] = FAR
            obj.nodes = nodes
            return "TreePredictor"
        if isinstance(obj, (_kd_tree.BinaryTree64, _ball_tree.BinaryTree64)):
            state = list(obj.__getstate__())
            idx = np.array(state[1], copy=True)
            idx[:] = FAR  # every leaf a query visits reads ~2e9 rows past the data
            state[1] = idx
            obj.__setstate__(tuple(state))
            return type(obj).__name__
    raise AssertionError(f"no tree in {type(model).__name__}")


PREDICT_RAW = """
import sys, pandas as pd, skops.io as sio
path, csv, features = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
model = sio.load(path, trusted=sio.get_untrusted_types(file=path))
model.predict(pd.read_csv(csv)[features])
print("predicted")
"""
"""``python -c PREDICT_RAW model.skops data.csv a,b,c``: load with plain skops (trusting the types it names)
and predict, as a service would without ml-action's checks."""

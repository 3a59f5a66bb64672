"""Hyperparameter search: the ``search`` space (parsed in ``search_space``) checked against the estimator,
the scorer of the primary metric, and one run of scikit-learn's ``GridSearchCV`` / ``RandomizedSearchCV`` /
``HalvingRandomSearchCV`` on the training part, with the trials gathered for the report and the manifest.

Names are the estimator's, as in ``params``; ``params`` stay fixed.

The search only picks parameters (``refit=False``): the chosen setting then takes the normal path (fit on the
whole training part, holdout, champion, gates), so a searched model is fitted exactly like any other. Every
joblib-parallel part runs where ``ml_action.adapters.cluster`` put joblib: local cores, or a Dask cluster, where the
training rows are scattered once for the whole search.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ml_action.errors import UserError, first_line
from ml_action.report import escape

if TYPE_CHECKING:
    from ml_action.adapters.cluster import Place
    from ml_action.adapters.runner import Runner
    from ml_action.pipeline.data import Dataset

DEFAULT_FOLDS = 5
SUMMARY_ROWS = 200  # trials in the job summary's table; the comment shows the top 10
COMMENT_ROWS = 10


def is_grid(space: Mapping[str, Any]) -> bool:
    return all(isinstance(spec, list) for spec in space.values())


def grid_size(space: Mapping[str, Any]) -> int:
    return math.prod(len(spec) for spec in space.values())


def distributions(space: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """The space as scikit-learn takes it: lists as they are, scipy distributions for the rest."""
    from scipy import stats

    out: dict[str, Any] = {}
    for param, spec in space.items():
        if isinstance(spec, list):
            out[prefix + param] = spec
        elif "int" in spec:
            low, high = spec["int"]
            out[prefix + param] = stats.randint(low, high + 1)
        elif spec["log"]:
            out[prefix + param] = stats.loguniform(spec["low"], spec["high"])
        else:
            out[prefix + param] = stats.uniform(spec["low"], spec["high"] - spec["low"])
    return out


def check_space(
    space: Mapping[str, Any], method: str, fixed: Mapping[str, Any], valid: Mapping[str, Any], estimator: str
) -> None:
    """Names against the estimator's ``get_params()`` and ``params``; distributions only where sampled."""
    both = sorted(set(space) & set(fixed))
    if both:
        raise UserError(
            "search",
            f"{', '.join(both)} {'is' if len(both) == 1 else 'are'} in both `params` and `search`",
            "`params` are fixed and `search` varies the rest: keep each parameter in one.",
        )
    unknown = sorted(p for p in space if p not in valid)
    if unknown:
        names = ", ".join(sorted(k for k in valid if "__" not in k)) or ", ".join(sorted(valid))
        raise UserError(
            "search", f"unknown parameter(s) {', '.join(unknown)} for {estimator}", f"Valid names: {names}."
        )
    if method == "grid" and not is_grid(space):
        ranges = ", ".join(p for p, s in space.items() if not isinstance(s, list))
        raise UserError(
            "search-method",
            f"`grid` needs a list of values for every parameter; {ranges} "
            f"{'is a range' if ',' not in ranges else 'are ranges'}",
            "Use `search-method: random` (or `halving`) for ranges, or list the values.",
        )


# ---------------------------------------------------------------------------------------------- scoring


def scorer(primary: str, classes: list[Any] | None) -> Any:
    """A scikit-learn scorer of our metric ``primary`` (same function and options as ``ml_action.core.metrics``),
    built from scikit-learn objects only, so that Dask workers need nothing of ml-action; for metrics where
    lower is better it returns the negated value, as scikit-learn's ``neg_*`` scorers do."""
    from sklearn import metrics as skm

    binary = classes is not None and len(classes) == 2
    pos = classes[1] if binary and classes is not None else None
    no_pos = {"pos_label": None}  # macro averages have no positive class (scikit-learn would assume 1)
    table: dict[str, tuple[Any, dict[str, Any]]] = {
        "accuracy": (skm.accuracy_score, {}),
        "balanced_accuracy": (skm.balanced_accuracy_score, {}),
        "precision_macro": (skm.precision_score, {"average": "macro", "zero_division": 0, **no_pos}),
        "recall_macro": (skm.recall_score, {"average": "macro", "zero_division": 0, **no_pos}),
        "f1_macro": (skm.f1_score, {"average": "macro", "zero_division": 0, **no_pos}),
        "precision": (skm.precision_score, {"pos_label": pos, "zero_division": 0}),
        "recall": (skm.recall_score, {"pos_label": pos, "zero_division": 0}),
        "f1": (skm.f1_score, {"pos_label": pos, "zero_division": 0}),
        "roc_auc": (
            skm.roc_auc_score,
            {"response_method": "predict_proba"}
            if binary
            else {"response_method": "predict_proba", "multi_class": "ovr", "labels": classes},
        ),
        "log_loss": (skm.log_loss, {"response_method": "predict_proba", "labels": classes, "greater_is_better": False}),
        "rmse": (skm.root_mean_squared_error, {"greater_is_better": False}),
        "mae": (skm.mean_absolute_error, {"greater_is_better": False}),
        "r2": (skm.r2_score, {}),
        "mape": (skm.mean_absolute_percentage_error, {"greater_is_better": False}),
    }
    func, kwargs = table[primary]
    return skm.make_scorer(func, **kwargs)


def splitter(dataset: Dataset, folds: int, seed: int) -> Any:
    """The folds of ``cross_validate``: stratified for classification when every class has enough rows."""
    from sklearn.model_selection import KFold, StratifiedKFold

    if dataset.task == "classification" and dataset.y_train.value_counts().min() >= folds:
        return StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return KFold(n_splits=folds, shuffle=True, random_state=seed)


# ---------------------------------------------------------------------------------------------- running


@dataclass
class SearchResult:
    """What one search found: the chosen parameters (the user's names), its trials best first, and totals."""

    method: str
    space: dict[str, Any]
    seed: int
    folds: int
    scoring: str
    greater_is_better: bool
    chosen: dict[str, Any]
    best_score: float
    best_std: float
    candidates: int
    fits: int
    seconds: float
    trials: list[dict[str, Any]] = field(default_factory=list)
    where: str = ""

    def record(self) -> dict[str, Any]:
        """For the manifest: enough to know what was searched and to rebuild the choice without searching."""
        return {
            "method": self.method,
            "space": self.space,
            "seed": self.seed,
            "folds": self.folds,
            "scoring": self.scoring,
            "greater_is_better": self.greater_is_better,
            "chosen": self.chosen,
            "best_cv_score": self.best_score,
            "best_cv_std": self.best_std,
            "candidates": self.candidates,
            "fits": self.fits,
            "where": self.where,
        }

    def context(self) -> dict[str, Any]:
        """For ``templates/search.md.j2``: values already written as safe table cells."""
        trials = [{**t, "cells": [cell(t["params"][p]) for p in self.space]} for t in self.trials[:SUMMARY_ROWS]]
        return {
            **self.record(),
            "seconds": self.seconds,
            "trials": trials,
            "total": len(self.trials),
            "varied": list(self.space),
            "halving": self.method == "halving",
            "chosen_text": ", ".join(f"`{p}={cell(v)}`" for p, v in self.chosen.items()),
        }


def cell(value: Any) -> str:
    """A parameter value for a Markdown table cell inside backticks: floats to 4 significant digits, the rest
    as ``repr``, made safe by ``escape.code_text`` (the values come from the repository's config)."""
    return escape.code_text(f"{value:.4g}" if isinstance(value, float) else repr(value), 80)


def folds_for(cv: int) -> int:
    """``cv`` folds, or 5 when ``cv`` is 0 (off for the report, but a search needs folds)."""
    if cv == 1:
        raise UserError("cv", "1 fold is not cross-validation", "Set `cv` to 0 (5 folds for a search) or to 2 or more.")
    return cv or DEFAULT_FOLDS


def run(
    model: Any,
    space: Mapping[str, Any],
    prefix: str,
    method: str,
    n_iter: int,
    cv: int,
    seed: int,
    dataset: Dataset,
    primary: str,
    place: Place,
    runner: Runner,
) -> SearchResult:
    """Search ``space`` for ``model`` on the training part; ``model`` keeps its parameters (set the chosen
    ones with ``prefix`` + name). A scikit-learn complaint about the space or the data is the user's."""
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV

    from ml_action.core.metrics import METRICS

    folds = folds_for(cv)
    if len(dataset.X_train) < folds:
        raise UserError(
            "cv", f"{folds} folds need at least {folds} training rows, there are {len(dataset.X_train)}", "Lower `cv`."
        )
    common: dict[str, Any] = {
        "scoring": scorer(primary, dataset.classes),
        "cv": splitter(dataset, folds, seed),
        "refit": False,
        "n_jobs": -1,
        "error_score": "raise",
    }
    params = distributions(space, prefix)
    if method == "grid":
        search: Any = GridSearchCV(clone(model), params, **common)
        planned = f"{grid_size(space)} candidates"
    elif method == "random":
        n = min(n_iter, grid_size(space)) if is_grid(space) else n_iter
        search = RandomizedSearchCV(clone(model), params, n_iter=n, random_state=seed, **common)
        planned = f"{n} candidates"
    else:
        from sklearn.experimental import enable_halving_search_cv  # noqa: F401
        from sklearn.model_selection import HalvingRandomSearchCV

        search = HalvingRandomSearchCV(clone(model), params, n_candidates=n_iter, random_state=seed, factor=3, **common)
        planned = f"{n_iter} candidates, halved by 3 each round"
    runner.info(
        f"{method} search: {planned} × {folds} folds on {len(dataset.X_train)} training rows, scored "
        f"by {primary}; {place.describe()}"
    )
    started = time.perf_counter()
    try:
        with place.backend(dataset.X_train, dataset.y_train):
            search.fit(dataset.X_train, dataset.y_train)
    except (ValueError, TypeError) as exc:
        raise UserError(
            "search",
            f"the search failed: {first_line(exc, 400)}",
            "Check the values in `search` and that they suit this estimator and data.",
        ) from None
    seconds = time.perf_counter() - started
    sign = 1.0 if METRICS[primary].greater_is_better else -1.0
    trials = _trials(search.cv_results_, list(space), prefix, sign)
    chosen = {p: _plain(search.best_params_[prefix + p]) for p in space}
    best = search.best_index_
    results = search.cv_results_
    fits = len(results["params"]) * folds
    runner.info(
        f"{len(results['params'])} candidates, {fits} fits in {seconds:.1f} s; chosen: "
        + ", ".join(f"{k}={v!r}" for k, v in chosen.items())
        + f" ({primary} {sign * float(results['mean_test_score'][best]):.4g} in CV)"
    )
    return SearchResult(
        method=method,
        space=dict(space),
        seed=seed,
        folds=folds,
        scoring=primary,
        greater_is_better=sign > 0,
        chosen=chosen,
        best_score=sign * float(results["mean_test_score"][best]),
        best_std=float(results["std_test_score"][best]),
        candidates=len(results["params"]),
        fits=fits,
        seconds=seconds,
        trials=trials,
        where=place.describe(),
    )


def _plain(value: Any) -> Any:
    """numpy scalars (from the distributions) as Python numbers, for JSON and for ``params``."""
    item = getattr(value, "item", None)
    return item() if callable(item) and not isinstance(value, (list, dict, str)) else value


def _trials(results: Mapping[str, Any], names: list[str], prefix: str, sign: float) -> list[dict[str, Any]]:
    """Every candidate, best first (for halving: the last round first, as scikit-learn ranks them)."""
    rows: list[dict[str, Any]] = []
    for i, params in enumerate(results["params"]):
        row: dict[str, Any] = {
            "rank": int(results["rank_test_score"][i]),
            "params": {n: _plain(params[prefix + n]) for n in names},
            "mean": sign * float(results["mean_test_score"][i]),
            "std": float(results["std_test_score"][i]),
            "fit_seconds": float(results["mean_fit_time"][i]),
        }
        if "iter" in results:
            row["round"] = int(results["iter"][i]) + 1
            row["resources"] = int(results["n_resources"][i])
        rows.append(row)
    rows.sort(key=lambda r: (-r.get("round", 0), r["rank"]))
    if "iter" in results:  # scikit-learn ranks halving trials across rounds: number them in the shown order
        for position, row in enumerate(rows, 1):
            row["rank"] = position
    return rows


def chosen_params(fixed: Mapping[str, Any], result: SearchResult | None) -> dict[str, Any]:
    """The parameters a rebuild needs: the fixed ones and the chosen ones (``reproduce`` does not search)."""
    return {**fixed, **(result.chosen if result else {})}

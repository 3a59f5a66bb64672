"""Estimators: from a short name, a library's estimator class or code in the workspace (what a spec may name,
and how it is imported, is ``model_spec``'s rule); params checked against ``get_params()``; automatic
preprocessing unless the user hands a full pipeline."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ml_action.config import Config
from ml_action.errors import UserError, first_line
from ml_action.pipeline.model_spec import Echo, Refused, class_estimator, factory_estimator, quoted

if TYPE_CHECKING:
    import pandas as pd

# short name -> (classifier, regressor) import paths; None where the task has no such model
SHORT_NAMES: dict[str, tuple[str | None, str | None]] = {
    "random_forest": ("sklearn.ensemble.RandomForestClassifier", "sklearn.ensemble.RandomForestRegressor"),
    "extra_trees": ("sklearn.ensemble.ExtraTreesClassifier", "sklearn.ensemble.ExtraTreesRegressor"),
    "gradient_boosting": ("sklearn.ensemble.GradientBoostingClassifier", "sklearn.ensemble.GradientBoostingRegressor"),
    "hist_gradient_boosting": (
        "sklearn.ensemble.HistGradientBoostingClassifier",
        "sklearn.ensemble.HistGradientBoostingRegressor",
    ),
    "decision_tree": ("sklearn.tree.DecisionTreeClassifier", "sklearn.tree.DecisionTreeRegressor"),
    "logistic_regression": ("sklearn.linear_model.LogisticRegression", None),
    "ridge": ("sklearn.linear_model.RidgeClassifier", "sklearn.linear_model.Ridge"),
    "linear_regression": (None, "sklearn.linear_model.LinearRegression"),
    "lasso": (None, "sklearn.linear_model.Lasso"),
    "elastic_net": (None, "sklearn.linear_model.ElasticNet"),
    "svm": ("sklearn.svm.SVC", "sklearn.svm.SVR"),
    "knn": ("sklearn.neighbors.KNeighborsClassifier", "sklearn.neighbors.KNeighborsRegressor"),
    "naive_bayes": ("sklearn.naive_bayes.GaussianNB", None),
    "mlp": ("sklearn.neural_network.MLPClassifier", "sklearn.neural_network.MLPRegressor"),
    "adaboost": ("sklearn.ensemble.AdaBoostClassifier", "sklearn.ensemble.AdaBoostRegressor"),
}

# estimators whose results depend on feature scale get a StandardScaler in the automatic pipeline
_SCALE_SENSITIVE = ("linear_model", "svm", "neighbors", "neural_network")


def _import_path(path: str) -> Any:
    """A class of ``SHORT_NAMES`` (our own table: scikit-learn paths only)."""
    module_name, _, attr = path.rpartition(".")
    return getattr(importlib.import_module(module_name), attr)


def base_estimator(config: Config, task: str, echo: Echo | None = None) -> tuple[Any, bool]:
    """The user's estimator and whether it is a complete pipeline (a factory's result is taken as given).

    What ``model`` may name, and how it is imported, is ``model_spec``'s rule (``Refused`` otherwise);
    ``echo`` receives what the user's code printed (the runner's ``info``; default escaped lines on stderr)."""
    spec = config.model or "random_forest"
    if ":" in spec:
        estimator = factory_estimator(spec, config.workspace, echo)
        return estimator, _is_pipeline(estimator)
    if spec in SHORT_NAMES:
        classifier, regressor = SHORT_NAMES[spec]
        path = classifier if task == "classification" else regressor
        if path is None:
            valid = ", ".join(n for n, pair in SHORT_NAMES.items() if pair[0 if task == "classification" else 1])
            raise UserError("model", f"'{spec}' is not available for {task}", f"Use one of: {valid}.")
        return _import_path(path)(), False
    if "." not in spec:
        raise Refused(
            f"unknown model {quoted(spec)}",
            f"Use a short name ({', '.join(SHORT_NAMES)}), an import path such as "
            "`sklearn.svm.LinearSVC`, or `module:function` in your repository.",
        )
    estimator = class_estimator(spec, config.workspace, echo)
    return estimator, _is_pipeline(estimator)


def _is_pipeline(estimator: Any) -> bool:
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    if isinstance(estimator, Pipeline):
        return any(isinstance(step, ColumnTransformer) for _, step in estimator.steps)
    return False


def apply_params(estimator: Any, params: dict[str, Any], seed: int) -> Any:
    """Set ``params`` after checking the names against ``get_params()``; seed ``random_state`` if unset."""
    valid = estimator.get_params(deep=True)
    unknown = [k for k in params if k not in valid]
    if unknown:
        names = ", ".join(sorted(k for k in valid if "__" not in k)) or ", ".join(sorted(valid))
        raise UserError(
            "params",
            f"unknown parameter(s) {', '.join(sorted(unknown))} for {type(estimator).__name__}",
            f"Valid names: {names}.",
        )
    try:
        estimator.set_params(**params)
    except (ValueError, TypeError) as exc:
        raise UserError("params", f"cannot set {params} ({exc})", "Check the values.") from None
    seeds = {
        k: seed
        for k, v in estimator.get_params(deep=True).items()
        if (k == "random_state" or k.endswith("__random_state")) and v is None and k not in params
    }
    if seeds:
        estimator.set_params(**seeds)
    return estimator


def _categorical_columns(frame: pd.DataFrame) -> list[str]:
    import pandas as pd

    return [
        c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c])
    ]


def build_pipeline(estimator: Any, X: pd.DataFrame) -> Any:
    """Numeric columns imputed (and scaled when the estimator needs it); categoricals imputed + one-hot."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    categorical = _categorical_columns(X)
    numeric = [c for c in X.columns if c not in categorical]
    scale = any(part in type(estimator).__module__ for part in _SCALE_SENSITIVE)
    numeric_steps: list[tuple[str, Any]] = [("impute", SimpleImputer(strategy="median"))]
    if scale:
        numeric_steps.append(("scale", StandardScaler()))
    transformers: list[tuple[str, Any, list[str]]] = []
    if numeric:
        transformers.append(("numeric", Pipeline(numeric_steps), numeric))
    if categorical:
        transformers.append(
            (
                "categorical",
                Pipeline(
                    [
                        ("impute", SimpleImputer(strategy="most_frequent")),
                        ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
                    ]
                ),
                categorical,
            )
        )
    pre = ColumnTransformer(transformers, remainder="drop", verbose_feature_names_out=False)
    return Pipeline([("preprocess", pre), ("model", estimator)])


def make_model(config: Config, task: str, X: pd.DataFrame, echo: Echo | None = None) -> tuple[Any, dict[str, Any]]:
    """The estimator to fit and its user-set parameters (``search`` is not looked at: ``reproduce`` rebuilds a
    searched version from the parameters it chose); ``echo`` as for ``base_estimator``."""
    model, params, _ = _build(config, task, X, False, echo)
    return model, params


def make_candidate(
    config: Config, task: str, X: pd.DataFrame, echo: Echo | None = None
) -> tuple[Any, dict[str, Any], str]:
    """``make_model`` for a run that may search: also checks ``search`` against the estimator's parameters and
    ``params``, and returns the prefix of the estimator's parameters inside the model (``model__`` in the
    automatic pipeline, none in the user's own), since the search varies the whole pipeline."""
    return _build(config, task, X, True, echo)


def _build(
    config: Config, task: str, X: pd.DataFrame, with_search: bool, echo: Echo | None
) -> tuple[Any, dict[str, Any], str]:
    estimator, complete = base_estimator(config, task, echo)
    params = dict(config.params)
    estimator = apply_params(estimator, params, config.seed)
    if with_search and config.search:
        from ml_action.pipeline.search import check_space

        check_space(
            config.search, config.search_method, params, estimator.get_params(deep=True), type(estimator).__name__
        )
    model = estimator if complete else build_pipeline(estimator, X)
    return model, params, "" if complete else "model__"


def describe(model: Any) -> str:
    from sklearn.pipeline import Pipeline

    if isinstance(model, Pipeline):
        return " → ".join(type(step).__name__ for _, step in model.steps)
    return type(model).__name__


def fit(model: Any, X: pd.DataFrame, y: pd.Series) -> Any:
    """Fit; an estimator's complaint about the data or params is the user's to fix."""
    try:
        return model.fit(X, y)
    except (ValueError, TypeError) as exc:
        message = first_line(exc, 400)
        raise UserError(
            "model",
            f"fitting {describe(model)} failed: {message}",
            "Check `params` and that the data suits this estimator.",
        ) from None


def checked_predict(model: Any, X: pd.DataFrame, task: str, what: str = "the holdout") -> Any:
    """``metrics.predict`` for the user's own model: a complaint about the data is the user's to fix."""
    from ml_action.core.metrics import predict

    try:
        return predict(model, X, task)
    except (ValueError, TypeError, KeyError) as exc:
        message = first_line(exc, 400)
        raise UserError(
            "model",
            f"{describe(model)} could not predict on {what}: {message}",
            "Check that the pipeline handles every value of the holdout (e.g. "
            "OneHotEncoder(handle_unknown='ignore') for categories unseen in training).",
        ) from None

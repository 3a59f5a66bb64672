"""Datasets: load CSV / Parquet / JSON Lines from the workspace, check them, split them, fingerprint them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ml_action.config import Config, no_config_file
from ml_action.errors import UserError, WorkspaceError
from ml_action.pipeline.tables import fingerprint, read_hashed
from ml_action.workspace import confine

if TYPE_CHECKING:
    import pandas as pd

Fetch = Callable[[str, str], Path]
"""Downloads the ``s3://`` file an input (the second argument) names and returns where it is on disk; the
orchestrator builds it from the registry's S3 settings (``registry.s3_client.data_fetcher``)."""


@dataclass
class Dataset:
    """The frames of one run and what we know about where they came from."""

    train: pd.DataFrame
    test: pd.DataFrame
    target: str
    features: list[str]
    task: str
    fingerprints: dict[str, dict[str, Any]]
    classes: list[Any] | None = None

    @property
    def X_train(self) -> pd.DataFrame:
        return self.train[self.features]

    @property
    def X_test(self) -> pd.DataFrame:
        return self.test[self.features]

    @property
    def y_train(self) -> pd.Series:
        return self.train[self.target]

    @property
    def y_test(self) -> pd.Series:
        return self.test[self.target]


def resolve_data_path(config: Config, value: str, input_name: str, fetch: Fetch | None = None) -> Path:
    """The local file for ``value``: a path in the workspace, or ``s3://bucket/key`` downloaded by ``fetch``."""
    if not value:
        looked = no_config_file(config) if input_name == "data" else ""
        raise WorkspaceError(
            input_name,
            f"is required and was not given{looked}",
            f"Set `{input_name}` to a CSV, Parquet or JSON Lines file in the workspace"
            + (", or run in the folder that holds your ml-action.yml." if looked else "."),
            config.workspace,
        )
    if value[:5].lower() == "s3://":
        if fetch is None:
            raise UserError(input_name, f"'{value}' is in S3, which this command does not read", "Use a local file.")
        return fetch(value, input_name)
    path = confine(config.workspace, value, input_name)
    if not path.is_file():
        raise WorkspaceError(
            input_name,
            f"file '{value}' does not exist in the workspace {config.workspace.resolve()}",
            "Check the path (it is relative to the workspace) and that the checkout has it.",
            config.workspace,
        )
    return path


def infer_task(y: pd.Series) -> str:
    """Classification for text, booleans and few integer values; regression for other numbers."""
    import pandas as pd

    if not pd.api.types.is_numeric_dtype(y) or pd.api.types.is_bool_dtype(y):
        return "classification"
    values = y.dropna()
    integral = bool(((values % 1) == 0).all()) if len(values) else True
    if integral and values.nunique() <= 20:
        return "classification"
    return "regression"


def select_features(config: Config, frame: pd.DataFrame) -> list[str]:
    return check_columns(config, [str(c) for c in frame.columns])


def check_columns(config: Config, columns: list[str]) -> list[str]:
    """The feature columns of a table with these ``columns``: the target, ``features`` and ``drop`` checked."""
    if config.target not in columns:
        raise UserError(
            "target", f"column '{config.target}' is not in the data", f"Use one of: {', '.join(columns[:30])}."
        )
    for name, wanted in (("features", config.features), ("drop", config.drop)):
        missing = [c for c in wanted if c not in columns]
        if missing:
            raise UserError(
                name,
                f"column(s) {', '.join(missing)} not in the data",
                f"Use only existing columns: {', '.join(columns[:30])}.",
            )
    features = list(config.features) if config.features else [c for c in columns if c != config.target]
    if config.target in features:
        raise UserError("features", f"the target '{config.target}' is listed as a feature", "Remove it.")
    features = [c for c in features if c not in config.drop]
    if not features:
        raise UserError("features", "no feature columns are left", "Check `features` and `drop`.")
    return features


def sorted_classes(y: pd.Series) -> list[Any]:
    """The labels in scikit-learn's order (``np.unique``): the second of two is the positive class."""
    values = y.dropna().unique().tolist()
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=str)


def _check_target(config: Config, y: pd.Series, task: str, input_name: str) -> None:
    import pandas as pd

    if y.isna().all():
        raise UserError("target", f"column '{config.target}' in `{input_name}` is empty", "Fill in the labels.")
    if task == "regression" and not pd.api.types.is_numeric_dtype(y):
        raise UserError(
            "task",
            f"regression needs a numeric target, but '{config.target}' holds text such as '{y.dropna().iloc[0]}'",
            "Use `task: classification` or a numeric target.",
        )
    kinds = {type(v).__name__ for v in y.dropna().unique()[:10_000]}
    if (
        task == "classification"
        and len(kinds - {"int", "float", "int64", "float64", "bool", "bool_"})
        and len(kinds) > 1
    ):
        raise UserError(
            "target",
            f"column '{config.target}' mixes label types ({', '.join(sorted(kinds))})",
            "Make every label the same type, e.g. all text or all numbers.",
        )
    if task == "classification" and y.nunique(dropna=True) < 2:
        raise UserError(
            "target",
            f"column '{config.target}' has only one class ('{y.dropna().iloc[0]}')",
            "Classification needs at least two classes in the data.",
        )


def load_dataset(config: Config, fetch: Fetch | None = None) -> Dataset:
    """Load, check and split the data the config names (``s3://`` files are downloaded by ``fetch``)."""
    data_path = resolve_data_path(config, config.data, "data", fetch)
    frame, data_sha = read_hashed(data_path, "data", config.csv_separator)
    features = select_features(config, frame)
    # every column stays: the champion may use one the candidate leaves out (X_* take the features)
    labelled = frame[config.target].notna()
    if not labelled.all():  # filtering copies every column: only when there is a row to drop
        frame = frame[labelled].reset_index(drop=True)
    task = config.task if config.task != "auto" else infer_task(frame[config.target])
    _check_target(config, frame[config.target], task, "data")
    train_fp = {**fingerprint(data_path, frame, data_sha), "source": config.data}
    if config.test_data:
        train, (test, test_fp) = frame, _holdout_file(config, features, fetch)
    else:
        train, test = _random_split(config, frame, task)
        test_fp = {"split_of": "data", "test_size": config.test_size, "seed": config.seed, "rows": int(len(test))}
        train_fp["split_rows"] = int(len(train))
    classes = None
    if task == "classification":
        _check_target(config, train[config.target], task, "data")
        classes = sorted_classes(train[config.target])
    return Dataset(
        train=train,
        test=test,
        target=config.target,
        features=features,
        task=task,
        fingerprints={"train": train_fp, "test": test_fp},
        classes=classes,
    )


def _holdout_file(config: Config, features: list[str], fetch: Fetch | None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The labelled rows of ``test-data``, with its fingerprint; it must have the features and the target."""
    test_path = resolve_data_path(config, config.test_data, "test-data", fetch)
    test, test_sha = read_hashed(test_path, "test-data", config.csv_separator)
    missing = [c for c in [*features, config.target] if c not in test.columns]
    if missing:
        raise UserError(
            "test-data",
            f"column(s) {', '.join(missing)} missing from '{config.test_data}'",
            "The holdout needs the same columns as the training data.",
        )
    test = test[test[config.target].notna()].reset_index(drop=True)
    if len(test) == 0:
        raise UserError("test-data", "has no labelled rows", "Give a holdout with target values.")
    return test, {**fingerprint(test_path, test, test_sha), "source": config.test_data}


def _random_split(config: Config, frame: pd.DataFrame, task: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``test-size`` of the rows as the holdout, seeded; stratified on the classes when each can be on both sides."""
    from sklearn.model_selection import train_test_split

    if len(frame) < 4:
        raise UserError("data", f"has only {len(frame)} labelled rows", "Give at least a few dozen rows.")
    stratify = None
    if task == "classification":
        counts = frame[config.target].value_counts()
        n_test = max(1, round(len(frame) * config.test_size))
        if counts.min() >= 2 and n_test >= len(counts) and len(frame) - n_test >= len(counts):
            stratify = frame[config.target]
    try:
        train, test = train_test_split(frame, test_size=config.test_size, random_state=config.seed, stratify=stratify)
    except (ValueError, TypeError) as exc:
        raise UserError(
            "test-size",
            f"cannot split {len(frame)} rows with test-size {config.test_size} ({exc})",
            "Use a test-size that leaves rows on both sides.",
        ) from None
    return train.reset_index(drop=True), test.reset_index(drop=True)


def load_scoring_frame(config: Config, fetch: Fetch | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The whole ``data`` file as one labelled frame (monitor mode scores on all of it)."""
    path = resolve_data_path(config, config.data, "data", fetch)
    frame, sha = read_hashed(path, "data", config.csv_separator)
    if config.target not in frame.columns:
        raise UserError(
            "target",
            f"column '{config.target}' is not in the data",
            f"Use one of: {', '.join(list(frame.columns)[:30])}.",
        )
    frame = frame[frame[config.target].notna()].reset_index(drop=True)
    if len(frame) == 0:
        raise UserError(
            "data",
            f"'{config.data}' has no labelled rows (column '{config.target}' is empty)",
            "Monitoring needs fresh rows with their true labels.",
        )
    return frame, fingerprint(path, frame, sha)

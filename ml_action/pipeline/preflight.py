"""Checks of the settings that need no heavy library, run by ``cli`` before the modes are imported, so that a
person's mistake (a missing ``ml-action.yml``, a file that is not there, an unknown target column, the wrong
CSV separator) shows in a fraction of a second instead of after scikit-learn and pandas have loaded.

Only what is certain is checked here; anything this cannot read cheaply (Parquet, JSON Lines, S3, a file
that is not UTF-8) is left to the full load, which reports it the same way.
"""

from __future__ import annotations

from ml_action.config import Config, require
from ml_action.pipeline.data import check_columns, resolve_data_path
from ml_action.pipeline.tables import check_separator, csv_header, csv_separator, format_of

TRAINING_MODES = frozenset({"auto", "evaluate", "publish"})
DATA_MODES = TRAINING_MODES | {"monitor"}


def preflight(config: Config) -> None:
    """Raise the ``UserError`` the run would raise later, for the modes that read ``data``."""
    if config.mode not in DATA_MODES:
        return
    require(config, "data", "target")
    for name, value in (("data", config.data), ("test-data", config.test_data)):
        if not value or value[:5].lower() == "s3://":
            continue
        path = resolve_data_path(config, value, name)
        if name != "data" or format_of(path) != "csv":
            continue
        separator = csv_separator(path, config.csv_separator)
        columns = csv_header(path, separator)
        if not columns or len(set(columns)) < len(columns):  # pandas renames duplicates (a, a.1): leave them to it
            continue
        check_separator(path, columns, separator)
        if config.mode in TRAINING_MODES:
            check_columns(config, columns)
        elif config.target not in columns:
            check_columns(config.__class__(workspace=config.workspace, target=config.target), columns)

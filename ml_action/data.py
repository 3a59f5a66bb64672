"""Datasets: load CSV / Parquet / JSON Lines from the workspace, check them, split them, fingerprint them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ml_action.artifacts import sha256_file
from ml_action.config import Config, confine, no_config_file
from ml_action.errors import UserError, WorkspaceError, first_line

if TYPE_CHECKING:
    import pandas as pd

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl",
           ".json": "jsonl", ".csv.gz": "csv"}


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


def _format_of(path: Path) -> str | None:
    name = path.name.lower()
    for suffix, fmt in sorted(FORMATS.items(), key=lambda kv: -len(kv[0])):
        if name.endswith(suffix):
            return fmt
    return None


def resolve_data_path(config: Config, value: str, input_name: str, workdir: Path | None = None,
                      env: Mapping[str, str] | None = None) -> Path:
    """The local file for ``value``: a path in the workspace, or ``s3://bucket/key`` downloaded into ``workdir``
    with the registry's S3 settings (credentials, endpoint, region)."""
    if not value:
        looked = no_config_file(config) if input_name == "data" else ""
        raise WorkspaceError(input_name, f"is required and was not given{looked}",
                             f"Set `{input_name}` to a CSV, Parquet or JSON Lines file in the workspace"
                             + (", or run in the folder that holds your ml-action.yml." if looked else "."),
                             config.workspace)
    if value[:5].lower() == "s3://":
        import tempfile

        from ml_action.registry.s3_client import read_s3_uri

        folder = (workdir or Path(tempfile.mkdtemp(prefix="ml-action-data-"))) / "s3-data" / input_name
        return read_s3_uri(value, config, folder / value.rstrip("/").rsplit("/", 1)[-1], env or {}, input_name)
    path = confine(config.workspace, value, input_name)
    if not path.is_file():
        raise WorkspaceError(input_name, f"file '{value}' does not exist in the workspace "
                             f"{config.workspace.resolve()}", "Check the path (it is relative to the workspace) and "
                             "that the checkout has it.", config.workspace)
    return path


CSV_SEPARATORS = (",", ";", "\t", "|")
SEPARATOR_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


def sniff_separator(path: Path, lines: int = 20, limit: int = 64 * 1024) -> str:
    """The CSV separator from the header and the first lines (at most ``limit`` characters): of ``, ; tab |``,
    the one that splits the header into the most columns and every following complete line into as many
    (outside quotes); a comma when none does."""
    import csv
    import gzip
    import io

    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8", errors="replace", newline="") as fh:
            head = fh.read(limit)
    except (OSError, EOFError):
        return ","
    complete = head.count("\n") if len(head) == limit else head.count("\n") + 1  # a cut last line is left out
    text = "".join(head.splitlines(keepends=True)[:max(1, min(lines, complete))])
    best, best_columns = ",", 1
    for sep in CSV_SEPARATORS:
        try:
            rows = [r for r in csv.reader(io.StringIO(text), delimiter=sep) if r]
        except csv.Error:  # e.g. a field longer than the csv module's limit
            continue
        # the last row may be a quoted field with line breaks that the sample cut: no more columns, not as many
        if rows and len(rows[0]) > best_columns and all(len(r) == len(rows[0]) for r in rows[1:-1]) \
                and len(rows[-1]) <= len(rows[0]):
            best, best_columns = sep, len(rows[0])
    return best


def csv_separator(path: Path, wanted: str) -> str:
    """The separator to read ``path`` with: ``wanted``, or sniffed when it is ``auto``."""
    return sniff_separator(path) if wanted == "auto" else wanted


def read_table(path: Path, input_name: str, separator: str = ",") -> pd.DataFrame:
    """Read one file by its extension (CSV with ``separator``); a parse error is the user's, named with the
    input. A CSV whose header is one column holding a separator gets a hint naming ``csv-separator``."""
    import pandas as pd

    fmt = _format_of(path)
    if fmt is None:
        raise UserError(input_name, f"'{path.name}' has an unknown extension",
                        "Use .csv, .parquet or .jsonl (JSON Lines).")
    try:
        if fmt == "csv":
            try:
                frame = pd.read_csv(path, engine="pyarrow", sep=separator)
            except Exception:
                # the pyarrow parser is fast but strict; the C parser gives the clearer error
                frame = pd.read_csv(path, sep=separator)
        elif fmt == "parquet":
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_json(path, lines=True)
    except UnicodeDecodeError:
        raise UserError(input_name, f"'{path.name}' is not UTF-8 text", "Save the file as UTF-8.") from None
    except pd.errors.EmptyDataError:
        raise UserError(input_name, f"'{path.name}' is empty", "Give a file with a header and rows.") from None
    except (ValueError, pd.errors.ParserError, OSError) as exc:
        first = first_line(exc)
        raise UserError(input_name, f"'{path.name}' could not be read as {fmt} ({first})",
                        f"Check that the file is valid {fmt}.") from None
    except Exception as exc:  # pyarrow raises its own types for malformed files
        if type(exc).__module__.startswith("pyarrow"):
            raise UserError(input_name, f"'{path.name}' could not be read as {fmt} ({exc})",
                            f"Check that the file is valid {fmt}.") from None
        raise
    if len(frame) == 0:
        raise UserError(input_name, f"'{path.name}' has no rows", "Give a dataset with at least a few rows.")
    frame.columns = [str(c) for c in frame.columns]
    if fmt == "csv":
        check_separator(path, list(frame.columns), separator)
    frame.attrs["csv_separator"] = separator if fmt == "csv" else None
    return frame


def check_separator(path: Path, columns: list[str], separator: str) -> None:
    """A CSV header read as one column that holds another separator: the separator is wrong; say which to set."""
    if len(columns) != 1:
        return
    found = [s for s in CSV_SEPARATORS if s != separator and s in columns[0]]
    if found:
        raise UserError("csv-separator", f"'{path.name}' read with the separator {SEPARATOR_NAMES[separator]} "
                        f"has one column, named '{escape_name(columns[0])}', which holds a "
                        f"{SEPARATOR_NAMES[found[0]]}", f"Set `csv-separator: {_spelling(found[0])}` (or "
                        "`auto`) for this file.")


def csv_header(path: Path, separator: str) -> list[str] | None:
    """The column names of a CSV file from its first line (no pandas), or ``None`` when it cannot be read
    cheaply (not UTF-8, empty): then the full read reports the problem."""
    import csv
    import gzip

    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8-sig", newline="") as fh:
            row = next(csv.reader(fh, delimiter=separator), None)
    except (OSError, EOFError, UnicodeDecodeError, csv.Error):
        return None
    return [c for c in row] if row else None


def _spelling(separator: str) -> str:
    return "tab" if separator == "\t" else separator


def escape_name(name: str) -> str:
    from ml_action.escape import visible

    return visible(name, 80)


def read_hashed(path: Path, input_name: str, separator: str = "auto") -> tuple[pd.DataFrame, str]:
    """``read_table`` with the file's sha256 computed on a second thread meanwhile (both release the GIL)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        digest = pool.submit(sha256_file, path)
        frame = read_table(path, input_name, csv_separator(path, separator))
        return frame, digest.result()


def fingerprint(path: Path, frame: pd.DataFrame, sha256: str | None = None) -> dict[str, Any]:
    """sha256 of the file's bytes, its size, rows and schema."""
    out = {"file": path.name, "sha256": sha256 or sha256_file(path), "bytes": path.stat().st_size,
           "rows": int(len(frame)), "columns": len(frame.columns),
           "schema": {c: str(t) for c, t in frame.dtypes.items()}}
    if frame.attrs.get("csv_separator"):
        out["csv_separator"] = frame.attrs["csv_separator"]
    return out


def describe_separators(fingerprints: Mapping[str, Mapping[str, Any]], wanted: str) -> str:
    """``CSV separator: semicolon (detected)`` for the log; empty when no CSV was read."""
    used = sorted({SEPARATOR_NAMES[f["csv_separator"]] for f in fingerprints.values() if f.get("csv_separator")})
    if not used:
        return ""
    return f"CSV separator: {', '.join(used)} ({'detected' if wanted == 'auto' else 'csv-separator'})"


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
        raise UserError("target", f"column '{config.target}' is not in the data",
                        f"Use one of: {', '.join(columns[:30])}.")
    for name, wanted in (("features", config.features), ("drop", config.drop)):
        missing = [c for c in wanted if c not in columns]
        if missing:
            raise UserError(name, f"column(s) {', '.join(missing)} not in the data",
                            f"Use only existing columns: {', '.join(columns[:30])}.")
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
        raise UserError("task", f"regression needs a numeric target, but '{config.target}' holds text "
                        f"such as '{y.dropna().iloc[0]}'", "Use `task: classification` or a numeric target.")
    kinds = {type(v).__name__ for v in y.dropna().unique()[:10_000]}
    if task == "classification" and len(kinds - {"int", "float", "int64", "float64", "bool", "bool_"}) and \
            len(kinds) > 1:
        raise UserError("target", f"column '{config.target}' mixes label types ({', '.join(sorted(kinds))})",
                        "Make every label the same type, e.g. all text or all numbers.")
    if task == "classification" and y.nunique(dropna=True) < 2:
        raise UserError("target", f"column '{config.target}' has only one class "
                        f"('{y.dropna().iloc[0]}')", "Classification needs at least two classes in the data.")


def load_dataset(config: Config, workdir: Path | None = None, env: Mapping[str, str] | None = None) -> Dataset:
    """Load, check and split the data the config names (``s3://`` files are downloaded into ``workdir``)."""
    from sklearn.model_selection import train_test_split

    data_path = resolve_data_path(config, config.data, "data", workdir, env)
    frame, data_sha = read_hashed(data_path, "data", config.csv_separator)
    features = select_features(config, frame)
    # every column stays: the champion may use one the candidate leaves out (X_* take the features)
    labelled = frame[config.target].notna()
    if not labelled.all():  # filtering copies every column: only when there is a row to drop
        frame = frame[labelled].reset_index(drop=True)
    task = config.task if config.task != "auto" else infer_task(frame[config.target])
    _check_target(config, frame[config.target], task, "data")
    fingerprints = {"train": {**fingerprint(data_path, frame, data_sha), "source": config.data}}
    if config.test_data:
        test_path = resolve_data_path(config, config.test_data, "test-data", workdir, env)
        test, test_sha = read_hashed(test_path, "test-data", config.csv_separator)
        missing = [c for c in [*features, config.target] if c not in test.columns]
        if missing:
            raise UserError("test-data", f"column(s) {', '.join(missing)} missing from '{config.test_data}'",
                            "The holdout needs the same columns as the training data.")
        test = test[test[config.target].notna()].reset_index(drop=True)
        if len(test) == 0:
            raise UserError("test-data", "has no labelled rows", "Give a holdout with target values.")
        train = frame
        fingerprints["test"] = {**fingerprint(test_path, test, test_sha), "source": config.test_data}
    else:
        if len(frame) < 4:
            raise UserError("data", f"has only {len(frame)} labelled rows", "Give at least a few dozen rows.")
        stratify = None
        if task == "classification":
            counts = frame[config.target].value_counts()
            n_test = max(1, round(len(frame) * config.test_size))
            if counts.min() >= 2 and n_test >= len(counts) and len(frame) - n_test >= len(counts):
                stratify = frame[config.target]
        try:
            train, test = train_test_split(frame, test_size=config.test_size, random_state=config.seed,
                                           stratify=stratify)
        except (ValueError, TypeError) as exc:
            raise UserError("test-size", f"cannot split {len(frame)} rows with test-size {config.test_size} "
                            f"({exc})", "Use a test-size that leaves rows on both sides.") from None
        train, test = train.reset_index(drop=True), test.reset_index(drop=True)
        fingerprints["test"] = {"split_of": "data", "test_size": config.test_size, "seed": config.seed,
                                "rows": int(len(test))}
        fingerprints["train"] = {**fingerprints["train"], "split_rows": int(len(train))}
    classes = None
    if task == "classification":
        _check_target(config, train[config.target], task, "data")
        classes = sorted_classes(train[config.target])
    return Dataset(train=train, test=test, target=config.target, features=features, task=task,
                   fingerprints=fingerprints, classes=classes)


def load_scoring_frame(config: Config, workdir: Path | None = None,
                       env: Mapping[str, str] | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The whole ``data`` file as one labelled frame (monitor mode scores on all of it)."""
    path = resolve_data_path(config, config.data, "data", workdir, env)
    frame, sha = read_hashed(path, "data", config.csv_separator)
    if config.target not in frame.columns:
        raise UserError("target", f"column '{config.target}' is not in the data",
                        f"Use one of: {', '.join(list(frame.columns)[:30])}.")
    frame = frame[frame[config.target].notna()].reset_index(drop=True)
    if len(frame) == 0:
        raise UserError("data", f"'{config.data}' has no labelled rows (column '{config.target}' is empty)",
                        "Monitoring needs fresh rows with their true labels.")
    return frame, fingerprint(path, frame, sha)

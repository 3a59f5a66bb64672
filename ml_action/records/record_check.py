"""The fields of a version's record, checked to the leaves ml-action reads: a registry ``manifest.json`` and a
result bundle's ``bundle.json`` (and the ``version_fields`` it carries for ``publish``) hold the same ones.

Every field is untrusted (anyone with write access to the bucket, or a fork's bundle): ``features: 5``,
``seed: "abc"``, ``params: "x"``, ``target: {}`` or a junk ``data.profile`` used to reach ``int()``, ``tuple()`` or
the drift code and exit 2. Here each field has its type, each list its element type, each number that sizes
an allocation or a loop its bound against what the object itself holds (``reference.proba_columns`` at most
its own ``classes``, ``predictions.sample_rows`` at most its own ``labels``). A field that is absent or null
is not checked: readers fall back as before. ``check_fields`` raises ``BadField`` with the dotted name of the
field and what is wrong; ``registry.schema`` and ``bundle`` turn it into their own ``… is damaged`` error.
"""

from __future__ import annotations

from typing import Any

from ml_action.report.escape import shown as _show

MAX_COLUMNS = 1_000_000  # names in `features`, columns in a profile
MAX_CLASSES = 100_000
MAX_SEED = 2**32 - 1
PROFILE_KINDS = ("numeric", "categorical", "boolean", "datetime")


class BadField(ValueError):
    """A record field of the wrong type or size; the message is ``<field> is …``."""


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _is(value: Any, ok: bool, field: str, wanted: str) -> None:
    if not ok:
        raise BadField(f"`{field}` is {_show(value)}, not {wanted}")


def _list_of(value: Any, field: str, test: Any, wanted: str, limit: int) -> list[Any]:
    _is(value, isinstance(value, list), field, f"a list of {wanted}")
    if len(value) > limit:
        raise BadField(f"`{field}` has {len(value):,} entries, more than {limit:,}")
    for i, item in enumerate(value):
        _is(item, test(item), f"{field}[{i}]", wanted)
    return value


def check_fields(record: dict[str, Any], prefix: str = "") -> None:
    """Check the record fields present in ``record`` (``prefix`` names where it sits, e.g. ``version_fields.``)."""

    def get(key: str) -> Any:
        return record.get(key)

    for key in ("model", "estimator", "target", "task", "primary_metric", "created_at", "model_name"):
        if get(key) is not None:
            _is(get(key), isinstance(get(key), str), prefix + key, "a string")
    if get("task") is not None and get("task") not in ("classification", "regression"):
        raise BadField(f"`{prefix}task` is {_show(get('task'))}, not classification or regression")
    if get("seed") is not None:
        _is(get("seed"), _whole(get("seed")) and 0 <= get("seed") <= MAX_SEED, prefix + "seed", "a seed")
    if get("features") is not None:
        _list_of(get("features"), prefix + "features", lambda v: isinstance(v, str), "column names", MAX_COLUMNS)
    if get("classes") is not None:
        _list_of(get("classes"), prefix + "classes", _scalar, "labels", MAX_CLASSES)
    for key in ("params", "estimator_params", "search", "libraries", "cv", "compared_with", "gates", "config"):
        if get(key) is not None:
            _is(get(key), isinstance(get(key), dict), prefix + key, "an object")
    if get("holdout_rows") is not None:
        _is(
            get("holdout_rows"),
            _whole(get("holdout_rows")) and get("holdout_rows") >= 0,
            prefix + "holdout_rows",
            "a row count",
        )
    gate_list = (get("gates") or {}).get("gates")
    if gate_list is not None:
        _list_of(gate_list, prefix + "gates.gates", lambda v: isinstance(v, dict), "gate results", 10_000)
    config_gates = (get("config") or {}).get("gates")
    if config_gates is not None:
        _check_config_gates(config_gates, prefix + "config.gates")
    if get("data") is not None:
        _is(get("data"), isinstance(get("data"), dict), prefix + "data", "an object")
        if get("data").get("fingerprints") is not None:
            _is(
                get("data")["fingerprints"],
                isinstance(get("data")["fingerprints"], dict),
                prefix + "data.fingerprints",
                "an object",
            )
        if get("data").get("profile") is not None:
            check_profile(get("data")["profile"], prefix + "data.profile")
    if get("reference") is not None:
        check_reference(get("reference"), prefix + "reference")
    if get("predictions") is not None:
        _check_predictions(get("predictions"), prefix + "predictions")


def _check_config_gates(value: Any, field: str) -> None:
    """The gates the version was published with (``monitor`` re-applies them): rules ``inputs`` accepts."""
    from ml_action.errors import UserError
    from ml_action.inputs import parse_gates

    _is(value, isinstance(value, (list, dict)), field, "a list of gate rules")
    try:
        parse_gates(value)
    except UserError as exc:
        raise BadField(f"`{field}`: {exc.problem}") from None


def check_reference(info: Any, field: str = "reference") -> None:
    """``reference``: ``rows``, ``proba_columns`` at most (and, when set, exactly) its own ``classes``."""
    _is(info, isinstance(info, dict), field, "an object")
    if info.get("rows") is not None:
        _is(info["rows"], _whole(info["rows"]) and info["rows"] >= 0, f"{field}.rows", "a row count")
    classes = info.get("classes")
    if classes is not None:
        _list_of(classes, f"{field}.classes", _scalar, "labels", MAX_CLASSES)
    width = info.get("proba_columns")
    if width is not None:
        most = len(classes or [])
        _is(width, _whole(width) and 0 <= width <= most, f"{field}.proba_columns", f"a count from 0 to {most}")
        if width and width != most:
            raise BadField(f"`{field}.proba_columns` is {width}, not the {most} classes it lists")


def _check_predictions(record: Any, field: str) -> None:
    """``predictions``: the hash, a sample of labels and a rectangular sample of probabilities."""
    _is(record, isinstance(record, dict), field, "an object")
    for key in ("rows", "sample_rows", "decimals"):
        if record.get(key) is not None:
            _is(record[key], _whole(record[key]) and record[key] >= 0, f"{field}.{key}", "a whole number")
    if record.get("sha256") is not None:
        _is(record["sha256"], isinstance(record["sha256"], str), f"{field}.sha256", "a string")
    labels = record.get("labels")
    if labels is not None:
        _list_of(labels, f"{field}.labels", _scalar, "labels", 10_000_000)
        if (record.get("sample_rows") or 0) > len(labels):
            raise BadField(f"`{field}.sample_rows` is {record['sample_rows']}, more than its {len(labels)} labels")
    if record.get("classes") is not None:
        _list_of(record["classes"], f"{field}.classes", _scalar, "labels", MAX_CLASSES)
    proba = record.get("proba")
    if proba is not None:
        rows = _list_of(proba, f"{field}.proba", lambda r: isinstance(r, list), "rows of probabilities", 10_000_000)
        width = len(rows[0]) if rows else 0
        for i, row in enumerate(rows):
            if len(row) != width or not all(_number(p) for p in row):
                raise BadField(f"`{field}.proba[{i}]` is not {width} probabilities")


# ---------------------------------------------------------------------------------------------- data profile

_NUMBERS = ("nulls", "std", "mean")
_COUNTS = ("count", "n_unique", "other")
_FLAGS = ("sample_exact", "n_unique_at_least")


def check_profile(profile: Any, field: str = "data.profile") -> None:
    """A stored data profile (``profile.profile_frame``), to the values drift and monitor read."""
    _is(profile, isinstance(profile, dict), field, "an object")
    _is(profile.get("rows"), _whole(profile.get("rows")) and profile["rows"] >= 0, f"{field}.rows", "a row count")
    columns = profile.get("columns")
    _is(columns, isinstance(columns, dict), f"{field}.columns", "an object of columns")
    if len(columns) > MAX_COLUMNS:
        raise BadField(f"`{field}.columns` has more than {MAX_COLUMNS:,} columns")
    for name, column in columns.items():
        where = f"{field}.columns.{_show(name)}"
        _is(column, isinstance(column, dict), where, "a column profile")
        _is(column.get("kind"), column.get("kind") in PROFILE_KINDS, f"{where}.kind", " or ".join(PROFILE_KINDS))
        _check_column(column, where)
        if column["kind"] in ("categorical", "boolean"):
            for key in ("counts", "other"):
                if key not in column:
                    raise BadField(f"`{where}` has no `{key}`")
    if profile.get("label") is not None:
        _is(profile["label"], isinstance(profile["label"], dict), f"{field}.label", "an object")
        _check_column(profile["label"], f"{field}.label")


def _check_column(column: dict[str, Any], where: str) -> None:
    for key in _NUMBERS:
        if key in column:
            _is(column[key], _number(column[key]), f"{where}.{key}", "a number")
    for key in _COUNTS:
        if key in column:
            _is(column[key], _whole(column[key]) and column[key] >= 0, f"{where}.{key}", "a count")
    for key in _FLAGS:
        if key in column:
            _is(column[key], isinstance(column[key], bool), f"{where}.{key}", "true or false")
    for key in ("min", "max"):
        if column.get(key) is not None:
            _is(column[key], _number(column[key]) or isinstance(column[key], str), f"{where}.{key}", "a value")
    if "quantiles" in column:
        _list_of(column["quantiles"], f"{where}.quantiles", lambda v: v is None or _number(v), "numbers", 10_000)
    if "sample" in column:
        _list_of(column["sample"], f"{where}.sample", _number, "numbers", 10_000_000)
    if "value_counts" in column:
        _list_of(
            column["value_counts"],
            f"{where}.value_counts",
            lambda p: isinstance(p, list) and len(p) == 2 and _number(p[0]) and _whole(p[1]) and p[1] >= 0,
            "[value, count] pairs",
            1_000_000,
        )
    if "counts" in column:
        counts = column["counts"]
        _is(counts, isinstance(counts, dict), f"{where}.counts", "an object of counts")
        if not all(_whole(c) and c >= 0 for c in counts.values()):
            raise BadField(f"`{where}.counts` holds a value that is not a count")
    if column.get("tail") is not None:
        _list_of(column["tail"], f"{where}.tail", lambda c: _whole(c) and c >= 0, "counts", 1_000_000)

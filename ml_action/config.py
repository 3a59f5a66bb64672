"""One frozen, typed ``Config`` built from defaults < config file < ``INPUT_*`` variables < CLI flags.

All validation of settings lives here: a bad value raises ``UserError(input, problem, hint)``.
The ``INPUTS`` table is the single list of the action's inputs; ``action.yml`` and the README
are checked against it by tests.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ml_action.errors import UserError, first_line

MODES = ("auto", "evaluate", "publish", "rollback", "list", "comment", "monitor", "reproduce", "diff")
TASKS = ("auto", "classification", "regression")
COMMENT_MODES = ("update", "recreate", "new", "off")


@dataclass(frozen=True)
class Input:
    """One action input: its name, default (as the runner would pass it) and description."""

    name: str
    default: str
    description: str
    required: bool = False


INPUTS: tuple[Input, ...] = (
    Input("data", "", "Training data (CSV, Parquet or JSON Lines), a path relative to the workspace or "
          "`s3://bucket/key`.", True),
    Input("target", "", "Name of the target column.", True),
    Input("test-data", "", "A separate holdout file (a path or `s3://bucket/key`); when empty, `data` is split."),
    Input("test-size", "0.2", "Holdout share when splitting `data` (stratified for classification)."),
    Input("seed", "42", "Seed for every random choice (split, model, bootstrap)."),
    Input("task", "auto", "`classification`, `regression`, or `auto` to decide from the target."),
    Input("features", "", "Columns to use (comma-separated or YAML list); default all but the target."),
    Input("drop", "", "Columns to leave out (comma-separated or YAML list)."),
    Input("model", "random_forest",
          "A short name (random_forest, hist_gradient_boosting, logistic_regression, ...), the import path "
          "of an estimator class, or `module:function` in your repo returning an unfitted estimator."),
    Input("params", "{}", "Hyperparameters as a JSON or YAML mapping, checked against `get_params()`."),
    Input("cv", "0", "k-fold cross-validation on the training part (0 = off), reported as mean ± std."),
    Input("primary-metric", "", "The metric the verdict leads with (default f1_macro or rmse by task)."),
    Input("gates", "", "YAML list of gate rules, e.g. `[{metric: f1_macro, min: 0.8, max-regression: 0.01}]`."),
    Input("fail-on-gate", "true", "Exit 1 when a gate fails."),
    Input("on-inconclusive", "pass", "`pass` or `fail`: how an `inconclusive` verdict (the holdout cannot tell "
          "within a rule's `confidence`) counts for the exit code and whether `publish` promotes."),
    Input("registry", ".ml-action/registry", "Where versions and the champion live: a folder or `s3://bucket/prefix`."),
    Input("model-name", "model", "Name of the model inside the registry."),
    Input("mode", "auto",
          "`auto`, `evaluate`, `publish`, `rollback`, `list`, `comment`, `monitor`, `reproduce` or `diff`."),
    Input("report-path", "ml-action-report.md", "Where the markdown report is written."),
    Input("config", "", "A YAML config file with the same keys as these inputs (default `ml-action.yml`)."),
    Input("to-version", "", "Target version for `rollback` (`previous` or an id), `reproduce` and `diff`."),
    Input("from-version", "", "Base version for `diff` (default the champion)."),
    Input("tolerance", "1e-9", "How far `reproduce` may differ from the recorded predictions and metrics "
          "(relative, and absolute near 0)."),
    Input("allow-unsafe-model-format", "false", "Allow loading a pickle/joblib champion (runs its code!)."),
    Input("aws-region", "", "AWS region of the S3 registry (else from the environment)."),
    Input("s3-endpoint-url", "", "Endpoint of an S3-compatible store (MinIO, R2, ...); path-style addressing."),
    Input("s3-checksum", "when_supported", "`when_supported` or `when_required` (for stores that reject checksums)."),
    Input("s3-sse", "", "Server-side encryption for uploads: `AES256` or `aws:kms`."),
    Input("s3-kms-key-id", "", "KMS key id when `s3-sse` is `aws:kms`."),
    Input("s3-max-attempts", "5", "Attempts per S3 request (standard retry mode)."),
    Input("snapshot-data", "auto", "Store the exact training and holdout rows in the registry as Parquet, for "
          "`reproduce` (`auto`: on for S3)."),
    Input("github-token", "", "Token for the PR comment and monitor issues (default `${{ github.token }}`)."),
    Input("pr-number", "", "Pull request to comment on (default from the event)."),
    Input("comment-key", "", "Key of the sticky comment (default the model name)."),
    Input("comment-mode", "update", "`update`, `recreate`, `new` or `off`."),
    Input("comment-file", "ml-action-comment.md", "Where the comment body is written when it cannot be posted."),
    Input("bootstrap", "1000", "Paired bootstrap resamples for the confidence interval (0 = off)."),
    Input("drift-share", "0.5", "Share of drifted columns at which the dataset counts as drifted."),
    Input("fail-on-drift", "false", "Exit 1 when dataset drift is detected."),
    Input("fail-on-degradation", "true", "In monitor mode, exit 1 when the champion has degraded or drifted."),
)

INPUT_NAMES = frozenset(i.name for i in INPUTS)

OUTPUTS: dict[str, str] = {
    "verdict": "`pass`, `fail` or `inconclusive` (a rule with `confidence` whose interval straddles its limit; "
               "no rule failed). In `mode: monitor`, `fail` when degraded or drifted.",
    "health": "`mode: monitor`: `healthy`, `watch` (a significant drop, not significantly beyond the slack) or "
              "`degraded`.",
    "primary-metric": "Name of the primary metric.",
    "primary-metric-value": "The candidate's value of the primary metric on the holdout.",
    "metrics": "JSON: `{\"candidate\": {...}, \"champion\": {...}}` scored on the same holdout rows.",
    "champion-version": "The champion's version after this run (empty when there is none).",
    "model-version": "The version written by `publish` (or the rollback target).",
    "model-uri": "Where that version lives (`s3://...` or a folder).",
    "promoted": "`true` when this run made a new champion.",
    "report-path": "Path of the markdown report.",
    "comment-url": "URL of the PR comment (empty when none was posted).",
    "versions": "JSON list of versions (`mode: list`).",
    "drift-detected": "`true` when the share of drifted columns reached `drift-share`.",
    "drifted-columns": "JSON list of the drifted columns.",
    "issue-url": "URL of the monitor issue (`mode: monitor`).",
    "reproduced": "`true` when `mode: reproduce` rebuilt the version within tolerance.",
}


def _attr(name: str) -> str:
    return name.replace("-", "_")


@dataclass(frozen=True)
class Gate:
    """One gate rule on a metric (MLflow MetricThreshold semantics, direction aware, inclusive)."""

    metric: str
    min: float | None = None
    max: float | None = None
    max_regression: float | None = None
    max_regression_pct: float | None = None
    min_improvement: float | None = None
    significant_regression: str | None = None
    confidence: float | None = None  # judge the rule on the bootstrap interval at this level (pass/fail/inconclusive)


@dataclass(frozen=True)
class Config:
    """The resolved settings of one run. Paths are resolved against ``workspace``."""

    workspace: Path
    data: str = ""
    target: str = ""
    test_data: str = ""
    test_size: float = 0.2
    seed: int = 42
    task: str = "auto"
    features: tuple[str, ...] = ()
    drop: tuple[str, ...] = ()
    model: str = "random_forest"
    params: Mapping[str, Any] = field(default_factory=dict)
    cv: int = 0
    primary_metric: str = ""
    gates: tuple[Gate, ...] = ()
    fail_on_gate: bool = True
    on_inconclusive: str = "pass"
    registry: str = ".ml-action/registry"
    model_name: str = "model"
    mode: str = "auto"
    report_path: str = "ml-action-report.md"
    config: str = ""
    to_version: str = ""
    from_version: str = ""
    tolerance: float = 1e-9
    allow_unsafe_model_format: bool = False
    aws_region: str = ""
    s3_endpoint_url: str = ""
    s3_checksum: str = "when_supported"
    s3_sse: str = ""
    s3_kms_key_id: str = ""
    s3_max_attempts: int = 5
    snapshot_data: str = "auto"
    github_token: str = ""
    pr_number: int | None = None
    comment_key: str = ""
    comment_mode: str = "update"
    comment_file: str = "ml-action-comment.md"
    bootstrap: int = 1000
    drift_share: float = 0.5
    fail_on_drift: bool = False
    fail_on_degradation: bool = True

    def resolved(self) -> dict[str, Any]:
        """The settings as plain data for the manifest (secrets left out)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name in ("workspace", "github_token"):
                continue
            value = getattr(self, f.name)
            if isinstance(value, tuple) and value and isinstance(value[0], Gate):
                value = [{k.replace("_", "-"): v for k, v in g.__dict__.items() if v is not None} for g in value]
            elif isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, Mapping):
                value = dict(value)
            out[f.name.replace("_", "-")] = value
        return out

    @property
    def comment_marker_key(self) -> str:
        return self.comment_key or self.model_name

    @property
    def is_s3(self) -> bool:
        return self.registry.startswith("s3://")


# --------------------------------------------------------------------------- parsing of single values


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def parse_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = _text(value).lower()
    if text in ("true", "yes", "on", "1"):
        return True
    if text in ("false", "no", "off", "0"):
        return False
    raise UserError(name, f"'{value}' is not a boolean", f"Set `{name}` to `true` or `false`.")


def parse_int(name: str, value: Any, minimum: int | None = None) -> int:
    try:
        number = int(_text(value)) if not isinstance(value, int) else value
    except ValueError:
        raise UserError(name, f"'{value}' is not a whole number", f"Set `{name}` to an integer.") from None
    if minimum is not None and number < minimum:
        raise UserError(name, f"{number} is below {minimum}", f"Set `{name}` to {minimum} or more.")
    return number


def parse_float(name: str, value: Any) -> float:
    try:
        return float(_text(value)) if not isinstance(value, (int, float)) else float(value)
    except ValueError:
        raise UserError(name, f"'{value}' is not a number", f"Set `{name}` to a number like 0.2.") from None


def parse_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    text = _text(value).lower()
    if text not in choices:
        raise UserError(name, f"'{value}' is not one of {', '.join(choices)}", f"Set `{name}` to one of them.")
    return text


def _yaml(name: str, text: str) -> Any:
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
        raise UserError(name, f"is not valid YAML or JSON{at}", f"Check the syntax of `{name}`.") from None


def parse_columns(name: str, value: Any) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        text = value.strip()
        items = _yaml(name, text) if text.startswith("[") else re.split(r"[,\n]", text)
    else:
        items = value
    if not isinstance(items, list):
        raise UserError(name, "is not a list of column names", f"Write `{name}` as `a, b, c` or `[a, b, c]`.")
    return tuple(str(i).strip() for i in items if str(i).strip())


def parse_params(value: Any) -> dict[str, Any]:
    parsed = value
    if isinstance(value, str):
        parsed = _yaml("params", value) if value.strip() else {}
    if parsed is None:
        parsed = {}
    if not isinstance(parsed, Mapping):
        raise UserError("params", f"is a {type(parsed).__name__}, not a mapping",
                        'Write `params` as a JSON or YAML mapping, e.g. `{"n_estimators": 200}`.')
    return {str(k): v for k, v in parsed.items()}


_GATE_KEYS = {"metric", "min", "max", "max-regression", "max-regression-pct", "min-improvement",
              "significant-regression", "confidence"}


def _parse_confidence(n: int, rule: Mapping[str, Any]) -> float | None:
    """A rule's ``confidence``: a level in (0, 1), only on a rule with a metric and a limit."""
    raw = rule.get("confidence")
    if raw is None:
        return None
    hint = "Write e.g. `confidence: 0.95` (a level between 0 and 1, exclusive)."
    try:
        level = float(str(raw)) if not isinstance(raw, (int, float)) or isinstance(raw, bool) else float(raw)
    except ValueError:
        raise UserError("gates", f"rule {n}: `confidence` is '{raw}', not a number", hint) from None
    if isinstance(raw, bool) or not 0 < level < 1:
        raise UserError("gates", f"rule {n}: `confidence` is {raw}, outside (0, 1)", hint)
    if rule.get("metric") is None:
        raise UserError("gates", f"rule {n}: `confidence` needs a `metric` to have an interval",
                        "Put `confidence` on a rule with a `metric` and a limit.")
    return level


def parse_gates(value: Any) -> tuple[Gate, ...]:
    parsed = value
    if isinstance(value, str):
        parsed = _yaml("gates", value) if value.strip() else []
    if parsed is None:
        return ()
    if isinstance(parsed, Mapping):
        parsed = [parsed]
    hint = "Write `gates` as a YAML list, e.g. `- metric: f1_macro` / `  min: 0.8`."
    if not isinstance(parsed, list):
        raise UserError("gates", f"is a {type(parsed).__name__}, not a list of rules", hint)
    gates = []
    for n, rule in enumerate(parsed, 1):
        if not isinstance(rule, Mapping):
            raise UserError("gates", f"rule {n} is not a mapping", hint)
        rule = {str(k).replace("_", "-"): v for k, v in rule.items()}
        unknown = set(rule) - _GATE_KEYS
        if unknown:
            raise UserError("gates", f"rule {n} has unknown key(s) {', '.join(sorted(unknown))}",
                            f"Use only {', '.join(sorted(_GATE_KEYS))}.")
        sig = rule.get("significant-regression")
        if sig is not None:
            if str(sig).lower() not in ("fail", "warn"):
                raise UserError("gates", f"rule {n}: significant-regression must be `fail` or `warn`, not '{sig}'",
                                "Write `- significant-regression: fail`.")
            sig = str(sig).lower()
        metric = rule.get("metric")
        if metric is None and sig is None:
            raise UserError("gates", f"rule {n} has no `metric`", hint)
        numbers: dict[str, float | None] = {}
        for key in ("min", "max", "max-regression", "max-regression-pct", "min-improvement"):
            raw = rule.get(key)
            if raw is None:
                numbers[key] = None
                continue
            if isinstance(raw, bool) or not isinstance(raw, (int, float)):
                try:
                    raw = float(str(raw))
                except ValueError:
                    raise UserError("gates", f"rule {n}: `{key}` is '{raw}', not a number",
                                    f"Give `{key}` a number.") from None
            if key.startswith("max-regression") and raw < 0:
                raise UserError("gates", f"rule {n}: `{key}` is negative", f"Use 0 or more for `{key}`.")
            numbers[key] = float(raw)
        if metric is not None and all(v is None for v in numbers.values()) and sig is None:
            raise UserError("gates", f"rule {n} on {metric} sets no limit",
                            "Add `min`, `max`, `max-regression`, `max-regression-pct` or `min-improvement`.")
        gates.append(Gate(metric=str(metric) if metric is not None else "", min=numbers["min"],
                          max=numbers["max"], max_regression=numbers["max-regression"],
                          max_regression_pct=numbers["max-regression-pct"],
                          min_improvement=numbers["min-improvement"], significant_regression=sig,
                          confidence=_parse_confidence(n, rule)))
    return tuple(gates)


def _parse_seed(value: Any) -> int:
    seed = parse_int("seed", value, minimum=0)
    if seed > 2**32 - 1:
        raise UserError("seed", f"{seed} is above 2**32 - 1", "Use a seed between 0 and 4294967295.")
    return seed


def _parse_test_size(value: Any) -> float:
    size = parse_float("test-size", value)
    if not 0 < size < 1:
        raise UserError("test-size", f"{size} is outside (0, 1)", "Set `test-size` to a share like 0.2.")
    return size


def _parse_share(value: Any) -> float:
    share = parse_float("drift-share", value)
    if not 0 < share <= 1:
        raise UserError("drift-share", f"{share} is outside (0, 1]", "Set `drift-share` to a share like 0.5.")
    return share


def _parse_tolerance(value: Any) -> float:
    tol = parse_float("tolerance", value)
    if not 0 <= tol < 1:
        raise UserError("tolerance", f"{tol} is outside [0, 1)", "Set `tolerance` to a small number like 1e-9.")
    return tol


def _parse_pr(value: Any) -> int | None:
    text = _text(value).lstrip("#")
    return parse_int("pr-number", text, minimum=1) if text else None


def _parse_s3_sse(value: Any) -> str:
    text = _text(value)
    if text and text not in ("AES256", "aws:kms"):
        raise UserError("s3-sse", f"'{text}' is not AES256 or aws:kms", "Set `s3-sse` to `AES256` or `aws:kms`.")
    return text


def _parse_snapshot(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    text = _text(value).lower() or "auto"
    if text == "auto":
        return text
    return "true" if parse_bool("snapshot-data", text) else "false"


def _parse_model_name(value: Any) -> str:
    text = _text(value)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", text):
        raise UserError("model-name", f"'{text}' is not a valid name",
                        "Use letters, digits, '.', '_' or '-' (up to 100), starting with a letter or digit.")
    return text


PARSERS: dict[str, Callable[[Any], Any]] = {
    "data": _text,
    "target": _text,
    "test-data": _text,
    "test-size": _parse_test_size,
    "seed": lambda v: _parse_seed(v),
    "task": lambda v: parse_choice("task", v, TASKS),
    "features": lambda v: parse_columns("features", v),
    "drop": lambda v: parse_columns("drop", v),
    "model": _text,
    "params": parse_params,
    "cv": lambda v: parse_int("cv", v, minimum=0),
    "primary-metric": _text,
    "gates": parse_gates,
    "fail-on-gate": lambda v: parse_bool("fail-on-gate", v),
    "on-inconclusive": lambda v: parse_choice("on-inconclusive", v, ("pass", "fail")),
    "registry": _text,
    "model-name": _parse_model_name,
    "mode": lambda v: parse_choice("mode", v, MODES),
    "report-path": _text,
    "config": _text,
    "to-version": _text,
    "from-version": _text,
    "tolerance": _parse_tolerance,
    "allow-unsafe-model-format": lambda v: parse_bool("allow-unsafe-model-format", v),
    "aws-region": _text,
    "s3-endpoint-url": _text,
    "s3-checksum": lambda v: parse_choice("s3-checksum", v, ("when_supported", "when_required")),
    "s3-sse": _parse_s3_sse,
    "s3-kms-key-id": _text,
    "s3-max-attempts": lambda v: parse_int("s3-max-attempts", v, minimum=1),
    "snapshot-data": _parse_snapshot,
    "github-token": _text,
    "pr-number": _parse_pr,
    "comment-key": _text,
    "comment-mode": lambda v: parse_choice("comment-mode", v, COMMENT_MODES),
    "comment-file": _text,
    "bootstrap": lambda v: parse_int("bootstrap", v, minimum=0),
    "drift-share": _parse_share,
    "fail-on-drift": lambda v: parse_bool("fail-on-drift", v),
    "fail-on-degradation": lambda v: parse_bool("fail-on-degradation", v),
}


# --------------------------------------------------------------------------- sources


def inputs_from_env(env: Mapping[str, str]) -> dict[str, str]:
    """The ``INPUT_<NAME>`` variables the runner sets (hyphens kept, upper-cased); empty ones are unset."""
    out = {}
    for spec in INPUTS:
        value = env.get("INPUT_" + spec.name.upper().replace(" ", "_"))
        if value is not None and value.strip() != "":
            out[spec.name] = value
    return out


def read_config_file(workspace: Path, name: str, explicit: bool) -> dict[str, Any]:
    """Settings from the YAML config file; keys are input names (``test-size`` or ``test_size``)."""
    import yaml

    path = confine(workspace, name, "config")
    if not path.is_file():
        if explicit:
            raise UserError("config", f"file '{name}' does not exist", "Fix the path or remove `config`.")
        return {}
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise UserError("config", f"'{name}' is not valid YAML ({first_line(exc)})",
                        "Fix the file's syntax.") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, Mapping):
        raise UserError("config", f"'{name}' is not a mapping of settings", "Write `key: value` lines.")
    out = {}
    for key, value in loaded.items():
        name_ = str(key).replace("_", "-")
        if name_ not in INPUT_NAMES or name_ in ("config", "github-token"):
            valid = ", ".join(sorted(INPUT_NAMES - {"config", "github-token"}))
            raise UserError("config", f"'{name}' has an unknown key '{key}'", f"Valid keys: {valid}.")
        out[name_] = value
    return out


def confine(workspace: Path, relative: str, input_name: str) -> Path:
    """Resolve a user path inside the workspace; anything outside it is refused."""
    root = workspace.resolve()
    path = (root / relative).resolve()
    if path != root and root not in path.parents:
        raise UserError(input_name, f"path '{relative}' is outside the workspace {root}",
                        "Use a path inside the repository checkout.")
    return path


def workspace_from_env(env: Mapping[str, str]) -> Path:
    return Path(env.get("GITHUB_WORKSPACE") or os.getcwd())


def load_config(env: Mapping[str, str], flags: Mapping[str, Any] | None = None) -> Config:
    """Build the ``Config``: defaults < config file < ``INPUT_*`` < ``flags`` (input names as keys)."""
    flags = {k.replace("_", "-"): v for k, v in (flags or {}).items() if v is not None}
    workspace = workspace_from_env(env)
    from_env = inputs_from_env(env)
    config_name = flags.get("config") or from_env.get("config") or ""
    from_file = read_config_file(workspace, config_name or "ml-action.yml", explicit=bool(config_name))
    merged: dict[str, Any] = {spec.name: spec.default for spec in INPUTS}
    merged.update(from_file)
    merged.update(from_env)
    merged.update(flags)
    values = {_attr(name): PARSERS[name](value) for name, value in merged.items()}
    config = Config(workspace=workspace, **values)
    _check_confidence(config)
    return config


def _check_confidence(config: Config) -> None:
    """A rule's ``confidence`` needs the bootstrap: with ``bootstrap: 0`` no metric has an interval."""
    asked = [g.metric for g in config.gates if g.confidence is not None]
    if asked and config.bootstrap == 0:
        raise UserError("gates", f"a rule on {asked[0]} sets `confidence`, but `bootstrap: 0` turns the intervals "
                        "off, so no metric has one", "Remove `confidence`, or set `bootstrap` to e.g. 1000.")


def require(config: Config, *names: str) -> None:
    """The runner does not enforce ``required``: we do, naming the input."""
    for name in names:
        if not getattr(config, _attr(name)):
            raise UserError(name, "is required and was not given",
                            f"Set `{name}` in the workflow's `with:` block, the config file or as --{name}.")


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)

"""One frozen, typed ``Config`` built from defaults < config file < ``INPUT_*`` variables < CLI flags.

Each action input is declared once, as a field of ``Config``: its name (the field's, with hyphens), its
type, its default as the runner would pass it, its parser (``ml_action.inputs``, where all validation of
single values lives) and its description. ``INPUTS`` is read from those fields; ``action.yml``, the README
tables and the CLI flags are checked against or built from it. A bad value raises
``UserError(input, problem, hint)``.

To add an input, add one field in the place it should appear in ``action.yml``::

    max_depth: int = setting("3", inputs.integer(minimum=1), "Deepest tree level, ending with a dot.")

(input ``max-depth``, ``INPUT_MAX-DEPTH``, flag ``--max-depth``, config key ``max-depth``), then declare it
in ``action.yml`` and the README inputs table (tests/unit/test_contract.py prints the table).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from ml_action import inputs, s3_settings
from ml_action.config_file import read_config_file
from ml_action.errors import UserError, WorkspaceError
from ml_action.inputs import Gate
from ml_action.outputs import OUTPUTS
from ml_action.pipeline.search_space import METHODS as SEARCH_METHODS
from ml_action.pipeline.search_space import parse_space
from ml_action.workspace import confine, resolve_workspace

MODES = (
    "auto",
    "evaluate",
    "publish",
    "rollback",
    "alias",
    "list",
    "comment",
    "monitor",
    "reproduce",
    "diff",
    "leaderboard",
)
TASKS = ("auto", "classification", "regression")
COMMENT_MODES = ("update", "recreate", "new", "off")

T = TypeVar("T")


@dataclass(frozen=True)
class Input:
    """One action input: its name, default (as the runner would pass it), description and parser."""

    name: str
    default: str
    description: str
    required: bool = False
    parse: Callable[[str, Any], Any] = field(default=inputs.text, repr=False, compare=False)


def setting(default: str, parse: Callable[[str, Any], T], description: str, *, required: bool = False) -> T:
    """Declare an action input as a ``Config`` field; the field's default is ``parse`` applied to ``default``."""
    return field(
        default_factory=lambda: parse("", default),
        metadata={"input": {"default": default, "description": description, "required": required, "parse": parse}},
    )


@dataclass(frozen=True)
class Config:
    """The resolved settings of one run. Paths are resolved against ``workspace``."""

    workspace: Path = setting(
        "",
        inputs.folder,
        "The folder that paths and the config file are relative to: "
        "a folder in the checkout (`GITHUB_WORKSPACE`) under Actions, any folder at a shell "
        "(default: the checkout under Actions, the current folder at a shell).",
    )
    data: str = setting(
        "",
        inputs.text,
        "Training data (CSV, Parquet or JSON Lines), a path relative to the workspace or `s3://bucket/key`.",
        required=True,
    )
    target: str = setting("", inputs.text, "Name of the target column.", required=True)
    test_data: str = setting(
        "", inputs.text, "A separate holdout file (a path or `s3://bucket/key`); when empty, `data` is split."
    )
    test_size: float = setting(
        "0.2", inputs.share, "Holdout share when splitting `data` (stratified for classification)."
    )
    seed: int = setting("42", inputs.seed, "Seed for every random choice (split, model, bootstrap).")
    task: str = setting(
        "auto", inputs.choice(*TASKS), "`classification`, `regression`, or `auto` to decide from the target."
    )
    features: tuple[str, ...] = setting(
        "", inputs.columns, "Columns to use (comma-separated or YAML list); default all but the target."
    )
    drop: tuple[str, ...] = setting("", inputs.columns, "Columns to leave out (comma-separated or YAML list).")
    model: str = setting(
        "random_forest",
        inputs.text,
        "A short name (random_forest, hist_gradient_boosting, logistic_regression, ...), a "
        "scikit-learn/LightGBM/XGBoost estimator class path, or `module:function` / "
        "`module.Class` in a .py file of your repo returning an unfitted estimator.",
    )
    params: Mapping[str, Any] = setting(
        "{}", inputs.params, "Hyperparameters as a JSON or YAML mapping, checked against `get_params()`."
    )
    cv: int = setting(
        "0",
        inputs.integer(minimum=0),
        "k-fold cross-validation on the training part (0 = off), reported as mean ± std.",
    )
    search: Mapping[str, Any] = setting(
        "",
        parse_space,
        "Hyperparameter search as a YAML mapping: parameter "
        "→ a list of values, `{low: 0.001, high: 1, log: true}`, `{int: [2, 64]}` "
        "or `{choices: [...]}`; `params` stay fixed. Scored by `cv` folds (5 when "
        "`cv` is 0) on the training part with the primary metric.",
    )
    search_method: str = setting(
        "random",
        inputs.choice(*SEARCH_METHODS),
        "`grid`, `random` or `halving` (scikit-learn's GridSearchCV, RandomizedSearchCV, HalvingRandomSearchCV).",
    )
    search_iter: int = setting("20", inputs.integer(minimum=1), "Candidates drawn by `random` and `halving`.")
    dask_scheduler: str = setting(
        "",
        inputs.text,
        "Address of a Dask scheduler (`tcp://host:8786`, `tls://...`) "
        "on which fit, CV and search run; default the `DASK_SCHEDULER_ADDRESS` "
        "environment variable, else the runner's own cores.",
    )
    primary_metric: str = setting(
        "", inputs.text, "The metric the verdict leads with (default f1_macro or rmse by task)."
    )
    gates: tuple[Gate, ...] = setting(
        "", inputs.gates, "YAML list of gate rules, e.g. `[{metric: f1_macro, min: 0.8, max-regression: 0.01}]`."
    )
    fail_on_gate: bool = setting("true", inputs.boolean, "Exit 1 when a gate fails.")
    on_inconclusive: str = setting(
        "pass",
        inputs.choice("pass", "fail"),
        "`pass` or `fail`: how an `inconclusive` "
        "verdict (the holdout cannot tell within a rule's `confidence`) counts for the "
        "exit code and whether `publish` promotes.",
    )
    registry: str = setting(
        ".ml-action/registry", inputs.text, "Where versions and the champion live: a folder or `s3://bucket/prefix`."
    )
    model_name: str = setting("model", inputs.model_name, "Name of the model inside the registry.")
    mode: str = setting(
        "auto",
        inputs.choice(*MODES),
        "`auto`, `evaluate`, `publish`, `rollback`, `alias`, "
        "`list`, `comment`, `monitor`, `reproduce`, `diff` or `leaderboard`.",
    )
    report_path: str = setting("ml-action-report.md", inputs.text, "Where the markdown report is written.")
    config: str = setting(
        "", inputs.text, "A YAML config file with the same keys as these inputs (default `ml-action.yml`)."
    )
    csv_separator: str = setting(
        "auto",
        inputs.csv_separator,
        "Separator of CSV files: `,`, `;`, `tab`, `|`, or `auto` to detect it from the first lines.",
    )
    to_version: str = setting(
        "",
        inputs.text,
        "Target version for `rollback` (`previous` or an id), `alias` "
        "(an id, `champion` or `latest`), `reproduce` and `diff`.",
    )
    alias: str = setting(
        "",
        inputs.text,
        "For `mode: alias`: the alias to set or remove (`[a-z][a-z0-9-]{0,40}`, "
        "e.g. `staging`; `champion` is reserved for promotion and rollback).",
    )
    remove_alias: bool = setting(
        "false", inputs.boolean, "For `mode: alias`: remove the alias instead of setting it (leave `to-version` empty)."
    )
    from_version: str = setting("", inputs.text, "Base version for `diff` (default the champion).")
    tolerance: float = setting(
        "1e-9",
        inputs.tolerance,
        "How far `reproduce` may differ from the recorded predictions and metrics (relative, and absolute near 0).",
    )
    allow_unsafe_model_format: bool = setting(
        "false", inputs.boolean, "Allow loading a pickle/joblib champion (runs its code!)."
    )
    aws_region: str = setting("", s3_settings.aws_region, "AWS region of the S3 registry (else from the environment).")
    s3_endpoint_url: str = setting(
        "", s3_settings.endpoint_url, "Endpoint of an S3-compatible store (MinIO, R2, ...); path-style addressing."
    )
    s3_checksum: str = setting(
        "when_supported",
        inputs.choice("when_supported", "when_required"),
        "`when_supported` or `when_required` (for stores that reject checksums).",
    )
    s3_sse: str = setting("", inputs.s3_sse, "Server-side encryption for uploads: `AES256` or `aws:kms`.")
    s3_kms_key_id: str = setting("", inputs.text, "KMS key id when `s3-sse` is `aws:kms`.")
    s3_max_attempts: int = setting("5", s3_settings.attempts, "Attempts per S3 request, 1 to 20 (standard retry mode).")
    s3_conditional_writes: str = setting(
        "verify",
        inputs.choice("verify", "unsupported"),
        "`verify`: check once per run that the store honours `If-None-Match`/`If-Match` before writing; "
        "`unsupported`: write anyway, with a warning (one writer at a time only).",
    )
    snapshot_data: str = setting(
        "auto",
        inputs.auto_or_bool,
        "Store the exact training and holdout rows in the registry as Parquet, for `reproduce` (`auto`: on for S3).",
    )
    github_token: str = setting(
        "", inputs.text, "Token for the PR comment and monitor issues (default `${{ github.token }}`)."
    )
    pr_number: int | None = setting("", inputs.pr_number, "Pull request to comment on (default from the event).")
    comment_key: str = setting("", inputs.text, "Key of the sticky comment (default the model name).")
    comment_mode: str = setting("update", inputs.choice(*COMMENT_MODES), "`update`, `recreate`, `new` or `off`.")
    comment_file: str = setting(
        "ml-action-comment.md", inputs.text, "Where the comment body is written when it cannot be posted."
    )
    result_dir: str = setting(
        "",
        inputs.text,
        "Where `evaluate` and `publish` write the result bundle (outputs, "
        "metrics, holdout fingerprint and rows, predictions, data checks, the fitted model); "
        "default `ml-action-result/<comment-key>`.",
    )
    results: str = setting(
        "",
        inputs.text,
        "The folder of result bundles: several evaluations' for `mode: leaderboard` (e.g. from "
        "`actions/download-artifact` with `merge-multiple: true`), a fork run's for `mode: comment`.",
    )
    bootstrap: int = setting(
        "1000", inputs.integer(minimum=0), "Paired bootstrap resamples for the confidence interval (0 = off)."
    )
    drift_share: float = setting(
        "0.5", inputs.share_up_to_1, "Share of drifted columns at which the dataset counts as drifted."
    )
    fail_on_drift: bool = setting("false", inputs.boolean, "Exit 1 when dataset drift is detected.")
    fail_on_degradation: bool = setting(
        "true", inputs.boolean, "In monitor mode, exit 1 when the champion has degraded or drifted."
    )
    # not inputs: what load_config found, for messages
    config_file: str = field(default="", compare=False)  # the config file read ("" when none was found)

    def resolved(self) -> dict[str, Any]:
        """The settings as plain data for the manifest (secrets left out)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name in ("workspace", "github_token", "config_file"):
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
        return self.registry[:5].lower() == "s3://"  # `S3://bucket` is S3, not a folder


def _attr(name: str) -> str:
    return name.replace("-", "_")


INPUTS: tuple[Input, ...] = tuple(
    Input(f.name.replace("_", "-"), **f.metadata["input"]) for f in fields(Config) if "input" in f.metadata
)
"""Every action input, in ``action.yml`` order, read from the fields of ``Config``."""

INPUT_NAMES = frozenset(i.name for i in INPUTS)
_BY_NAME = {i.name: i for i in INPUTS}


__all__ = ["INPUTS", "OUTPUTS", "Config", "Gate", "load_config", "require", "read_config_file"]


# --------------------------------------------------------------------------- sources


def inputs_from_env(env: Mapping[str, str]) -> dict[str, str]:
    """The ``INPUT_<NAME>`` variables the runner sets (hyphens kept, upper-cased); empty ones are unset."""
    out = {}
    for spec in INPUTS:
        value = env.get("INPUT_" + spec.name.upper().replace(" ", "_"))
        if value is not None and value.strip() != "":
            out[spec.name] = value
    return out


def load_config(env: Mapping[str, str], flags: Mapping[str, Any] | None = None) -> Config:
    """Build the ``Config``: defaults < config file < ``INPUT_*`` < ``flags`` (input names as keys).

    ``workspace`` comes from ``INPUT_*`` or a flag only: the config file is looked for inside it."""
    flags = {k.replace("_", "-"): v for k, v in (flags or {}).items() if v is not None}
    from_env = inputs_from_env(env)
    workspace = resolve_workspace(env, str(flags.get("workspace") or from_env.get("workspace") or ""))
    config_name = flags.get("config") or from_env.get("config") or ""
    config_path = confine(workspace, config_name or "ml-action.yml", "config")
    from_file = read_config_file(workspace, config_name or "ml-action.yml", bool(config_name), INPUT_NAMES)
    if "workspace" in from_file:
        raise UserError(
            "config",
            f"'{config_name or 'ml-action.yml'}' sets `workspace`",
            "The config file is read from the workspace, so it cannot move it: set `workspace` as an "
            "input or flag instead.",
        )
    merged: dict[str, Any] = {spec.name: spec.default for spec in INPUTS if spec.name != "workspace"}
    merged.update(from_file)
    merged.update({k: v for k, v in from_env.items() if k != "workspace"})
    merged.update({k: v for k, v in flags.items() if k != "workspace"})
    values = {_attr(name): _BY_NAME[name].parse(name, value) for name, value in merged.items()}
    config = Config(workspace=workspace, config_file=str(config_path) if config_path.is_file() else "", **values)
    _check_confidence(config)
    return config


def _check_confidence(config: Config) -> None:
    """A rule's ``confidence`` needs the bootstrap: with ``bootstrap: 0`` no metric has an interval."""
    asked = [g.metric for g in config.gates if g.confidence is not None]
    if asked and config.bootstrap == 0:
        raise UserError(
            "gates",
            f"a rule on {asked[0]} sets `confidence`, but `bootstrap: 0` turns the intervals off, so no metric has one",
            "Remove `confidence`, or set `bootstrap` to e.g. 1000.",
        )


def no_config_file(config: Config) -> str:
    """``; no config file was found: looked for ml-action.yml in /abs`` when none was read, else empty."""
    if config.config_file:
        return ""
    return f"; no config file was found: looked for {config.config or 'ml-action.yml'} in {config.workspace.resolve()}"


def require(config: Config, *names: str) -> None:
    """The runner does not enforce ``required``: we do, naming the input (and, when no config file was found,
    the file that was looked for)."""
    for name in names:
        if not getattr(config, _attr(name)):
            looked = no_config_file(config)
            raise WorkspaceError(
                name,
                f"is required and was not given{looked}",
                f"Set `{name}` in the workflow's `with:` block or the config file.",
                config.workspace,
                f"Pass `--{name} <value>` or write `{name}: <value>` in "
                f"{config.config or 'ml-action.yml'}"
                + (", or run in the folder that holds your ml-action.yml." if looked else "."),
            )

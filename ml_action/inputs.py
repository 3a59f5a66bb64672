"""Parsers of single input values: raw text (or YAML data from the config file) to a typed value.

Each parser takes the input's name and its raw value and returns the typed value, or raises
``UserError(input, problem, hint)`` naming the input. ``ml_action.config`` attaches one parser to each
input of the ``Config``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from ml_action.errors import UserError

T = TypeVar("T")
Parser = Callable[[str, Any], T]
"""``parse(input_name, raw_value) -> typed value``, raising ``UserError`` on a bad value."""


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


MAX_YAML_CHARS = 1_000_000  # an input or the config file
MAX_YAML_DEPTH = 32  # lists and mappings inside each other
MAX_YAML_NODES = 200_000  # scalars, lists and mappings in one document


class UnsafeYAML(ValueError):
    """YAML refused before it is built: an alias, or more text, depth or nodes than allowed."""


def load_yaml(text: str) -> Any:
    """``yaml.safe_load`` of ``text`` once its events show no alias (``*name``, ``<<: *name``: a 700-byte
    alias bomb expands to hundreds of megabytes), at most ``MAX_YAML_DEPTH`` levels and ``MAX_YAML_NODES``
    nodes; PyYAML's parser yields the events without recursion, its composer then recurses only that deep.

    Raises ``UnsafeYAML`` for those, ``yaml.YAMLError`` for bad syntax."""
    import yaml

    if len(text) > MAX_YAML_CHARS:
        raise UnsafeYAML(f"is {len(text):,} characters long, more than {MAX_YAML_CHARS:,}")
    depth = nodes = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.AliasEvent):
            raise UnsafeYAML("uses a YAML alias (`*name`); ml-action does not expand aliases, write the values out")
        if isinstance(event, (yaml.ScalarEvent, yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            nodes += 1
            if nodes > MAX_YAML_NODES:
                raise UnsafeYAML(f"holds more than {MAX_YAML_NODES:,} values")
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                raise UnsafeYAML(f"nests lists or mappings more than {MAX_YAML_DEPTH} deep")
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            depth -= 1
    return yaml.safe_load(text)


def parse_yaml(name: str, text: str) -> Any:
    import yaml

    try:
        return load_yaml(text)
    except UnsafeYAML as exc:
        raise UserError(name, str(exc), f"Write `{name}` as plain YAML or JSON.") from None
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
        raise UserError(name, f"is not valid YAML or JSON{at}", f"Check the syntax of `{name}`.") from None


def parse_columns(name: str, value: Any) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        text = value.strip()
        items = parse_yaml(name, text) if text.startswith("[") else re.split(r"[,\n]", text)
    else:
        items = value
    if not isinstance(items, list):
        raise UserError(name, "is not a list of column names", f"Write `{name}` as `a, b, c` or `[a, b, c]`.")
    return tuple(str(i).strip() for i in items if str(i).strip())


def parse_params(value: Any) -> dict[str, Any]:
    parsed = value
    if isinstance(value, str):
        parsed = parse_yaml("params", value) if value.strip() else {}
    if parsed is None:
        parsed = {}
    if not isinstance(parsed, Mapping):
        raise UserError(
            "params",
            f"is a {type(parsed).__name__}, not a mapping",
            'Write `params` as a JSON or YAML mapping, e.g. `{"n_estimators": 200}`.',
        )
    return {str(k): v for k, v in parsed.items()}


_GATE_KEYS = {
    "metric",
    "min",
    "max",
    "max-regression",
    "max-regression-pct",
    "min-improvement",
    "significant-regression",
    "confidence",
}


def _parse_confidence(n: int, rule: Mapping[str, Any]) -> float | None:
    """A rule's ``confidence``: a level in (0, 1), only on a rule with a metric."""
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
        raise UserError(
            "gates",
            f"rule {n}: `confidence` needs a `metric` to have an interval",
            "Put `confidence` on a rule with a `metric` and a limit.",
        )
    return level


def parse_gates(value: Any) -> tuple[Gate, ...]:
    parsed = value
    if isinstance(value, str):
        parsed = parse_yaml("gates", value) if value.strip() else []
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
            raise UserError(
                "gates",
                f"rule {n} has unknown key(s) {', '.join(sorted(unknown))}",
                f"Use only {', '.join(sorted(_GATE_KEYS))}.",
            )
        sig = rule.get("significant-regression")
        if sig is not None:
            if str(sig).lower() not in ("fail", "warn"):
                raise UserError(
                    "gates",
                    f"rule {n}: significant-regression must be `fail` or `warn`, not '{sig}'",
                    "Write `- significant-regression: fail`.",
                )
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
                    raise UserError(
                        "gates", f"rule {n}: `{key}` is '{raw}', not a number", f"Give `{key}` a number."
                    ) from None
            if key.startswith("max-regression") and raw < 0:
                raise UserError("gates", f"rule {n}: `{key}` is negative", f"Use 0 or more for `{key}`.")
            numbers[key] = float(raw)
        if metric is not None and all(v is None for v in numbers.values()) and sig is None:
            raise UserError(
                "gates",
                f"rule {n} on {metric} sets no limit",
                "Add `min`, `max`, `max-regression`, `max-regression-pct` or `min-improvement`.",
            )
        gates.append(
            Gate(
                metric=str(metric) if metric is not None else "",
                min=numbers["min"],
                max=numbers["max"],
                max_regression=numbers["max-regression"],
                max_regression_pct=numbers["max-regression-pct"],
                min_improvement=numbers["min-improvement"],
                significant_regression=sig,
                confidence=_parse_confidence(n, rule),
            )
        )
    return tuple(gates)


# --------------------------------------------------------------------------- parsers as inputs use them


def text(name: str, value: Any) -> str:
    """Any text, stripped."""
    return _text(value)


def boolean(name: str, value: Any) -> bool:
    return parse_bool(name, value)


def integer(minimum: int | None = None) -> Parser[int]:
    """A whole number, at least ``minimum`` when given."""
    return lambda name, value: parse_int(name, value, minimum)


def choice(*choices: str) -> Parser[str]:
    """One of ``choices`` (case-insensitive, returned lower-case)."""
    return lambda name, value: parse_choice(name, value, choices)


def columns(name: str, value: Any) -> tuple[str, ...]:
    return parse_columns(name, value)


def params(name: str, value: Any) -> dict[str, Any]:
    return parse_params(value)


def gates(name: str, value: Any) -> tuple[Gate, ...]:
    return parse_gates(value)


def seed(name: str, value: Any) -> int:
    number = parse_int(name, value, minimum=0)
    if number > 2**32 - 1:
        raise UserError(name, f"{number} is above 2**32 - 1", "Use a seed between 0 and 4294967295.")
    return number


def share(name: str, value: Any) -> float:
    """A share in (0, 1), like ``test-size``."""
    size = parse_float(name, value)
    if not 0 < size < 1:
        raise UserError(name, f"{size} is outside (0, 1)", f"Set `{name}` to a share like 0.2.")
    return size


def share_up_to_1(name: str, value: Any) -> float:
    """A share in (0, 1], like ``drift-share``."""
    number = parse_float(name, value)
    if not 0 < number <= 1:
        raise UserError(name, f"{number} is outside (0, 1]", f"Set `{name}` to a share like 0.5.")
    return number


def tolerance(name: str, value: Any) -> float:
    tol = parse_float(name, value)
    if not 0 <= tol < 1:
        raise UserError(name, f"{tol} is outside [0, 1)", f"Set `{name}` to a small number like 1e-9.")
    return tol


def pr_number(name: str, value: Any) -> int | None:
    """A pull request number (``#`` allowed), or ``None`` when empty."""
    digits = _text(value).lstrip("#")
    return parse_int(name, digits, minimum=1) if digits else None


def s3_sse(name: str, value: Any) -> str:
    mode = _text(value)
    if mode and mode not in ("AES256", "aws:kms"):
        raise UserError(name, f"'{mode}' is not AES256 or aws:kms", f"Set `{name}` to `AES256` or `aws:kms`.")
    return mode


def auto_or_bool(name: str, value: Any) -> str:
    """``auto``, ``true`` or ``false`` (any boolean spelling)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    word = _text(value).lower() or "auto"
    if word == "auto":
        return word
    return "true" if parse_bool(name, word) else "false"


def model_name(name: str, value: Any) -> str:
    """A name safe as one path segment in the registry."""
    word = _text(value)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", word):
        raise UserError(
            name,
            f"'{word}' is not a valid name",
            "Use letters, digits, '.', '_' or '-' (up to 100), starting with a letter or digit.",
        )
    return word


SEPARATORS = {",": ",", ";": ";", "tab": "\t", "\\t": "\t", "\t": "\t", "|": "|"}
"""The CSV separators ``csv-separator`` accepts (and ``auto`` sniffs among), by their spelling in an input."""


def csv_separator(name: str, value: Any) -> str:
    """``auto`` or one of ``,`` ``;`` ``tab`` (or ``\\t``) ``|``; returned as the character itself."""
    raw = "" if value is None else str(value)
    word = raw if raw == "\t" else raw.strip()
    if word.lower() in ("", "auto"):
        return "auto"
    if word.lower() not in SEPARATORS:
        raise UserError(
            name, f"'{raw}' is not a CSV separator ml-action knows", f"Set `{name}` to `auto`, `,`, `;`, `tab` or `|`."
        )
    return SEPARATORS[word.lower()]


def folder(name: str, value: Any) -> Path:
    """A folder path as given (resolved against the runner's workspace by ``config.load_config``)."""
    return Path(_text(value) or ".")

"""The ``search`` input: its methods and its space, parsed and checked (pure; no scikit-learn). A parser of
``config`` like those in ``inputs``; running the search is ``search``.

The space is YAML: parameter → a list (a grid; sampled uniformly by ``random``/``halving``), or one of
``{low, high, log}`` (a float), ``{int: [a, b]}`` (an integer, both ends included), ``{choices: [...]}``
(the same as a list).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ml_action.errors import UserError
from ml_action.inputs import parse_yaml

METHODS = ("grid", "random", "halving")
_HINT = (
    "Write `search` as a mapping, e.g. `{max_depth: [2, 4, 8], learning_rate: {low: 0.001, high: 1, "
    "log: true}, max_leaf_nodes: {int: [8, 64]}, loss: {choices: [a, b]}}`."
)


# ---------------------------------------------------------------------------------------------- the space


def parse_space(name: str, value: Any) -> dict[str, Any]:
    """The ``search`` input as ``{parameter: spec}``; a spec is a list, ``{"low", "high", "log"}`` or
    ``{"int": [a, b]}`` (``choices`` become lists). Empty input → ``{}`` (no search)."""
    parsed = value
    if isinstance(value, str):
        if not value.strip():
            return {}
        parsed = parse_yaml(name, value)
    if parsed is None:
        return {}
    if not isinstance(parsed, Mapping):
        raise UserError(name, f"is a {type(parsed).__name__}, not a mapping of parameters", _HINT)
    space: dict[str, Any] = {}
    for key, spec in parsed.items():
        param = str(key).strip()
        if not param:
            raise UserError(name, "has an empty parameter name", _HINT)
        space[param] = _spec(name, param, spec)
    return space


def _number(name: str, param: str, key: str, raw: Any, integer: bool = False) -> float:
    ok = isinstance(raw, int) if integer else isinstance(raw, (int, float))
    if isinstance(raw, bool) or not ok or not math.isfinite(raw):
        kind = "a whole number" if integer else "a number"
        raise UserError(name, f"'{param}': `{key}` is '{raw}', not {kind}", _HINT)
    return raw


def _spec(name: str, param: str, spec: Any) -> Any:
    if isinstance(spec, list):
        if not spec:
            raise UserError(
                name,
                f"'{param}' has an empty list of values",
                f"Give at least one value, e.g. `{param}: [2, 4]`, or leave the parameter out.",
            )
        return list(spec)
    if not isinstance(spec, Mapping):
        raise UserError(name, f"'{param}' is '{spec}', neither a list nor a distribution", _HINT)
    keys = {str(k) for k in spec}
    if keys == {"choices"}:
        return _spec(name, param, spec["choices"] if isinstance(spec["choices"], list) else None)
    if keys == {"int"}:
        bounds = spec["int"]
        if not isinstance(bounds, list) or len(bounds) != 2:
            raise UserError(name, f"'{param}': `int` is not a pair [low, high]", f"Write `{param}: {{int: [2, 64]}}`.")
        low, high = (_number(name, param, "int", b, integer=True) for b in bounds)
        if low > high:
            raise UserError(name, f"'{param}': low {low} is above high {high}", "Swap the two bounds.")
        return {"int": [int(low), int(high)]}
    if {"low", "high"} <= keys <= {"low", "high", "log"}:
        low, high = _number(name, param, "low", spec["low"]), _number(name, param, "high", spec["high"])
        log = spec.get("log", False)
        if not isinstance(log, bool):
            raise UserError(name, f"'{param}': `log` is '{log}', not true or false", "Write `log: true`.")
        if low > high:
            raise UserError(name, f"'{param}': low {low} is above high {high}", "Swap `low` and `high`.")
        if low == high:
            raise UserError(name, f"'{param}': low and high are both {low}", f"Set `{param}` in `params` instead.")
        if log and low <= 0:
            raise UserError(name, f"'{param}': a log scale needs low > 0, not {low}", "Raise `low` or drop `log`.")
        return {"low": float(low), "high": float(high), "log": log}
    raise UserError(
        name,
        f"'{param}' has the keys {', '.join(sorted(keys))}, which is no distribution",
        "Use `{low: .., high: .., log: true}`, `{int: [a, b]}` or `{choices: [...]}`.",
    )

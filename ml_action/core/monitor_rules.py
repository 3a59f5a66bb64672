"""What monitoring decides by: the gates a champion is watched with on fresh data, and its status word.
The ``monitor`` mode itself is ``ml_action.modes.monitor``."""

from __future__ import annotations

from typing import Any

from ml_action.config import Config
from ml_action.inputs import Gate, parse_gates

# without any gate on the primary metric, monitoring allows this much relative slack against the
# metrics recorded at promotion (fresh data is never the holdout it was measured on)
DEFAULT_MONITOR_SLACK_PCT = 5.0


def monitor_gates(config: Config, manifest: dict[str, Any], primary: str) -> tuple[Gate, ...]:
    """The configured gates, else the gates the champion was published with; the primary metric guarded."""
    gates = config.gates
    if not gates:
        gates = parse_gates((manifest.get("config") or {}).get("gates") or [])
    if not any(g.metric == primary for g in gates):
        gates = (*gates, Gate(metric=primary, max_regression_pct=DEFAULT_MONITOR_SLACK_PCT))
    return gates


def status_word(state: str, drifted: bool) -> str:
    """``healthy``, ``watch``, ``degraded``, ``drifted``, or ``watch``/``degraded`` ``and drifted``
    (``state`` is the health: ``healthy``, ``watch`` or ``degraded``)."""
    if state != "healthy":
        return state + (" and drifted" if drifted else "")
    return "drifted" if drifted else "healthy"

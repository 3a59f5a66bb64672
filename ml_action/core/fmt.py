"""How numbers are written in reports, logs, gate reasons and outputs: one module, one named function per style.

- ``num``: a metric in a table, 4 decimals (3 significant digits when tiny), ``—`` when missing.
- ``signed``: a change, with its sign, same precision as ``num``.
- ``pct``: a relative change in percent, 2 decimals.
- ``sig``: 6 significant digits, for gate thresholds and reasons and the ``primary-metric-value`` output.
- ``exact``: 12 significant digits, for reproduce and diff, where small differences matter.
"""

from __future__ import annotations

import math
from typing import Any


def num(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.4f}" if abs(value) >= 1e-3 or value == 0 else f"{value:.3g}"
    return str(value)


def signed(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:+.4f}" if abs(value) >= 1e-3 or value == 0 else f"{value:+.3g}"


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value:+.2f} %"


def sig(value: float) -> str:
    return f"{value:.6g}"


def exact(value: Any) -> str:
    return f"{value:.12g}" if isinstance(value, float) else ("—" if value is None else str(value))

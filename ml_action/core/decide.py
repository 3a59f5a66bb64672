"""Decisions that know their noise: pass / fail / inconclusive from a bootstrap interval.

Pure functions, no I/O. Every rule works on the *regression* scale: how much worse the candidate (or the
fresh data) is than the reference, positive = worse, whatever the metric's direction. An interval of a
difference ``candidate − champion`` (``low``, ``high``) becomes the regression interval
``[−high, −low]`` when greater is better and ``[low, high]`` when lower is better.

- ``non_inferiority`` (``max-regression`` / ``max-regression-pct``; ``min-improvement`` as a regression
  allowance of ``−limit``): **fail** when the whole regression interval lies beyond the allowance,
  **pass** when all of it lies within, else **inconclusive**.
- ``floor`` (``min`` / ``max``): the interval of the candidate's own value against the bound.
- ``rows_to_decide``: how many rows would likely settle an inconclusive result, since a bootstrap
  interval narrows as 1/√n (the estimate keeps today's observed value as the centre).
- ``health``: the monitor's state from the interval of (fresh − reference): ``healthy`` when no drop is
  significant, ``degraded`` when the whole interval lies beyond the slack, ``watch`` in between.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

PASS, FAIL, INCONCLUSIVE = "pass", "fail", "inconclusive"
HEALTHY, WATCH, DEGRADED = "healthy", "watch", "degraded"
DEFAULT_CONFIDENCE = 0.95
# two floats this close count as equal (the same tolerance as the point rules in compare.py)
EPS = 1e-9
# beyond this many times the current rows, more data is not a practical answer
MAX_ROWS_FACTOR = 1000


@dataclass(frozen=True)
class Decision:
    """One rule's outcome, the regression interval it was judged on, and the rows that would settle it."""

    outcome: str  # pass / fail / inconclusive
    low: float  # regression (or value) interval the rule was judged on
    high: float
    bound: float  # the allowance (regression scale) or the floor/ceiling (value scale)
    rows_needed: int | None = None  # inconclusive only: roughly how many rows would decide it

    @property
    def passed(self) -> bool:
        return self.outcome == PASS


def regression_interval(low: float, high: float, greater_is_better: bool) -> tuple[float, float]:
    """The interval of ``candidate − reference`` as an interval of regression (positive = worse)."""
    return (-high, -low) if greater_is_better else (low, high)


def allowance(kind: str, limit: float, reference: float | None) -> float:
    """The allowed regression of a rule, in the metric's units.

    ``max-regression``: ``limit``; ``max-regression-pct``: ``limit`` % of ``|reference|``;
    ``min-improvement``: ``−limit`` (the candidate must be better by at least ``limit``).
    """
    if kind == "max-regression":
        return limit
    if kind == "max-regression-pct":
        return limit / 100 * abs(reference or 0.0)
    if kind == "min-improvement":
        return -limit
    raise ValueError(f"unknown rule kind {kind!r}")


def _tol(*values: float) -> float:
    return EPS * max(1.0, *(abs(v) for v in values if math.isfinite(v)))


def non_inferiority(
    low: float,
    high: float,
    allowed: float,
    greater_is_better: bool,
    *,
    observed: float | None = None,
    rows: int | None = None,
) -> Decision:
    """Judge ``candidate − champion`` in ``[low, high]`` against an allowed regression ``allowed``.

    fail: the whole interval is worse than allowed; pass: the whole interval is within the allowance;
    otherwise inconclusive, with ``rows_needed`` estimated from ``observed`` and ``rows`` when given.
    """
    r_low, r_high = regression_interval(low, high, greater_is_better)
    # the regression may not exceed ``allowed``: a ceiling on the regression's interval
    r_obs = None if observed is None else (-observed if greater_is_better else observed)
    return floor(r_low, r_high, maximum=allowed, observed=r_obs, rows=rows)


def floor(
    low: float,
    high: float,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    observed: float | None = None,
    rows: int | None = None,
) -> Decision:
    """Judge the interval ``[low, high]`` of a value against ``minimum`` (a floor) or ``maximum`` (a ceiling).

    ``min``: pass when the whole interval is at or above it, fail when all of it is below; ``max`` mirrors.
    """
    if (minimum is None) == (maximum is None):
        raise ValueError("give exactly one of minimum and maximum")
    if minimum is not None:  # a floor is a ceiling on the negated value
        flipped = floor(-high, -low, maximum=-minimum, observed=None if observed is None else -observed, rows=rows)
        return Decision(flipped.outcome, low, high, minimum, flipped.rows_needed)
    assert maximum is not None
    tol = _tol(maximum, low, high)
    if not (math.isfinite(low) and math.isfinite(high)):
        return Decision(INCONCLUSIVE, low, high, maximum)
    if low > maximum + tol:
        return Decision(FAIL, low, high, maximum)
    if high <= maximum + tol:
        return Decision(PASS, low, high, maximum)
    needed = rows_to_decide(low, high, observed, maximum, rows) if observed is not None and rows else None
    return Decision(INCONCLUSIVE, low, high, maximum, needed)


def rows_to_decide(low: float, high: float, observed: float, bound: float, rows: int) -> int | None:
    """Rows at which an interval around ``observed`` would no longer contain ``bound``.

    The half-width on the side facing the bound shrinks as 1/√n: n' = n · (half-width / distance)².
    ``None`` when the observed value sits on the bound (no number of rows would settle it, the models
    are as good as each other there) or when more than ``MAX_ROWS_FACTOR`` × ``rows`` would be needed.
    """
    if not all(math.isfinite(v) for v in (low, high, observed, bound)) or rows <= 0:
        return None
    distance = abs(observed - bound)
    half = (observed - low) if bound < observed else (high - observed)
    if distance <= _tol(observed, bound) or half <= 0:
        return None
    needed = math.ceil(rows * (half / distance) ** 2)
    if needed > rows * MAX_ROWS_FACTOR:
        return None
    return max(needed, rows + 1)


def health(low: float, high: float, slack: float, greater_is_better: bool) -> str:
    """The monitor's state from the interval of ``fresh − reference`` and the allowed drop ``slack``.

    healthy: the interval reaches "no drop" (zero) or better; degraded: the whole interval is a drop larger
    than ``slack``; watch: a significant drop, not significantly beyond the slack.
    """
    r_low, _ = regression_interval(low, high, greater_is_better)
    if math.isnan(r_low):
        raise ValueError("no interval to judge (no valid resamples)")
    tol = _tol(slack, r_low)
    if r_low <= tol:
        return HEALTHY
    if r_low > slack + tol:
        return DEGRADED
    return WATCH


def combine(outcomes: list[str]) -> str:
    """The verdict of several rules: any fail → fail; else any inconclusive → inconclusive; else pass."""
    if FAIL in outcomes:
        return FAIL
    if INCONCLUSIVE in outcomes:
        return INCONCLUSIVE
    return PASS


def exit_passes(verdict: str, on_inconclusive: str) -> bool:
    """Whether a verdict lets the job pass (and ``publish`` promote): ``on-inconclusive`` settles the middle."""
    if verdict == INCONCLUSIVE:
        return on_inconclusive == PASS
    return verdict == PASS

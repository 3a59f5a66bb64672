"""Three-valued decisions: non-inferiority, floors, rows that would decide, and the monitor's health."""

from __future__ import annotations

import math

import pytest

from ml_action.core import decide as d


@pytest.mark.parametrize(
    ("low", "high", "allowed", "up", "outcome"),
    [
        # greater is better: regression interval is [-high, -low]
        (-0.031, 0.030, 0.0, True, d.INCONCLUSIVE),  # the seed-only retrain: noise both ways
        (-0.08, -0.02, 0.0, True, d.FAIL),  # wholly worse
        (-0.08, -0.02, 0.01, True, d.FAIL),  # worse than the allowance by every plausible amount
        (-0.08, -0.02, 0.05, True, d.INCONCLUSIVE),  # straddles the allowance
        (-0.08, -0.02, 0.08, True, d.PASS),  # inclusive at the allowance
        (0.0, 0.04, 0.0, True, d.PASS),  # never worse
        (0.0, 0.0, 0.0, True, d.PASS),  # identical models
        (0.01, 0.05, 0.0, True, d.PASS),  # significantly better
        # lower is better (rmse): regression interval is [low, high]
        (0.02, 0.08, 0.0, False, d.FAIL),
        (-0.05, 0.01, 0.02, False, d.PASS),
        (-0.05, 0.03, 0.02, False, d.INCONCLUSIVE),
    ],
)
def test_non_inferiority(low: float, high: float, allowed: float, up: bool, outcome: str) -> None:
    assert d.non_inferiority(low, high, allowed, up).outcome == outcome


def test_tolerance_at_the_allowance() -> None:
    # 0.81 - 0.80 computed in floating point is a hair above 0.01: still within max-regression 0.01
    assert d.non_inferiority(0.80 - 0.81, 0.0, 0.01, True).outcome == d.PASS


def test_min_improvement_is_a_negative_allowance() -> None:
    allowed = d.allowance("min-improvement", 0.01, 0.8)
    assert allowed == -0.01
    assert d.non_inferiority(0.02, 0.05, allowed, True).outcome == d.PASS
    assert d.non_inferiority(-0.02, 0.005, allowed, True).outcome == d.FAIL
    assert d.non_inferiority(0.0, 0.03, allowed, True).outcome == d.INCONCLUSIVE


def test_allowance_kinds() -> None:
    assert d.allowance("max-regression", 0.02, 0.5) == 0.02
    assert d.allowance("max-regression-pct", 5, -0.8) == pytest.approx(0.04)
    assert d.allowance("max-regression-pct", 5, None) == 0.0
    with pytest.raises(ValueError):
        d.allowance("nope", 1, 1)


@pytest.mark.parametrize(
    ("low", "high", "kw", "outcome"),
    [
        (0.81, 0.86, {"minimum": 0.8}, d.PASS),
        (0.80, 0.86, {"minimum": 0.8}, d.PASS),  # inclusive
        (0.75, 0.86, {"minimum": 0.8}, d.INCONCLUSIVE),
        (0.70, 0.79, {"minimum": 0.8}, d.FAIL),
        (0.30, 0.39, {"maximum": 0.4}, d.PASS),
        (0.30, 0.45, {"maximum": 0.4}, d.INCONCLUSIVE),
        (0.41, 0.45, {"maximum": 0.4}, d.FAIL),
    ],
)
def test_floor(low: float, high: float, kw: dict[str, float], outcome: str) -> None:
    decision = d.floor(low, high, **kw)
    assert decision.outcome == outcome
    assert (decision.low, decision.high) == (low, high)


def test_floor_needs_one_bound() -> None:
    with pytest.raises(ValueError):
        d.floor(0, 1)
    with pytest.raises(ValueError):
        d.floor(0, 1, minimum=0, maximum=1)


def test_rows_to_decide_follows_one_over_root_n() -> None:
    # observed 0.02 above the bound, half-width 0.04: the interval must shrink 2x, so 4x the rows
    assert d.rows_to_decide(-0.02, 0.06, 0.02, 0.0, 800) == 3200
    # the side facing the bound is used (asymmetric interval)
    assert d.rows_to_decide(-0.02, 0.30, 0.02, 0.0, 800) == 3200
    assert d.rows_to_decide(-0.30, 0.06, 0.02, 0.04, 100) == 400  # bound above: the upper half-width


def test_rows_to_decide_none_when_hopeless() -> None:
    assert d.rows_to_decide(-0.03, 0.03, 0.0, 0.0, 800) is None  # observed on the bound
    assert d.rows_to_decide(-0.03, 0.03, 0.0001, 0.0, 800) is None  # > 1000x the rows
    assert d.rows_to_decide(math.nan, 0.03, 0.01, 0.0, 800) is None


def test_inconclusive_carries_rows_needed() -> None:
    # candidate - champion observed -0.01, interval [-0.03, +0.01], allowed 0: regression [-0.01, 0.03],
    # observed regression 0.01, half-width toward the bound 0.02: (0.02 / 0.01)^2 = 4x
    decision = d.non_inferiority(-0.03, 0.01, 0.0, True, observed=-0.01, rows=800)
    assert decision.outcome == d.INCONCLUSIVE
    assert decision.rows_needed == 3200
    floor = d.floor(0.75, 0.85, minimum=0.78, observed=0.80, rows=500)
    assert floor.outcome == d.INCONCLUSIVE
    assert floor.rows_needed == math.ceil(500 * (0.05 / 0.02) ** 2)
    assert d.non_inferiority(-0.08, -0.02, 0.0, True, observed=-0.05, rows=800).rows_needed is None


@pytest.mark.parametrize(
    ("low", "high", "slack", "up", "state"),
    [
        (-0.03, 0.01, 0.03, True, d.HEALTHY),  # reaches zero: no significant drop
        (-0.03, 0.0, 0.03, True, d.HEALTHY),
        (0.01, 0.05, 0.03, True, d.HEALTHY),  # better than the reference
        (-0.05, -0.01, 0.03, True, d.WATCH),  # a significant drop, maybe within the slack
        (-0.05, -0.01, 0.005, True, d.DEGRADED),  # the whole drop is beyond the slack
        (0.04, 0.09, 0.03, False, d.DEGRADED),  # rmse up by more than the slack
        (0.01, 0.09, 0.03, False, d.WATCH),
    ],
)
def test_health(low: float, high: float, slack: float, up: bool, state: str) -> None:
    assert d.health(low, high, slack, up) == state


def test_health_without_interval_raises() -> None:
    with pytest.raises(ValueError):
        d.health(math.nan, math.nan, 0.03, True)


def test_combine_and_exit() -> None:
    assert d.combine([]) == d.PASS
    assert d.combine([d.PASS, d.INCONCLUSIVE]) == d.INCONCLUSIVE
    assert d.combine([d.INCONCLUSIVE, d.FAIL, d.PASS]) == d.FAIL
    assert d.exit_passes(d.INCONCLUSIVE, "pass") and not d.exit_passes(d.INCONCLUSIVE, "fail")
    assert d.exit_passes(d.PASS, "fail") and not d.exit_passes(d.FAIL, "pass")

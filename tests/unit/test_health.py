"""The monitor's health, rule by rule: two-sample interval for the primary's slack, floors on the fresh
value's own interval, point values for the rest and for versions without reference rows."""

from __future__ import annotations

import numpy as np

from ml_action.config import Gate
from ml_action.core import decide
from ml_action.core.health import judge
from ml_action.core.metrics import Predictions, score


def _rows(n: int, seed: int, acc: float) -> tuple[np.ndarray, Predictions]:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(int)
    labels = np.where(rng.random(n) < acc, y, 1 - y)
    p1 = np.clip(np.where(labels == 1, 0.7, 0.3) + rng.normal(0, 0.1, n), 0.01, 0.99)
    return y, Predictions(labels, np.column_stack((1 - p1, p1)), [0, 1])


def _metrics(rows: tuple[np.ndarray, Predictions]) -> dict[str, float]:
    values, _ = score(rows[0], rows[1], "classification", ["accuracy", "f1_macro", "roc_auc"])
    return values


SLACK = (Gate("accuracy", max_regression_pct=5),)


def test_same_process_is_healthy_and_a_broken_one_degraded() -> None:
    reference = _rows(800, 1, 0.85)
    recorded = _metrics(reference)
    same, broken = _rows(1500, 2, 0.85), _rows(1500, 3, 0.65)
    ok = judge(SLACK, "accuracy", _metrics(same), recorded, "classification", reference, same, 300, 0)
    bad = judge(SLACK, "accuracy", _metrics(broken), recorded, "classification", reference, broken, 300, 0)
    assert ok.state == decide.HEALTHY and ok.interval is not None and ok.interval.reference_rows == 800
    assert bad.state == decide.DEGRADED and bad.gates[0].outcome == "fail"
    assert "reference rows" in bad.gates[0].reason and "slack" in bad.gates[0].reason


def test_a_significant_drop_within_the_slack_is_watch() -> None:
    reference = _rows(5000, 4, 0.90)
    fresh = _rows(20000, 5, 0.87)  # ~3 points down: significant, not beyond a 10 % slack
    health = judge(
        (Gate("accuracy", max_regression_pct=10),),
        "accuracy",
        _metrics(fresh),
        _metrics(reference),
        "classification",
        reference,
        fresh,
        300,
        0,
    )
    assert health.state == decide.WATCH and health.gates[0].outcome == "inconclusive"


def test_old_versions_fall_back_to_the_recorded_metrics_and_say_so() -> None:
    fresh = _rows(1500, 6, 0.85)
    recorded = {"accuracy": 0.95}
    health = judge(
        SLACK,
        "accuracy",
        _metrics(fresh),
        recorded,
        "classification",
        "version v1 was published without reference rows (before ml-action kept them)",
        fresh,
        300,
        0,
    )
    assert health.state == decide.DEGRADED and health.interval is None
    assert "recorded at publish" in health.notes[0] and "V" == health.notes[0][0]


def test_floors_with_confidence_and_other_rules_on_points() -> None:
    reference = _rows(800, 7, 0.85)
    fresh = _rows(1500, 8, 0.85)
    value = _metrics(fresh)["roc_auc"]
    gates = (
        Gate("roc_auc", min=value - 0.005, confidence=0.95),  # within the noise: watch
        Gate("f1_macro", min=0.1),  # point value, passes
        Gate("accuracy", max_regression_pct=5),
    )
    health = judge(gates, "accuracy", _metrics(fresh), _metrics(reference), "classification", reference, fresh, 300, 0)
    outcomes = {g.rule.split()[0] + g.rule.split()[1]: g.outcome for g in health.gates}
    assert outcomes["roc_auc≥"] == "inconclusive" and outcomes["f1_macro≥"] == "pass"
    assert health.state == decide.WATCH


def test_bootstrap_off_and_unscored_metrics() -> None:
    reference = _rows(800, 9, 0.85)
    fresh = _rows(1500, 10, 0.85)
    off = judge(SLACK, "accuracy", _metrics(fresh), _metrics(reference), "classification", reference, fresh, 0, 0)
    assert "bootstrap is off" in off.notes[0] and off.interval is None
    missing = judge(SLACK, "accuracy", {}, _metrics(reference), "classification", reference, None, 300, 0)
    assert missing.state == decide.DEGRADED

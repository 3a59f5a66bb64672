"""Gate semantics, table-driven: MLflow MetricThreshold's inclusive, direction-aware thresholds."""

from __future__ import annotations

import pytest

from ml_action.config import Gate
from ml_action.core.compare import check_gate, compare, outcome, verdict
from ml_action.errors import UserError

CASES = [
    # (gate, candidate, champion, expected pass)
    (Gate("f1_macro", min=0.8), {"f1_macro": 0.8}, None, True),  # inclusive floor
    (Gate("f1_macro", min=0.8), {"f1_macro": 0.7999}, None, False),
    (Gate("rmse", max=5.0), {"rmse": 5.0}, None, True),  # inclusive ceiling
    (Gate("rmse", max=5.0), {"rmse": 5.01}, None, False),
    (Gate("f1_macro", max_regression=0.01), {"f1_macro": 0.80}, {"f1_macro": 0.81}, True),  # exactly allowed
    (Gate("f1_macro", max_regression=0.01), {"f1_macro": 0.7999}, {"f1_macro": 0.81}, False),
    (Gate("f1_macro", max_regression=0.0), {"f1_macro": 0.81}, {"f1_macro": 0.81}, True),  # zero tolerance, equal
    (Gate("f1_macro", max_regression=0.0), {"f1_macro": 0.8099}, {"f1_macro": 0.81}, False),
    (Gate("rmse", max_regression=0.5), {"rmse": 10.5}, {"rmse": 10.0}, True),  # lower is better
    (Gate("rmse", max_regression=0.5), {"rmse": 10.6}, {"rmse": 10.0}, False),
    (Gate("rmse", max_regression=0.0), {"rmse": 9.0}, {"rmse": 10.0}, True),  # improvement passes
    (Gate("rmse", max_regression_pct=2), {"rmse": 10.2}, {"rmse": 10.0}, True),
    (Gate("rmse", max_regression_pct=2), {"rmse": 10.21}, {"rmse": 10.0}, False),
    (Gate("r2", max_regression_pct=10), {"r2": 0.45}, {"r2": 0.5}, True),
    (Gate("r2", max_regression_pct=10), {"r2": 0.449}, {"r2": 0.5}, False),
    (Gate("log_loss", min_improvement=0.1), {"log_loss": 0.4}, {"log_loss": 0.5}, True),
    (Gate("log_loss", min_improvement=0.1), {"log_loss": 0.45}, {"log_loss": 0.5}, False),
    (Gate("f1_macro", max_regression=0.01), {"f1_macro": 0.5}, None, True),  # no champion: passes with a note
    (Gate("f1_macro", max_regression=0.01), {"f1_macro": 0.5}, {"accuracy": 0.9}, True),  # champion lacks it
    (Gate("f1_macro", min=0.1), {}, None, False),  # candidate could not compute it
]


@pytest.mark.parametrize(("gate", "candidate", "champion", "expected"), CASES)
def test_gate_table(gate: Gate, candidate: dict, champion: dict | None, expected: bool) -> None:
    results = check_gate(
        gate, candidate, champion, "classification" if gate.metric not in ("rmse", "r2") else "regression"
    )
    assert len(results) == 1
    assert results[0].passed is expected, results[0].reason
    assert results[0].reason


def test_missing_champion_metric_is_a_note_not_a_crash() -> None:
    [result] = check_gate(Gate("f1_macro", max_regression=0.0), {"f1_macro": 0.5}, {"accuracy": 1.0}, "classification")
    assert result.note == "skipped" and "champion has no f1_macro" in result.reason


def test_verdict_lists_one_reason_per_rule_and_fails_if_any_fails() -> None:
    gates = (Gate("f1_macro", min=0.9, max_regression=0.0), Gate("accuracy", min=0.5))
    result = verdict(gates, {"f1_macro": 0.85, "accuracy": 0.9}, {"f1_macro": 0.8, "accuracy": 0.9}, "classification")
    assert [g.passed for g in result.gates] == [False, True, True]
    assert result.word == "fail" and len(result.failed()) == 1


def test_gate_on_metric_of_other_task_is_a_user_error() -> None:
    with pytest.raises(UserError) as info:
        check_gate(Gate("rmse", max=1), {"f1_macro": 1.0}, None, "classification")
    assert info.value.input == "gates"


def test_comparison_rows_follow_direction() -> None:
    rows = {r.metric: r for r in compare({"rmse": 9.0, "r2": 0.4}, {"rmse": 10.0, "r2": 0.5})}
    assert rows["rmse"].outcome == "better" and rows["rmse"].delta == -1.0
    assert rows["r2"].outcome == "worse" and rows["r2"].delta_pct == pytest.approx(-20.0)
    assert outcome("accuracy", 0.5, 0.5) == "same"


# ------------------------------------------------------------------------------ rules with confidence


class Interval:
    """A paired bootstrap result as the gates read it: Δ interval, the candidate's own interval, rows."""

    def __init__(
        self,
        low: float,
        high: float,
        observed: float,
        value: tuple[float, float] = (0.0, 1.0),
        rows: int = 800,
        valid: int = 1000,
    ) -> None:
        self.low, self.high, self.observed, self.value, self.rows, self.valid_resamples = (
            low,
            high,
            observed,
            value,
            rows,
            valid,
        )
        self.asked: list[float | None] = []

    def interval(self, confidence: float | None = None) -> tuple[float, float]:
        self.asked.append(confidence)
        return self.low, self.high

    def value_interval(self, confidence: float | None = None) -> tuple[float, float]:
        self.asked.append(confidence)
        return self.value


CHAMP = {"f1_macro": 0.56}


@pytest.mark.parametrize(
    ("low", "high", "observed", "outcome"),
    [
        (-0.019, 0.037, 0.009, "inconclusive"),  # a seed-only retrain: the interval straddles 0
        (-0.067, -0.007, -0.034, "fail"),  # wholly worse
        (0.002, 0.04, 0.02, "pass"),  # wholly better: non-inferior
    ],
)
def test_default_rule_with_confidence_three_outcomes(low: float, high: float, observed: float, outcome: str) -> None:
    gate = Gate("f1_macro", max_regression=0.0, confidence=0.95)
    iv = Interval(low, high, observed)
    [result] = check_gate(gate, {"f1_macro": 0.56 + observed}, CHAMP, "classification", iv)
    assert result.outcome == outcome, result.reason
    assert result.passed is (outcome == "pass")
    assert "95 % interval of Δ" in result.reason and "@ 0.95" in result.rule
    assert iv.asked == [0.95]
    if outcome == "inconclusive":
        assert result.rows_needed and "holdout rows" in result.reason


def test_point_semantics_without_confidence_even_with_an_interval() -> None:
    gate = Gate("f1_macro", max_regression=0.0)
    [result] = check_gate(gate, {"f1_macro": 0.559}, CHAMP, "classification", Interval(-0.05, 0.05, -0.001))
    assert result.outcome == "fail"  # MLflow MetricThreshold: the point values decide


def test_pct_and_min_improvement_with_confidence() -> None:
    pct = Gate("rmse", max_regression_pct=10, confidence=0.9)  # allowed: 10 % of 2.0 = 0.2 worse
    [ok] = check_gate(pct, {"rmse": 2.05}, {"rmse": 2.0}, "regression", Interval(-0.05, 0.15, 0.05))
    [bad] = check_gate(pct, {"rmse": 2.4}, {"rmse": 2.0}, "regression", Interval(0.25, 0.55, 0.4))
    assert (ok.outcome, bad.outcome) == ("pass", "fail")
    gain = Gate("f1_macro", min_improvement=0.01, confidence=0.95)
    [result] = check_gate(gain, {"f1_macro": 0.6}, CHAMP, "classification", Interval(0.02, 0.06, 0.04))
    assert result.outcome == "pass"


def test_floors_with_confidence_use_the_candidates_own_interval() -> None:
    gate = Gate("f1_macro", min=0.8, confidence=0.95)
    for value, expected in (((0.81, 0.88), "pass"), ((0.76, 0.84), "inconclusive"), ((0.70, 0.79), "fail")):
        [result] = check_gate(
            gate, {"f1_macro": sum(value) / 2}, None, "classification", Interval(0, 0, 0, value=value)
        )
        assert result.outcome == expected, result.reason
    ceiling = Gate("rmse", max=5.0, confidence=0.9)
    [result] = check_gate(ceiling, {"rmse": 5.2}, None, "regression", Interval(0, 0, 0, value=(5.1, 5.3)))
    assert result.outcome == "fail"


def test_confidence_without_an_interval_falls_back_to_points_and_says_why() -> None:
    gate = Gate("f1_macro", max_regression=0.0, confidence=0.95)
    [result] = check_gate(gate, {"f1_macro": 0.55}, CHAMP, "classification", None, "bootstrap is off")
    assert result.outcome == "fail" and "bootstrap is off" in result.reason
    empty = Interval(float("nan"), float("nan"), 0.0, valid=0)
    [again] = check_gate(gate, {"f1_macro": 0.57}, CHAMP, "classification", empty)
    assert again.outcome == "pass" and "point values" in again.reason


def test_verdict_is_three_valued_and_on_inconclusive_decides() -> None:
    gates = (Gate("f1_macro", max_regression=0.0, confidence=0.95), Gate("accuracy", min=0.5))
    intervals = {"f1_macro": Interval(-0.02, 0.03, 0.005)}
    result = verdict(
        gates,
        {"f1_macro": 0.565, "accuracy": 0.9},
        {"f1_macro": 0.56, "accuracy": 0.9},
        "classification",
        intervals=intervals,
    )
    assert result.word == "inconclusive" and not result.passed
    assert [g.outcome for g in result.gates] == ["inconclusive", "pass"]
    assert result.ok("pass") and not result.ok("fail")
    assert len(result.inconclusive()) == 1 and not result.failed()
    failing = verdict(
        gates, {"f1_macro": 0.565, "accuracy": 0.4}, {"f1_macro": 0.56}, "classification", intervals=intervals
    )
    assert failing.word == "fail" and not failing.ok("pass")
    assert failing.to_dict()["verdict"] == "fail"

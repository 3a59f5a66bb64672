"""Gate semantics, table-driven: MLflow MetricThreshold's inclusive, direction-aware thresholds."""

from __future__ import annotations

import pytest

from ml_action.compare import check_gate, compare, outcome, verdict
from ml_action.config import Gate
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
    results = check_gate(gate, candidate, champion, "classification" if gate.metric not in ("rmse", "r2") else
                         "regression")
    assert len(results) == 1
    assert results[0].passed is expected, results[0].reason
    assert results[0].reason


def test_missing_champion_metric_is_a_note_not_a_crash() -> None:
    [result] = check_gate(Gate("f1_macro", max_regression=0.0), {"f1_macro": 0.5}, {"accuracy": 1.0},
                          "classification")
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

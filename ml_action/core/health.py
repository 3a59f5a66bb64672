"""The monitor's health: the champion on fresh labelled rows against its reference rows, rule by rule.

- The primary metric's ``max-regression`` / ``max-regression-pct`` rule (the slack) is judged on the
  two-sample bootstrap interval of (fresh − reference) when the version keeps its reference rows
  (``reference.py``): **healthy** when the interval reaches "no drop", **degraded** when all of it is a drop
  beyond the slack, **watch** in between (``decide.health``); at the rule's ``confidence``, else 0.95.
- Any other rule with ``confidence``: relative limits the same way on its metric; ``min`` / ``max`` floors
  on the interval of the fresh value (pass → healthy, inconclusive → watch, fail → degraded).
- Rules without ``confidence`` on other metrics, and every rule of a version published without reference
  rows, compare point values with the metrics recorded at publish (the rule before ml-action kept
  reference rows): a failure is degraded. The report says which.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ml_action.config import Gate
from ml_action.core import decide
from ml_action.core.compare import GateResult, check_gate
from ml_action.core.metrics import METRICS

ORDER = {decide.HEALTHY: 0, decide.WATCH: 1, decide.DEGRADED: 2}
OUTCOME = {decide.HEALTHY: decide.PASS, decide.WATCH: decide.INCONCLUSIVE, decide.DEGRADED: decide.FAIL}
STATE = {v: k for k, v in OUTCOME.items()}


@dataclass
class Health:
    """The monitor's judgement: the state, one result per rule limit, notes, and the primary's interval."""

    state: str = decide.HEALTHY
    gates: list[GateResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    interval: Any = None  # TwoSampleResult of the primary metric, when computed

    def add(self, result: GateResult) -> None:
        self.gates.append(result)
        state = STATE.get(result.outcome, decide.DEGRADED)
        if ORDER[state] > ORDER[self.state]:
            self.state = state


def _relative(gate: Gate) -> list[tuple[str, float]]:
    return [
        (k, v)
        for k, v in (("max-regression", gate.max_regression), ("max-regression-pct", gate.max_regression_pct))
        if v is not None
    ]


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _two_sample_result(gate: Gate, kind: str, limit: float, iv: Any, level: float) -> GateResult:
    metric = gate.metric
    up = METRICS[metric].greater_is_better
    low, high = iv.interval(level)
    slack = decide.allowance(kind, limit, iv.reference)
    state = decide.health(low, high, slack, up)
    rule = f"{metric} {kind} {limit:.6g}{'%' if kind.endswith('pct') else ''} @ {level:g}"
    meaning = {
        decide.HEALTHY: "no significant drop",
        decide.WATCH: "a significant drop, not significantly beyond the slack",
        decide.DEGRADED: "the whole interval is a drop beyond the slack",
    }[state]
    reason = (
        f"{metric}: {_fmt(iv.reference)} on {iv.reference_rows:,} reference rows → {_fmt(iv.fresh)} on "
        f"{iv.fresh_rows:,} fresh rows, Δ {iv.observed:+.4g}, {level * 100:g} % interval of Δ "
        f"[{low:+.4g}, {high:+.4g}], slack {_fmt(slack)}: {state} ({meaning})"
    )
    return GateResult(rule, metric, state == decide.HEALTHY, reason, outcome=OUTCOME[state])


def judge(
    gates: tuple[Gate, ...],
    primary: str,
    fresh_metrics: dict[str, float],
    recorded: Mapping[str, float],
    task: Any,
    reference: tuple[Any, Any] | str,
    fresh: tuple[Any, Any] | None,
    resamples: int,
    seed: int,
) -> Health:
    """Judge every rule; ``reference`` is ``(y, Predictions)`` or why there are none; ``fresh`` likewise."""
    from ml_action.records.reference import fresh_vs_reference

    health = Health()
    have_rows = not isinstance(reference, str) and fresh is not None and resamples > 0
    if isinstance(reference, str):
        health.notes.append(
            f"{reference[:1].upper()}{reference[1:]}: judged by the earlier rule, the fresh value "
            "against the metric recorded at publish (point values, no interval)."
        )
    elif resamples == 0:
        health.notes.append(
            "The bootstrap is off (`bootstrap: 0`): judged on point values against the metrics recorded at publish."
        )
    intervals: dict[tuple[str, float], Any] = {}
    for gate in gates:
        if not gate.metric:
            continue
        level = gate.confidence or decide.DEFAULT_CONFIDENCE
        scored = gate.metric in fresh_metrics
        point: dict[str, float] = {}
        relative = _relative(gate)
        iv = None
        if relative and have_rows and scored and (gate.confidence is not None or gate.metric == primary):
            assert fresh is not None and not isinstance(reference, str)
            key = (gate.metric, level)
            if key not in intervals:
                intervals[key] = fresh_vs_reference(gate.metric, reference, fresh, resamples, seed, level)
            iv = intervals[key]
            if isinstance(iv, str):
                health.notes.append(f"{gate.metric}: no interval ({iv}); judged on point values.")
                iv = None
        if iv is not None:
            if gate.metric == primary and health.interval is None:
                health.interval = iv
            for kind, limit in relative:
                health.add(_two_sample_result(gate, kind, limit, iv, level))
        else:
            point.update({k.replace("-", "_"): v for k, v in relative})
        if gate.min_improvement is not None:
            point["min_improvement"] = gate.min_improvement
        floors = {k: v for k, v in (("min", gate.min), ("max", gate.max)) if v is not None}
        if floors and gate.confidence is not None and fresh is not None and resamples and scored:
            confident = Gate(
                metric=gate.metric, min=floors.get("min"), max=floors.get("max"), confidence=gate.confidence
            )
            for result in check_gate(confident, fresh_metrics, None, task, _own(gate.metric, fresh, resamples, seed)):
                health.add(result)
        else:
            point.update(floors)
        if point:
            plain = Gate(
                metric=gate.metric,
                min=point.get("min"),
                max=point.get("max"),
                max_regression=point.get("max_regression"),
                max_regression_pct=point.get("max_regression_pct"),
                min_improvement=point.get("min_improvement"),
            )
            for result in check_gate(plain, fresh_metrics, dict(recorded), task):
                health.add(result)
    return health


def _own(name: str, fresh: tuple[Any, Any], resamples: int, seed: int) -> _Own:
    """The fresh value's own bootstrap (for floors with ``confidence``)."""
    from ml_action.core.metrics import metric_function
    from ml_action.core.stats import bootstrap_values

    y, preds = fresh
    pred = preds.proba if METRICS[name].needs_proba else preds.labels
    observed, values, _ = bootstrap_values(
        y, pred, metric_function(name, preds.classes), resamples, seed, metric_name=name, classes=preds.classes
    )
    return _Own(observed, values, len(y))


@dataclass
class _Own:
    """The fresh value's own bootstrap, shaped like the part of ``BootstrapResult`` that floors read."""

    observed: float
    values: Any
    rows: int
    valid_resamples: int = 1

    def value_interval(self, confidence: float | None = None) -> tuple[float, float]:
        from ml_action.core.stats import percentile_interval

        return percentile_interval(self.values, confidence or decide.DEFAULT_CONFIDENCE)

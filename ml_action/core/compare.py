"""Champion vs candidate on the same rows: the comparison table, the gate rules and the verdict (the one
function that reaches a decision with them is ``ml_action.core.decision.decide``).

Without ``confidence`` gate semantics follow MLflow's ``MetricThreshold``: thresholds are inclusive and
direction aware; ``max-regression`` (absolute) and ``max-regression-pct`` (relative to the champion) bound
how much worse the candidate may be, and 0 is allowed (no regression at all). A rule with ``confidence``
is judged on the paired bootstrap interval instead (``decide``): pass, fail or inconclusive.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from ml_action.config import Gate
from ml_action.core.decide import FAIL, INCONCLUSIVE, PASS, combine, exit_passes
from ml_action.core.fmt import sig
from ml_action.core.metrics import METRICS, check_metric_name
from ml_action.errors import UserError

# the ``metric`` of a gate result that is a check (drift, the champion comparable), not a rule on one metric
CHECK = "*"
# two floats this close count as equal, so 0.81 - 0.80 passes max-regression: 0.01
EPS = 1e-9


@dataclass
class Row:
    """One metric in the comparison table."""

    metric: str
    champion: float | None
    candidate: float | None
    delta: float | None
    delta_pct: float | None
    outcome: str  # better / worse / same / n/a
    greater_is_better: bool


@dataclass
class GateResult:
    rule: str
    metric: str
    passed: bool
    reason: str
    note: str = ""
    outcome: str = ""  # pass / fail / inconclusive; from ``passed`` when not given
    rows_needed: int | None = None  # inconclusive: roughly how many holdout rows would decide it

    def __post_init__(self) -> None:
        if not self.outcome:
            self.outcome = PASS if self.passed else FAIL
        self.passed = self.outcome == PASS


@dataclass
class Verdict:
    """The rules' results; the verdict is ``fail`` if any fails, else ``inconclusive`` if any is, else ``pass``."""

    gates: list[GateResult] = field(default_factory=list)

    @property
    def word(self) -> str:
        return combine([g.outcome for g in self.gates])

    @property
    def passed(self) -> bool:
        return self.word == PASS

    def ok(self, on_inconclusive: str = PASS) -> bool:
        """Whether the job passes and ``publish`` may promote: ``on-inconclusive`` settles the middle outcome."""
        return exit_passes(self.word, on_inconclusive)

    def failed(self) -> list[GateResult]:
        return [g for g in self.gates if g.outcome == FAIL]

    def inconclusive(self) -> list[GateResult]:
        return [g for g in self.gates if g.outcome == INCONCLUSIVE]

    def to_dict(self) -> dict[str, Any]:
        return {"verdict": self.word, "gates": [asdict(g) for g in self.gates]}


def outcome(metric: str, champion: float | None, candidate: float | None) -> str:
    if champion is None or candidate is None:
        return "n/a"
    diff = candidate - champion
    if abs(diff) <= EPS * max(1.0, abs(champion)):
        return "same"
    better = diff > 0 if METRICS[metric].greater_is_better else diff < 0
    return "better" if better else "worse"


def compare(candidate: dict[str, float], champion: dict[str, float] | None) -> list[Row]:
    """One row per metric the candidate has, in the order of ``METRICS``."""
    rows = []
    for name in METRICS:
        if name not in candidate:
            continue
        new = candidate[name]
        old = champion.get(name) if champion else None
        delta = new - old if old is not None else None
        pct = (delta / abs(old) * 100) if delta is not None and old not in (None, 0) else None
        rows.append(Row(name, old, new, delta, pct, outcome(name, old, new), METRICS[name].greater_is_better))
    return rows


def regression_of(metric: str, candidate: float, champion: float) -> float:
    """How much worse the candidate is (positive) or better (negative), in the metric's units."""
    return champion - candidate if METRICS[metric].greater_is_better else candidate - champion


def _rows_hint(rows_needed: int | None, rows: int) -> str:
    if rows_needed:
        return f"about {rows_needed:,} holdout rows (now {rows:,}) would likely decide it"
    return "the two are too close for more rows to settle it"


def _interval_result(
    gate: Gate, kind: str, limit: float, value: float, old: float | None, interval: Any, rule: str
) -> GateResult:
    """One limit of a rule with ``confidence``, judged on the bootstrap interval (``decide``)."""
    from ml_action.core import decide

    metric = gate.metric
    level = gate.confidence or decide.DEFAULT_CONFIDENCE
    pct = f"{level * 100:g} %"
    up = METRICS[metric].greater_is_better
    if kind in ("min", "max"):
        low, high = interval.value_interval(level)
        bound = {"minimum": limit} if kind == "min" else {"maximum": limit}
        d = decide.floor(low, high, observed=value, rows=interval.rows, **bound)
        sign = "≥" if kind == "min" else "≤"
        where = {
            decide.PASS: f"wholly {sign} {sig(limit)}",
            decide.FAIL: f"wholly on the wrong side of {sig(limit)}",
            decide.INCONCLUSIVE: f"contains {sig(limit)}",
        }[d.outcome]
        reason = f"{metric} = {sig(value)}, {pct} interval [{sig(low)}, {sig(high)}] {where}"
    else:
        assert old is not None
        low, high = interval.interval(level)
        allowed = decide.allowance(kind, limit, old)
        d = decide.non_inferiority(low, high, allowed, up, observed=interval.observed, rows=interval.rows)
        if kind == "min-improvement":
            word = {decide.PASS: "wholly meets", decide.FAIL: "wholly misses", decide.INCONCLUSIVE: "straddles"}[
                d.outcome
            ]
            target = f"the required improvement {sig(limit)}"
        else:
            word = {decide.PASS: "is within", decide.FAIL: "lies wholly beyond", decide.INCONCLUSIVE: "reaches beyond"}[
                d.outcome
            ]
            target = f"the allowed regression {sig(allowed)}" + (f" ({sig(limit)} %)" if kind.endswith("pct") else "")
        reason = (
            f"{metric}: {sig(old)} → {sig(value)}, Δ {value - old:+.4g}, {pct} interval of Δ "
            f"[{low:+.4g}, {high:+.4g}] {word} {target}"
        )
    if d.outcome == decide.INCONCLUSIVE:
        reason += f": inconclusive; {_rows_hint(d.rows_needed, interval.rows)}"
    return GateResult(rule, metric, d.passed, reason, outcome=d.outcome, rows_needed=d.rows_needed)


def _usable(interval: Any) -> bool:
    return interval is not None and bool(interval.valid_resamples)


def _change(worse: float, champion: float, amount: str) -> str:
    """``worse by <amount>``, ``better by <amount>``, or ``no change`` for a tie (never "better by 0")."""
    if abs(worse) <= EPS * max(1.0, abs(champion)):
        return "no change"
    return f"{'worse' if worse > 0 else 'better'} by {amount}"


def check_gate(
    gate: Gate,
    candidate: dict[str, float],
    champion: dict[str, float] | None,
    task: str,
    interval: Any = None,
    no_interval: str = "",
) -> list[GateResult]:
    """Evaluate one rule; each limit it sets gives one result.

    Without ``confidence`` a rule compares point values (MLflow ``MetricThreshold``). With it, and the
    paired bootstrap ``interval`` (``stats.BootstrapResult``) of ``gate.metric``, each limit is judged on
    the interval: pass, fail or inconclusive (``decide``); when the interval is missing the point values
    decide and the reason says why (``no_interval``).
    """
    metric = gate.metric
    check_metric_name(metric, "gates", task)
    out: list[GateResult] = []
    value = candidate.get(metric)
    up = METRICS[metric].greater_is_better
    if value is None:
        return [GateResult(f"{metric}", metric, False, f"{metric} could not be computed for the candidate")]
    judged = gate.confidence is not None and _usable(interval)
    fallback = ""
    if gate.confidence is not None and not judged:
        fallback = f" (point values: no interval, {no_interval or 'the bootstrap gave none'})"
    suffix = f" @ {gate.confidence:g}" if gate.confidence is not None else ""
    for kind, limit in (("min", gate.min), ("max", gate.max)):
        if limit is None:
            continue
        rule = f"{metric} {'≥' if kind == 'min' else '≤'} {sig(limit)}{suffix}"
        if judged:
            out.append(_interval_result(gate, kind, limit, value, None, interval, rule))
            continue
        ok = (
            value >= limit - EPS * max(1.0, abs(limit))
            if kind == "min"
            else value <= limit + EPS * max(1.0, abs(limit))
        )
        sign = ("≥" if ok else "<") if kind == "min" else ("≤" if ok else ">")
        out.append(GateResult(rule, metric, ok, f"{metric} = {sig(value)} {sign} {sig(limit)}{fallback}"))
    relative = [
        ("max-regression", gate.max_regression),
        ("max-regression-pct", gate.max_regression_pct),
        ("min-improvement", gate.min_improvement),
    ]
    for kind, limit in relative:
        if limit is None:
            continue
        old = champion.get(metric) if champion else None
        rule = f"{metric} {kind} {sig(limit)}{'%' if kind.endswith('pct') else ''}{suffix}"
        if old is None:
            why = "no champion yet" if not champion else f"the champion has no {metric}"
            out.append(GateResult(rule, metric, True, f"not applied: {why}", note="skipped"))
            continue
        if judged:
            out.append(_interval_result(gate, kind, limit, value, old, interval, rule))
            continue
        ok, reason = _point_relative(metric, kind, limit, value, old)
        direction = "higher is better" if up else "lower is better"
        out.append(
            GateResult(rule, metric, ok, f"{metric}: {sig(old)} → {sig(value)}, {reason}; {direction}{fallback}")
        )
    return out


def _point_relative(metric: str, kind: str, limit: float, value: float, old: float) -> tuple[bool, str]:
    """One relative limit (``max-regression[-pct]``, ``min-improvement``) on point values (MLflow's semantics)."""
    worse = regression_of(metric, value, old)
    if kind == "max-regression":
        ok = worse <= limit + EPS * max(1.0, abs(old))
        return ok, f"{_change(worse, old, sig(abs(worse)))} (allowed {sig(limit)})"
    if kind == "max-regression-pct":
        pct = worse / abs(old) * 100 if old != 0 else (0.0 if worse <= 0 else float("inf"))
        ok = pct <= limit + EPS * 100
        return ok, f"{_change(worse, old, f'{abs(pct):.3g} %')} (allowed {sig(limit)} %)"
    gain = -worse
    return gain >= limit - EPS * max(1.0, abs(old)), f"improved by {sig(gain)} (needed {sig(limit)})"


def verdict(
    gates: tuple[Gate, ...],
    candidate: dict[str, float],
    champion: dict[str, float] | None,
    task: str,
    extra: list[GateResult] | None = None,
    intervals: Mapping[str, Any] | None = None,
    interval_notes: Mapping[str, str] | None = None,
) -> Verdict:
    """All rules evaluated (``intervals``: metric → paired bootstrap, for rules with ``confidence``);
    ``extra`` adds checks made elsewhere. See ``Verdict`` for how the outcomes combine."""
    results: list[GateResult] = []
    for gate in gates:
        if gate.metric:
            results.extend(
                check_gate(
                    gate,
                    candidate,
                    champion,
                    task,
                    (intervals or {}).get(gate.metric),
                    (interval_notes or {}).get(gate.metric, ""),
                )
            )
    results.extend(extra or [])
    return Verdict(results)


def validate_gates(gates: tuple[Gate, ...], task: str, n_classes: int | None = None) -> None:
    """Unknown metrics in gates (or binary-only ones on a multiclass target) are found before any training."""
    for gate in gates:
        if gate.metric:
            metric = check_metric_name(gate.metric, "gates", task)
            if metric.binary_only and n_classes != 2:
                raise UserError(
                    "gates",
                    f"'{gate.metric}' needs a binary target, this one has {n_classes} classes",
                    f"Use the macro version, e.g. {gate.metric}_macro.",
                )

"""Champion vs candidate on the same rows: the champion re-scored, the comparison table, the gate rules
and the verdict.

Gate semantics follow MLflow's ``MetricThreshold``: thresholds are inclusive and direction aware;
``max-regression`` (absolute) and ``max-regression-pct`` (relative to the champion) bound how much worse
the candidate may be, and 0 is allowed (no regression at all).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ml_action.config import Gate
from ml_action.errors import UserError, first_line
from ml_action.fmt import sig
from ml_action.metrics import METRICS, Predictions, check_metric_name

if TYPE_CHECKING:
    import pandas as pd

    from ml_action.registry.base import Registry

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


@dataclass
class Verdict:
    passed: bool
    gates: list[GateResult] = field(default_factory=list)

    @property
    def word(self) -> str:
        return "pass" if self.passed else "fail"

    def failed(self) -> list[GateResult]:
        return [g for g in self.gates if not g.passed]

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


def _change(worse: float, champion: float, amount: str) -> str:
    """``worse by <amount>``, ``better by <amount>``, or ``no change`` for a tie (never "better by 0")."""
    if abs(worse) <= EPS * max(1.0, abs(champion)):
        return "no change"
    return f"{'worse' if worse > 0 else 'better'} by {amount}"


def check_gate(gate: Gate, candidate: dict[str, float], champion: dict[str, float] | None,
               task: str) -> list[GateResult]:
    """Evaluate one rule; each limit it sets gives one result."""
    metric = gate.metric
    check_metric_name(metric, "gates", task)
    out: list[GateResult] = []
    value = candidate.get(metric)
    up = METRICS[metric].greater_is_better
    if value is None:
        return [GateResult(f"{metric}", metric, False, f"{metric} could not be computed for the candidate")]
    if gate.min is not None:
        ok = value >= gate.min - EPS * max(1.0, abs(gate.min))
        out.append(GateResult(f"{metric} ≥ {sig(gate.min)}", metric, ok,
                              f"{metric} = {sig(value)} {'≥' if ok else '<'} {sig(gate.min)}"))
    if gate.max is not None:
        ok = value <= gate.max + EPS * max(1.0, abs(gate.max))
        out.append(GateResult(f"{metric} ≤ {sig(gate.max)}", metric, ok,
                              f"{metric} = {sig(value)} {'≤' if ok else '>'} {sig(gate.max)}"))
    relative = [("max-regression", gate.max_regression), ("max-regression-pct", gate.max_regression_pct),
                ("min-improvement", gate.min_improvement)]
    for kind, limit in relative:
        if limit is None:
            continue
        old = champion.get(metric) if champion else None
        rule = f"{metric} {kind} {sig(limit)}{'%' if kind.endswith('pct') else ''}"
        if old is None:
            why = "no champion yet" if not champion else f"the champion has no {metric}"
            out.append(GateResult(rule, metric, True, f"not applied: {why}", note="skipped"))
            continue
        worse = regression_of(metric, value, old)
        if kind == "max-regression":
            ok = worse <= limit + EPS * max(1.0, abs(old))
            reason = f"{_change(worse, old, sig(abs(worse)))} (allowed {sig(limit)})"
        elif kind == "max-regression-pct":
            pct = worse / abs(old) * 100 if old != 0 else (0.0 if worse <= 0 else float("inf"))
            ok = pct <= limit + EPS * 100
            reason = f"{_change(worse, old, f'{abs(pct):.3g} %')} (allowed {sig(limit)} %)"
        else:
            gain = -worse
            ok = gain >= limit - EPS * max(1.0, abs(old))
            reason = f"improved by {sig(gain)} (needed {sig(limit)})"
        direction = "higher is better" if up else "lower is better"
        out.append(GateResult(rule, metric, ok, f"{metric}: {sig(old)} → {sig(value)}, {reason}; {direction}"))
    return out


def verdict(gates: tuple[Gate, ...], candidate: dict[str, float], champion: dict[str, float] | None,
            task: str, extra: list[GateResult] | None = None) -> Verdict:
    """All rules evaluated; the verdict passes when every one passes. ``extra`` adds checks made elsewhere."""
    results: list[GateResult] = []
    for gate in gates:
        if gate.metric:
            results.extend(check_gate(gate, candidate, champion, task))
    results.extend(extra or [])
    return Verdict(all(r.passed for r in results), results)


def validate_gates(gates: tuple[Gate, ...], task: str, n_classes: int | None = None) -> None:
    """Unknown metrics in gates (or binary-only ones on a multiclass target) are found before any training."""
    for gate in gates:
        if gate.metric:
            metric = check_metric_name(gate.metric, "gates", task)
            if metric.binary_only and n_classes != 2:
                raise UserError("gates", f"'{gate.metric}' needs a binary target, this one has {n_classes} classes",
                                f"Use the macro version, e.g. {gate.metric}_macro.")


# ---------------------------------------------------------------------------------------------- the champion

NOT_PROMOTED = ("a model that cannot be compared with production is not promoted (publish under a new "
                "`model-name` if the change is deliberate)")


@dataclass
class ChampionScore:
    """The champion re-scored on labelled rows (the candidate's holdout, or monitor's fresh data)."""

    pointer: dict[str, Any]
    manifest: dict[str, Any]
    metrics: dict[str, float] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    missing_features: list[str] = field(default_factory=list)
    preds: Predictions | None = None
    comparable: bool = True

    @property
    def version(self) -> str:
        return str(self.pointer["version"])


def score_champion(registry: Registry, pointer: Mapping[str, Any], rows: pd.DataFrame, target: str, task: str,
                   classes: list[Any] | None, names: list[str], workdir: Path,
                   allow_unsafe: bool = False) -> ChampionScore:
    """Load the champion (sha256 checked, restricted loader) and score it on ``rows`` (features + ``target``).

    Not comparable (with the reason in ``notes['*']``) when it is another task, predicts another target, its
    labels share none with these, it needs a column these rows lack, or it cannot predict on them.
    """
    from ml_action.metrics import predict, score

    version = pointer["version"]
    manifest = registry.manifest(version, "registry")
    result = ChampionScore(pointer=dict(pointer), manifest=manifest)
    recorded = manifest.get("classes")
    if manifest.get("task") not in (None, task):
        result.notes["*"] = f"the champion is a {manifest.get('task')} model; this run is {task}"
    elif manifest.get("target") not in (None, target):
        result.notes["*"] = f"the champion predicts '{manifest['target']}', this run '{target}'"
    elif task == "classification" and recorded and not set(map(str, recorded)) & set(map(str, classes or [])):
        result.notes["*"] = (f"the champion's labels ({', '.join(map(str, recorded[:5]))}) share none with this "
                             f"data's ({', '.join(map(str, (classes or [])[:5]))}): the target was re-encoded")
    if "*" in result.notes:
        result.comparable = False
        return result
    used = manifest.get("features") or []
    result.missing_features = [c for c in used if c not in rows.columns]
    if result.missing_features:
        result.comparable = False
        return result
    model = registry.fetch_model(version, manifest, workdir, allow_unsafe)
    X = rows[used] if used else rows.drop(columns=[target])
    try:
        result.preds = predict(model, X, task)
        result.metrics, result.notes = score(rows[target], result.preds, task, names)
    except (ValueError, KeyError, TypeError) as exc:
        result.comparable = False
        result.notes["*"] = f"the champion could not predict on these rows ({first_line(exc, 200)})"
    return result


def champion_checks(champion: ChampionScore | None, consequence: str = "") -> list[GateResult]:
    """A failed check when the champion could not be scored; ``consequence`` says what that means here."""
    if champion is None:
        return []
    tail = f"; {consequence}" if consequence else ""
    if champion.missing_features:
        cols = ", ".join(champion.missing_features)
        return [GateResult("champion features present", "*", False,
                           f"feature(s) {cols} used by champion {champion.version} are missing from the data{tail}")]
    if not champion.comparable:
        return [GateResult("champion comparable", "*", False,
                           f"champion {champion.version} could not be scored on these rows: "
                           f"{champion.notes.get('*', 'unknown reason')}{tail}")]
    return []

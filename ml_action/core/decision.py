"""The one decision: candidate vs champion on the same labelled rows. Paired bootstrap intervals of
candidate − champion, the gate rules (the primary metric guarded by default) and the checks made elsewhere,
combined into a three-valued verdict. ``evaluation`` (a pull request, a publish), ``promotion.recheck`` (a
newer champion appeared during a publish) and the leaderboard (every bundle) all decide with ``decide``.
Pure: the champion arrives scored (``ml_action.pipeline.rescore``), nothing is read or written here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ml_action.config import Config, Gate
from ml_action.core.champion import NOT_PROMOTED, ChampionScore, champion_checks
from ml_action.core.compare import CHECK, GateResult, Row, Verdict, compare, verdict
from ml_action.core.metrics import Predictions
from ml_action.errors import UserError, first_line

if TYPE_CHECKING:
    import pandas as pd

    from ml_action.core.stats import BootstrapResult


@dataclass(frozen=True)
class Rules:
    """What a decision is made by: the rules (the primary metric's default one added), the bootstrap's size
    and seed, and how ``inconclusive`` settles."""

    primary: str
    gates: tuple[Gate, ...]
    bootstrap: int
    seed: int
    on_inconclusive: str
    default_note: str | None = None  # set when the default rule on the primary metric was added

    @classmethod
    def of(cls, config: Config, primary: str) -> Rules:
        gates, note = gates_with_default(config.gates, primary)
        return cls(primary, gates, config.bootstrap, config.seed, config.on_inconclusive, note)


@dataclass(frozen=True)
class Holdout:
    """The labelled rows both models are scored on: features and ``target``."""

    rows: pd.DataFrame
    target: str
    task: str
    classes: list[Any] | None
    labels: pd.Series | None = None  # the labels as kept beside the predictions (a bundle's), else the target's

    @property
    def y(self) -> pd.Series:
        return self.rows[self.target] if self.labels is None else self.labels


@dataclass
class Intervals:
    """Paired bootstrap intervals of candidate − champion: ``primary`` (when a champion was compared) and one
    per metric a rule with ``confidence`` names (without a champion, floors get the candidate paired with
    itself: its own-value interval); ``notes`` say why a metric has none."""

    primary: BootstrapResult | None = None
    primary_note: str = ""
    by_metric: dict[str, BootstrapResult] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    """What ``decide`` found: the verdict, the intervals it was judged on, and the comparison table."""

    verdict: Verdict
    intervals: Intervals
    rows: list[Row]

    def ok(self, on_inconclusive: str) -> bool:
        return self.verdict.ok(on_inconclusive)


def gates_with_default(gates: tuple[Gate, ...], primary: str) -> tuple[tuple[Gate, ...], str | None]:
    """Unless a rule names the primary metric, guard it: the candidate may not be worse than the champion,
    judged on the paired interval at the default confidence (a point comparison would fail on noise)."""
    from ml_action.core.decide import DEFAULT_CONFIDENCE

    if any(g.metric == primary for g in gates):
        return gates, None
    note = (
        f"No gate names the primary metric {primary}, so the default rule applies: the candidate may not "
        f"be worse than the champion on it (`max-regression: 0`, `confidence: {DEFAULT_CONFIDENCE}`)."
    )
    return (*gates, Gate(metric=primary, max_regression=0.0, confidence=DEFAULT_CONFIDENCE)), note


def decide(
    holdout: Holdout,
    preds: Predictions,
    metrics: dict[str, float],
    champion: ChampionScore | None,
    rules: Rules,
    checks: tuple[GateResult, ...] = (),
) -> Decision:
    """Judge the candidate (``preds`` and its ``metrics`` on ``holdout``) against the scored ``champion``
    (``None``: there is none yet) by ``rules``; ``checks`` adds results found elsewhere (dataset drift)."""
    found = intervals(holdout.y, rules, preds, champion)
    champ_metrics = champion.scored_metrics if champion else None
    extra = [*champion_checks(champion, NOT_PROMOTED), *checks, *_significant_regression(rules.gates, found)]
    result = verdict(
        rules.gates,
        metrics,
        champ_metrics,
        holdout.task,
        extra=extra,
        intervals=found.by_metric,
        interval_notes=found.notes,
    )
    return Decision(result, found, compare(metrics, champ_metrics))


def _significant_regression(gates: tuple[Gate, ...], found: Intervals) -> list[GateResult]:
    """``significant-regression: fail|warn`` rules, judged on the primary metric's 95 % interval."""
    out: list[GateResult] = []
    for gate in gates:
        kind = gate.significant_regression
        if kind is None:
            continue
        rule = f"significant-regression: {kind}"
        iv = found.primary
        if iv is None:
            out.append(GateResult(rule, CHECK, True, f"not applied: {found.primary_note or 'no interval'}", "skipped"))
            continue
        bad = iv.whole_interval_regression
        reason = (
            f"95 % interval of the change [{iv.low:+.4g}, {iv.high:+.4g}] is "
            f"{'entirely a regression' if bad else 'not entirely a regression'}"
        )
        if kind == "fail":
            out.append(GateResult(rule, CHECK, not bad, reason))
        else:  # warn: reported, never failing
            out.append(GateResult(rule, CHECK, True, reason, note="warning" if bad else ""))
    return out


def intervals(y: pd.Series, rules: Rules, preds: Predictions, champion: ChampionScore | None) -> Intervals:
    """Paired bootstrap intervals of candidate − champion on the same rows: the primary metric's, and one for
    each metric a rule with ``confidence`` names (the candidate's own-value interval comes from the same
    resamples). Without a champion only floors (``min``/``max``) with ``confidence`` need one: the candidate
    is paired with itself."""
    gates = rules.gates
    wanted = [rules.primary, *dict.fromkeys(g.metric for g in gates if g.confidence is not None and g.metric)]
    floors = {g.metric for g in gates if g.confidence is not None and (g.min is not None or g.max is not None)}
    compared = champion is not None and champion.comparable and champion.preds is not None
    found = Intervals()
    for name in dict.fromkeys(wanted):
        if rules.bootstrap == 0:
            why = "bootstrap is off (`bootstrap: 0`)"
        elif not compared and name not in floors:
            why = "no champion scored on these rows"
        else:
            other = champion.preds if compared and champion is not None and champion.preds is not None else preds
            result, why = paired_interval(y, name, preds, other, rules.bootstrap, rules.seed)
            if result is not None:
                found.by_metric[name] = result
                if name == rules.primary and compared:
                    found.primary = result
                continue
            if why.startswith("the candidate") and any(g.metric == name and g.confidence for g in gates):
                raise UserError(
                    "gates",
                    f"a rule on {name} sets `confidence`, but {name} has no interval: {why}",
                    "Remove `confidence` from that rule, or use a metric the model can compute.",
                )
        found.notes[name] = why
        if name == rules.primary:
            found.primary_note = why
    return found


def paired_interval(
    y: pd.Series, name: str, preds: Predictions, other: Predictions, n_resamples: int, seed: int
) -> tuple[BootstrapResult | None, str]:
    """One metric's paired bootstrap of ``preds`` against ``other`` on the rows labelled ``y``, or why there
    is none."""
    from ml_action.core.metrics import METRICS, metric_function
    from ml_action.core.stats import paired_bootstrap

    metric = METRICS[name]
    a: Any
    b: Any
    if metric.needs_proba:
        if preds.proba is None:
            return None, "the candidate has no class probabilities (predict_proba)"
        if other.proba is None or list(preds.classes or []) != list(other.classes or []):
            return None, "the two models' class probabilities are not comparable"
        a, b = preds.proba, other.proba
    else:
        a, b = preds.labels, other.labels
    classes = preds.classes
    try:
        return paired_bootstrap(
            y.to_numpy(),
            a,
            b,
            metric_function(name, classes),
            metric.greater_is_better,
            n_resamples=n_resamples,
            seed=seed,
            metric_name=name,
            classes=classes,
        ), ""
    except (ValueError, TypeError) as exc:  # e.g. labels of different types: the models are not comparable
        return None, f"the interval could not be computed ({first_line(exc, 200)})"

"""Trust in the numbers for one run: the data profile, drift against the champion's training data,
leakage warnings and the paired bootstrap interval of the primary metric, turned into report sections,
gate results and outputs. Glue between ``drift``/``stats`` (pure) and the modes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ml_action.compare import GateResult
from ml_action.config import Config, Gate
from ml_action.errors import first_line

INCONCLUSIVE_ADVICE = ("The holdout is too small to tell at this confidence: score on more rows (`test-data`, or a "
                      "larger `test-size`), or decide with `on-inconclusive: pass|fail`")


@dataclass
class Checks:
    """What the data and confidence checks found."""

    profile: dict[str, Any]
    leakage: list[str] = field(default_factory=list)
    drift: Any = None  # DriftResult, when a reference profile exists
    interval: Any = None  # BootstrapResult of the primary metric, when a champion was scored
    interval_note: str = ""
    # metric -> BootstrapResult for the rules with ``confidence`` (the primary's too); without a champion,
    # the candidate paired with itself (its own-value interval, for floors); and why a metric has none
    intervals: dict[str, Any] = field(default_factory=dict)
    interval_notes: dict[str, str] = field(default_factory=dict)

    def gates(self, config: Config) -> list[GateResult]:
        """Gate results from the checks: dataset drift (``fail-on-drift``) and ``significant-regression``."""
        out: list[GateResult] = []
        if self.drift is not None and config.fail_on_drift:
            cols = ", ".join(self.drift.drifted_columns[:10]) or "none"
            out.append(GateResult("no dataset drift (fail-on-drift)", "*", not self.drift.dataset_drift,
                                  f"{len(self.drift.drifted_columns)} of {len(self.drift.columns)} columns drifted "
                                  f"({self.drift.share:.0%}, threshold {config.drift_share:.0%}): {cols}"))
        for gate in config.gates:
            kind = gate.significant_regression
            if kind is None:
                continue
            rule = f"significant-regression: {kind}"
            if self.interval is None:
                out.append(GateResult(rule, "*", True, f"not applied: {self.interval_note or 'no interval'}",
                                      note="skipped"))
                continue
            iv = self.interval
            bad = iv.whole_interval_regression
            reason = (f"95 % interval of the change [{iv.low:+.4g}, {iv.high:+.4g}] is "
                      f"{'entirely a regression' if bad else 'not entirely a regression'}")
            if kind == "fail":
                out.append(GateResult(rule, "*", not bad, reason))
            else:  # warn: reported, never failing
                out.append(GateResult(rule, "*", True, reason, note="warning" if bad else ""))
        return out

    def outputs(self) -> dict[str, str]:
        import json

        if self.drift is None:
            return {"drift-detected": "false", "drifted-columns": "[]"}
        return {"drift-detected": "true" if self.drift.dataset_drift else "false",
                "drifted-columns": json.dumps(self.drift.drifted_columns)}


def run_checks(config: Config, dataset: Any, champion: Any, runner: Any) -> Checks:
    """Profile the training rows, look for leakage, and compare with the champion's stored profile."""
    from ml_action.drift import compare_profiles
    from ml_action.leakage import leakage_warnings
    from ml_action.profile import profile_frame

    columns = [*dataset.features, dataset.target]
    profile = profile_frame(dataset.train[columns], dataset.target, config.seed)
    checks = Checks(profile=profile)
    checks.leakage = leakage_warnings(dataset.train[columns], dataset.test[columns], dataset.target, dataset.task,
                                      config.seed)
    for warning in checks.leakage:
        runner.warning(warning, title="possible leakage")
    reference = ((champion.manifest.get("data") or {}).get("profile")) if champion else None
    if reference:
        # against every column still in the data: one the candidate leaves out is "not used", not "removed"
        present = [c for c in dataset.train.columns if c in columns or str(c) in reference.get("columns", {})]
        checks.drift = compare_profiles(reference, dataset.train[present], dataset.target, config.drift_share,
                                        used=columns)
        if checks.drift.dataset_drift:
            runner.warning(f"{len(checks.drift.drifted_columns)} of {len(checks.drift.columns)} columns drifted "
                           f"from the champion's training data: {', '.join(checks.drift.drifted_columns[:10])}",
                           title="dataset drift")
    return checks


def confidence(config: Config, dataset: Any, primary: str, preds: Any, champion: Any, checks: Checks,
               gates: tuple[Gate, ...] = ()) -> None:
    """Paired bootstrap intervals of candidate − champion on the same rows: the primary metric's, and one for
    each metric a rule with ``confidence`` names (the candidate's own-value interval comes from the same
    resamples). Without a champion only floors (``min``/``max``) with ``confidence`` need one: the candidate
    is paired with itself."""
    from ml_action.errors import UserError

    wanted = [primary, *dict.fromkeys(g.metric for g in gates if g.confidence is not None and g.metric)]
    floors = {g.metric for g in gates if g.confidence is not None and (g.min is not None or g.max is not None)}
    compared = champion is not None and champion.comparable and champion.preds is not None
    for name in dict.fromkeys(wanted):
        if config.bootstrap == 0:
            why = "bootstrap is off (`bootstrap: 0`)"
        elif not compared and name not in floors:
            why = "no champion scored on these rows"
        else:
            other = champion.preds if compared else preds
            result, why = _paired(config, dataset, name, preds, other)
            if result is not None:
                checks.intervals[name] = result
                if name == primary and compared:
                    checks.interval = result
                continue
            if why.startswith("the candidate") and any(g.metric == name and g.confidence for g in gates):
                raise UserError("gates", f"a rule on {name} sets `confidence`, but {name} has no interval: {why}",
                                "Remove `confidence` from that rule, or use a metric the model can compute.")
        checks.interval_notes[name] = why
        if name == primary:
            checks.interval_note = why


def _paired(config: Config, dataset: Any, name: str, preds: Any, other: Any) -> tuple[Any, str]:
    """One metric's paired bootstrap of ``preds`` against ``other`` on the holdout, or why there is none."""
    from ml_action.metrics import METRICS, metric_function
    from ml_action.stats import paired_bootstrap

    metric = METRICS[name]
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
        return paired_bootstrap(dataset.y_test.to_numpy(), a, b, metric_function(name, classes),
                                metric.greater_is_better, n_resamples=config.bootstrap, seed=config.seed,
                                metric_name=name, classes=classes), ""
    except (ValueError, TypeError) as exc:  # e.g. labels of different types: the models are not comparable
        return None, f"the interval could not be computed ({first_line(exc, 200)})"


def data_section(checks: Checks, dataset: Any) -> str:
    """The report's data section (rendered from ``templates/data.md.j2`` when there is a reference)."""
    from ml_action.report import render

    if checks.drift is not None:
        return render("data.md.j2", drift=checks.drift.to_dict(), leakage=checks.leakage)
    lines = ["<details><summary>Data: no reference to compare with</summary>", "",
             f"The champion has no stored data profile (or there is no champion yet), so drift is not measured. "
             f"This run trained on {len(dataset.train):,} rows × {len(dataset.features)} features; its profile "
             "is stored with the version when it is published."]
    if checks.leakage:
        lines += ["", "**Leakage**", "", *[f"- ⚠️ {w}" for w in checks.leakage]]
    return "\n".join([*lines, "", "</details>"])


def interval_context(checks: Checks, primary: str) -> dict[str, Any] | None:
    if checks.interval is None:
        return None
    return {**checks.interval.to_dict(), "metric": primary}


def inconclusive_note(verdict: Any, on_inconclusive: str) -> str | None:
    """The report's plain-words note on an ``inconclusive`` verdict: why, how many rows, what to do."""
    rules = verdict.inconclusive()
    if not rules or verdict.failed():
        return None
    needed = [g.rows_needed for g in rules if g.rows_needed]
    rows = (f" About {max(needed):,} holdout rows would likely decide it." if needed else
            " The models are so close that more rows are unlikely to decide it.")
    effect = ("the job passes and `publish` promotes the candidate" if on_inconclusive == "pass" else
              "the job fails (with `fail-on-gate`) and nothing is promoted")
    return (f"**Inconclusive:** {', '.join(f'`{g.rule}`' for g in rules)} — the interval straddles the limit, so the "
            f"holdout cannot tell at that confidence whether the candidate is within it.{rows} To decide, score on "
            f"more rows (`test-data`, or a larger `test-size`). With `on-inconclusive: {on_inconclusive}`, {effect}.")

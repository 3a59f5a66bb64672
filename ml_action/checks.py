"""Trust in the numbers for one run: the data profile, drift against the champion's training data,
leakage warnings and the paired bootstrap interval of the primary metric, turned into report sections,
gate results and outputs. Glue between ``drift``/``stats`` (pure) and the modes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ml_action import escape
from ml_action.compare import GateResult
from ml_action.config import Config, Gate
from ml_action.errors import first_line

MAX_COLUMNS = 1000  # feature columns the data checks look at; a seeded sample above
INCONCLUSIVE_ADVICE = (
    "The holdout is too small to tell at this confidence: score on more rows (`test-data`, or a "
    "larger `test-size`), or decide with `on-inconclusive: pass|fail`"
)


@dataclass
class Checks:
    """What the data and confidence checks found."""

    profile: dict[str, Any]
    leakage: list[str] = field(default_factory=list)
    drift: Any = None  # DriftResult, when a reference profile exists
    interval: Any = None  # BootstrapResult of the primary metric, when a champion was scored
    interval_note: str = ""
    sampled_note: str = ""  # set when the checks looked at a sample of the columns
    # metric -> BootstrapResult for the rules with ``confidence`` (the primary's too); without a champion,
    # the candidate paired with itself (its own-value interval, for floors); and why a metric has none
    intervals: dict[str, Any] = field(default_factory=dict)
    interval_notes: dict[str, str] = field(default_factory=dict)

    def gates(self, config: Config) -> list[GateResult]:
        """Gate results from the checks: dataset drift (``fail-on-drift``) and ``significant-regression``."""
        out: list[GateResult] = []
        if self.drift is not None and config.fail_on_drift:
            cols = ", ".join(escape.visible(c, 80) for c in self.drift.drifted_columns[:10]) or "none"
            out.append(
                GateResult(
                    "no dataset drift (fail-on-drift)",
                    "*",
                    not self.drift.dataset_drift,
                    f"{len(self.drift.drifted_columns)} of {len(self.drift.columns)} columns drifted "
                    f"({self.drift.share:.0%}, threshold {config.drift_share:.0%}): {cols}",
                )
            )
        for gate in config.gates:
            kind = gate.significant_regression
            if kind is None:
                continue
            rule = f"significant-regression: {kind}"
            if self.interval is None:
                out.append(
                    GateResult(rule, "*", True, f"not applied: {self.interval_note or 'no interval'}", note="skipped")
                )
                continue
            iv = self.interval
            bad = iv.whole_interval_regression
            reason = (
                f"95 % interval of the change [{iv.low:+.4g}, {iv.high:+.4g}] is "
                f"{'entirely a regression' if bad else 'not entirely a regression'}"
            )
            if kind == "fail":
                out.append(GateResult(rule, "*", not bad, reason))
            else:  # warn: reported, never failing
                out.append(GateResult(rule, "*", True, reason, note="warning" if bad else ""))
        return out

    def outputs(self) -> dict[str, str]:
        import json

        if self.drift is None:
            return {"drift-detected": "false", "drifted-columns": "[]"}
        return {
            "drift-detected": "true" if self.drift.dataset_drift else "false",
            "drifted-columns": json.dumps(self.drift.drifted_columns),
        }


def sample_columns(names: list[Any], limit: int, seed: int) -> list[Any]:
    """At most ``limit`` of ``names``: all of them when few enough, else a seeded sample in their order."""
    if len(names) <= limit:
        return list(names)
    import numpy as np

    picked = np.sort(np.random.default_rng(seed).choice(len(names), size=limit, replace=False))
    return [names[i] for i in picked]


def _drift(config: Config, dataset: Any, reference: dict[str, Any], sampled: bool, columns: list[Any]) -> Any:
    """Drift against the stored profile; over a wide frame (or a sampled reference) on a sample of the
    columns both sides have, with the schema changes still taken from all the columns."""
    from ml_action.drift import compare_profiles

    target = dataset.target
    ref_columns = reference.get("columns") or {}
    if not sampled and not reference.get("columns_sampled"):
        # against every column still in the data: one the candidate leaves out is "not used", not "removed"
        present = [c for c in dataset.train.columns if c in columns or str(c) in ref_columns]
        return compare_profiles(reference, dataset.train[present], target, config.drift_share, used=columns)
    by_name = {str(c): c for c in [*dataset.features, target]}
    present = [c for c in ref_columns if c in by_name and c != str(target)]
    chosen = [
        *sample_columns(present, MAX_COLUMNS, config.seed),
        *([str(target)] if str(target) in ref_columns else []),
    ]
    reduced = {**reference, "columns": {c: ref_columns[c] for c in chosen}}
    drift = compare_profiles(reduced, dataset.train[[by_name[c] for c in chosen]], target, config.drift_share)
    drift.removed = [c for c in ref_columns if c not in by_name]
    drift.added = [] if reference.get("columns_sampled") else [c for c in by_name if c not in ref_columns]
    drift.reference_columns, drift.current_columns = list(ref_columns), list(by_name)
    return drift


def run_checks(config: Config, dataset: Any, champion: Any, runner: Any) -> Checks:
    """Profile the training rows, look for leakage, and compare with the champion's stored profile.

    Over more than ``MAX_COLUMNS`` features the checks look at a seeded sample of them (and say so), so a
    very wide frame costs bounded time; every string the profile keeps is clipped (``escape.clip_strings``).
    """
    from ml_action.leakage import leakage_warnings
    from ml_action.profile import profile_frame

    total = len(dataset.features)
    features = sample_columns(dataset.features, MAX_COLUMNS, config.seed)
    sampled = len(features) < total
    note = (
        f"Data checks looked at a seeded sample of {len(features):,} of the {total:,} feature columns, "
        "to bound their time."
        if sampled
        else ""
    )
    if sampled:
        runner.info(note)
    columns = [*features, dataset.target]
    runner.info(f"profiling {len(columns):,} columns of {len(dataset.train):,} rows")
    profile = escape.clip_strings(profile_frame(dataset.train[columns], dataset.target, config.seed))
    if sampled:
        profile["columns_sampled"] = {"of": total}
    checks = Checks(profile=profile, sampled_note=note)
    runner.info("looking for leakage between the training rows and the holdout")
    checks.leakage = leakage_warnings(
        dataset.train[columns], dataset.test[columns], dataset.target, dataset.task, config.seed
    )
    for warning in checks.leakage:
        runner.warning(escape.clip(warning, 1000), title="possible leakage")
    reference = ((champion.manifest.get("data") or {}).get("profile")) if champion else None
    if reference:
        runner.info("comparing with the champion's training data profile")
        checks.drift = _drift(config, dataset, reference, sampled, columns)
        if checks.drift.dataset_drift:
            runner.warning(
                f"{len(checks.drift.drifted_columns)} of {len(checks.drift.columns)} columns drifted "
                f"from the champion's training data: "
                f"{', '.join(escape.visible(c, 80) for c in checks.drift.drifted_columns[:10])}",
                title="dataset drift",
            )
    return checks


def confidence(
    config: Config, dataset: Any, primary: str, preds: Any, champion: Any, checks: Checks, gates: tuple[Gate, ...] = ()
) -> None:
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
                raise UserError(
                    "gates",
                    f"a rule on {name} sets `confidence`, but {name} has no interval: {why}",
                    "Remove `confidence` from that rule, or use a metric the model can compute.",
                )
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
        return paired_bootstrap(
            dataset.y_test.to_numpy(),
            a,
            b,
            metric_function(name, classes),
            metric.greater_is_better,
            n_resamples=config.bootstrap,
            seed=config.seed,
            metric_name=name,
            classes=classes,
        ), ""
    except (ValueError, TypeError) as exc:  # e.g. labels of different types: the models are not comparable
        return None, f"the interval could not be computed ({first_line(exc, 200)})"


def data_section(checks: Checks, dataset: Any) -> str:
    """The report's data section (rendered from ``templates/data.md.j2`` when there is a reference)."""
    from ml_action.report import render

    if checks.drift is not None:
        return render(
            "data.md.j2", drift=checks.drift.to_dict(), leakage=checks.leakage, sampled_note=checks.sampled_note
        )
    lines = [
        "<details><summary>Data: no reference to compare with</summary>",
        "",
        f"The champion has no stored data profile (or there is no champion yet), so drift is not measured. "
        f"This run trained on {len(dataset.train):,} rows × {len(dataset.features)} features; its profile "
        "is stored with the version when it is published.",
    ]
    if checks.sampled_note:
        lines += ["", checks.sampled_note]
    if checks.leakage:
        lines += ["", "**Leakage**", "", *[f"- ⚠️ {escape.md(w, 1000)}" for w in checks.leakage]]
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
    rows = (
        f" About {max(needed):,} holdout rows would likely decide it."
        if needed
        else " The models are so close that more rows are unlikely to decide it."
    )
    effect = (
        "the job passes and `publish` promotes the candidate"
        if on_inconclusive == "pass"
        else "the job fails (with `fail-on-gate`) and nothing is promoted"
    )
    return (
        f"**Inconclusive:** {', '.join(f'`{g.rule}`' for g in rules)} — the interval straddles the limit, so the "
        f"holdout cannot tell at that confidence whether the candidate is within it.{rows} To decide, score on "
        f"more rows (`test-data`, or a larger `test-size`). With `on-inconclusive: {on_inconclusive}`, {effect}."
    )

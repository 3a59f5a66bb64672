"""The data checks of one run: the training rows' profile, drift against the champion's training data and
leakage warnings, turned into the report's data section, a gate result (``fail-on-drift``) and outputs;
and the report's note on an inconclusive verdict. Glue between ``profile``/``drift``/``leakage`` (pure) and
the evaluation; the intervals are ``decision``'s."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ml_action.config import Config
from ml_action.core.compare import CHECK, GateResult, Verdict
from ml_action.report import escape

if TYPE_CHECKING:
    from ml_action.adapters.runner import Runner
    from ml_action.core.champion import ChampionScore
    from ml_action.core.drift import DriftResult
    from ml_action.pipeline.data import Dataset

MAX_COLUMNS = 1000  # feature columns the data checks look at; a seeded sample above
INCONCLUSIVE_ADVICE = (
    "The holdout is too small to tell at this confidence: score on more rows (`test-data`, or a "
    "larger `test-size`), or decide with `on-inconclusive: pass|fail`"
)


@dataclass
class Checks:
    """What the data checks found: the training rows' profile, leakage warnings, and drift against the
    champion's stored profile (when it has one)."""

    profile: dict[str, Any]
    leakage: list[str] = field(default_factory=list)
    drift: DriftResult | None = None
    sampled_note: str = ""  # set when the checks looked at a sample of the columns

    def gates(self, config: Config) -> tuple[GateResult, ...]:
        """Gate results from the checks: dataset drift (``fail-on-drift``)."""
        if self.drift is None or not config.fail_on_drift:
            return ()
        cols = ", ".join(escape.visible(c, 80) for c in self.drift.drifted_columns[:10]) or "none"
        return (
            GateResult(
                "no dataset drift (fail-on-drift)",
                CHECK,
                not self.drift.dataset_drift,
                f"{len(self.drift.drifted_columns)} of {len(self.drift.columns)} columns drifted "
                f"({self.drift.share:.0%}, threshold {config.drift_share:.0%}): {cols}",
            ),
        )

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


def _drift(
    config: Config, dataset: Dataset, reference: dict[str, Any], sampled: bool, columns: list[Any]
) -> DriftResult:
    """Drift against the stored profile; over a wide frame (or a sampled reference) on a sample of the
    columns both sides have, with the schema changes still taken from all the columns."""
    from ml_action.core.drift import compare_profiles

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


def run_checks(config: Config, dataset: Dataset, champion: ChampionScore | None, runner: Runner) -> Checks:
    """Profile the training rows, look for leakage, and compare with the champion's stored profile.

    Over more than ``MAX_COLUMNS`` features the checks look at a seeded sample of them (and say so), so a
    very wide frame costs bounded time; every string the profile keeps is clipped (``escape.clip_strings``).
    """
    from ml_action.core.leakage import leakage_warnings
    from ml_action.core.profile import profile_frame

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


def data_section(checks: Checks, dataset: Dataset) -> str:
    """The report's data section (rendered from ``templates/data.md.j2`` when there is a reference)."""
    from ml_action.report.markdown import render

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


def inconclusive_note(verdict: Verdict, on_inconclusive: str) -> str | None:
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

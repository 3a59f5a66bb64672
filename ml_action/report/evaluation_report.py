"""What an evaluation shows: the report templates' context (``report_context``) and the action's outputs
(``outputs``), each one function of the typed ``Evaluation``. Rendering is ``report.build``; writing the
report, the summary and the comment is the mode's."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from ml_action.pipeline import checks
from ml_action.report import escape, pictures

if TYPE_CHECKING:
    from ml_action.pipeline.evaluation import Evaluation


def report_context(ev: Evaluation, published: str | None = None) -> dict[str, Any]:
    """The context of ``head.md.j2`` and ``details.md.j2`` (and the extra sections, rendered here);
    ``published`` is the publish step's sentence, if there was one."""
    from ml_action.report.markdown import headline, mermaid_chart

    candidate, champion, dataset, decision = ev.candidate, ev.champion, ev.dataset, ev.decision
    champion_version = champion.version if champion else None
    rows = decision.rows
    metric_notes = {"candidate": candidate.metric_notes}
    if champion and champion.comparable and champion.notes:
        metric_notes["champion"] = champion.notes
    notes = _notes(ev)
    if note := checks.inconclusive_note(decision.verdict, ev.rules.on_inconclusive):
        notes.append(note)
    iv = decision.intervals.primary
    return {
        "model_name": ev.config.model_name,
        "verdict": decision.verdict.word,
        "primary": ev.primary,
        "headline": headline(ev.primary, rows, champion_version),
        "champion_version": champion_version,
        "rows": [asdict(r) for r in rows],
        "gates": [asdict(g) for g in decision.verdict.gates],
        "notes": notes,
        "holdout_rows": len(dataset.test),
        "task": dataset.task,
        "classes": dataset.classes,
        "positive": dataset.classes[1] if dataset.classes and len(dataset.classes) == 2 else None,
        "estimator": candidate.estimator,
        "features": dataset.features,
        "params": candidate.estimator_params,
        "fit_seconds": candidate.fit_seconds,
        "fingerprints": dataset.fingerprints,
        "cv": candidate.cv,
        "metric_notes": {k: v for k, v in metric_notes.items() if v},
        "chart": mermaid_chart(rows, champion_version),
        "published": published,
        "interval": None if iv is None else {**iv.to_dict(), "metric": ev.primary},
        "interval_note": decision.intervals.primary_note,
        "sections": [
            checks.data_section(ev.checks, dataset),
            pictures.section(dataset.task, dataset.y_test, candidate.preds, champion, dataset.classes),
        ],
        "search": candidate.search.context() if candidate.search else None,
        "compute": ev.compute,
    }


def _notes(ev: Evaluation) -> list[str]:
    """The report's notes on the champion: not compared, or missing features; the default rule."""
    champion = ev.champion
    out = []
    if champion and not champion.comparable and champion.reason:
        out.append(f"Champion {escape.code(champion.version)} was not compared: {escape.md(champion.reason, 1000)}.")
    if champion and champion.missing_features:
        missing = champion.missing_features
        more = f" and {len(missing) - 20:,} more" if len(missing) > 20 else ""
        out.append(
            f"Champion {escape.code(champion.version)} could not be scored: it uses "
            f"{', '.join(escape.code(c, 100) for c in missing[:20])}{more}, missing from this data."
        )
    if ev.rules.default_note and champion:
        out.append(ev.rules.default_note)
    return out


def outputs(ev: Evaluation) -> dict[str, str]:
    """The outputs every evaluation sets (``evaluate`` and ``publish``)."""
    metrics, champion = ev.candidate.metrics, ev.champion
    return {
        "verdict": ev.verdict.word,
        "primary-metric": ev.primary,
        "primary-metric-value": f"{metrics[ev.primary]:.6g}" if ev.primary in metrics else "",
        "metrics": json.dumps(
            {"candidate": metrics, "champion": champion.scored_metrics if champion else None}, sort_keys=True
        ),
        "champion-version": champion.version if champion else "",
        **ev.checks.outputs(),
    }

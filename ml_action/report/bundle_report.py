"""The PR comment ``mode: comment`` renders from a pull request's result bundle: the context of ``head.md.j2``
(the evaluation's own head: verdict, comparison table, gates) and ``bundle.md.j2`` (what the bundle says
of itself), built only from what this trusted job recomputed or checked.

Numbers are this job's (``board.rank``: metrics from the bundle's predictions, the champion re-scored now, the
gates of this job's config); words are ours (verdicts, rule names, notes); the few strings that come from the
bundle (the estimator's name, its key) or the registry (the champion's version, why it could not be compared)
go through ``ml_action.report.escape``. No text the pull request's run wrote reaches the comment as it is.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from ml_action.report import escape

if TYPE_CHECKING:
    from ml_action.pipeline.board import Board, Entry

ORIGIN = (
    "Rendered by the trusted `workflow_run` job from the pull request's result bundle: every number is "
    "recomputed here from the bundle's predictions on its holdout rows"
)


def context(model_name: str, board: Board, on_inconclusive: str) -> dict[str, Any]:
    """The context of ``head.md.j2`` and ``bundle.md.j2`` for the one candidate on ``board``."""
    from ml_action.pipeline.checks import inconclusive_note
    from ml_action.report.markdown import headline

    entry, champion, primary = board.entries[0], board.champion, board.primary
    version = champion.version if champion else None
    iv = entry.vs_champion
    return {
        "model_name": model_name,
        "verdict": entry.verdict.word,
        "primary": primary,
        "headline": headline(primary, entry.rows, version),
        "champion_version": version,
        "rows": [asdict(r) for r in entry.rows],
        "gates": [asdict(g) for g in entry.verdict.gates],
        "notes": [n for n in [*_notes(board), inconclusive_note(entry.verdict, on_inconclusive)] if n],
        "holdout_rows": len(entry.bundle.y),
        "rows_label": "holdout rows of the pull request's result bundle, the same for both models",
        "interval": None if iv is None else {**iv.to_dict(), "metric": primary},
        "published": None,
        **_about(entry),
    }


def _notes(board: Board) -> list[str]:
    champion = board.champion
    scored = f", and champion {escape.code(champion.version)} is re-scored now on those rows" if champion else ""
    out = [f"{ORIGIN}{scored}; the gates are this job's."]
    if champion and not champion.comparable and champion.reason:
        out.append(f"Champion {escape.code(champion.version)} was not compared: {escape.md(champion.reason, 1000)}.")
    if board.rules.default_note and champion:
        out.append(board.rules.default_note)
    return out


def _about(entry: Entry) -> dict[str, Any]:
    """What the bundle says of its own run, reduced to checked types: names as escaped code, counts, flags."""
    m = entry.bundle.manifest
    checks: dict[str, Any] = m["checks"] if isinstance(m.get("checks"), dict) else {}
    leakage = checks.get("leakage")
    drift: dict[str, Any] = checks["drift"] if isinstance(checks.get("drift"), dict) else {}
    share = drift.get("share")
    return {
        "estimator": escape.code(m.get("estimator") or m.get("model") or "unknown", 80),
        "key": escape.code(entry.bundle.key, 80),
        "fingerprint": str(m["holdout"]["fingerprint"])[:12],  # 64 hex characters (bundle.read checked)
        "leakage": len(leakage) if isinstance(leakage, list) else 0,
        "drift": drift.get("dataset_drift") is True,
        "drift_share": share if isinstance(share, (int, float)) and not isinstance(share, bool) else None,
    }

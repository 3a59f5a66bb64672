"""The re-check a compare-and-swap promotion asks when the champion changed under it: score the newer champion
on the same holdout rows and apply the same gates again; and what a promotion reports (outputs and the
sentence for the log and the report). Shared by ``publish`` and ``leaderboard``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from ml_action.config import Config, Gate

if TYPE_CHECKING:
    import pandas as pd

    from ml_action.metrics import Predictions
    from ml_action.registry import Promotion, Registry
    from ml_action.runner import Runner

Decide = Callable[[dict[str, Any] | None], tuple[bool, str]]


def recheck(
    config: Config,
    registry: Registry,
    evaluated_against: str | None,
    rows: pd.DataFrame,
    target: str,
    task: str,
    classes: list[Any] | None,
    metrics: dict[str, float],
    primary: str,
    preds: Predictions,
    gates: tuple[Gate, ...],
    workdir: Path,
    notes: list[str],
) -> Decide:
    """The ``decide`` callback of ``Registry.swap_champion``: yes when the champion is still the one the
    candidate was compared with; else the candidate is compared with the newer champion on ``rows`` (the
    holdout, features and ``target``) and replaces it only if the gates pass again. ``notes`` collects what
    the report should say about it."""

    def decide(current: dict[str, Any] | None) -> tuple[bool, str]:
        from ml_action.checks import Checks, confidence
        from ml_action.compare import NOT_PROMOTED, champion_checks, score_champion, verdict

        now = current.get("version") if current else None
        if now == evaluated_against:
            return True, ""
        # another run promoted first: compare with the new champion on our rows before replacing it
        note = f"Another run promoted `{now}` while this one ran; re-compared against it."
        if note not in notes:
            notes.append(note)
        if current is None:
            return True, ""
        rescored = score_champion(
            registry, current, rows, target, task, classes, list(metrics), workdir, config.allow_unsafe_model_format
        )
        found = Checks(profile={})
        confidence(config, SimpleNamespace(y_test=rows[target]), primary, preds, rescored, found, gates)
        again = verdict(
            gates,
            metrics,
            rescored.metrics if rescored.comparable else None,
            task,
            extra=champion_checks(rescored, NOT_PROMOTED),
            intervals=found.intervals,
            interval_notes=found.interval_notes,
        )
        if again.ok(config.on_inconclusive):
            return True, ""
        reasons = "; ".join(g.reason for g in again.failed() or again.inconclusive())
        return False, f"the newer champion `{now}` is at least as good ({reasons})"

    return decide


def announce(runner: Runner, registry: Registry, version: str, promotion: Promotion, published: str) -> str:
    """Set the outputs of a publish (``model-version``, ``model-uri``, ``promoted``, ``champion-version``),
    annotate what happened and return the sentence; ``published`` names what was written, e.g.
    ``Published `v3``` or ``Published the winner as `v3```."""
    uri = registry.url_of(version)
    runner.set_output("model-version", version)
    runner.set_output("model-uri", uri)
    runner.set_output("promoted", promotion.promoted)
    if promotion.promoted:
        runner.set_output("champion-version", version)
        text = (
            f"{published} ({uri}) and promoted it to champion"
            f"{f', replacing `{promotion.previous}`' if promotion.previous else ''}."
        )
        runner.notice(text, title="model promoted")
    else:
        runner.set_output("champion-version", promotion.champion.get("version") if promotion.champion else "")
        text = f"{published} ({uri}) but did not promote it: {promotion.reason}."
        runner.warning(text, title="not promoted")
    return text

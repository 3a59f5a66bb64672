"""The re-check a compare-and-swap promotion asks when the champion changed under it: score the newer champion
on the same holdout rows and decide again by the same rules (``decision.decide``); and what a promotion
reports (outputs and the sentence for the log and the report). Used by ``publishing.publish``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ml_action.adapters.registry import Promotion, Registry
    from ml_action.adapters.runner import Runner
    from ml_action.core.decision import Holdout, Rules
    from ml_action.core.metrics import Predictions

Decide = Callable[[dict[str, Any] | None], tuple[bool, str]]


def recheck(
    *,
    registry: Registry,
    holdout: Holdout,
    preds: Predictions,
    metrics: dict[str, float],
    rules: Rules,
    evaluated_against: str | None,
    workdir: Path,
    allow_unsafe: bool,
    notes: list[str],
) -> Decide:
    """The ``decide`` callback of ``Registry.swap_champion``: yes when the champion is still the one the
    candidate (``preds``, ``metrics`` on ``holdout``) was compared with; else the candidate is compared with
    the newer champion on the same rows and replaces it only if ``rules`` pass again. ``notes`` collects what
    the report should say about it."""

    def decide(current: dict[str, Any] | None) -> tuple[bool, str]:
        from ml_action.core.decision import decide as judge
        from ml_action.pipeline.rescore import score_champion

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
            registry,
            current,
            holdout.rows,
            holdout.target,
            holdout.task,
            holdout.classes,
            list(metrics),
            workdir,
            allow_unsafe,
        )
        again = judge(holdout, preds, metrics, rescored, rules).verdict
        if again.ok(rules.on_inconclusive):
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

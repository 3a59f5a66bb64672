"""Candidates judged from their result bundles, for ``mode: leaderboard`` and ``mode: comment``: the bundles
under ``results`` read and verified (``bundle.read``) and checked to share one target and one holdout, the
champion re-scored once, now, on the holdout rows, and each candidate's metrics recomputed from its predictions
and decided (``decision.decide``) by this job's rules against that champion, then ranked on the primary metric.

A bundle's own numbers (metrics, verdict) are never used. The labels it is judged on are the ones the caller
hands in (``holdout``): the leaderboard re-derives them from the data it checks out (``ml_action.pipeline.rederive``);
the fork comment, which has no checkout of the pull request, takes the bundle's own, checked against its
fingerprint.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ml_action.config import Config
from ml_action.errors import UserError
from ml_action.records import bundle
from ml_action.workspace import confine

if TYPE_CHECKING:
    from ml_action.adapters.registry import Registry
    from ml_action.adapters.runner import Runner
    from ml_action.core.champion import ChampionScore
    from ml_action.core.compare import Verdict
    from ml_action.core.decision import Holdout, Rules


@dataclass
class Entry:
    """One candidate on the board."""

    bundle: bundle.Bundle
    metrics: dict[str, float]
    verdict: Verdict
    vs_champion: Any = None  # BootstrapResult of the primary metric, candidate − champion
    vs_leader: Any = None  # candidate − leader
    notes: list[str] = field(default_factory=list)
    rows: list[Any] = field(default_factory=list)  # the comparison table (compare.Row) against the champion


@dataclass
class Board:
    """The ranked candidates, the champion re-scored on their shared holdout, and the rules they were judged by."""

    entries: list[Entry]
    champion: ChampionScore | None
    rules: Rules
    holdout: Holdout

    @property
    def primary(self) -> str:
        return self.rules.primary


def read_all(config: Config, mode: str = "leaderboard") -> list[bundle.Bundle]:
    """The verified bundles under ``results``: at least one, unique keys, one target and task, one holdout."""
    if not config.results:
        raise UserError(
            "results",
            f"is required for `mode: {mode}` and was not given",
            "Set `results` to the folder the evaluation jobs' bundles were downloaded to.",
        )
    folder = confine(config.workspace, config.results, "results")
    if not folder.is_dir():
        raise UserError(
            "results",
            f"folder '{config.results}' does not exist",
            "Download the bundles first (actions/download-artifact with `merge-multiple: true`).",
        )
    found = bundle.find(folder)
    if not found:
        raise UserError(
            "results",
            f"folder '{config.results}' holds no result bundle ({bundle.MANIFEST})",
            "Check that the evaluation jobs uploaded their `result-dir` and that the download step "
            "puts them under this folder.",
        )
    bundles = [bundle.read(path, name) for name, path in found]
    keys = [b.key for b in bundles]
    twice = sorted({k for k in keys if keys.count(k) > 1})
    if twice:
        raise UserError(
            "results",
            f"several bundles have the key {', '.join(map(_q, twice))}",
            "Give each matrix job its own `comment-key`.",
        )
    for what, read in (
        ("targets", lambda b: f"{b.manifest['target']} ({b.manifest['task']})"),
        ("holdout rows", lambda b: b.manifest["holdout"]["fingerprint"]),
    ):
        groups: dict[str, list[str]] = {}
        for b in bundles:
            groups.setdefault(read(b), []).append(b.name)
        if len(groups) > 1:
            parts = "; ".join(
                f"{', '.join(names)}" + (f" → {_q(k)}" if what == "targets" else "") for k, names in groups.items()
            )
            raise UserError(
                "results",
                f"the bundles were scored on different {what}: {parts}",
                "Run every matrix job on the same `data`, `target`, `test-size` and `seed` (or the same "
                "`test-data`), so they share the holdout.",
            )
    return bundles


def _q(text: str) -> str:
    return json.dumps(text[:80], ensure_ascii=True)


def bundled_holdout(first: bundle.Bundle) -> Holdout:
    """The holdout as the bundle carries it (rows and labels checked against its fingerprint, not against data)."""
    import pandas as pd

    from ml_action.core.decision import Holdout

    m = first.manifest
    return Holdout(first.holdout, m["target"], m["task"], m.get("classes"), labels=pd.Series(first.y))


def rank(
    config: Config,
    runner: Runner,
    registry: Registry | None,
    bundles: list[bundle.Bundle],
    workdir: Path,
    holdout: Holdout,
) -> Board:
    """Score the champion once on ``holdout``, judge every candidate against it, rank them (best first)."""
    from ml_action.core import metrics as m
    from ml_action.core.compare import CHECK, GateResult
    from ml_action.core.decision import Rules, decide, paired_interval
    from ml_action.pipeline.rescore import score_champion

    task, target, classes = holdout.task, holdout.target, holdout.classes
    n_classes = len(classes) if classes else None
    rules = Rules.of(config, m.primary_metric(config.primary_metric, task, n_classes))
    primary, names = rules.primary, m.metrics_for(task, n_classes)
    y = holdout.y.to_numpy()
    with runner.group("Score the champion"):
        pointer, _ = registry.champion() if registry is not None else (None, None)
        champion = None
        if pointer is not None and registry is not None:
            champion = score_champion(
                registry, pointer, holdout.rows, target, task, classes, names, workdir, config.allow_unsafe_model_format
            )
            runner.info(f"champion {champion.version}: {primary} = {champion.metrics.get(primary)}")
    board: list[Entry] = []
    with runner.group("Compare the candidates"):
        for b in bundles:
            values, _ = m.score(y, b.preds, task, names)  # recomputed: the bundle's numbers are not trusted
            drift = (b.manifest.get("checks") or {}).get("drift")
            found: tuple[GateResult, ...] = ()
            if config.fail_on_drift and isinstance(drift, dict) and drift.get("dataset_drift") is True:
                why = "the evaluation found dataset drift against the champion's training data"
                found = (GateResult("no dataset drift (fail-on-drift)", CHECK, False, why),)
            decision = decide(holdout, b.preds, values, champion, rules, found)
            entry = Entry(b, values, decision.verdict, vs_champion=decision.intervals.primary, rows=decision.rows)
            board.append(entry)
            runner.info(f"{b.key}: {primary} = {values.get(primary)}, verdict {decision.verdict.word}")
        up = m.METRICS[primary].greater_is_better
        board.sort(
            key=lambda e: (
                e.metrics.get(primary) is None,
                -(e.metrics.get(primary) or 0.0) if up else (e.metrics.get(primary) or 0.0),
                e.bundle.key,
            )
        )
        leader = board[0]
        for entry in board[1:] if config.bootstrap else ():
            entry.vs_leader, _ = paired_interval(
                holdout.y, primary, entry.bundle.preds, leader.bundle.preds, config.bootstrap, config.seed
            )
    return Board(board, champion, rules, holdout)

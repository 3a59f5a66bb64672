"""``mode: leaderboard``: rank the result bundles of several evaluations (a matrix of jobs) in one sticky comment,
and on a push to the default branch publish the winner through the compare-and-swap promotion.

Every bundle is verified (``bundle.read``) and must have been scored on the same holdout rows for the same
target and task (``board.read_all``); those rows and their labels are then re-derived from the data this job
checked out and a bundle that disagrees is refused (``rederive``), so no bundle's labels or metrics are taken on
trust. The champion is re-scored once, now, on those rows, so each candidate gets the same gates as ``evaluate``
against the current champion (``board.rank``); the winner is the best-ranked candidate whose verdict passes
(``on-inconclusive`` settles the middle outcome). Publishing loads the winner's bundled model after its sha256
check (restricted loader) and never retrains.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ml_action.adapters.posting import check_targets, post_or_save
from ml_action.adapters.registry import Registry
from ml_action.adapters.runner import Runner
from ml_action.config import Config
from ml_action.context import RunContext
from ml_action.errors import UserError
from ml_action.pipeline.board import Board, Entry, rank, read_all
from ml_action.pipeline.rederive import holdout_from_data
from ml_action.records import bundle

if TYPE_CHECKING:
    from ml_action.core.champion import ChampionScore

DEFAULT_KEY = "leaderboard"


def leaderboard(config: Config, ctx: RunContext, runner: Runner, registry: Registry | None, workdir: Path) -> int:
    """Verify and rank the bundles under ``results``, comment once, publish the winner on the default branch."""
    from ml_action.adapters.posting import write_report
    from ml_action.adapters.registry import data_fetcher
    from ml_action.report.markdown import ReportParts, render

    assert registry is not None, "cli opens the registry for this mode"
    config = replace(config, comment_key=config.comment_key or DEFAULT_KEY)
    check_targets(config)  # a bad report-path or comment-file fails before anything is published
    with runner.group("Read the result bundles"):
        bundles = read_all(config)
        runner.info(f"{len(bundles)} bundles, all scored on the same {len(bundles[0].holdout)} holdout rows")
        # the rows and labels every candidate is judged on come from the data checked out, never from a bundle
        holdout = holdout_from_data(config, bundles[0], workdir, data_fetcher(config, workdir, ctx.aws_env))
        runner.info("the holdout rows and labels are those of the data checked out (fingerprint recomputed)")
    ranked = rank(config, runner, registry, bundles, workdir, holdout)
    board, champion, primary = ranked.entries, ranked.champion, ranked.primary
    winner = next((e for e in board if e.verdict.ok(config.on_inconclusive)), None)
    context = _context(config, board, champion, primary, winner)
    if winner is not None and _default_branch_push(ctx):
        context["published"] = _publish(config, ctx, runner, registry, winner, ranked, workdir)
    head = render("leaderboard.md.j2", part="head", **context)
    details = [render("leaderboard.md.j2", part="details", **context)]
    write_report(config, ctx, runner, ReportParts(head=head, details=details))
    for entry in board:
        for gate in entry.verdict.failed():
            runner.warning(f"{entry.bundle.key}: {gate.reason}", title=f"gate failed: {gate.rule}")
    runner.info(head)
    url = post_or_save(config, ctx, runner.redact(head), [runner.redact(d) for d in details], runner.warning)
    runner.set_output("comment-url", url or "")
    _outputs(runner, board, champion, primary, winner)
    if winner is None:
        runner.error("No candidate passes the gates: nothing wins and nothing is published.", title="leaderboard")
        return 1 if config.fail_on_gate else 0
    return 0


def _iv(result: Any) -> dict[str, Any] | None:
    return None if result is None else result.to_dict()


def _context(
    config: Config, board: list[Entry], champion: ChampionScore | None, primary: str, winner: Entry | None
) -> dict[str, Any]:
    from ml_action.core.metrics import METRICS

    champ = champion.metrics.get(primary) if champion and champion.comparable else None
    rows = [
        {
            "rank": i,
            "key": e.bundle.key,
            "estimator": str(e.bundle.manifest.get("estimator") or ""),
            "value": e.metrics.get(primary),
            "verdict": e.verdict.word,
            "vs_champion": _iv(e.vs_champion),
            "vs_leader": _iv(e.vs_leader),
            "winner": e is winner,
            "gates": [asdict(g) for g in e.verdict.gates],
            "leakage": len((e.bundle.manifest.get("checks") or {}).get("leakage") or []),
        }
        for i, e in enumerate(board, 1)
    ]
    bounded = primary not in ("rmse", "mae", "mape", "log_loss")
    values = [float(e.metrics.get(primary) or 0.0) for e in board]
    return {
        "model_name": config.model_name,
        "primary": primary,
        "rows": rows,
        "holdout_rows": len(board[0].bundle.y),
        "up": METRICS[primary].greater_is_better,
        "champion_version": champion.version if champion else None,
        "champion_value": champ,
        "champion_note": (champion.reason if champion else ""),
        "winner": winner.bundle.key if winner else None,
        "on_inconclusive": config.on_inconclusive,
        "chart_max": 1 if bounded else max([1e-12, *values, champ or 0.0]) * 1.1,
        "published": None,
    }


def _outputs(
    runner: Runner, board: list[Entry], champion: ChampionScore | None, primary: str, winner: Entry | None
) -> None:
    chosen = winner or board[0]
    runner.set_output("verdict", chosen.verdict.word if winner else "fail")
    runner.set_output("primary-metric", primary)
    value = chosen.metrics.get(primary)
    runner.set_output("primary-metric-value", "" if value is None else f"{value:.6g}")
    champ = champion.metrics if champion and champion.comparable else None
    runner.set_output(
        "metrics",
        json.dumps(
            {"candidate": chosen.metrics, "champion": champ, "board": {e.bundle.key: e.metrics for e in board}},
            sort_keys=True,
        ),
    )
    runner.set_output("winner", winner.bundle.key if winner else "")
    if "champion-version" not in runner.outputs:
        runner.set_output("champion-version", champion.version if champion else "")
    if "promoted" not in runner.outputs:
        runner.set_output("promoted", False)


# ---------------------------------------------------------------------------------------------- publishing


def _default_branch_push(ctx: RunContext) -> bool:
    return ctx.event_name == "push" and bool(ctx.default_branch) and ctx.ref == f"refs/heads/{ctx.default_branch}"


def _publish(
    config: Config, ctx: RunContext, runner: Runner, registry: Registry, winner: Entry, board: Board, workdir: Path
) -> str:
    """Check that the winner's bundled model makes the predictions its bundle records, then publish it
    (``publishing.publish``: a new version, promoted by compare-and-swap)."""
    from ml_action.core.metrics import predict
    from ml_action.pipeline.publishing import Release, publish
    from ml_action.records.artifacts import MODEL_FILE

    b = winner.bundle
    m = b.manifest
    with runner.group("Check the winner's model"):
        model_path = workdir / MODEL_FILE
        shutil.copyfile(b.folder / MODEL_FILE, model_path)  # checked and loaded from our own copy
        model = bundle.Bundle(b.name, workdir, m, b.holdout, b.y, b.preds).load_model(config.allow_unsafe_model_format)
        features = [str(c) for c in m["features"]]
        again = predict(model, board.holdout.rows[features], m["task"])
        if not bundle.same_labels(again.labels, b.preds.labels):
            raise UserError(
                "results",
                f"the model in bundle {b.name} does not make the predictions the bundle records",
                "Re-run that evaluation job; do not edit bundles.",
            )
    champion = board.champion
    release = Release(
        model=model,
        model_path=model_path,
        model_sha256=b.model_sha256,
        fields=_version_fields(config, m, winner, champion, board.primary),
        holdout=board.holdout,  # re-derived from the data checked out
        preds=b.preds,
        metrics=winner.metrics,
        rules=board.rules,
        evaluated_against=champion.version if champion else None,
        winner=b.key,
    )
    return publish(release, config=config, ctx=ctx, runner=runner, registry=registry, workdir=workdir)


def _version_fields(
    config: Config, m: dict[str, Any], winner: Entry, champion: ChampionScore | None, primary: str
) -> dict[str, Any]:
    """The version's manifest: computed here, with the descriptive fields the evaluation recorded (typed, as
    the registry schema wants them; the registry treats every manifest as untrusted when it reads it)."""
    recorded = m.get("version_fields") or {}
    kept: dict[str, Any] = {}
    for key, types in (
        ("estimator", str),
        ("model", str),
        ("params", dict),
        ("estimator_params", dict),
        ("seed", int),
        ("cv", dict),
        ("config", dict),
        ("libraries", dict),
    ):
        if isinstance(recorded.get(key), types):
            kept[key] = recorded[key]
    data: dict[str, Any] = recorded["data"] if isinstance(recorded.get("data"), dict) else {}
    return {
        **kept,
        "schema": 1,
        "model_name": config.model_name,
        "task": m["task"],
        "target": m["target"],
        "features": [str(c) for c in m["features"]],
        "classes": m.get("classes"),
        "primary_metric": primary,
        "metrics": winner.metrics,
        "holdout_rows": len(winner.bundle.y),
        "compared_with": ({"version": champion.version, "metrics": champion.metrics} if champion else None),
        "gates": winner.verdict.to_dict(),
        "data": {
            "fingerprints": data.get("fingerprints") if isinstance(data.get("fingerprints"), dict) else None,
            "profile": data.get("profile") if isinstance(data.get("profile"), dict) else None,
            "snapshots": None,
            "holdout_fingerprint": m["holdout"]["fingerprint"],
        },
        "leaderboard": {"winner": winner.bundle.key, "bundle_model_sha256": winner.bundle.model_sha256},
    }

"""``mode: leaderboard``: rank the result bundles of several evaluations (a matrix of jobs) in one sticky comment,
and on a push to the default branch publish the winner through the compare-and-swap promotion.

Every bundle is verified (``bundle.read``) and must have been scored on the same holdout rows for the same
target and task. The champion is re-scored once, now, on those rows (the bundles carry them), so each candidate
gets the same gates as ``evaluate`` against the current champion; the winner is the best-ranked candidate whose
verdict passes (``on-inconclusive`` settles the middle outcome). Publishing loads the winner's bundled model
after its sha256 check (restricted loader) and never retrains.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from ml_action import bundle
from ml_action.config import Config
from ml_action.context import RunContext
from ml_action.errors import UserError
from ml_action.posting import post_or_save
from ml_action.registry import Registry, model_sha256
from ml_action.runner import Runner
from ml_action.workspace import confine

if TYPE_CHECKING:
    from ml_action.compare import ChampionScore, Verdict

DEFAULT_KEY = "leaderboard"


@dataclass
class Entry:
    """One candidate on the board."""

    bundle: bundle.Bundle
    metrics: dict[str, float]
    verdict: Verdict
    vs_champion: Any = None  # BootstrapResult of the primary metric, candidate − champion
    vs_leader: Any = None  # candidate − leader
    notes: list[str] = field(default_factory=list)


def leaderboard(config: Config, ctx: RunContext, runner: Runner, registry: Registry | None, workdir: Path) -> int:
    """Verify and rank the bundles under ``results``, comment once, publish the winner on the default branch."""
    from ml_action.report import ReportParts, render, write_report

    assert registry is not None, "cli opens the registry for this mode"
    config = replace(config, comment_key=config.comment_key or DEFAULT_KEY)
    with runner.group("Read the result bundles"):
        bundles = _read_all(config)
        runner.info(f"{len(bundles)} bundles, all scored on the same {len(bundles[0].holdout)} holdout rows")
    board, champion, primary = _rank(config, runner, registry, bundles, workdir)
    winner = next((e for e in board if e.verdict.ok(config.on_inconclusive)), None)
    context = _context(config, board, champion, primary, winner)
    if winner is not None and _default_branch_push(ctx):
        context["published"] = _publish(config, ctx, runner, registry, winner, champion, primary, workdir)
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


# ---------------------------------------------------------------------------------------------- reading


def _read_all(config: Config) -> list[bundle.Bundle]:
    if not config.results:
        raise UserError(
            "results",
            "is required for `mode: leaderboard` and was not given",
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


# ---------------------------------------------------------------------------------------------- ranking


def _rank(
    config: Config, runner: Runner, registry: Registry, bundles: list[bundle.Bundle], workdir: Path
) -> tuple[list[Entry], ChampionScore | None, str]:
    import pandas as pd

    from ml_action import metrics as m
    from ml_action.checks import Checks, confidence
    from ml_action.compare import NOT_PROMOTED, ChampionScore, GateResult, champion_checks, score_champion, verdict
    from ml_action.evaluation import gates_with_default

    first = bundles[0]
    task, target, classes = first.manifest["task"], first.manifest["target"], first.manifest.get("classes")
    n_classes = len(classes) if classes else None
    primary = m.primary_metric(config.primary_metric, task, n_classes)
    names = m.metrics_for(task, n_classes)
    gates, _ = gates_with_default(config, primary)
    with runner.group("Score the champion"):
        pointer, _ = registry.champion()
        champion = None
        if pointer is not None:
            champion = score_champion(
                registry,
                pointer,
                first.holdout,
                target,
                task,
                classes,
                names,
                workdir,
                config.allow_unsafe_model_format,
            )
            runner.info(f"champion {champion.version}: {primary} = {champion.metrics.get(primary)}")
    champ_metrics = champion.metrics if champion and champion.comparable else None
    y = SimpleNamespace(y_test=pd.Series(first.y))
    board: list[Entry] = []
    with runner.group("Compare the candidates"):
        for b in bundles:
            values, _ = m.score(first.y, b.preds, task, names)  # recomputed: the bundle's numbers are not trusted
            found = Checks(profile={})
            confidence(config, y, primary, b.preds, champion, found, gates)
            extra = champion_checks(champion, NOT_PROMOTED)
            drift = (b.manifest.get("checks") or {}).get("drift")
            if config.fail_on_drift and isinstance(drift, dict) and drift.get("dataset_drift") is True:
                extra.append(
                    GateResult(
                        "no dataset drift (fail-on-drift)",
                        "*",
                        False,
                        "the evaluation found dataset drift against the champion's training data",
                    )
                )
            result = verdict(
                gates,
                values,
                champ_metrics,
                task,
                extra=extra,
                intervals=found.intervals,
                interval_notes=found.interval_notes,
            )
            board.append(Entry(b, values, result, vs_champion=found.interval))
            runner.info(f"{b.key}: {primary} = {values.get(primary)}, verdict {result.word}")
        up = m.METRICS[primary].greater_is_better
        board.sort(
            key=lambda e: (
                e.metrics.get(primary) is None,
                -(e.metrics.get(primary) or 0.0) if up else (e.metrics.get(primary) or 0.0),
                e.bundle.key,
            )
        )
        leader = board[0]
        as_champion = ChampionScore(pointer={"version": leader.bundle.key}, manifest={}, preds=leader.bundle.preds)
        for entry in board[1:]:
            found = Checks(profile={})
            confidence(config, y, primary, entry.bundle.preds, as_champion, found, ())
            entry.vs_leader = found.interval
    return board, champion, primary


def _iv(result: Any) -> dict[str, Any] | None:
    return None if result is None else result.to_dict()


def _context(
    config: Config, board: list[Entry], champion: ChampionScore | None, primary: str, winner: Entry | None
) -> dict[str, Any]:
    from ml_action.metrics import METRICS

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
        "champion_note": (champion.notes.get("*", "") if champion else ""),
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
    config: Config,
    ctx: RunContext,
    runner: Runner,
    registry: Registry,
    winner: Entry,
    champion: ChampionScore | None,
    primary: str,
    workdir: Path,
) -> str:
    """Write the winner's bundled model as a new version and promote it by compare-and-swap."""
    from ml_action.artifacts import MODEL_FILE, prediction_record
    from ml_action.card import FILE as CARD
    from ml_action.card import write_card
    from ml_action.evaluation import gates_with_default
    from ml_action.metrics import predict
    from ml_action.promotion import announce, recheck
    from ml_action.provenance import actor, git_info, run_info, utc_now
    from ml_action.reference import FILE as REFERENCE
    from ml_action.reference import write_reference

    b = winner.bundle
    m = b.manifest
    with runner.group("Publish the winner"):
        model_path = workdir / MODEL_FILE
        shutil.copyfile(b.folder / MODEL_FILE, model_path)  # checked and loaded from our own copy
        model = bundle.Bundle(b.name, workdir, m, b.holdout, b.y, b.preds).load_model(config.allow_unsafe_model_format)
        features = [str(c) for c in m["features"]]
        again = predict(model, b.holdout[features], m["task"])
        if not bundle.same_labels(again.labels, b.preds.labels):
            raise UserError(
                "results",
                f"the model in bundle {b.name} does not make the predictions the bundle records",
                "Re-run that evaluation job; do not edit bundles.",
            )
        fields = _version_fields(config, ctx, m, winner, champion, primary)
        fields.update(
            git=git_info(ctx, config.workspace),
            run=run_info(ctx),
            by=actor(ctx),
            created_at=utc_now(),
            predictions=prediction_record(b.preds),
        )
        fields["reference"] = write_reference(b.y, b.preds, workdir / REFERENCE)
        version = registry.allocate_version({"git_sha": fields["git"]["sha"], "run_id": ctx.run_id or None})
        card = write_card(model, {**fields, "version": version}, model_path, b.model_sha256, workdir / CARD)
        manifest = registry.write_version(
            version, model_path, fields, extra_files={CARD: card, REFERENCE: workdir / REFERENCE}
        )
        runner.info(f"wrote version {version} ({b.key}) to {registry.uri}")
    notes: list[str] = []
    gates, _ = gates_with_default(config, primary)
    decide = recheck(
        config,
        registry,
        champion.version if champion else None,
        b.holdout,
        m["target"],
        m["task"],
        m.get("classes"),
        winner.metrics,
        primary,
        b.preds,
        gates,
        workdir,
        notes,
    )
    with runner.group("Promote"):
        promotion = registry.swap_champion(
            version,
            model_sha256(manifest, version),
            actor(ctx),
            "promote",
            decide,
            details={"git_sha": fields["git"]["sha"], "run_id": ctx.run_id or None},
        )
    text = announce(runner, registry, version, promotion, f"Published the winner as `{version}`")
    return "\n".join([*notes, text])


def _version_fields(
    config: Config, ctx: RunContext, m: dict[str, Any], winner: Entry, champion: ChampionScore | None, primary: str
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

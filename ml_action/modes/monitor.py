"""``mode: monitor``: score the champion on fresh labelled data, compare with its reference rows kept at
publish (two-sample bootstrap, ``health.py``; older versions: the metrics recorded at publish) and with the
gates, check drift against its training profile, report, and keep one GitHub issue open while it is
degraded or drifted (updated, never opened, on ``watch``; closed with a comment when a later run is healthy)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from ml_action import github_api
from ml_action.champion import champion_checks
from ml_action.compare import Verdict, compare
from ml_action.config import Config, require
from ml_action.context import RunContext
from ml_action.decide import DEGRADED, HEALTHY, WATCH
from ml_action.errors import UserError
from ml_action.monitor_rules import monitor_gates, status_word
from ml_action.posting import write_report
from ml_action.registry.base import Registry
from ml_action.report import ReportParts, headline, render
from ml_action.runner import Runner


def monitor(config: Config, ctx: RunContext, runner: Runner, registry: Registry | None, workdir: Path) -> int:
    """Score the champion on ``data``; exit 1 when degraded or drifted and ``fail-on-degradation`` is set."""
    from ml_action.data import load_scoring_frame, sorted_classes
    from ml_action.drift import compare_profiles
    from ml_action.health import judge
    from ml_action.metrics import metrics_for
    from ml_action.reference import read_reference
    from ml_action.registry.s3_client import data_fetcher
    from ml_action.rescore import score_champion

    assert registry is not None, "cli opens the registry for this mode"
    require(config, "data", "target")
    pointer, _ = registry.champion()
    if pointer is None:
        raise UserError(
            "registry",
            f"there is no champion in {registry.uri} to monitor",
            "Publish a model first (mode: publish), or check `registry` and `model-name`.",
        )
    version = pointer["version"]
    manifest = registry.manifest(version, "registry")
    task, features = str(manifest.get("task") or ""), manifest.get("features") or []
    if manifest.get("target") and manifest["target"] != config.target:
        raise UserError(
            "target",
            f"champion {version} predicts '{manifest['target']}', not '{config.target}'",
            f"Set `target: {manifest['target']}`.",
        )
    with runner.group(f"Score champion {version} on fresh data"):
        frame, fingerprint = load_scoring_frame(config, data_fetcher(config, workdir, ctx.aws_env))
        names = metrics_for(task, len(manifest.get("classes") or []) or None)
        classes = sorted_classes(frame[config.target]) if task == "classification" else None
        champion = score_champion(
            registry, pointer, frame, config.target, task, classes, names, workdir, config.allow_unsafe_model_format
        )
        metrics = champion.metrics if champion.comparable else {}
        runner.info(
            f"{len(frame)} labelled rows; {manifest.get('primary_metric')} = "
            f"{metrics.get(manifest.get('primary_metric', ''))}"
        )
    primary = config.primary_metric or manifest.get("primary_metric") or names[0]
    recorded = manifest.get("metrics") or {}
    with runner.group("Drift against the champion's training data"):
        reference = (manifest.get("data") or {}).get("profile")
        drift = None
        if reference:
            columns = [c for c in [*features, config.target] if c in frame.columns]
            drift = compare_profiles(reference, frame[columns], config.target, config.drift_share)
            runner.info(f"{len(drift.drifted_columns)} of {len(drift.columns)} columns drifted")
    with runner.group("Fresh rows against the reference rows"):
        fresh = (frame[config.target].to_numpy(), champion.preds) if champion.comparable and metrics else None
        reference = read_reference(registry, version, manifest, workdir) if fresh is not None else "no fresh scores"
        judged = judge(
            monitor_gates(config, manifest, primary),
            primary,
            metrics,
            recorded,
            task,
            reference,
            fresh,
            config.bootstrap,
            config.seed,
        )
        result = Verdict([*judged.gates, *champion_checks(champion)])
        state = DEGRADED if result.failed() else judged.state
        runner.info(f"health: {state}")
    drifted = bool(drift and drift.dataset_drift)
    healthy = state == HEALTHY and not drifted
    rows = compare(metrics, recorded)
    status = status_word(state, drifted)
    notes = [
        f"Champion `{version}` scored on {len(frame):,} fresh labelled rows (`{config.data}`, sha256 "
        f"`{fingerprint['sha256'][:12]}…`), compared with "
        + (
            "its reference rows kept at publish (two-sample bootstrap)"
            if judged.interval is not None
            else "the metrics recorded when it was published"
        )
        + f" ({manifest.get('holdout_rows', '?')} holdout rows).",
        *judged.notes,
    ]
    if state == WATCH:
        notes.append(
            f"**Watch:** {primary} dropped significantly, but not significantly beyond the slack. No "
            "issue is opened for this; an open one is updated."
        )
    context = {
        "model_name": config.model_name,
        "verdict": "pass" if healthy else "fail",
        "primary": primary,
        "headline": f"**Monitor: `{version}` is {status}.** " + headline(primary, rows, version),
        "champion_version": version,
        "rows_label": "fresh labelled rows",
        "rows": [asdict(r) for r in rows],
        "gates": [asdict(g) for g in result.gates],
        "notes": notes,
        "holdout_rows": len(frame),
        "interval": None,
        "published": None,
        "left_label": "champion at promotion",
        "right_label": "now",
    }
    sections = [render("data.md.j2", drift=drift.to_dict(), leakage=[])] if drift else []
    parts = ReportParts(render("head.md.j2", **context), sections)
    write_report(config, ctx, runner, parts)
    runner.markdown(parts.head)
    for gate in result.failed():
        runner.error(gate.reason, title=f"monitor: {gate.rule}")
    for gate in result.inconclusive():
        runner.warning(gate.reason, title=f"monitor watch: {gate.rule}")
    runner.set_output("verdict", "pass" if state != DEGRADED and not drifted else "fail")
    runner.set_output("health", state)
    runner.set_output("champion-version", version)
    runner.set_output("primary-metric", primary)
    runner.set_output("primary-metric-value", f"{metrics[primary]:.6g}" if primary in metrics else "")
    runner.set_output("drift-detected", "true" if drifted else "false")
    runner.set_output("drifted-columns", json.dumps(drift.drifted_columns if drift else []))
    watch = state == WATCH and not drifted
    runner.set_output("issue-url", _issue(config, ctx, runner, healthy, watch, version, status, parts) or "")
    return 1 if (not healthy and not watch and config.fail_on_degradation) else 0


def _issue(
    config: Config,
    ctx: RunContext,
    runner: Runner,
    healthy: bool,
    watch: bool,
    version: str,
    status: str,
    parts: ReportParts,
) -> str | None:
    """Open/update one issue while degraded or drifted; on ``watch`` update an open one, never open one; close
    it with a comment once healthy. Never fails the job."""
    from ml_action.comment import fit_comment

    if not ctx.repository or not config.github_token:
        if not healthy and not watch:
            runner.warning("No monitor issue was opened: `github-token` or GITHUB_REPOSITORY is missing.")
        return None
    key = f"monitor-{config.comment_marker_key}"
    try:
        gh = github_api.client(config.github_token, ctx)
        if healthy:
            closed = github_api.close_issue(
                gh,
                ctx.repository,
                key,
                f"✅ Champion `{version}` is healthy again ({ctx.run_url or 'this run'}). Closing.",
                login=ctx.github_login,
            )
            if closed:
                runner.info("closed the monitor issue: the model is healthy again")
            return None
        title = f"ml-action monitor: model `{config.model_name}` ({version}) is {status}"
        body = fit_comment(parts.head, parts.details, f"\n<sub>{ctx.run_url or ''}</sub>")
        return github_api.upsert_issue(gh, ctx.repository, key, title, body, login=ctx.github_login, create=not watch)
    except github_api.GitHubError as exc:
        runner.warning(f"The monitor issue could not be updated: {exc.message}")
        return None

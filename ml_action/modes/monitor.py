"""``mode: monitor``: score the champion on fresh labelled data, compare with its reference rows kept at
publish (two-sample bootstrap, ``health.py``; older versions: the metrics recorded at publish) and with the
gates, check drift against its training profile, report, and keep one GitHub issue open while it is
degraded or drifted (updated, never opened, on ``watch``; closed with a comment when a later run is healthy)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ml_action.adapters import github_api
from ml_action.adapters.posting import write_report
from ml_action.adapters.registry import Registry
from ml_action.adapters.runner import Runner
from ml_action.config import Config, require
from ml_action.context import RunContext
from ml_action.core.champion import champion_checks
from ml_action.core.compare import Verdict, compare
from ml_action.core.decide import DEGRADED, HEALTHY, WATCH
from ml_action.core.monitor_rules import monitor_gates, status_word
from ml_action.errors import UserError
from ml_action.report.markdown import ReportParts, headline, render

if TYPE_CHECKING:
    import pandas as pd

    from ml_action.core.champion import ChampionScore
    from ml_action.core.drift import DriftResult
    from ml_action.core.health import Health


@dataclass(frozen=True)
class Scored:
    """The champion scored on the fresh labelled rows."""

    version: str
    manifest: dict[str, Any]
    frame: pd.DataFrame
    fingerprint: dict[str, Any]
    names: list[str]
    champion: ChampionScore
    metrics: dict[str, float]  # empty when the champion could not be scored


@dataclass(frozen=True)
class Judged:
    """The health of the champion on the fresh rows: the rules' results and the state they give."""

    health: Health
    result: Verdict
    state: str
    drift: DriftResult | None

    @property
    def drifted(self) -> bool:
        return bool(self.drift and self.drift.dataset_drift)


def monitor(config: Config, ctx: RunContext, runner: Runner, registry: Registry | None, workdir: Path) -> int:
    """Score the champion on ``data``; exit 1 when degraded or drifted and ``fail-on-degradation`` is set."""
    assert registry is not None, "cli opens the registry for this mode"
    require(config, "data", "target")
    scored = _score(config, ctx, runner, registry, workdir)
    primary = config.primary_metric or scored.manifest.get("primary_metric") or scored.names[0]
    judged = _judge(config, runner, registry, scored, primary, workdir)
    parts = _report(config, ctx, runner, scored, judged, primary)
    _annotate(runner, judged, scored, primary)
    healthy = judged.state == HEALTHY and not judged.drifted
    watch = judged.state == WATCH and not judged.drifted
    status = status_word(judged.state, judged.drifted)
    runner.set_output("issue-url", _issue(config, ctx, runner, healthy, watch, scored.version, status, parts) or "")
    return 1 if (not healthy and not watch and config.fail_on_degradation) else 0


def _score(config: Config, ctx: RunContext, runner: Runner, registry: Registry, workdir: Path) -> Scored:
    """The champion and its manifest (its target must be ``target``), scored on the fresh rows."""
    from ml_action.adapters.registry import data_fetcher
    from ml_action.core.metrics import metrics_for
    from ml_action.pipeline.data import load_scoring_frame, sorted_classes
    from ml_action.pipeline.rescore import score_champion

    pointer, _ = registry.champion()
    if pointer is None:
        raise UserError(
            "registry",
            f"there is no champion in {registry.uri} to monitor",
            "Publish a model first (mode: publish), or check `registry` and `model-name`.",
        )
    version = pointer["version"]
    manifest = registry.manifest(version, "registry")
    task = str(manifest.get("task") or "")
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
    return Scored(version, manifest, frame, fingerprint, names, champion, metrics)


def _judge(config: Config, runner: Runner, registry: Registry, scored: Scored, primary: str, workdir: Path) -> Judged:
    """Drift against the training profile, then the fresh rows against the reference rows and the gates."""
    from ml_action.core.drift import compare_profiles
    from ml_action.core.health import judge
    from ml_action.records.reference import read_reference

    manifest, frame, metrics = scored.manifest, scored.frame, scored.metrics
    with runner.group("Drift against the champion's training data"):
        profile = (manifest.get("data") or {}).get("profile")
        drift = None
        if profile:
            features = manifest.get("features") or []
            columns = [c for c in [*features, config.target] if c in frame.columns]
            drift = compare_profiles(profile, frame[columns], config.target, config.drift_share)
            runner.info(f"{len(drift.drifted_columns)} of {len(drift.columns)} columns drifted")
    with runner.group("Fresh rows against the reference rows"):
        champion = scored.champion
        fresh = (frame[config.target].to_numpy(), champion.preds) if champion.comparable and metrics else None
        reference = (
            read_reference(registry, scored.version, manifest, workdir) if fresh is not None else "no fresh scores"
        )
        health = judge(
            monitor_gates(config, manifest, primary),
            primary,
            metrics,
            manifest.get("metrics") or {},
            str(manifest.get("task") or ""),
            reference,
            fresh,
            config.bootstrap,
            config.seed,
        )
        result = Verdict([*health.gates, *champion_checks(champion)])
        state = DEGRADED if result.failed() else health.state
        runner.info(f"health: {state}")
    return Judged(health, result, state, drift)


def _report(
    config: Config, ctx: RunContext, runner: Runner, scored: Scored, judged: Judged, primary: str
) -> ReportParts:
    """The monitor report (head: the verdict, the metrics now vs at promotion, the rules; the drift section),
    written and logged."""
    version, manifest, frame = scored.version, scored.manifest, scored.frame
    healthy = judged.state == HEALTHY and not judged.drifted
    rows = compare(scored.metrics, manifest.get("metrics") or {})
    status = status_word(judged.state, judged.drifted)
    notes = [
        f"Champion `{version}` scored on {len(frame):,} fresh labelled rows (`{config.data}`, sha256 "
        f"`{scored.fingerprint['sha256'][:12]}…`), compared with "
        + (
            "its reference rows kept at publish (two-sample bootstrap)"
            if judged.health.interval is not None
            else "the metrics recorded when it was published"
        )
        + f" ({manifest.get('holdout_rows', '?')} holdout rows).",
        *judged.health.notes,
    ]
    if judged.state == WATCH:
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
        "gates": [asdict(g) for g in judged.result.gates],
        "notes": notes,
        "holdout_rows": len(frame),
        "interval": None,
        "published": None,
        "left_label": "champion at promotion",
        "right_label": "now",
    }
    drift = judged.drift
    sections = [render("data.md.j2", drift=drift.to_dict(), leakage=[])] if drift else []
    parts = ReportParts(render("head.md.j2", **context), sections)
    write_report(config, ctx, runner, parts)
    runner.markdown(parts.head)
    return parts


def _annotate(runner: Runner, judged: Judged, scored: Scored, primary: str) -> None:
    """One annotation per failed or inconclusive rule, and the outputs (all but ``issue-url``)."""
    for gate in judged.result.failed():
        runner.error(gate.reason, title=f"monitor: {gate.rule}")
    for gate in judged.result.inconclusive():
        runner.warning(gate.reason, title=f"monitor watch: {gate.rule}")
    metrics, drift = scored.metrics, judged.drift
    runner.set_output("verdict", "pass" if judged.state != DEGRADED and not judged.drifted else "fail")
    runner.set_output("health", judged.state)
    runner.set_output("champion-version", scored.version)
    runner.set_output("primary-metric", primary)
    runner.set_output("primary-metric-value", f"{metrics[primary]:.6g}" if primary in metrics else "")
    runner.set_output("drift-detected", "true" if judged.drifted else "false")
    runner.set_output("drifted-columns", json.dumps(drift.drifted_columns if drift else []))


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
    from ml_action.report.comment import fit_comment

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

"""``mode: monitor``: score the champion on fresh labelled data, compare with its reference rows kept at
publish (two-sample bootstrap, ``health.py``; older versions: the metrics recorded at publish) and with the
gates, check drift against its training profile, report, and keep one GitHub issue open while it is
degraded or drifted (updated, never opened, on ``watch``; closed with a comment when a later run is healthy)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ml_action.config import Config, Gate, parse_gates, require
from ml_action.decide import DEGRADED, HEALTHY, WATCH
from ml_action.errors import UserError, first_line
from ml_action.registry.base import Registry
from ml_action.runner import Runner

# without any gate on the primary metric, monitoring allows this much relative slack against the
# metrics recorded at promotion (fresh data is never the holdout it was measured on)
DEFAULT_MONITOR_SLACK_PCT = 5.0


def monitor_gates(config: Config, manifest: dict[str, Any], primary: str) -> tuple[Gate, ...]:
    """The configured gates, else the gates the champion was published with; the primary metric guarded."""
    gates = config.gates
    if not gates:
        gates = parse_gates((manifest.get("config") or {}).get("gates") or [])
    if not any(g.metric == primary for g in gates):
        gates = (*gates, Gate(metric=primary, max_regression_pct=DEFAULT_MONITOR_SLACK_PCT))
    return gates


def monitor(config: Config, runner: Runner, registry: Registry, env: Mapping[str, str], workdir: Path) -> int:
    from ml_action import github
    from ml_action.compare import GateResult, Verdict, compare
    from ml_action.data import load_scoring_frame
    from ml_action.drift import compare_profiles
    from ml_action.health import judge
    from ml_action.metrics import metrics_for, predict, score
    from ml_action.modes import write_report
    from ml_action.reference import read_reference
    from ml_action.report import ReportParts, headline, render

    require(config, "data", "target")
    pointer, _ = registry.champion()
    if pointer is None:
        raise UserError("registry", f"there is no champion in {registry.uri} to monitor",
                        "Publish a model first (mode: publish), or check `registry` and `model-name`.")
    version = pointer["version"]
    manifest = registry.manifest(version, "registry")
    task, features = manifest.get("task"), manifest.get("features") or []
    if manifest.get("target") and manifest["target"] != config.target:
        raise UserError("target", f"champion {version} predicts '{manifest['target']}', not '{config.target}'",
                        f"Set `target: {manifest['target']}`.")
    with runner.group(f"Score champion {version} on fresh data"):
        frame, fingerprint = load_scoring_frame(config, workdir)
        missing = [c for c in features if c not in frame.columns]
        names = metrics_for(task, len(manifest.get("classes") or []) or None)
        metrics: dict[str, float] = {}
        unscorable = ""
        fresh = None
        if not missing:
            model = registry.fetch_model(version, manifest, workdir, config.allow_unsafe_model_format)
            try:
                preds = predict(model, frame[features], task)
                metrics, _ = score(frame[config.target], preds, task, names)
                fresh = (frame[config.target].to_numpy(), preds)
            except (ValueError, TypeError, KeyError) as exc:
                unscorable = first_line(exc)
        runner.info(f"{len(frame)} labelled rows; {manifest.get('primary_metric')} = "
                    f"{metrics.get(manifest.get('primary_metric', ''))}")
    primary = config.primary_metric or manifest.get("primary_metric") or names[0]
    recorded = manifest.get("metrics") or {}
    extra = []
    if missing:
        extra.append(GateResult("champion features present", "*", False,
                                f"feature(s) {', '.join(missing)} used by champion {version} are missing"))
    if unscorable:
        extra.append(GateResult("champion can score the data", "*", False,
                                f"champion {version} could not predict on `{config.data}`: {unscorable}"))
    with runner.group("Drift against the champion's training data"):
        reference = (manifest.get("data") or {}).get("profile")
        drift = None
        if reference:
            columns = [c for c in [*features, config.target] if c in frame.columns]
            drift = compare_profiles(reference, frame[columns], config.target, config.drift_share)
            runner.info(f"{len(drift.drifted_columns)} of {len(drift.columns)} columns drifted")
    with runner.group("Fresh rows against the reference rows"):
        reference = read_reference(registry, version, manifest, workdir) if fresh is not None else "no fresh scores"
        judged = judge(monitor_gates(config, manifest, primary), primary, metrics, recorded, task, reference,
                       fresh, config.bootstrap, config.seed)
        result = Verdict([*judged.gates, *extra])
        runner.info(f"health: {judged.state}")
    drifted = bool(drift and drift.dataset_drift)
    state = DEGRADED if result.failed() else judged.state
    degraded = state == DEGRADED
    healthy = not degraded and not drifted
    rows = compare(metrics, recorded)
    status = (state + (" and drifted" if drifted else "")) if state != HEALTHY else ("drifted" if drifted else state)
    notes = [f"Champion `{version}` scored on {len(frame):,} fresh labelled rows (`{config.data}`, sha256 "
             f"`{fingerprint['sha256'][:12]}…`), compared with "
             + ("its reference rows kept at publish (two-sample bootstrap)" if judged.interval is not None else
                "the metrics recorded when it was published")
             + f" ({manifest.get('holdout_rows', '?')} holdout rows).", *judged.notes]
    if state == WATCH:
        notes.append(f"**Watch:** {primary} dropped significantly, but not significantly beyond the slack. No "
                     "issue is opened for this; an open one is updated.")
    context = {"model_name": config.model_name, "verdict": "pass" if healthy else "fail", "primary": primary,
               "headline": f"**Monitor: `{version}` is {status}.** " + headline(primary, rows, version),
               "champion_version": version, "rows_label": "fresh labelled rows", "rows": [asdict(r) for r in rows],
               "gates": [asdict(g) for g in result.gates], "notes": notes, "holdout_rows": len(frame),
               "interval": None, "published": None, "left_label": "champion at promotion", "right_label": "now"}
    sections = [render("data.md.j2", drift=drift.to_dict(), leakage=[])] if drift else []
    parts = ReportParts(render("head.md.j2", **context), sections)
    write_report(config, runner, parts)
    runner.info(parts.head)
    for gate in result.failed():
        runner.error(gate.reason, title=f"monitor: {gate.rule}")
    for gate in result.inconclusive():
        runner.warning(gate.reason, title=f"monitor watch: {gate.rule}")
    runner.set_output("verdict", "pass" if healthy else "fail")
    runner.set_output("health", state)
    runner.set_output("champion-version", version)
    runner.set_output("primary-metric", primary)
    runner.set_output("primary-metric-value", f"{metrics[primary]:.6g}" if primary in metrics else "")
    runner.set_output("drift-detected", "true" if drifted else "false")
    runner.set_output("drifted-columns", _json(drift.drifted_columns if drift else []))
    runner.set_output("issue-url", _issue(config, env, runner, github, state, drifted, version, status, parts) or "")
    return 1 if (not healthy and config.fail_on_degradation) else 0


def _json(value: Any) -> str:
    import json

    return json.dumps(value)


def _issue(config: Config, env: Mapping[str, str], runner: Runner, github: Any, state: str, drifted: bool,
           version: str, status: str, parts: Any) -> str | None:
    """Open/update one issue while degraded or drifted; on ``watch`` update an open one only; close it with a
    comment once healthy. Never fails the job."""
    healthy = state == HEALTHY and not drifted
    watch = state == WATCH and not drifted
    repo = env.get("GITHUB_REPOSITORY")
    if not repo or not config.github_token:
        if not healthy and not watch:
            runner.warning("No monitor issue was opened: `github-token` or GITHUB_REPOSITORY is missing.")
        return None
    from github import GithubException
    from requests import RequestException

    key = f"monitor-{config.comment_marker_key}"
    try:
        client = github.client(config.github_token, env)
        if healthy:
            closed = github.close_issue(client, repo, key, f"✅ Champion `{version}` is healthy again "
                                        f"({github.run_url(env) or 'this run'}). Closing.")
            if closed:
                runner.info("closed the monitor issue: the model is healthy again")
            return None
        title = f"ml-action monitor: model `{config.model_name}` ({version}) is {status}"
        body = github.fit_comment(parts.head, parts.details, f"\n<sub>{github.run_url(env) or ''}</sub>")
        return github.upsert_issue(client, repo, key, title, body, create=not watch)
    except (GithubException, RequestException) as exc:
        runner.warning(f"The monitor issue could not be updated: {exc}")
        return None

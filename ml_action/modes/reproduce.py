"""``mode: reproduce`` and ``mode: diff``.

``reproduce`` rebuilds a published version from its manifest (model spec, params, seed, features, target,
task) and its data snapshot, through the same code path as ``evaluate`` (``make_model``/``fit``), predicts
the snapshot's holdout rows and compares predictions and metrics with the recorded ones within
``tolerance``. ``diff`` puts two versions' params, metrics, data and library versions side by side.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from ml_action.config import Config
from ml_action.context import RunContext
from ml_action.fmt import exact
from ml_action.posting import write_report
from ml_action.registry.base import Registry
from ml_action.report import ReportParts, render
from ml_action.reproduce import (
    Check,
    changed,
    close,
    compare_predictions,
    data_changes,
    library_changes,
    params_of,
    rebuild_config,
    refit,
    snapshot_dataset,
    stored_model_checks,
    training_drift,
)
from ml_action.runner import Runner


def reproduce(config: Config, ctx: RunContext, runner: Runner, registry: Registry | None, workdir: Path) -> int:
    """Rebuild ``to-version`` (default the champion) from its manifest and snapshot; exit 1 unless it matches."""
    from ml_action.metrics import predict, score
    from ml_action.provenance import git_info, library_versions
    from ml_action.snapshot import fetch_snapshots

    assert registry is not None, "cli opens the registry for this mode"
    with runner.group("Resolve the version"):
        version = registry.resolve_version(config.to_version or "champion")
        manifest = registry.manifest(version)
        runner.info(f"reproducing {config.model_name} {version} from {registry.uri}")
    with runner.group("Fetch the data snapshot"):
        frames = fetch_snapshots(registry, manifest, version, workdir)
        dataset = snapshot_dataset(manifest, frames, version)
        runner.info(f"{len(dataset.train)} training rows, {len(dataset.test)} holdout rows (sha256 verified)")
    rebuild = rebuild_config(config, manifest)
    with runner.group("Rebuild and retrain"):
        model = refit(rebuild, manifest, dataset, version)
        preds = predict(model, dataset.X_test, dataset.task)
        recorded: dict[str, float] = manifest.get("metrics") or {}
        metrics, _ = score(dataset.y_test, preds, dataset.task, list(recorded))
    tol = config.tolerance
    checks: list[Check] = []
    notes: list[str] = []
    record = manifest.get("predictions")
    if record:
        checks.extend(compare_predictions(record, preds, tol))
        checks.extend(stored_model_checks(registry, version, manifest, dataset, record, config, workdir, notes))
    else:
        notes.append(
            f"Version {version} has no recorded predictions (published before they were recorded): "
            "only the metrics are compared."
        )
    metric_rows = []
    for name, old in recorded.items():
        new = metrics.get(name)
        ok = new is not None and close(old, new, tol)
        metric_rows.append(
            {
                "metric": name,
                "recorded": exact(old),
                "reproduced": exact(new),
                "delta": "—" if new is None else f"{new - old:+.3g}",
                "ok": ok,
            }
        )
    libraries = library_changes(manifest.get("libraries"), library_versions())
    if libraries:
        changed = ", ".join(f"{r['library']} {r['recorded']} → {r['now']}" for r in libraries)
        notes.append(f"Library versions differ from the recorded ones: {changed}. Differences may come from them.")
        runner.warning(f"library versions differ from those {version} was built with: {changed}", title="reproduce")
    recorded_sha = (manifest.get("git") or {}).get("sha")
    current_sha = git_info(ctx, config.workspace)["sha"]
    if recorded_sha and current_sha != recorded_sha:
        factory = ":" in rebuild.model
        notes.append(
            f"This run is at commit `{current_sha or 'unknown'}`; {version} was built from `{recorded_sha}`. "
            + (
                "Its model factory was imported from this checkout: check out the recorded commit to use the same code."
                if factory
                else "The model spec, params and data come from the registry, so only ml-action's own version "
                "matters here (listed with the libraries)."
            )
        )
    ok = all(c.ok is not False for c in checks) and all(r["ok"] for r in metric_rows)
    context = {
        "model_name": config.model_name,
        "version": version,
        "reproduced": ok,
        "tolerance": f"{tol:g}",
        "checks": [dataclasses.asdict(c) for c in checks],
        "metrics": metric_rows,
        "notes": notes,
        "libraries": libraries,
        "holdout_rows": len(dataset.test),
        "train_rows": len(dataset.train),
        "model": rebuild.model,
        "estimator": manifest.get("estimator"),
        "params": rebuild.params,
        "seed": rebuild.seed,
        "task": rebuild.task,
        "target": rebuild.target,
        "features": list(rebuild.features),
        "snapshots": manifest["data"]["snapshots"],
        "recorded_sha": recorded_sha,
        "current_sha": current_sha,
    }
    _report(config, ctx, runner, "reproduce.md.j2", context)
    runner.set_output("reproduced", ok)
    runner.set_output("model-version", version)
    if not ok:
        what = [c.name for c in checks if c.ok is False] + [str(r["metric"]) for r in metric_rows if not r["ok"]]
        runner.error(
            f"{version} was not reproduced within tolerance {tol:g}: {', '.join(what)} differ", title="not reproduced"
        )
        return 1
    runner.notice(f"{version} reproduced within tolerance {tol:g}", title="reproduced")
    return 0


def diff(config: Config, ctx: RunContext, runner: Runner, registry: Registry | None, workdir: Path) -> int:
    """Params, metrics (with direction), data and library versions of ``from-version`` → ``to-version``."""
    from ml_action.compare import compare

    assert registry is not None, "cli opens the registry for this mode"
    new_v = registry.resolve_version(config.to_version or "latest", "to-version")
    old_v = registry.resolve_version(config.from_version or "champion", "from-version")
    a, b = registry.manifest(old_v, "from-version"), registry.manifest(new_v, "to-version")
    params = changed(params_of(a), params_of(b))
    rows = [dataclasses.asdict(r) for r in compare(b.get("metrics") or {}, a.get("metrics") or {})]
    data = data_changes(a, b, old_v, new_v)
    libraries = changed(a.get("libraries") or {}, b.get("libraries") or {})
    context = {
        "model_name": config.model_name,
        "old": old_v,
        "new": new_v,
        "params": params,
        "unchanged_params": len(set(params_of(a)) | set(params_of(b))) - len(params),
        "metrics": rows,
        "primary": b.get("primary_metric"),
        "data": data,
        "drift": training_drift(a, b, config.drift_share),
        "libraries": libraries,
        "holdout": (a.get("holdout_rows"), b.get("holdout_rows")),
        "git": ((a.get("git") or {}).get("sha"), (b.get("git") or {}).get("sha")),
    }
    _report(config, ctx, runner, "diff.md.j2", context)
    runner.set_output("model-version", new_v)
    return 0


def _report(config: Config, ctx: RunContext, runner: Runner, template: str, context: dict[str, Any]) -> None:
    text = render(template, **context)
    runner.markdown(text)
    write_report(config, ctx, runner, ReportParts(head=text, details=[]))

"""``mode: reproduce`` and ``mode: diff``.

``reproduce`` rebuilds a published version from its manifest (model spec, params, seed, features, target,
task) and its data snapshot, through the same code path as ``evaluate`` (``make_model``/``fit``), predicts
the snapshot's holdout rows and compares predictions and metrics with the recorded ones within
``tolerance``. ``diff`` puts two versions' params, metrics, data and library versions side by side.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ml_action.adapters.posting import write_report
from ml_action.adapters.registry import Registry
from ml_action.adapters.runner import Runner
from ml_action.config import Config
from ml_action.context import RunContext
from ml_action.core.fmt import exact
from ml_action.pipeline.reproduce import (
    Check,
    changed,
    close,
    compare_predictions,
    data_changes,
    known_metrics,
    library_changes,
    params_of,
    rebuild_config,
    refit,
    snapshot_dataset,
    stored_model_checks,
    training_drift,
)
from ml_action.report import escape
from ml_action.report.markdown import ReportParts, render


@dataclass(frozen=True)
class Rebuilt:
    """A version rebuilt from its manifest and snapshot: what was recorded and what came out this time."""

    version: str
    manifest: dict[str, Any]
    config: Config  # the settings rebuilt from the manifest
    dataset: Any  # data.Dataset of the snapshot's rows
    preds: Any  # metrics.Predictions of the rebuilt model on the holdout
    metrics: dict[str, float]


@dataclass
class Findings:
    """What the comparison found: the checks, one row per recorded metric, and the notes for the report."""

    checks: list[Check]
    metric_rows: list[dict[str, Any]]
    notes: list[str]
    unverified: str | None = None  # why the stored model could not be verified (then never reproduced)

    @property
    def ok(self) -> bool:
        return (
            self.unverified is None
            and all(c.ok is not False for c in self.checks)
            and all(r["ok"] for r in self.metric_rows)
        )


def reproduce(config: Config, ctx: RunContext, runner: Runner, registry: Registry | None, workdir: Path) -> int:
    """Rebuild ``to-version`` (default the champion) from its manifest and snapshot; exit 1 unless it matches."""
    assert registry is not None, "cli opens the registry for this mode"
    rebuilt = _rebuild(config, runner, registry, workdir)
    found = _compare(config, registry, rebuilt, workdir)
    provenance = _provenance(config, ctx, runner, rebuilt, found.notes)
    _report(config, ctx, runner, "reproduce.md.j2", _context(config, rebuilt, found, provenance))
    return _conclude(runner, rebuilt.version, found, config.tolerance)


def _rebuild(config: Config, runner: Runner, registry: Registry, workdir: Path) -> Rebuilt:
    """Resolve the version, fetch its snapshot (sha256 checked), retrain it and score the holdout."""
    from ml_action.core.metrics import predict, score
    from ml_action.records.snapshot import fetch_snapshots

    with runner.group("Resolve the version"):
        version, manifest = _resolve(config, registry)
        runner.info(f"reproducing {config.model_name} {version} from {registry.uri}")
    with runner.group("Fetch the data snapshot"):
        frames = fetch_snapshots(registry, manifest, version, workdir)
        dataset = snapshot_dataset(manifest, frames, version)
        runner.info(f"{len(dataset.train)} training rows, {len(dataset.test)} holdout rows (sha256 verified)")
    rebuild = rebuild_config(config, manifest)
    with runner.group("Rebuild and retrain"):
        model = refit(rebuild, manifest, dataset, version, registry.url_of(version, "manifest.json"), runner.info)
        preds = predict(model, dataset.X_test, dataset.task)
        metrics, _ = score(dataset.y_test, preds, dataset.task, known_metrics(manifest))
    return Rebuilt(version, manifest, rebuild, dataset, preds, metrics)


def _resolve(config: Config, registry: Registry) -> tuple[str, dict[str, Any]]:
    """``to-version`` (default the champion) and its manifest. Through the champion pointer, the sha256 it
    records must be the manifest's: a pointer and a manifest that disagree were altered, nothing is rebuilt."""
    from ml_action.adapters.registry import pointed_model_sha256

    wanted = config.to_version or "champion"
    pointer = registry.champion()[0] if wanted == "champion" else None
    if pointer is None:  # a version id, `latest`, `previous`; or no champion, which resolve_version says
        version = registry.resolve_version(wanted)
        return version, registry.manifest(version)
    manifest = registry.manifest(pointer["version"])
    pointed_model_sha256(pointer, manifest, "champion")
    return pointer["version"], manifest


def _compare(config: Config, registry: Registry, rebuilt: Rebuilt, workdir: Path) -> Findings:
    """The recorded predictions and the stored model against the rebuilt ones, and every recorded metric."""
    tol = config.tolerance
    version, manifest = rebuilt.version, rebuilt.manifest
    checks: list[Check] = []
    notes: list[str] = []
    record = manifest.get("predictions")
    if record:
        checks.extend(compare_predictions(record, rebuilt.preds, tol))
    else:
        notes.append(
            f"Version {version} has no recorded predictions (published before they were recorded): the "
            "rebuilt and the stored model are each compared with the recorded metrics."
        )
    stored, unverified = stored_model_checks(registry, version, manifest, rebuilt.dataset, config, workdir)
    checks.extend(stored)
    if unverified:
        notes.append(f"The stored model could not be verified, so {version} is not reported reproduced.")
    metric_rows = []
    recorded: dict[str, float] = manifest.get("metrics") or {}
    for name, old in recorded.items():
        new = rebuilt.metrics.get(name)
        metric_rows.append(
            {
                "metric": name,
                "recorded": exact(old),
                "reproduced": exact(new),
                "delta": "—" if new is None else f"{new - old:+.3g}",
                "ok": new is not None and close(old, new, tol),
            }
        )
    return Findings(checks, metric_rows, notes, unverified)


def _provenance(config: Config, ctx: RunContext, runner: Runner, rebuilt: Rebuilt, notes: list[str]) -> dict[str, Any]:
    """Library versions and the commit, now against recorded: a note (and a warning) for each difference."""
    from ml_action.records.provenance import git_info, library_versions

    version, manifest = rebuilt.version, rebuilt.manifest
    libraries = library_changes(manifest.get("libraries"), library_versions())
    if libraries:
        differ = ", ".join(f"{r['library']} {r['recorded']} → {r['now']}" for r in libraries)
        pairs = [
            (escape.md(r["library"], 80), escape.md(r["recorded"], 80), escape.md(r["now"], 80)) for r in libraries
        ]
        listed = ", ".join(f"{name} {old} → {new}" for name, old, new in pairs)
        notes.append(f"Library versions differ from the recorded ones: {listed}. Differences may come from them.")
        runner.warning(
            f"library versions differ from those {version} was built with: {escape.visible(differ, 1000)}",
            title="reproduce",
        )
    recorded_sha = (manifest.get("git") or {}).get("sha")
    current_sha = git_info(ctx, config.workspace)["sha"]
    if recorded_sha and current_sha != recorded_sha:
        factory = ":" in rebuilt.config.model
        notes.append(
            f"This run is at commit {escape.code(current_sha or 'unknown')}; {version} was built from "
            f"{escape.code(recorded_sha)}. "
            + (
                "Its model factory was imported from this checkout: check out the recorded commit to use the same code."
                if factory
                else "The model spec, params and data come from the registry, so only ml-action's own version "
                "matters here (listed with the libraries)."
            )
        )
    return {"libraries": libraries, "recorded_sha": recorded_sha, "current_sha": current_sha}


def _context(config: Config, rebuilt: Rebuilt, found: Findings, provenance: dict[str, Any]) -> dict[str, Any]:
    """What ``reproduce.md.j2`` shows."""
    rebuild, dataset = rebuilt.config, rebuilt.dataset
    return {
        "model_name": config.model_name,
        "version": rebuilt.version,
        "reproduced": found.ok,
        "tolerance": f"{config.tolerance:g}",
        "checks": [dataclasses.asdict(c) for c in found.checks],
        "metrics": found.metric_rows,
        "notes": found.notes,
        "libraries": provenance["libraries"],
        "holdout_rows": len(dataset.test),
        "train_rows": len(dataset.train),
        "model": rebuild.model,
        "estimator": rebuilt.manifest.get("estimator"),
        "params": rebuild.params,
        "seed": rebuild.seed,
        "task": rebuild.task,
        "target": rebuild.target,
        "features": list(rebuild.features),
        "snapshots": rebuilt.manifest["data"]["snapshots"],
        "recorded_sha": provenance["recorded_sha"],
        "current_sha": provenance["current_sha"],
    }


def _conclude(runner: Runner, version: str, found: Findings, tol: float) -> int:
    """The outputs and the one annotation: 0 when reproduced within ``tol``, else 1 naming what differs."""
    runner.set_output("reproduced", found.ok)
    runner.set_output("model-version", version)
    if not found.ok:
        what = [c.name for c in found.checks if c.ok is False and c.name != "stored model"]
        what += [str(r["metric"]) for r in found.metric_rows if not r["ok"]]
        why = [f"{escape.visible(', '.join(what), 1000)} differ"] if what else []
        if found.unverified:
            why.append(f"the stored model could not be verified: {found.unverified}")
        runner.error(f"{version} was not reproduced within tolerance {tol:g}: {'; '.join(why)}", title="not reproduced")
        return 1
    runner.notice(f"{version} reproduced within tolerance {tol:g}", title="reproduced")
    return 0


def diff(config: Config, ctx: RunContext, runner: Runner, registry: Registry | None, workdir: Path) -> int:
    """Params, metrics (with direction), data and library versions of ``from-version`` → ``to-version``."""
    from ml_action.core.compare import compare

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

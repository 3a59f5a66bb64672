"""Modes ``reproduce`` and ``diff``, and the record of holdout predictions that makes ``reproduce`` checkable.

``reproduce`` rebuilds a published version from its manifest (model spec, params, seed, features, target,
task) and its data snapshot, through the same code path as ``evaluate`` (``make_model``/``fit``), predicts
the snapshot's holdout rows and compares predictions and metrics with the recorded ones within
``tolerance``. ``diff`` puts two versions' params, metrics, data and library versions side by side.

``publish`` records the holdout predictions in the manifest (``predictions``): the sha256 of the full arrays
(labels as JSON, probabilities as little-endian float64) and the first ``SAMPLE_ROWS`` rows rounded to
``DECIMALS`` decimals, so a run whose hash differs can still be compared value by value.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ml_action.config import Config
from ml_action.errors import UserError
from ml_action.registry.base import Registry
from ml_action.runner import Runner

SAMPLE_ROWS = 1000
DECIMALS = 12


# ---------------------------------------------------------------------------------------------- predictions


def _labels(preds: Any) -> list[Any]:
    import numpy as np

    return np.asarray(preds.labels).tolist()


def prediction_digest(preds: Any) -> str:
    """sha256 over the labels (JSON) and, when present, the probabilities (little-endian float64)."""
    import numpy as np

    digest = hashlib.sha256(json.dumps(_labels(preds), default=str).encode())
    if preds.proba is not None:
        digest.update(np.ascontiguousarray(preds.proba, dtype="<f8").tobytes())
    return digest.hexdigest()


def prediction_record(preds: Any) -> dict[str, Any]:
    """What the manifest keeps of the holdout predictions: their hash and a rounded sample."""
    import numpy as np

    labels = _labels(preds)
    sample = [round(x, DECIMALS) if isinstance(x, float) else x for x in labels[:SAMPLE_ROWS]]
    proba = None if preds.proba is None else np.round(np.asarray(preds.proba)[:SAMPLE_ROWS], DECIMALS).tolist()
    classes = None if preds.classes is None else np.asarray(preds.classes).tolist()
    return {"rows": len(labels), "sha256": prediction_digest(preds), "sample_rows": len(sample),
            "decimals": DECIMALS, "labels": sample, "proba": proba, "classes": classes}


@dataclass
class Check:
    """One line of the reproduce report: what was recorded, what this run got, and whether they agree."""

    name: str
    recorded: str
    reproduced: str
    ok: bool | None  # None: informational, decides nothing


def _close(a: float, b: float, tol: float) -> bool:
    return math.isclose(a, b, rel_tol=tol, abs_tol=tol)


def _fmt(value: Any) -> str:
    return f"{value:.12g}" if isinstance(value, float) else ("—" if value is None else str(value))


def compare_predictions(record: Mapping[str, Any], preds: Any, tol: float, who: str = "rebuilt model") -> list[Check]:
    """The rebuilt model's holdout predictions against the record: rows, hash, then the sample within ``tol``."""
    import numpy as np

    labels = _labels(preds)
    checks = [Check(f"holdout rows ({who})", str(record.get("rows")), str(len(labels)),
                    record.get("rows") == len(labels))]
    digest = prediction_digest(preds)
    if digest == record.get("sha256"):
        checks.append(Check(f"predictions sha256 ({who})", f"`{record['sha256'][:16]}…`", "identical, bit for bit",
                            True))
        return checks
    checks.append(Check(f"predictions sha256 ({who})", f"`{str(record.get('sha256'))[:16]}…`", f"`{digest[:16]}…` "
                        "(differs: compared value by value below)", None))
    n = int(record.get("sample_rows") or 0)
    recorded = list(record.get("labels") or [])[:n]
    now = [round(x, DECIMALS) if isinstance(x, float) else x for x in labels[:n]]  # as the record was rounded
    if all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in recorded + now) and \
            any(isinstance(x, float) for x in recorded + now):
        worst = max((abs(a - b) for a, b in zip(recorded, now, strict=False)), default=0.0)
        ok = len(recorded) == len(now) and all(_close(a, b, tol) for a, b in zip(recorded, now, strict=False))
        checks.append(Check(f"first {n} predictions ({who})", "recorded values", f"max abs Δ {worst:.3g}", ok))
    else:
        wrong = sum(1 for a, b in zip(recorded, now, strict=False) if a != b) + abs(len(recorded) - len(now))
        checks.append(Check(f"first {n} predicted labels ({who})", "recorded labels",
                            "all equal" if not wrong else f"{wrong} differ", wrong == 0))
    if record.get("proba") is not None:
        if preds.proba is None:
            checks.append(Check(f"first {n} probabilities ({who})", "recorded", "the model has no predict_proba",
                                False))
        else:
            old = np.asarray(record["proba"], dtype=float)
            new = np.round(np.asarray(preds.proba, dtype=float)[:n], DECIMALS)
            ok = old.shape == new.shape and bool(np.allclose(new, old, rtol=tol, atol=tol))
            worst = float(np.max(np.abs(new - old))) if old.shape == new.shape and old.size else float("nan")
            checks.append(Check(f"first {n} probabilities ({who})", "recorded values", f"max abs Δ {worst:.3g}", ok))
    return checks


def library_changes(recorded: Mapping[str, Any] | None, now: Mapping[str, Any]) -> list[dict[str, str]]:
    """Libraries whose version differs between the two mappings (either side may lack one)."""
    recorded = recorded or {}
    names = [*recorded, *[k for k in now if k not in recorded]]
    return [{"library": k, "recorded": str(recorded.get(k, "—")), "now": str(now.get(k, "—"))}
            for k in names if recorded.get(k) != now.get(k)]


# ---------------------------------------------------------------------------------------------- reproduce


def _rebuild_config(config: Config, manifest: Mapping[str, Any]) -> Config:
    return dataclasses.replace(config, model=manifest.get("model") or config.model,
                               params=dict(manifest.get("params") or {}), seed=int(manifest.get("seed", config.seed)),
                               task=manifest["task"], target=manifest["target"],
                               features=tuple(manifest.get("features") or ()), drop=())


def _dataset(manifest: Mapping[str, Any], frames: Mapping[str, Any], version: str) -> Any:
    from ml_action.data import Dataset, sorted_classes

    features, target = list(manifest.get("features") or []), manifest["target"]
    for split, frame in frames.items():
        missing = [c for c in [*features, target] if c not in frame.columns]
        if missing:
            raise UserError("to-version", f"the {split} data snapshot of version {version} lacks column(s) "
                            f"{', '.join(missing)}", "The manifest and the snapshot disagree; it cannot be rebuilt.")
    train, test = frames["train"], frames["test"]
    classes = None
    if manifest["task"] == "classification":
        classes = sorted_classes(train[target])
    return Dataset(train=train, test=test, target=target, features=features, task=manifest["task"],
                   fingerprints={}, classes=classes)


def _fit(config: Config, manifest: Mapping[str, Any], dataset: Any, version: str) -> Any:
    from ml_action.model import fit, make_model

    sha = (manifest.get("git") or {}).get("sha") or "the recorded commit"
    try:
        model, _ = make_model(config, dataset.task, dataset.X_train)
    except UserError as exc:
        if exc.input != "model" or ":" not in config.model:
            raise
        raise UserError("model", f"{exc.problem} (version {version} was built with the factory `{config.model}` "
                        f"from commit {sha})", f"Check out commit {sha} before this step (actions/checkout with "
                        f"`ref: {sha}`) so the factory is the one the version was built with.") from None
    return fit(model, dataset.X_train, dataset.y_train)


def reproduce(config: Config, runner: Runner, registry: Registry, env: Mapping[str, str], workdir: Path) -> int:
    """Rebuild ``to-version`` (default the champion) from its manifest and snapshot; exit 1 unless it matches."""
    from ml_action.metrics import predict, score
    from ml_action.provenance import git_info, library_versions
    from ml_action.snapshot import fetch_snapshots

    with runner.group("Resolve the version"):
        version = registry.resolve_version(config.to_version or "champion")
        manifest = registry.manifest(version)
        runner.info(f"reproducing {config.model_name} {version} from {registry.uri}")
    with runner.group("Fetch the data snapshot"):
        frames = fetch_snapshots(registry, manifest, version, workdir)
        dataset = _dataset(manifest, frames, version)
        runner.info(f"{len(dataset.train)} training rows, {len(dataset.test)} holdout rows (sha256 verified)")
    rebuild = _rebuild_config(config, manifest)
    with runner.group("Rebuild and retrain"):
        model = _fit(rebuild, manifest, dataset, version)
        preds = predict(model, dataset.X_test, dataset.task)
        recorded: dict[str, float] = manifest.get("metrics") or {}
        metrics, _ = score(dataset.y_test, preds, dataset.task, list(recorded))
    tol = config.tolerance
    checks: list[Check] = []
    notes: list[str] = []
    record = manifest.get("predictions")
    if record:
        checks.extend(compare_predictions(record, preds, tol))
        checks.extend(_stored_model_checks(registry, version, manifest, dataset, record, config, workdir, notes))
    else:
        notes.append(f"Version {version} has no recorded predictions (published before they were recorded): "
                     "only the metrics are compared.")
    metric_rows = []
    for name, old in recorded.items():
        new = metrics.get(name)
        ok = new is not None and _close(old, new, tol)
        metric_rows.append({"metric": name, "recorded": _fmt(old), "reproduced": _fmt(new),
                            "delta": "—" if new is None else f"{new - old:+.3g}", "ok": ok})
    libraries = library_changes(manifest.get("libraries"), library_versions())
    if libraries:
        changed = ", ".join(f"{r['library']} {r['recorded']} → {r['now']}" for r in libraries)
        notes.append(f"Library versions differ from the recorded ones: {changed}. Differences may come from them.")
        runner.warning(f"library versions differ from those {version} was built with: {changed}",
                       title="reproduce")
    recorded_sha = (manifest.get("git") or {}).get("sha")
    current_sha = git_info(env, config.workspace)["sha"]
    if recorded_sha and current_sha != recorded_sha:
        factory = ":" in rebuild.model
        notes.append(f"This run is at commit `{current_sha or 'unknown'}`; {version} was built from `{recorded_sha}`. "
                     + ("Its model factory was imported from this checkout: check out the recorded commit to use "
                        "the same code." if factory else
                        "The model spec, params and data come from the registry, so only ml-action's own version "
                        "matters here (listed with the libraries)."))
    ok = all(c.ok is not False for c in checks) and all(r["ok"] for r in metric_rows)
    context = {"model_name": config.model_name, "version": version, "reproduced": ok, "tolerance": f"{tol:g}",
               "checks": [dataclasses.asdict(c) for c in checks], "metrics": metric_rows, "notes": notes,
               "libraries": libraries, "holdout_rows": len(dataset.test), "train_rows": len(dataset.train),
               "model": rebuild.model, "estimator": manifest.get("estimator"), "params": rebuild.params,
               "seed": rebuild.seed, "task": rebuild.task, "target": rebuild.target,
               "features": list(rebuild.features), "snapshots": manifest["data"]["snapshots"],
               "recorded_sha": recorded_sha, "current_sha": current_sha}
    _report(config, runner, env, "reproduce.md.j2", context)
    runner.set_output("reproduced", ok)
    runner.set_output("model-version", version)
    if not ok:
        what = [c.name for c in checks if c.ok is False] + [r["metric"] for r in metric_rows if not r["ok"]]
        runner.error(f"{version} was not reproduced within tolerance {tol:g}: {', '.join(what)} differ",
                     title="not reproduced")
        return 1
    runner.notice(f"{version} reproduced within tolerance {tol:g}", title="reproduced")
    return 0


def _stored_model_checks(registry: Registry, version: str, manifest: Mapping[str, Any], dataset: Any,
                         record: Mapping[str, Any], config: Config, workdir: Path, notes: list[str]) -> list[Check]:
    """The stored model (sha256 checked, safe loader) should still predict what was recorded on the snapshot."""
    from ml_action.metrics import predict

    try:
        stored = registry.fetch_model(version, dict(manifest), workdir, config.allow_unsafe_model_format)
    except UserError as exc:
        notes.append(f"The stored model was not checked: {exc.problem}.")
        return []
    return compare_predictions(record, predict(stored, dataset.X_test, dataset.task), config.tolerance,
                               who="stored model")


def _report(config: Config, runner: Runner, env: Mapping[str, str], template: str, context: dict[str, Any]) -> None:
    from ml_action.modes import _footer, write_report
    from ml_action.report import ReportParts, render

    text = render(template, **context)
    runner.info(text)
    path = write_report(config, runner, ReportParts(head=text, details=[]), footer=_footer(env))
    root = config.workspace.resolve()
    runner.set_output("report-path", str(path.relative_to(root)) if path.is_relative_to(root) else str(path))


# ---------------------------------------------------------------------------------------------- diff


def _params(manifest: Mapping[str, Any]) -> dict[str, str]:
    out = {"model": str(manifest.get("model")), "estimator": str(manifest.get("estimator")),
           "seed": str(manifest.get("seed")), "task": str(manifest.get("task")),
           "target": str(manifest.get("target")), "features": ", ".join(manifest.get("features") or [])}
    out.update({k: str(v) for k, v in (manifest.get("estimator_params") or {}).items()})
    return out


def _changed(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[dict[str, str]]:
    keys = [*a, *[k for k in b if k not in a]]
    return [{"name": k, "old": _fmt(a.get(k)), "new": _fmt(b.get(k))} for k in keys if a.get(k) != b.get(k)]


def _short(key: str, value: Any) -> str:
    return f"`{value[:12]}…`" if key == "sha256" and value else _fmt(value)


def data_changes(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    """Rows, file hashes, snapshot hashes and schema of the two versions' data, split by split."""
    rows = []
    schema = []
    fa, fb = (a.get("data") or {}).get("fingerprints") or {}, (b.get("data") or {}).get("fingerprints") or {}
    sa, sb = (a.get("data") or {}).get("snapshots") or {}, (b.get("data") or {}).get("snapshots") or {}
    for split, label in (("train", "training data"), ("test", "holdout")):
        x, y = fa.get(split) or {}, fb.get(split) or {}
        for key, name in (("source", "source"), ("sha256", "file sha256"), ("rows", "file rows"),
                          ("split_rows", "rows after split"), ("columns", "columns")):
            if key in x or key in y:
                old, new = x.get(key), y.get(key)
                rows.append({"name": f"{label}: {name}", "old": _short(key, old), "new": _short(key, new),
                             "same": old == new})
        old, new = (sa.get(split) or {}).get("sha256"), (sb.get(split) or {}).get("sha256")
        rows.append({"name": f"{label}: snapshot", "old": f"`{old[:12]}…`" if old else "none",
                     "new": f"`{new[:12]}…`" if new else "none", "same": old == new or not old or not new})
        ta, tb = x.get("schema") or {}, y.get("schema") or {}
        for column in [*ta, *[c for c in tb if c not in ta]]:
            if ta.get(column) != tb.get(column):
                change = "added" if column not in ta else "removed" if column not in tb else "type changed"
                schema.append({"split": label, "column": column, "old": ta.get(column, "—"),
                               "new": tb.get(column, "—"), "change": change})
    return {"rows": rows, "schema": schema, "same_holdout": (fa.get("test") == fb.get("test")
                                                             and sa.get("test") == sb.get("test"))}


def drift_section(a: Mapping[str, Any], b: Mapping[str, Any], drift_share: float = 0.5) -> str | None:
    """Hook: when ``ml_action.drift`` is present (``compare_profiles``) and both manifests hold a data profile,
    the drift of ``b``'s training data against ``a``'s as markdown; otherwise ``None``."""
    try:
        from ml_action import drift  # type: ignore[attr-defined]
    except ImportError:
        return None
    compare_profiles = getattr(drift, "compare_profiles", None)
    old, new = (a.get("data") or {}).get("profile"), (b.get("data") or {}).get("profile")
    if compare_profiles is None or not old or not new:
        return None
    found = compare_profiles(old, new, b.get("target"), drift_share).to_dict()
    lines = [f"Drift of the training data (the stored profiles; `{a.get('version')}` is the reference): "
             f"{len(found['drifted_columns'])} of {found['n_tested']} columns drifted "
             f"(share {found['share']:.2f}; dataset drift {'**yes**' if found['dataset_drift'] else 'no'}).", ""]
    rows = [*found["columns"][:10], *([found["label"]] if found.get("label") else [])]
    if rows:
        lines += ["| column | test | score | threshold | drifted |", "| --- | --- | ---: | ---: | :---: |"]
        for c in rows:
            score = c["p_value"] if c["p_value"] is not None else c["statistic"]
            name = f"{c['column']} (label)" if c is found.get("label") else c["column"]
            shown = f"{score:.3g}" if isinstance(score, float) else "—"
            lines.append(f"| {name} | {c['test']} | {shown} | {c['threshold']:g} | "
                         f"{'🔴' if c['drifted'] else ''} |")
    return "\n".join(lines)


def diff(config: Config, runner: Runner, registry: Registry, env: Mapping[str, str], workdir: Path) -> int:
    """Params, metrics (with direction), data and library versions of ``from-version`` → ``to-version``."""
    from ml_action.compare import compare

    new_v = registry.resolve_version(config.to_version or "latest", "to-version")
    old_v = registry.resolve_version(config.from_version or "champion", "from-version")
    a, b = registry.manifest(old_v, "from-version"), registry.manifest(new_v, "to-version")
    params = _changed(_params(a), _params(b))
    rows = [dataclasses.asdict(r) for r in compare(b.get("metrics") or {}, a.get("metrics") or {})]
    data = data_changes(a, b)
    libraries = _changed(a.get("libraries") or {}, b.get("libraries") or {})
    context = {"model_name": config.model_name, "old": old_v, "new": new_v, "params": params,
               "unchanged_params": len(set(_params(a)) | set(_params(b))) - len(params), "metrics": rows,
               "primary": b.get("primary_metric"), "data": data, "drift": drift_section(a, b, config.drift_share),
               "libraries": libraries, "holdout": (a.get("holdout_rows"), b.get("holdout_rows")),
               "git": ((a.get("git") or {}).get("sha"), (b.get("git") or {}).get("sha"))}
    _report(config, runner, env, "diff.md.j2", context)
    runner.set_output("model-version", new_v)
    return 0

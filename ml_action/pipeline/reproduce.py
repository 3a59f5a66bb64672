"""What ``reproduce`` and ``diff`` compute (the modes themselves are ``ml_action.modes.reproduce``).

``reproduce`` rebuilds a published version from its manifest (model spec, params, seed, features, target,
task) and its data snapshot, through the same code path as ``evaluate`` (``make_model``/``fit``), predicts
the snapshot's holdout rows and compares predictions and metrics with the recorded ones within
``tolerance``. ``diff`` puts two versions' params, metrics, data and library versions side by side.

The holdout predictions a version records (``artifacts.prediction_record``) make ``reproduce`` checkable.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ml_action.adapters.registry import Registry
from ml_action.config import Config
from ml_action.core.fmt import exact
from ml_action.errors import DamagedObject, UserError, first_line
from ml_action.records.artifacts import DECIMALS, prediction_digest, prediction_labels
from ml_action.report import escape

if TYPE_CHECKING:
    from ml_action.pipeline.model_spec import Echo

# ---------------------------------------------------------------------------------------------- predictions


@dataclass
class Check:
    """One line of the reproduce report: what was recorded, what this run got, and whether they agree."""

    name: str
    recorded: str
    reproduced: str
    ok: bool | None  # None: informational, decides nothing


def close(a: float, b: float, tol: float) -> bool:
    return math.isclose(a, b, rel_tol=tol, abs_tol=tol)


def compare_predictions(record: Mapping[str, Any], preds: Any, tol: float, who: str = "rebuilt model") -> list[Check]:
    """The rebuilt model's holdout predictions against the record: rows, hash, then the sample within ``tol``."""
    import numpy as np

    labels = prediction_labels(preds)
    checks = [
        Check(
            f"holdout rows ({who})", escape.md(record.get("rows")), str(len(labels)), record.get("rows") == len(labels)
        )
    ]
    digest = prediction_digest(preds)
    if digest == record.get("sha256"):
        checks.append(
            Check(f"predictions sha256 ({who})", escape.code(f"{digest[:16]}…"), "identical, bit for bit", True)
        )
        return checks
    checks.append(
        Check(
            f"predictions sha256 ({who})",
            escape.code(f"{str(record.get('sha256'))[:16]}…"),
            f"{escape.code(f'{digest[:16]}…')} (differs: compared value by value below)",
            None,
        )
    )
    n = int(record.get("sample_rows") or 0)
    recorded = list(record.get("labels") or [])[:n]
    now = [round(x, DECIMALS) if isinstance(x, float) else x for x in labels[:n]]  # as the record was rounded
    if all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in recorded + now) and any(
        isinstance(x, float) for x in recorded + now
    ):
        worst = max((abs(a - b) for a, b in zip(recorded, now, strict=False)), default=0.0)
        ok = len(recorded) == len(now) and all(close(a, b, tol) for a, b in zip(recorded, now, strict=False))
        checks.append(Check(f"first {n} predictions ({who})", "recorded values", f"max abs Δ {worst:.3g}", ok))
    else:
        wrong = sum(1 for a, b in zip(recorded, now, strict=False) if a != b) + abs(len(recorded) - len(now))
        checks.append(
            Check(
                f"first {n} predicted labels ({who})",
                "recorded labels",
                "all equal" if not wrong else f"{wrong} differ",
                wrong == 0,
            )
        )
    if record.get("proba") is not None:
        if preds.proba is None:
            checks.append(
                Check(f"first {n} probabilities ({who})", "recorded", "the model has no predict_proba", False)
            )
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
    return [
        {"library": k, "recorded": str(recorded.get(k, "—")), "now": str(now.get(k, "—"))}
        for k in names
        if recorded.get(k) != now.get(k)
    ]


# ---------------------------------------------------------------------------------------------- reproduce


def rebuild_config(config: Config, manifest: Mapping[str, Any]) -> Config:
    return dataclasses.replace(
        config,
        model=manifest.get("model") or config.model,
        params=dict(manifest.get("params") or {}),
        seed=int(manifest.get("seed", config.seed)),
        task=manifest["task"],
        target=manifest["target"],
        features=tuple(manifest.get("features") or ()),
        drop=(),
        search={},
    )  # a searched version records its choice in `params`: no new search


def snapshot_dataset(manifest: Mapping[str, Any], frames: Mapping[str, Any], version: str) -> Any:
    from ml_action.pipeline.data import Dataset, sorted_classes

    features, target = list(manifest.get("features") or []), manifest["target"]
    for split, frame in frames.items():
        missing = [c for c in [*features, target] if c not in frame.columns]
        if missing:
            raise UserError(
                "to-version",
                f"the {split} data snapshot of version {version} lacks column(s) {', '.join(missing)}",
                "The manifest and the snapshot disagree; it cannot be rebuilt.",
            )
    train, test = frames["train"], frames["test"]
    classes = None
    if manifest["task"] == "classification":
        classes = sorted_classes(train[target])
    return Dataset(
        train=train,
        test=test,
        target=target,
        features=features,
        task=manifest["task"],
        fingerprints={},
        classes=classes,
    )


def refit(
    config: Config, manifest: Mapping[str, Any], dataset: Any, version: str, where: str, echo: Echo | None = None
) -> Any:
    """Build the model the manifest names (by ``model_spec``'s rule: a spec outside it means the manifest at
    ``where`` is damaged, and nothing of it is imported) and fit it on the snapshot's training rows."""
    from ml_action.pipeline.model import fit, make_model
    from ml_action.pipeline.model_spec import Refused

    sha = (manifest.get("git") or {}).get("sha") or "the recorded commit"
    try:
        model, _ = make_model(config, dataset.task, dataset.X_train, echo)
    except Refused as exc:
        if config.model != manifest.get("model"):  # the `model` input stood in for a manifest without one
            raise
        raise DamagedObject(where, f"`model`: {exc.problem}") from None
    except UserError as exc:
        if exc.input != "model" or ":" not in config.model:
            raise
        commit = escape.visible(sha, 64)
        raise UserError(
            "model",
            f"{exc.problem} (version {version} was built with the factory `{config.model}` from commit {commit})",
            f"Check out commit {commit} before this step (actions/checkout with "
            f"`ref: {commit}`) so the factory is the one the version was built with.",
        ) from None
    return fit(model, dataset.X_train, dataset.y_train)


def known_metrics(manifest: Mapping[str, Any]) -> list[str]:
    """The recorded metrics ml-action can compute (another name is shown as not reproduced, never looked up)."""
    from ml_action.core.metrics import METRICS

    return [name for name in manifest.get("metrics") or {} if name in METRICS]


def stored_model_checks(
    registry: Registry, version: str, manifest: Mapping[str, Any], dataset: Any, config: Config, workdir: Path
) -> tuple[list[Check], str | None]:
    """The stored model (sha256 checked, safe loader) on the snapshot's holdout: it should predict what was
    recorded, or, for a version published before predictions were recorded, score the recorded metrics.

    Returns the checks and, when the stored model could not be verified (missing, altered, refused by the
    loader, failing to predict), why: a ❌ check, so the version is not reported reproduced."""
    from ml_action.core.metrics import predict, score

    record, recorded = manifest.get("predictions"), manifest.get("metrics") or {}
    try:
        stored = registry.fetch_model(version, dict(manifest), workdir, config.allow_unsafe_model_format)
        preds = predict(stored, dataset.X_test, dataset.task)
        if record:
            return compare_predictions(record, preds, config.tolerance, who="stored model"), None
        metrics, _ = score(dataset.y_test, preds, dataset.task, known_metrics(manifest))
    except UserError as exc:
        problem = exc.problem
    except Exception as exc:  # a model from the registry is untrusted: whatever it raises, it is not verified
        problem = f"it failed on the holdout ({type(exc).__name__}: {first_line(exc)})"
    else:
        return [
            Check(
                f"{escape.md(name)} (stored model)",
                escape.md(exact(old)),
                escape.md(exact(metrics.get(name))),
                name in metrics and close(old, metrics[name], config.tolerance),
            )
            for name, old in recorded.items()
        ], None
    problem = escape.visible(problem, 1000)
    return [Check("stored model", "sha256 and safe load", f"not verified: {escape.md(problem, 1000)}", False)], problem


# ---------------------------------------------------------------------------------------------- diff


def params_of(manifest: Mapping[str, Any]) -> dict[str, str]:
    out = {
        "model": str(manifest.get("model")),
        "estimator": str(manifest.get("estimator")),
        "seed": str(manifest.get("seed")),
        "task": str(manifest.get("task")),
        "target": str(manifest.get("target")),
        "features": ", ".join(manifest.get("features") or []),
    }
    out.update({k: str(v) for k, v in (manifest.get("estimator_params") or {}).items()})
    search = manifest.get("search")
    if isinstance(search, dict):  # what was searched, and how: the chosen values are among the params above
        out.update(
            {
                "search method": str(search.get("method")),
                "search space": _json(search.get("space")),
                "search folds": str(search.get("folds")),
                "search candidates": str(search.get("candidates")),
            }
        )
    return out


def _json(value: Any) -> str:
    import json

    return json.dumps(value, sort_keys=True, default=str)


def changed(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[dict[str, str]]:
    keys = [*a, *[k for k in b if k not in a]]
    return [{"name": k, "old": exact(a.get(k)), "new": exact(b.get(k))} for k in keys if a.get(k) != b.get(k)]


def _short(key: str, value: Any) -> str:
    return escape.code(f"{str(value)[:12]}…") if key == "sha256" and value else escape.md(exact(value))


def _snapshot_cell(sha: str | None) -> str:
    return escape.code(f"{sha[:12]}…") if sha else "none"


def data_changes(
    a: Mapping[str, Any], b: Mapping[str, Any], old_v: str = "the base version", new_v: str = "the new version"
) -> dict[str, Any]:
    """Rows, file hashes, snapshot hashes and schema of the two versions' data, split by split, and what can be
    said of the holdouts: ``same``, ``differ`` or ``unknown``, with ``notes`` saying why (never both "data
    unchanged" and "the holdouts differ")."""
    rows = []
    schema = []
    fa, fb = (a.get("data") or {}).get("fingerprints") or {}, (b.get("data") or {}).get("fingerprints") or {}
    sa, sb = (a.get("data") or {}).get("snapshots") or {}, (b.get("data") or {}).get("snapshots") or {}
    notes: list[str] = []
    for split, label in (("train", "training data"), ("test", "holdout")):
        x, y = fa.get(split) or {}, fb.get(split) or {}
        for key, name in (
            ("source", "source"),
            ("sha256", "file sha256"),
            ("rows", "file rows"),
            ("split_rows", "rows after split"),
            ("columns", "columns"),
        ):
            if key in x or key in y:
                old, new = x.get(key), y.get(key)
                rows.append(
                    {"name": f"{label}: {name}", "old": _short(key, old), "new": _short(key, new), "same": old == new}
                )
        old, new = (sa.get(split) or {}).get("sha256"), (sb.get(split) or {}).get("sha256")
        # one side without a snapshot: its rows are unknown, neither "same" nor "changed"
        rows.append(
            {
                "name": f"{label}: snapshot",
                "old": _snapshot_cell(old),
                "new": _snapshot_cell(new),
                "same": old == new if (old and new) or (not old and not new) else None,
            }
        )
        if bool(old) != bool(new):
            missing = escape.code(old_v if not old else new_v)
            notes.append(
                f"{missing} has no {label} snapshot, so its {label} rows cannot be compared row by row; "
                "the comparison rests on the recorded fingerprints."
            )
        ta, tb = x.get("schema") or {}, y.get("schema") or {}
        for column in [*ta, *[c for c in tb if c not in ta]]:
            if ta.get(column) != tb.get(column):
                change = "added" if column not in ta else "removed" if column not in tb else "type changed"
                schema.append(
                    {
                        "split": label,
                        "column": column,
                        "old": ta.get(column, "—"),
                        "new": tb.get(column, "—"),
                        "change": change,
                    }
                )
    holdout = _holdout(fa, fb, (sa.get("test") or {}).get("sha256"), (sb.get("test") or {}).get("sha256"))
    if holdout == "same" and notes:
        same_train = (fa.get("train") or {}).get("sha256") == (fb.get("train") or {}).get("sha256")
        notes.append(
            (
                "The training data has the same sha256 and rows in both versions, and the holdout the same "
                "recorded fingerprint"
                if same_train
                else "The holdout has the same recorded fingerprint"
            )
            + ": the metrics were scored on the same holdout rows."
        )
    verdicts = [r["same"] for r in rows]
    summary = (
        "changed"
        if False in verdicts
        else "unchanged"
        if None not in verdicts
        else "unchanged as far as recorded (a snapshot is missing)"
    )
    return {
        "rows": rows,
        "schema": schema,
        "holdout": holdout,
        "same_holdout": holdout == "same",
        "summary": summary,
        "notes": notes,
    }


def _holdout(fa: Mapping[str, Any], fb: Mapping[str, Any], snap_a: str | None, snap_b: str | None) -> str:
    """``same``, ``differ`` or ``unknown``: the holdout rows of the two versions, from the snapshots when both
    have one, else from the recorded fingerprints (a split of ``data`` is the same rows when the file, the
    seed and the test size are)."""
    if snap_a and snap_b:
        return "same" if snap_a == snap_b else "differ"
    ta, tb = fa.get("test") or {}, fb.get("test") or {}
    if not ta or not tb:
        return "unknown"
    if ta != tb:
        return "differ"
    if "sha256" in ta:  # a separate holdout file, hashed
        return "same"
    sha_a, sha_b = (fa.get("train") or {}).get("sha256"), (fb.get("train") or {}).get("sha256")
    if not sha_a or not sha_b:
        return "unknown"
    return "same" if sha_a == sha_b else "differ"


def training_drift(a: Mapping[str, Any], b: Mapping[str, Any], drift_share: float = 0.5) -> dict[str, Any] | None:
    """The drift of ``b``'s training data against ``a``'s (their stored profiles), for ``diff.md.j2``;
    ``None`` when either manifest has no profile."""
    from ml_action.core.drift import compare_profiles

    old, new = (a.get("data") or {}).get("profile"), (b.get("data") or {}).get("profile")
    if not old or not new:
        return None
    found = compare_profiles(old, new, b.get("target"), drift_share).to_dict()
    label = found.get("label")
    rows = [{**c, "name": c["column"]} for c in found["columns"][:10]]
    if label:
        rows.append({**label, "name": f"{label['column']} (label)"})
    for row in rows:
        row["score"] = row["p_value"] if row["p_value"] is not None else row["statistic"]
    return {
        "reference": a.get("version"),
        "drifted": len(found["drifted_columns"]),
        "tested": found["n_tested"],
        "share": found["share"],
        "dataset_drift": found["dataset_drift"],
        "rows": rows,
    }

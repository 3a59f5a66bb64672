"""What the records say of an evaluation: the fields of the version's manifest (``evaluation_fields``; the
publish step adds where and when, ``provenance_fields``) and of the result bundle (``bundle_fields``). Each is
one function of the typed ``Evaluation``, never of the report's context."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ml_action.context import RunContext

if TYPE_CHECKING:
    from ml_action.pipeline.evaluation import Evaluation

MANIFEST_SCHEMA = 1


def evaluation_fields(ev: Evaluation, snapshots: dict[str, Any] | None = None) -> dict[str, Any]:
    """The manifest's fields that the evaluation decides: the model, the data, the metrics and the verdict."""
    from ml_action.records.provenance import library_versions

    config, dataset, candidate, champion = ev.config, ev.dataset, ev.candidate, ev.champion
    return {
        "schema": MANIFEST_SCHEMA,
        "model_name": config.model_name,
        "task": dataset.task,
        "target": dataset.target,
        "features": dataset.features,
        "classes": dataset.classes,
        "estimator": candidate.estimator,
        "model": config.model,
        "params": candidate.params,  # with a search's choice: no search to rebuild
        "estimator_params": candidate.estimator_params,
        "seed": config.seed,
        "primary_metric": ev.primary,
        "metrics": candidate.metrics,
        "holdout_rows": len(dataset.test),
        "compared_with": {"version": champion.version, "metrics": champion.metrics} if champion else None,
        "gates": ev.verdict.to_dict(),
        "cv": candidate.cv,
        "search": candidate.search.record() if candidate.search else None,  # space, method, seed, folds, choice
        "data": {"fingerprints": dataset.fingerprints, "profile": ev.checks.profile, "snapshots": snapshots},
        "config": config.resolved(),
        "libraries": library_versions(),
    }


def provenance_fields(ctx: RunContext, workspace: Path) -> dict[str, Any]:
    """Where and when a record was made: the time, the actor, the commit and the workflow run."""
    from ml_action.records.provenance import actor, git_info, run_info, utc_now

    return {"created_at": utc_now(), "by": actor(ctx), "git": git_info(ctx, workspace), "run": run_info(ctx)}


def bundle_fields(ev: Evaluation, ctx: RunContext, outputs: dict[str, Any]) -> dict[str, Any]:
    """What the result bundle records of this evaluation (``bundle.write`` adds the files and the holdout)."""
    from ml_action.records.artifacts import prediction_record

    found, champion = ev.checks, ev.champion
    drift = found.drift
    checks = {
        "leakage": found.leakage,
        "interval_note": ev.decision.intervals.primary_note,
        "drift": None
        if drift is None
        else {
            "dataset_drift": bool(drift.dataset_drift),
            "share": drift.share,
            "drifted_columns": list(drift.drifted_columns),
        },
    }
    version = {
        **evaluation_fields(ev),
        **provenance_fields(ctx, ev.config.workspace),
        "predictions": prediction_record(ev.candidate.preds),
    }
    return {
        "key": ev.config.comment_marker_key,
        "pull_request": ev.config.pr_number or ctx.pr_number,  # where ``mode: comment`` may post it
        "model_name": ev.config.model_name,
        "model": ev.config.model,
        "estimator": ev.candidate.estimator,
        "primary_metric": ev.primary,
        "metrics": ev.candidate.metrics,
        "outputs": dict(outputs),
        "checks": checks,
        "verdict": ev.verdict.to_dict(),
        "champion": {"version": champion.version, "metrics": champion.metrics} if champion else None,
        "version_fields": version,
    }

"""``mode: evaluate`` and ``mode: publish``.

``evaluate`` trains the candidate, re-scores the champion on the same holdout rows, applies the gates,
reports, and posts the sticky PR comment (or saves it to a file with the fork hint when it may not post);
``publish`` does that, then writes an immutable version and promotes it by compare-and-swap.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ml_action import bundle, evaluation
from ml_action.bundle import result_target
from ml_action.config import Config
from ml_action.context import RunContext
from ml_action.evaluation import Evaluation
from ml_action.posting import post_or_save
from ml_action.registry import Registry, model_sha256
from ml_action.report import build, write_report
from ml_action.runner import Runner


def evaluate(config: Config, ctx: RunContext, runner: Runner, registry: Registry | None, workdir: Path) -> int:
    """Evaluate the candidate against the champion and report; publishes nothing."""
    assert registry is not None, "cli opens the registry for this mode"
    result_target(config)  # a bad result-dir fails before any work
    ev = evaluation.train_and_compare(config, runner, registry, workdir, ctx.aws_env)
    evaluation.set_outputs(runner, ev)
    runner.set_output("promoted", False)
    return _finish(config, ctx, runner, ev)


def publish(config: Config, ctx: RunContext, runner: Runner, registry: Registry | None, workdir: Path) -> int:
    """Evaluate; when the gates pass, write an immutable version and promote it by compare-and-swap."""
    from ml_action.artifacts import save_model
    from ml_action.card import FILE as CARD
    from ml_action.card import write_card
    from ml_action.promotion import announce, recheck
    from ml_action.provenance import actor
    from ml_action.reference import FILE as REFERENCE
    from ml_action.reference import write_reference
    from ml_action.snapshot import enabled, store_snapshots

    assert registry is not None, "cli opens the registry for this mode"
    result_target(config)  # a bad result-dir fails before any work
    ev = evaluation.train_and_compare(config, runner, registry, workdir, ctx.aws_env)
    evaluation.set_outputs(runner, ev)
    if not ev.verdict.ok(config.on_inconclusive):
        runner.set_output("promoted", False)
        why = "the gates failed" if ev.verdict.failed() else "the gates were inconclusive (`on-inconclusive: fail`)"
        ev.context["published"] = f"Not published: {why}, so the champion is unchanged."
        return _finish(config, ctx, runner, ev)
    gates, _ = evaluation.gates_with_default(config, ev.primary)
    if ctx.github_actions and not config.is_s3:
        runner.warning(
            f"The registry '{config.registry}' is a folder in the runner's workspace, discarded when "
            "the job ends: later runs will not see this champion. Use `registry: s3://bucket/prefix`.",
            title="registry",
        )
    with runner.group("Publish"):
        model_path = workdir / "model.skops"
        model_sha = save_model(ev.model, model_path)
        snapshots = store_snapshots(registry, ev.dataset, workdir, runner.info) if enabled(config) else None
        fields = _manifest(ev, ctx, snapshots)
        fields["reference"] = write_reference(ev.dataset.y_test, ev.preds, workdir / REFERENCE)
        git = fields["git"]
        version = registry.allocate_version({"git_sha": git["sha"], "run_id": ctx.run_id or None})
        card = write_card(ev.model, {**fields, "version": version}, model_path, model_sha, workdir / CARD)
        manifest = registry.write_version(
            version, model_path, fields, extra_files={CARD: card, REFERENCE: workdir / REFERENCE}
        )
        runner.info(f"wrote version {version} to {registry.uri}")
    evaluated_against = ev.champion.version if ev.champion else None
    conflict_notes: list[str] = []
    ds = ev.dataset
    decide = recheck(
        config,
        registry,
        evaluated_against,
        ds.test,
        ds.target,
        ds.task,
        ds.classes,
        ev.metrics,
        ev.primary,
        ev.preds,
        gates,
        workdir,
        conflict_notes,
    )
    with runner.group("Promote"):
        sha = model_sha256(manifest, version)
        promotion = registry.swap_champion(
            version, sha, actor(ctx), "promote", decide, details={"git_sha": git["sha"], "run_id": ctx.run_id or None}
        )
    text = announce(runner, registry, version, promotion, f"Published `{version}`")
    card_url = registry.url_of(version, CARD)
    ev.context["published"] = "\n".join([*conflict_notes, text, "", f"Model card: [{CARD}]({card_url})"])
    return _finish(config, ctx, runner, ev)


# ---------------------------------------------------------------------------------------------- helpers


def _finish(config: Config, ctx: RunContext, runner: Runner, ev: Evaluation) -> int:
    """Render the report, write it and the outputs, comment; the exit code depends only on the gates."""
    parts = build(ev.context)
    write_report(config, ctx, runner, parts)
    evaluation.annotate_gates(runner, ev)
    runner.markdown(parts.head)
    # the comment (or the comment file) gets the same redaction as the log, summary and report
    url = post_or_save(
        config, ctx, runner.redact(parts.head), [runner.redact(d) for d in parts.details], runner.warning
    )
    if url:
        runner.info(f"PR comment: {url}")
    runner.set_output("comment-url", url or "")
    with runner.group("Result bundle"):
        folder = result_target(config)
        bundle.write(folder, model=ev.model, dataset=ev.dataset, preds=ev.preds, fields=_bundle_fields(ev, ctx, runner))
        runner.info(f"wrote the result bundle to {folder.relative_to(config.workspace.resolve())}")
    return 1 if (not ev.verdict.ok(config.on_inconclusive) and config.fail_on_gate) else 0


def _bundle_fields(ev: Evaluation, ctx: RunContext, runner: Runner) -> dict[str, Any]:
    """What the result bundle records of this evaluation (``bundle.write`` adds the files and the holdout)."""
    found = ev.checks
    drift = found.drift
    checks = {
        "leakage": found.leakage,
        "interval_note": found.interval_note,
        "drift": None
        if drift is None
        else {
            "dataset_drift": bool(drift.dataset_drift),
            "share": drift.share,
            "drifted_columns": list(drift.drifted_columns),
        },
    }
    champion = ev.champion
    return {
        "key": ev.config.comment_marker_key,
        "model_name": ev.config.model_name,
        "model": ev.config.model,
        "estimator": ev.context["estimator"],
        "primary_metric": ev.primary,
        "metrics": ev.metrics,
        "outputs": dict(runner.outputs),
        "checks": checks,
        "verdict": ev.verdict.to_dict(),
        "champion": {"version": champion.version, "metrics": champion.metrics} if champion else None,
        "version_fields": _manifest(ev, ctx),
    }


def _manifest(ev: Evaluation, ctx: RunContext, snapshots: dict[str, Any] | None = None) -> dict[str, Any]:
    from ml_action.artifacts import prediction_record
    from ml_action.provenance import actor, git_info, library_versions, run_info, utc_now

    config, dataset = ev.config, ev.dataset
    champion = ev.champion
    return {
        "schema": 1,
        "model_name": config.model_name,
        "created_at": utc_now(),
        "by": actor(ctx),
        "git": git_info(ctx, config.workspace),
        "run": run_info(ctx),
        "task": dataset.task,
        "target": dataset.target,
        "features": dataset.features,
        "classes": dataset.classes,
        "estimator": ev.context["estimator"],
        "model": config.model,
        "params": ev.context.get("model_params", dict(config.params)),  # with a search's choice: no search to rebuild
        "estimator_params": ev.context["params"],
        "seed": config.seed,
        "primary_metric": ev.primary,
        "metrics": ev.metrics,
        "holdout_rows": len(dataset.test),
        "compared_with": {"version": champion.version, "metrics": champion.metrics} if champion else None,
        "gates": ev.verdict.to_dict(),
        "cv": ev.context["cv"],
        "search": ev.context.get("search_record"),  # space, method, seed, folds, chosen parameters
        "data": {"fingerprints": dataset.fingerprints, "profile": ev.context.get("profile"), "snapshots": snapshots},
        "config": config.resolved(),
        "libraries": library_versions(),
        "predictions": prediction_record(ev.preds),
    }

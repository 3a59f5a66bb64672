"""``mode: evaluate`` and ``mode: publish``.

``evaluate`` trains the candidate, re-scores the champion on the same holdout rows, applies the gates,
reports, and posts the sticky PR comment (or saves it to a file with the fork hint when it may not post);
``publish`` does that, then writes an immutable version and promotes it by compare-and-swap.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ml_action import evaluation, github_api
from ml_action.comment import fit_comment, marker, pr_marker
from ml_action.config import Config, confine
from ml_action.context import RunContext
from ml_action.evaluation import Evaluation
from ml_action.registry.base import Registry
from ml_action.report import build, comment_footer, write_report
from ml_action.runner import Runner


def evaluate(config: Config, ctx: RunContext, runner: Runner, registry: Registry | None, workdir: Path) -> int:
    """Evaluate the candidate against the champion and report; publishes nothing."""
    assert registry is not None, "cli opens the registry for this mode"
    ev = evaluation.train_and_compare(config, runner, registry, workdir, ctx.aws_env)
    evaluation.set_outputs(runner, ev)
    runner.set_output("promoted", False)
    return _finish(config, ctx, runner, ev)


def publish(config: Config, ctx: RunContext, runner: Runner, registry: Registry | None, workdir: Path) -> int:
    """Evaluate; when the gates pass, write an immutable version and promote it by compare-and-swap."""
    from ml_action.artifacts import save_model
    from ml_action.card import FILE as CARD
    from ml_action.card import write_card
    from ml_action.checks import Checks, confidence
    from ml_action.compare import NOT_PROMOTED, champion_checks, score_champion, verdict
    from ml_action.provenance import actor
    from ml_action.reference import FILE as REFERENCE
    from ml_action.reference import write_reference
    from ml_action.snapshot import enabled, store_snapshots

    assert registry is not None, "cli opens the registry for this mode"
    ev = evaluation.train_and_compare(config, runner, registry, workdir, ctx.aws_env)
    evaluation.set_outputs(runner, ev)
    if not ev.verdict.ok(config.on_inconclusive):
        runner.set_output("promoted", False)
        why = "the gates failed" if ev.verdict.failed() else "the gates were inconclusive (`on-inconclusive: fail`)"
        ev.context["published"] = f"Not published: {why}, so the champion is unchanged."
        return _finish(config, ctx, runner, ev)
    gates, _ = evaluation.gates_with_default(config, ev.primary)
    if ctx.github_actions and not config.is_s3:
        runner.warning(f"The registry '{config.registry}' is a folder in the runner's workspace, discarded when "
                       "the job ends: later runs will not see this champion. Use `registry: s3://bucket/prefix`.",
                       title="registry")
    with runner.group("Publish"):
        model_path = workdir / "model.skops"
        model_sha = save_model(ev.model, model_path)
        snapshots = store_snapshots(registry, ev.dataset, workdir, runner.info) if enabled(config) else None
        fields = _manifest(ev, ctx, snapshots)
        fields["reference"] = write_reference(ev.dataset.y_test, ev.preds, workdir / REFERENCE)
        git = fields["git"]
        version = registry.allocate_version({"git_sha": git["sha"], "run_id": ctx.run_id or None})
        card = write_card(ev.model, {**fields, "version": version}, model_path, model_sha, workdir / CARD)
        manifest = registry.write_version(version, model_path, fields,
                                          extra_files={CARD: card, REFERENCE: workdir / REFERENCE})
        runner.info(f"wrote version {version} to {registry.uri}")
    evaluated_against = ev.champion.version if ev.champion else None
    conflict_notes: list[str] = []

    def decide(current: dict[str, Any] | None) -> tuple[bool, str]:
        now = current.get("version") if current else None
        if now == evaluated_against:
            return True, ""
        # another run promoted first: compare with the new champion on our rows before replacing it
        note = f"Another run promoted `{now}` while this one ran; re-compared against it."
        if note not in conflict_notes:
            conflict_notes.append(note)
        if current is None:
            return True, ""
        ds = ev.dataset
        rescored = score_champion(registry, current, ds.test, ds.target, ds.task, ds.classes, list(ev.metrics),
                                  workdir, config.allow_unsafe_model_format)
        found = Checks(profile={})
        confidence(config, ds, ev.primary, ev.preds, rescored, found, gates)
        again = verdict(gates, ev.metrics, rescored.metrics if rescored.comparable else None, ds.task,
                        extra=champion_checks(rescored, NOT_PROMOTED), intervals=found.intervals,
                        interval_notes=found.interval_notes)
        if again.ok(config.on_inconclusive):
            return True, ""
        reasons = "; ".join(g.reason for g in again.failed() or again.inconclusive())
        return False, f"the newer champion `{now}` is at least as good ({reasons})"

    with runner.group("Promote"):
        sha = manifest["artifacts"]["model.skops"]["sha256"]
        promotion = registry.swap_champion(version, sha, actor(ctx), "promote", decide,
                                           details={"git_sha": git["sha"], "run_id": ctx.run_id or None})
    uri = registry.store.url(registry.key("versions", version))
    runner.set_output("model-version", version)
    runner.set_output("model-uri", uri)
    runner.set_output("promoted", promotion.promoted)
    if promotion.promoted:
        runner.set_output("champion-version", version)
        text = (f"Published `{version}` ({uri}) and promoted it to champion"
                f"{f', replacing `{promotion.previous}`' if promotion.previous else ''}.")
        runner.notice(text, title="model promoted")
    else:
        now = promotion.champion.get("version") if promotion.champion else ""
        runner.set_output("champion-version", now)
        text = f"Published `{version}` ({uri}) but did not promote it: {promotion.reason}."
        runner.warning(text, title="not promoted")
    card_url = registry.store.url(registry.key("versions", version, CARD))
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
    url = post_or_save(config, ctx, runner.redact(parts.head), [runner.redact(d) for d in parts.details],
                       runner.warning)
    if url:
        runner.info(f"PR comment: {url}")
    runner.set_output("comment-url", url or "")
    return 1 if (not ev.verdict.ok(config.on_inconclusive) and config.fail_on_gate) else 0


def _manifest(ev: Evaluation, ctx: RunContext, snapshots: dict[str, Any] | None = None) -> dict[str, Any]:
    from ml_action.artifacts import prediction_record
    from ml_action.provenance import actor, git_info, library_versions, run_info
    from ml_action.registry.store import utc_now

    config, dataset = ev.config, ev.dataset
    champion = ev.champion
    return {
        "schema": 1, "model_name": config.model_name, "created_at": utc_now(), "by": actor(ctx),
        "git": git_info(ctx, config.workspace), "run": run_info(ctx),
        "task": dataset.task, "target": dataset.target, "features": dataset.features, "classes": dataset.classes,
        "estimator": ev.context["estimator"], "model": config.model,
        "params": ev.context.get("model_params", dict(config.params)),  # with a search's choice: no search to rebuild
        "estimator_params": ev.context["params"], "seed": config.seed,
        "primary_metric": ev.primary, "metrics": ev.metrics, "holdout_rows": len(dataset.test),
        "compared_with": {"version": champion.version, "metrics": champion.metrics} if champion else None,
        "gates": ev.verdict.to_dict(), "cv": ev.context["cv"],
        "search": ev.context.get("search_record"),  # space, method, seed, folds, chosen parameters
        "data": {"fingerprints": dataset.fingerprints, "profile": ev.context.get("profile"), "snapshots": snapshots},
        "config": config.resolved(), "libraries": library_versions(), "predictions": prediction_record(ev.preds),
    }


def _save(config: Config, body: str) -> Path:
    path = confine(config.workspace, config.comment_file, "comment-file")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")
    return path


def _fork_hint(path: Path, config: Config) -> str:
    return (f"The comment was saved to {path.relative_to(config.workspace.resolve())}. For a pull request from a "
            "fork, upload that file as an artifact (actions/upload-artifact) and post it from a `workflow_run` "
            "workflow that runs ml-action with `mode: comment` (see examples/workflows/fork-comment.yml). "
            "For a PR from this repository, give the job `permissions: pull-requests: write`.")


def post_or_save(config: Config, ctx: RunContext, head: str, details: list[str],
                 warn: Callable[[str], None]) -> str | None:
    """Post (or update) the sticky PR comment; returns its URL, or ``None`` when nothing was posted.

    No PR (push, schedule) or ``comment-mode: off`` → ``None``. No token, or a token that may not write
    (403, as for fork PRs) → the body goes to ``comment-file`` and ``warn`` says how to post it.
    Other failures after retries → a warning with the reason. GitHub trouble never raises: the job's
    result depends on the gates only. A ``comment-file`` outside the workspace is a ``UserError``.
    """
    pr = config.pr_number or ctx.pr_number
    if config.comment_mode == "off" or pr is None:
        return None
    confine(config.workspace, config.comment_file, "comment-file")  # a bad path fails the same way every run
    key = config.comment_marker_key
    body = fit_comment(head, details, comment_footer(ctx), key=key).replace(
        marker(key), f"{marker(key)}\n{pr_marker(pr)}", 1)
    if not config.github_token or not ctx.repository:
        path = _save(config, body)
        missing = "`github-token` is empty" if not config.github_token else "GITHUB_REPOSITORY is not set"
        warn(f"The PR comment was not posted: {missing}. {_fork_hint(path, config)}")
        return None
    try:
        gh = github_api.client(config.github_token, ctx)
        return github_api.upsert_comment(gh, ctx.repository, pr, body, key, config.comment_mode,
                                         login=ctx.github_login).url
    except github_api.GitHubError as exc:
        path = _save(config, body)
        saved = f"The comment was saved to {path.relative_to(config.workspace.resolve())}."
        if exc.status is None:
            warn(f"The PR comment was not posted: {exc.message}. {saved}")
        elif exc.status == 403 and not exc.rate_limited:
            warn(f"The PR comment was not posted: the token may not write to pull requests "
                 f"({exc.message}). {_fork_hint(path, config)}")
        else:
            warn(f"The PR comment was not posted: GitHub answered {exc.status} ({exc.message}). {saved}")
    return None

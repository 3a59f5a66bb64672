"""``mode: evaluate`` and ``mode: publish``.

``evaluate`` trains the candidate, re-scores the champion on the same holdout rows, applies the gates,
reports, and posts the sticky PR comment (or saves it to a file with the fork hint when it may not post);
``publish`` does that, then writes an immutable version and promotes it by compare-and-swap
(``publishing.publish``).
"""

from __future__ import annotations

from pathlib import Path

from ml_action.adapters.posting import post_or_save, write_report
from ml_action.adapters.registry import Registry
from ml_action.adapters.runner import Runner
from ml_action.config import Config
from ml_action.context import RunContext
from ml_action.pipeline import evaluation
from ml_action.pipeline.evaluation import Evaluation
from ml_action.records import bundle
from ml_action.records.bundle import result_target
from ml_action.report.evaluation_report import outputs, report_context
from ml_action.report.markdown import build


def evaluate(config: Config, ctx: RunContext, runner: Runner, registry: Registry | None, workdir: Path) -> int:
    """Evaluate the candidate against the champion and report; publishes nothing."""
    ev = _evaluate(config, ctx, runner, registry, workdir)
    runner.set_output("promoted", False)
    return _finish(config, ctx, runner, ev, None)


def publish(config: Config, ctx: RunContext, runner: Runner, registry: Registry | None, workdir: Path) -> int:
    """Evaluate; when the gates pass, write an immutable version and promote it by compare-and-swap."""
    from ml_action.pipeline.publishing import Release
    from ml_action.pipeline.publishing import publish as publish_release
    from ml_action.records.artifacts import save_model
    from ml_action.records.version_fields import evaluation_fields

    ev = _evaluate(config, ctx, runner, registry, workdir)
    assert registry is not None
    if not ev.passed:
        runner.set_output("promoted", False)
        why = "the gates failed" if ev.verdict.failed() else "the gates were inconclusive (`on-inconclusive: fail`)"
        return _finish(config, ctx, runner, ev, f"Not published: {why}, so the champion is unchanged.")
    model_path = workdir / "model.skops"
    release = Release(
        model=ev.candidate.model,
        model_path=model_path,
        model_sha256=save_model(ev.candidate.model, model_path),
        fields=evaluation_fields(ev),
        holdout=ev.holdout,
        preds=ev.candidate.preds,
        metrics=ev.candidate.metrics,
        rules=ev.rules,
        evaluated_against=ev.champion.version if ev.champion else None,
        dataset=ev.dataset,
    )
    published = publish_release(release, config=config, ctx=ctx, runner=runner, registry=registry, workdir=workdir)
    return _finish(config, ctx, runner, ev, published)


# ---------------------------------------------------------------------------------------------- helpers


def _evaluate(config: Config, ctx: RunContext, runner: Runner, registry: Registry | None, workdir: Path) -> Evaluation:
    """The evaluation both modes start with, its outputs set."""
    from ml_action.adapters.registry import data_fetcher

    assert registry is not None, "cli opens the registry for this mode"
    result_target(config)  # a bad result-dir fails before any work
    ev = evaluation.train_and_compare(config, runner, registry, workdir, data_fetcher(config, workdir, ctx.aws_env))
    for name, value in outputs(ev).items():
        runner.set_output(name, value)
    return ev


def _finish(config: Config, ctx: RunContext, runner: Runner, ev: Evaluation, published: str | None) -> int:
    """Render the report, write it and the outputs, comment; the exit code depends only on the gates."""
    from ml_action.records.version_fields import bundle_fields

    parts = build(report_context(ev, published))
    write_report(config, ctx, runner, parts)
    _annotate_gates(runner, ev)
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
        fields = bundle_fields(ev, ctx, runner.outputs)
        bundle.write(folder, model=ev.candidate.model, dataset=ev.dataset, preds=ev.candidate.preds, fields=fields)
        runner.info(f"wrote the result bundle to {folder.relative_to(config.workspace.resolve())}")
    return 1 if (not ev.passed and config.fail_on_gate) else 0


def _annotate_gates(runner: Runner, ev: Evaluation) -> None:
    from ml_action.pipeline.checks import INCONCLUSIVE_ADVICE

    for gate in ev.verdict.failed():
        runner.error(gate.reason, title=f"gate failed: {gate.rule}")
    for gate in ev.verdict.inconclusive():
        runner.warning(f"{gate.rule}: {gate.reason}. {INCONCLUSIVE_ADVICE}", title="inconclusive")
    for gate in ev.verdict.gates:
        if gate.passed and gate.note == "warning":
            runner.warning(gate.reason, title=f"gate warning: {gate.rule}")

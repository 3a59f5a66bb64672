"""The one publish path, for ``publish`` and the leaderboard's winner: store the data snapshots, write the
reference rows and the model card beside the model as an immutable version, then promote it to champion by
compare-and-swap (re-deciding against a champion that changed meanwhile, ``promotion.recheck``) and announce
what happened. A crash at any point leaves the old champion in place: the pointer is written last."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ml_action.adapters.runner import Runner
from ml_action.config import Config
from ml_action.context import RunContext
from ml_action.core.decision import Holdout, Rules
from ml_action.core.metrics import Predictions

if TYPE_CHECKING:
    from ml_action.adapters.registry import Registry
    from ml_action.pipeline.data import Dataset


@dataclass(frozen=True)
class Release:
    """A judged model ready to publish: the saved file, the manifest's fields the judgement gives (without
    provenance, added here), and what a re-check against a newer champion needs."""

    model: Any
    model_path: Path  # the saved model (skops), in the run's work folder
    model_sha256: str
    fields: dict[str, Any]
    holdout: Holdout
    preds: Predictions
    metrics: dict[str, float]
    rules: Rules
    evaluated_against: str | None  # the champion it was compared with
    dataset: Dataset | None = None  # its rows are snapshotted when ``snapshot-data`` is on
    winner: str | None = None  # the leaderboard key, when it is a leaderboard's winner


def publish(
    release: Release, *, config: Config, ctx: RunContext, runner: Runner, registry: Registry, workdir: Path
) -> str:
    """Write ``release`` as a new version and promote it; return the report's sentences on it."""
    from ml_action.adapters.registry import model_sha256
    from ml_action.pipeline.promotion import announce, recheck
    from ml_action.records.artifacts import prediction_record
    from ml_action.records.card import FILE as CARD
    from ml_action.records.card import write_card
    from ml_action.records.provenance import actor
    from ml_action.records.reference import FILE as REFERENCE
    from ml_action.records.reference import write_reference
    from ml_action.records.snapshot import enabled, store_snapshots
    from ml_action.records.version_fields import provenance_fields

    if ctx.github_actions and not config.is_s3:
        runner.warning(
            f"The registry '{config.registry}' is a folder in the runner's workspace, discarded when "
            "the job ends: later runs will not see this champion. Use `registry: s3://bucket/prefix`.",
            title="registry",
        )
    with runner.group("Publish"):
        fields = {**release.fields, **provenance_fields(ctx, config.workspace)}
        fields["predictions"] = prediction_record(release.preds)
        if release.dataset is not None and enabled(config):
            snapshots = store_snapshots(registry, release.dataset, workdir, runner.info)
            fields["data"] = {**fields.get("data", {}), "snapshots": snapshots}
        fields["reference"] = write_reference(release.holdout.y, release.preds, workdir / REFERENCE)
        git = fields["git"]
        details = {"git_sha": git["sha"], "run_id": ctx.run_id or None}
        version = registry.allocate_version(details)
        card = write_card(
            release.model, {**fields, "version": version}, release.model_path, release.model_sha256, workdir / CARD
        )
        manifest = registry.write_version(
            version, release.model_path, fields, extra_files={CARD: card, REFERENCE: workdir / REFERENCE}
        )
        runner.info(f"wrote version {version}{f' ({release.winner})' if release.winner else ''} to {registry.uri}")
    notes: list[str] = []
    decide = recheck(
        registry=registry,
        holdout=release.holdout,
        preds=release.preds,
        metrics=release.metrics,
        rules=release.rules,
        evaluated_against=release.evaluated_against,
        workdir=workdir,
        allow_unsafe=config.allow_unsafe_model_format,
        notes=notes,
    )
    with runner.group("Promote"):
        sha = model_sha256(manifest, version)
        promotion = registry.swap_champion(version, sha, actor(ctx), "promote", decide, details=details)
    what = "Published the winner as" if release.winner else "Published"
    text = announce(runner, registry, version, promotion, f"{what} `{version}`")
    card_url = registry.url_of(version, CARD)
    return "\n".join([*notes, text, "", f"Model card: [{CARD}]({card_url})"])

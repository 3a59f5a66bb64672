"""The champion as a decision sees it: whether its manifest lets it be compared with this run at all, and
its predictions and metrics on the same labelled rows as the candidate (the holdout, or monitor's fresh
rows). Pure: the orchestrator loads the model (``ml_action.pipeline.rescore``) and hands it in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ml_action.core.compare import CHECK, GateResult
from ml_action.core.metrics import Predictions
from ml_action.errors import first_line

if TYPE_CHECKING:
    import pandas as pd

NOT_PROMOTED = (
    "a model that cannot be compared with production is not promoted (publish under a new "
    "`model-name` if the change is deliberate)"
)


@dataclass
class ChampionScore:
    """The champion re-scored on labelled rows (the candidate's holdout, or monitor's fresh data).

    ``reason`` says why it is not ``comparable`` (another task or target, labels re-encoded, or it could not
    predict); ``missing_features`` lists the columns it needs that the rows lack; ``notes`` are its metrics'
    notes (``metrics.score``)."""

    pointer: dict[str, Any]
    manifest: dict[str, Any]
    metrics: dict[str, float] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    missing_features: list[str] = field(default_factory=list)
    preds: Predictions | None = None
    comparable: bool = True
    reason: str = ""

    @property
    def version(self) -> str:
        return str(self.pointer["version"])

    @property
    def scored_metrics(self) -> dict[str, float] | None:
        """Its metrics when it was scored on these rows, else ``None`` (nothing to compare with)."""
        return self.metrics if self.comparable else None

    @property
    def features(self) -> list[str]:
        return [str(c) for c in self.manifest.get("features") or []]


def assess(
    pointer: Mapping[str, Any],
    manifest: dict[str, Any],
    columns: list[Any],
    target: str,
    task: str,
    classes: list[Any] | None,
) -> ChampionScore:
    """The champion before it is loaded: not ``comparable`` when it is another task, predicts another target,
    its labels share none with these, or it needs a column of its features that ``columns`` lack. Only a
    comparable one is worth loading."""
    result = ChampionScore(pointer=dict(pointer), manifest=manifest)
    recorded = manifest.get("classes")
    if manifest.get("task") not in (None, task):
        result.reason = f"the champion is a {manifest.get('task')} model; this run is {task}"
    elif manifest.get("target") not in (None, target):
        result.reason = f"the champion predicts '{manifest['target']}', this run '{target}'"
    elif task == "classification" and recorded and not set(map(str, recorded)) & set(map(str, classes or [])):
        result.reason = (
            f"the champion's labels ({', '.join(map(str, recorded[:5]))}) share none with this "
            f"data's ({', '.join(map(str, (classes or [])[:5]))}): the target was re-encoded"
        )
    if result.reason:
        result.comparable = False
        return result
    present = set(columns)
    result.missing_features = [c for c in manifest.get("features") or [] if c not in present]
    result.comparable = not result.missing_features
    return result


def score(
    champion: ChampionScore, model: Any, rows: pd.DataFrame, target: str, task: str, names: list[str]
) -> ChampionScore:
    """Score a comparable champion's loaded ``model`` on ``rows`` (features + ``target``); not comparable,
    with the reason, when it cannot predict on them."""
    from ml_action.core.metrics import predict
    from ml_action.core.metrics import score as score_metrics

    used = champion.manifest.get("features") or []
    X = rows[used] if used else rows.drop(columns=[target])
    try:
        champion.preds = predict(model, X, task)
        champion.metrics, champion.notes = score_metrics(rows[target], champion.preds, task, names)
    except (ValueError, KeyError, TypeError) as exc:
        champion.comparable = False
        champion.reason = f"the champion could not predict on these rows ({first_line(exc, 200)})"
    return champion


def champion_checks(champion: ChampionScore | None, consequence: str = "") -> list[GateResult]:
    """A failed check when the champion could not be scored; ``consequence`` says what that means here."""
    if champion is None:
        return []
    tail = f"; {consequence}" if consequence else ""
    if champion.missing_features:
        cols = ", ".join(champion.missing_features)
        return [
            GateResult(
                "champion features present",
                CHECK,
                False,
                f"feature(s) {cols} used by champion {champion.version} are missing from the data{tail}",
            )
        ]
    if not champion.comparable:
        return [
            GateResult(
                "champion comparable",
                CHECK,
                False,
                f"champion {champion.version} could not be scored on these rows: "
                f"{champion.reason or 'unknown reason'}{tail}",
            )
        ]
    return []

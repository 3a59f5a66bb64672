"""The champion re-scored on this run's rows: read its manifest (the pointer's sha256 must equal the
manifest's), load its model only when it can be compared (sha256 checked, restricted loader:
``Registry.fetch_model``), score it (``ml_action.core.champion``). The one place a decision's champion comes from
the registry, for evaluate, the promotion re-check, the leaderboard and monitor."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ml_action.core import champion as core

if TYPE_CHECKING:
    import pandas as pd

    from ml_action.adapters.registry import Registry
    from ml_action.core.champion import ChampionScore


def score_champion(
    registry: Registry,
    pointer: Mapping[str, Any],
    rows: pd.DataFrame,
    target: str,
    task: str,
    classes: list[Any] | None,
    names: list[str],
    workdir: Path,
    allow_unsafe: bool = False,
) -> ChampionScore:
    """The champion ``pointer`` names, scored on ``rows`` (features + ``target``) with the metrics ``names``;
    not comparable, with the reason, when its manifest or its predictions rule a comparison out."""
    from ml_action.adapters.registry import pointed_model_sha256

    version = str(pointer["version"])
    manifest = registry.manifest(version, "registry")
    pointed_model_sha256(pointer, manifest, "champion")  # a pointer and a manifest that disagree: altered
    found = core.assess(pointer, manifest, list(rows.columns), target, task, classes)
    if not found.comparable:
        return found
    model = registry.fetch_model(version, manifest, workdir, allow_unsafe)
    return core.score(found, model, rows, target, task, names)

"""The reference rows the monitor compares fresh data with, and the interval of (fresh − reference).

At publish the holdout's true labels and the model's predictions on them (labels or values, and the class
probabilities when the model has them) are written as ``reference.parquet`` beside the model; the registry
lists it with its sha256 in the manifest's ``artifacts`` and ``reference`` describes it (rows, columns,
class order). With them ``mode: monitor`` recomputes any metric on the reference rows and resamples them
and the fresh rows independently (``stats.two_sample_bootstrap``), so the reference's own noise is in the
interval: a fixed number recorded from an 800-row holdout is not a fixed truth.

The file comes from the registry, so it is untrusted: its sha256 is checked before it is read, and a file
whose shape does not match its description is not used (the monitor falls back to the recorded metrics).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ml_action.errors import UserError
from ml_action.records.artifacts import sha256_file

if TYPE_CHECKING:
    from ml_action.adapters.registry import Registry
    from ml_action.core.stats import TwoSampleResult

FILE = "reference.parquet"
TARGET, LABEL = "y_true", "prediction"


def write_reference(y_true: Any, preds: Any, path: Path) -> dict[str, Any]:
    """Write the holdout labels and ``preds`` (``metrics.Predictions``) to ``path``; return the description."""
    import numpy as np
    import pandas as pd

    from ml_action.records.snapshot import write_parquet

    columns: dict[str, Any] = {TARGET: np.asarray(y_true), LABEL: np.asarray(preds.labels)}
    proba = None if preds.proba is None else np.asarray(preds.proba, dtype="float64")
    if proba is not None and proba.ndim == 2:
        for i in range(proba.shape[1]):
            columns[f"proba_{i}"] = proba[:, i]
    write_parquet(pd.DataFrame(columns), path)
    classes = None if preds.classes is None else np.asarray(preds.classes).tolist()
    return {
        "file": FILE,
        "rows": int(len(columns[TARGET])),
        "proba_columns": 0 if proba is None else proba.shape[1],
        "classes": classes,
    }


def read_reference(registry: Registry, version: str, manifest: dict[str, Any], workdir: Path) -> tuple[Any, Any] | str:
    """``(y_true, Predictions)`` kept with ``version``, or why there are none (a reason for the report).

    A file that is listed but missing or altered (sha256) is an error in the registry, as for the model.
    """
    from ml_action.core.metrics import Predictions
    from ml_action.records.snapshot import read_parquet

    info = manifest.get("reference")
    artifact = (manifest.get("artifacts") or {}).get(FILE)
    if not isinstance(info, dict) or not isinstance(artifact, dict) or not artifact.get("sha256"):
        return f"version {version} was published without reference rows (before ml-action kept them)"
    dest = workdir / f"{version}-{FILE}"
    if not registry.download_artifact(version, FILE, dest):
        raise UserError(
            "registry",
            f"the reference rows of version {version} are missing from {registry.uri}",
            "Publish the model again, or roll back to another version.",
        )
    if sha256_file(dest) != artifact["sha256"]:
        raise UserError(
            "registry",
            f"the reference rows of version {version} do not match the sha256 in its manifest: the file was altered",
            "Publish the model again from a trusted run.",
        )
    from ml_action.records.record_check import BadField, check_reference

    try:
        check_reference(info)  # registry.schema checked it too: the numbers below size nothing unchecked
    except BadField as exc:
        return f"the reference rows of version {version} do not match their description ({exc})"
    try:
        if nested_columns(dest):
            return f"the reference rows of version {version} have columns of lists or records"
        frame = read_parquet(dest)
    except (OSError, ValueError) as exc:
        return f"the reference rows of version {version} could not be read ({type(exc).__name__})"
    width = int(info.get("proba_columns") or 0)
    classes = info.get("classes")
    if len(frame.columns) != width + 2:  # before a list of `width` names is built from the manifest's number
        return f"the reference rows of version {version} do not match their description"
    wanted = [TARGET, LABEL, *(f"proba_{i}" for i in range(width))]
    if (
        list(frame.columns) != wanted
        or len(frame) != info.get("rows")
        or not len(frame)
        or (width and (not isinstance(classes, list) or len(classes) != width))
    ):
        return f"the reference rows of version {version} do not match their description"
    proba = frame[wanted[2:]].to_numpy(dtype="float64") if width else None
    return frame[TARGET].to_numpy(), Predictions(labels=frame[LABEL].to_numpy(), proba=proba, classes=classes)


def nested_columns(path: Path) -> list[str]:
    """The columns of a Parquet file that hold lists, maps or records (read from its schema only)."""
    import pyarrow.parquet as pq

    return [field.name for field in pq.read_schema(path) if field.type.num_fields]


def fresh_vs_reference(
    metric_name: str, reference: tuple[Any, Any], fresh: tuple[Any, Any], resamples: int, seed: int, confidence: float
) -> TwoSampleResult | str:
    """The two-sample interval of ``metric(fresh) − metric(reference)``, or why it cannot be computed."""
    from ml_action.core.metrics import METRICS, metric_function
    from ml_action.core.stats import two_sample_bootstrap
    from ml_action.errors import first_line

    metric = METRICS[metric_name]
    (y_ref, p_ref), (y_new, p_new) = reference, fresh
    classes = p_new.classes
    if metric.needs_proba:
        if p_ref.proba is None or p_new.proba is None:
            return f"{metric_name} needs class probabilities, which the reference rows do not hold"
        if [str(c) for c in p_ref.classes or []] != [str(c) for c in classes or []]:
            return "the reference rows were scored with other classes than the champion has"
        a, b = p_ref.proba, p_new.proba
    else:
        a, b = p_ref.labels, p_new.labels
    try:
        return two_sample_bootstrap(
            y_ref,
            a,
            y_new,
            b,
            metric_function(metric_name, classes),
            metric.greater_is_better,
            n_resamples=resamples,
            seed=seed,
            confidence=confidence,
            metric_name=metric_name,
            classes=classes,
        )
    except (ValueError, TypeError) as exc:
        return f"the interval could not be computed ({first_line(exc, 200)})"

"""Result bundles: what one evaluation leaves behind for ``mode: leaderboard`` — write, read back, verify.

A bundle is a folder (``result-dir``) with a fixed set of files and ``bundle.json`` tying them together:

- ``model.skops``          the fitted candidate (skops), loaded only after its sha256 check
- ``holdout.parquet``      the holdout rows (every column of the data): the champion is re-scored on them at
                           leaderboard time, so every candidate meets the *current* champion, and the
                           promotion's re-check can score a newer one on the same rows
- ``predictions.parquet``  the holdout labels and the candidate's predictions/probabilities (the bootstrap's input,
                           in the registry's ``reference.parquet`` layout)
- ``bundle.json``          schema-versioned: metrics, the holdout fingerprint, outputs, the data-check summary,
                           the fields ``publish`` would write to the version's manifest, and the sha256 of each file

The holdout fingerprint is sha256 over: the target and task, where the holdout came from (the sha256 of the
file it was split from with ``test-size`` and ``seed``, or of the ``test-data`` file), the column names, and
one 64-bit hash per holdout row of all its values, target included (``pandas.util.hash_pandas_object``), in
order. Two runs on the same data with the same seed and test size agree; another split, other rows or
other labels differ. It is computed from the rows as read back from ``holdout.parquet``, so a reader can
recompute it.

Everything read back is untrusted (a bundle is an artifact another job uploaded): ``bundle.json`` is checked
field by field, file names come from the fixed set above (never from the bundle), each file's sha256 is
checked before it is read, and the fingerprint is recomputed from the rows.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ml_action.adapters.registry import SHA256_RE
from ml_action.config import Config
from ml_action.errors import DamagedObject, UserError
from ml_action.records.artifacts import MODEL_FILE, sha256_file
from ml_action.report.escape import shown
from ml_action.workspace import confine

if TYPE_CHECKING:
    import pandas as pd

    from ml_action.core.metrics import Predictions

SCHEMA = "ml-action-result/1"
MANIFEST = "bundle.json"
HOLDOUT = "holdout.parquet"
PREDICTIONS = "predictions.parquet"
FILES = (MODEL_FILE, HOLDOUT, PREDICTIONS)
DEFAULT_ROOT = "ml-action-result"
MAX_MANIFEST_BYTES = 20_000_000
_HINT = (
    "Re-run the evaluation job that made it; bundles are written by `evaluate`/`publish` and must be passed on "
    "unchanged (actions/upload-artifact, actions/download-artifact)."
)


def folder_name(key: str) -> str:
    """``key`` made a safe single path segment (the default ``result-dir`` is ``ml-action-result/<it>``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", key).strip(".-")[:100] or "model"


# ---------------------------------------------------------------------------------------------- writing


def result_target(config: Config) -> Path:
    """The bundle's folder: ``result-dir``, or ``ml-action-result/<comment-key>``; inside the workspace."""
    relative = config.result_dir or f"{DEFAULT_ROOT}/{folder_name(config.comment_marker_key)}"
    path = confine(config.workspace, relative, "result-dir")
    if path == config.workspace.resolve() or path.is_file():
        raise UserError(
            "result-dir",
            f"'{relative}' is the workspace itself or a file",
            "Name a folder of its own, e.g. `ml-action-result/my-model`.",
        )
    return path


def holdout_fingerprint(frame: pd.DataFrame, target: str, task: str, source: dict[str, Any]) -> str:
    """sha256 of the holdout's identity: target, task, source, columns and a hash of every row (see above)."""
    import numpy as np
    import pandas as pd

    head = json.dumps(
        {
            "target": target,
            "task": task,
            "source": source,
            "columns": list(map(str, frame.columns)),
            "rows": int(len(frame)),
        },
        sort_keys=True,
        default=str,
    )
    digest = hashlib.sha256(head.encode())
    rows = pd.util.hash_pandas_object(frame.reset_index(drop=True), index=False).to_numpy()
    digest.update(np.ascontiguousarray(rows, dtype="<u8").tobytes())
    return digest.hexdigest()


def holdout_source(fingerprints: dict[str, Any], data_sha: str | None) -> dict[str, Any]:
    """Where the holdout rows came from, from the dataset's fingerprints."""
    test = fingerprints.get("test") or {}
    if test.get("split_of"):
        return {"split_of_sha256": data_sha, "test_size": test.get("test_size"), "seed": test.get("seed")}
    return {"file_sha256": test.get("sha256")}


def holdout_identity(dataset: Any, path: Path) -> tuple[pd.DataFrame, dict[str, Any], str]:
    """The dataset's holdout written to ``path`` and read back, where it came from and its fingerprint: what
    ``write`` records, and what the leaderboard recomputes from the data it checks out."""
    from ml_action.records.snapshot import read_parquet, write_parquet

    write_parquet(dataset.test, path)
    rows = read_parquet(path)
    source = holdout_source(dataset.fingerprints, (dataset.fingerprints.get("train") or {}).get("sha256"))
    return rows, source, holdout_fingerprint(rows, dataset.target, dataset.task, source)


def write(folder: Path, *, model: Any, dataset: Any, preds: Predictions, fields: dict[str, Any]) -> dict[str, Any]:
    """Write the bundle into ``folder`` (replacing an earlier one); return ``bundle.json``'s content.

    ``fields`` carries the evaluation's findings (``key``, ``metrics``, ``primary_metric``, ``outputs``,
    ``checks``, ``champion``, ``verdict``, ``version_fields``, ...); the files and the fingerprint are added here.
    """
    from ml_action.records.artifacts import save_model
    from ml_action.records.reference import write_reference

    folder.mkdir(parents=True, exist_ok=True)
    for name in (*FILES, MANIFEST):
        (folder / name).unlink(missing_ok=True)
    save_model(model, folder / MODEL_FILE)
    rows, source, fingerprint = holdout_identity(dataset, folder / HOLDOUT)
    write_reference(dataset.y_test, preds, folder / PREDICTIONS)
    manifest = {
        **fields,
        "schema": SCHEMA,
        "task": dataset.task,
        "target": dataset.target,
        "classes": dataset.classes,
        "features": list(dataset.features),
        "holdout": {"fingerprint": fingerprint, "rows": int(len(rows)), "source": source},
        "files": {
            name: {"sha256": sha256_file(folder / name), "size": (folder / name).stat().st_size} for name in FILES
        },
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True, default=str), encoding="utf-8")
    return manifest


# ---------------------------------------------------------------------------------------------- reading


@dataclass
class Bundle:
    """One verified bundle: its manifest, the holdout rows and the candidate's predictions on them."""

    name: str  # the folder's path under ``results``, for messages (validated: plain characters only)
    folder: Path
    manifest: dict[str, Any]
    holdout: pd.DataFrame
    y: Any  # numpy array of the holdout labels
    preds: Predictions

    @property
    def key(self) -> str:
        return str(self.manifest["key"])

    @property
    def model_sha256(self) -> str:
        return str(self.manifest["files"][MODEL_FILE]["sha256"])

    def load_model(self, allow_unsafe: bool = False) -> Any:
        """The fitted candidate, after its sha256 check, with the restricted skops loader."""
        from ml_action.records.artifacts import load_model

        try:
            return load_model(self.folder / MODEL_FILE, self.model_sha256, f"bundle {self.name}", allow_unsafe)
        except UserError as exc:
            raise UserError("results", exc.problem, exc.hint) from None


def _bad(name: str, problem: str) -> UserError:
    return DamagedObject(f"the result bundle {name}", problem, _HINT, input="results")


def _show(value: Any) -> str:
    return shown(value)


def _field(obj: dict[str, Any], key: str, types: type | tuple[type, ...], name: str, required: bool = True) -> Any:
    value = obj.get(key)
    if value is None and not required:
        return None
    if (
        not isinstance(value, types)
        or isinstance(value, bool)
        and bool not in (types if isinstance(types, tuple) else (types,))
    ):
        raise _bad(name, f"`{key}` is {_show(value)}")
    return value


def _check_manifest(data: dict[str, Any], name: str) -> dict[str, Any]:
    if data.get("schema") != SCHEMA:
        raise _bad(name, f"`schema` is {_show(data.get('schema'))}, not {SCHEMA}")
    for key, types in (
        ("key", str),
        ("task", str),
        ("target", str),
        ("primary_metric", str),
        ("metrics", dict),
        ("holdout", dict),
        ("files", dict),
        ("features", list),
    ):
        _field(data, key, types, name)
    for key, types in (
        ("classes", list),
        ("outputs", dict),
        ("checks", dict),
        ("champion", dict),
        ("verdict", dict),
        ("version_fields", dict),
        ("estimator", str),
        ("model", str),
    ):
        _field(data, key, types, name, required=False)
    if data["task"] not in ("classification", "regression"):
        raise _bad(name, f"`task` is {_show(data['task'])}")
    for metric, value in data["metrics"].items():
        if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool)):
            raise _bad(name, f"`metrics.{_show(metric)}` is not a number")
    fp = _field(data["holdout"], "fingerprint", str, name)
    if not SHA256_RE.match(fp):
        raise _bad(name, "`holdout.fingerprint` is not 64 hex characters")
    _field(data["holdout"], "source", dict, name)
    for file in FILES:
        entry = data["files"].get(file)
        if not isinstance(entry, dict) or not SHA256_RE.match(str(entry.get("sha256", ""))):
            raise _bad(name, f"`files` gives no sha256 for {file}")
    if not all(isinstance(c, (str, int, float, bool)) for c in data.get("classes") or []):
        raise _bad(name, "`classes` holds values other than labels")
    from ml_action.records.record_check import BadField, check_fields

    try:
        check_fields({k: v for k, v in data.items() if k != "gates"})  # a bundle's `gates` is its own list
        check_fields(data.get("version_fields") or {}, "version_fields.")
    except BadField as exc:
        raise _bad(name, str(exc)) from None
    return data


def _verified(folder: Path, file: str, expected: str, name: str) -> Path:
    path = folder / file
    if path.is_symlink() or not path.is_file():
        raise _bad(name, f"it has no {file}")
    actual = sha256_file(path)
    if actual != expected:
        raise _bad(
            name,
            f"{file} fails its sha256 check (expected {expected[:12]}…, got {actual[:12]}…): "
            "it was altered after the evaluation wrote it",
        )
    return path


def _flat_columns(path: Path, name: str) -> None:
    """Every column of a bundle's table holds single values: a list, map or struct column is refused before
    pandas reads it (rows are hashed and compared value by value)."""
    from ml_action.records.reference import nested_columns

    try:
        nested = nested_columns(path)
    except Exception as exc:  # pyarrow raises its own types on a damaged file
        raise _bad(name, f"{path.name} cannot be read ({type(exc).__name__})") from None
    if nested:
        raise _bad(name, f"{path.name} has columns of lists or records ({', '.join(_show(c) for c in nested[:5])})")


def _predictions(path: Path, manifest: dict[str, Any], rows: int, name: str) -> tuple[Any, Predictions]:
    from ml_action.core.metrics import Predictions
    from ml_action.records.reference import LABEL, TARGET
    from ml_action.records.snapshot import read_parquet

    frame = read_parquet(path)
    if TARGET not in frame.columns or LABEL not in frame.columns or len(frame) != rows:
        raise _bad(name, f"{PREDICTIONS} does not hold {rows} rows of labels and predictions")
    proba_cols = [c for c in frame.columns if str(c).startswith("proba_")]
    classes = manifest.get("classes")
    proba = frame[[f"proba_{i}" for i in range(len(proba_cols))]].to_numpy(dtype="float64") if proba_cols else None
    if proba is not None and classes is not None and proba.shape[1] != len(classes):
        proba = None  # a model that saw fewer classes: compared on labels only
    return frame[TARGET].to_numpy(), Predictions(
        labels=frame[LABEL].to_numpy(), proba=proba, classes=list(classes) if classes is not None else None
    )


def read(folder: Path, name: str) -> Bundle:
    """Read and verify one bundle folder (see the module docstring); a bad bundle is a ``UserError``."""
    import numpy as np

    from ml_action.records.safejson import BadJSON, loads
    from ml_action.records.snapshot import read_parquet

    path = folder / MANIFEST
    if path.stat().st_size > MAX_MANIFEST_BYTES:
        raise _bad(name, f"{MANIFEST} is larger than {MAX_MANIFEST_BYTES:,} bytes")
    try:
        data = loads(path.read_bytes(), limit=MAX_MANIFEST_BYTES)
    except BadJSON as exc:
        raise _bad(name, f"{MANIFEST} {exc}") from None
    if not isinstance(data, dict):
        raise _bad(name, f"{MANIFEST} is not a JSON object")
    manifest = _check_manifest(data, name)
    for file in FILES:
        _verified(folder, file, manifest["files"][file]["sha256"], name)
    for file in (HOLDOUT, PREDICTIONS):
        _flat_columns(folder / file, name)
    try:
        holdout = read_parquet(folder / HOLDOUT)
    except Exception as exc:  # pyarrow raises its own types on a damaged file
        raise _bad(name, f"{HOLDOUT} cannot be read ({type(exc).__name__})") from None
    target, task = manifest["target"], manifest["task"]
    if target not in holdout.columns:
        raise _bad(name, f"{HOLDOUT} has no target column")
    recomputed = holdout_fingerprint(holdout, target, task, manifest["holdout"]["source"])
    if recomputed != manifest["holdout"]["fingerprint"]:
        raise _bad(name, "its holdout rows do not match the recorded fingerprint")
    y, preds = _predictions(folder / PREDICTIONS, manifest, len(holdout), name)
    if not np.array_equal(np.asarray(y, dtype=object), holdout[target].to_numpy(dtype=object)):
        raise _bad(name, f"the labels in {PREDICTIONS} are not the holdout's")
    return Bundle(name, folder, manifest, holdout, y, preds)


def find(results: Path, limit: int = 200) -> list[tuple[str, Path]]:
    """The bundle folders under ``results`` (any depth, symlinks not followed), sorted, as (name, folder)."""
    found = []
    for path in sorted(results.rglob(MANIFEST)):
        if path.is_symlink() or not path.is_file() or any(p.is_symlink() for p in path.parents if results in p.parents):
            continue
        rel = path.parent.relative_to(results).as_posix() or "."
        found.append((re.sub(r"[^A-Za-z0-9._/-]", "?", rel)[:120], path.parent))
        if len(found) > limit:
            raise UserError(
                "results",
                f"more than {limit} result bundles under the folder",
                "Pass only the bundles of one pull request's matrix.",
            )
    return found


def same_labels(a: Any, b: Any) -> bool:
    """Whether two arrays of predictions are the same (floats to a relative 1e-9)."""
    import numpy as np

    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return False
    if a.dtype.kind in "fc" and b.dtype.kind in "fc":
        return bool(np.allclose(a, b, rtol=1e-9, atol=1e-12))
    return bool((a.astype(object) == b.astype(object)).all())

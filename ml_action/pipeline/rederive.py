"""The holdout a result bundle claims, re-derived from the data this job checked out (``mode: leaderboard``).

A bundle carries its holdout rows and labels, and its fingerprint only proves they agree with each other: a
bundle whose labels were rewritten to its own predictions (files, sha256s and fingerprint recomputed) is
consistent and scores perfectly. So the leaderboard never judges on a bundle's rows: it reads the file the
bundle's fingerprint names (``data`` split with ``test-size`` and ``seed``, or ``test-data``) from the workspace
with the evaluation's own loader (``data.load_dataset``, the bundle's recorded settings, each re-validated by its
input's parser), recomputes the fingerprint, and refuses a bundle that disagrees. The rows and labels every
candidate and the champion are scored on are then the ones read here.

A recorded path stays inside the workspace (``load_dataset`` confines it); an ``s3://`` path is read only when
it is this job's own ``data`` or ``test-data``, so a bundle cannot make the job read another object.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ml_action.config import INPUTS, Config
from ml_action.errors import DamagedObject, UserError
from ml_action.records.bundle import Bundle, holdout_identity
from ml_action.report import escape

if TYPE_CHECKING:
    from ml_action.core.decision import Holdout
    from ml_action.pipeline.data import Fetch

SETTINGS = ("data", "test-data", "test-size", "seed", "csv-separator")
_HINT = (
    "Run the leaderboard on the commit the evaluation jobs checked out (the same data file), or re-run those "
    "jobs; a bundle must be passed on unchanged."
)


def _refuse(b: Bundle, problem: str, hint: str = _HINT) -> UserError:
    return UserError("results", f"the result bundle {b.name} {problem}", hint)


def _damaged(b: Bundle, problem: str) -> DamagedObject:
    hint = "Re-run that evaluation job; a bundle must be passed on unchanged, never edited."
    return DamagedObject(f"the result bundle {b.name}", problem, hint, input="results")


def recorded_config(config: Config, b: Bundle) -> Config:
    """This job's ``config`` with the data settings the bundle's evaluation ran with (each one parsed as its
    input is), for the bundle's target and task; all columns kept (``features``/``drop`` do not pick rows)."""
    recorded = (b.manifest.get("version_fields") or {}).get("config")
    if not isinstance(recorded, dict):
        raise _damaged(b, "it records no data settings (`version_fields.config`) to re-derive its holdout from")
    parsers = {spec.name: spec.parse for spec in INPUTS}
    values: dict[str, Any] = {}
    for name in SETTINGS:
        raw = recorded.get(name, "")
        if (raw is not None and not isinstance(raw, (str, int, float))) or isinstance(raw, bool):
            raise _damaged(b, f"it records `{name}` as {escape.visible(raw, 40)}, not a setting")
        try:
            values[name.replace("-", "_")] = parsers[name](name, "" if raw is None else raw)
        except UserError as exc:
            raise _damaged(b, f"it records a bad `{name}` ({exc.problem})") from None
    for name in ("data", "test_data"):
        value = str(values[name])
        if value[:5].lower() == "s3://" and value != getattr(config, name):
            raise _refuse(
                b,
                f"names the S3 file {escape.visible(value, 120)} as `{name.replace('_', '-')}`, which is not this "
                "job's",
                f"Set `{name.replace('_', '-')}` of the leaderboard job to the file the evaluations read.",
            )
    if not values["data"]:
        raise _damaged(b, "it records no `data` file")
    return replace(config, **values, target=b.manifest["target"], task=b.manifest["task"], features=(), drop=())


def holdout_from_data(config: Config, b: Bundle, workdir: Path, fetch: Fetch | None) -> Holdout:
    """The holdout re-derived from the checked-out data with ``b``'s settings; a ``UserError`` (``results``)
    when it is not the bundle's (another file, split, rows or labels)."""
    from ml_action.core.decision import Holdout
    from ml_action.pipeline.data import load_dataset

    settings = recorded_config(config, b)
    try:
        dataset = load_dataset(settings, fetch)
    except UserError as exc:
        raise _refuse(b, f"cannot be checked against the data checked out: `{exc.input}` {exc.problem}") from None
    rows, source, fingerprint = holdout_identity(dataset, workdir / "rederived-holdout.parquet")
    claimed = b.manifest["holdout"]
    if fingerprint == claimed["fingerprint"]:
        return Holdout(rows, dataset.target, dataset.task, b.manifest.get("classes"))
    said = claimed.get("source") if isinstance(claimed.get("source"), dict) else {}
    file_key = "split_of_sha256" if "split_of_sha256" in source else "file_sha256"
    name = settings.test_data or settings.data
    if said.get(file_key) != source.get(file_key):
        raise _refuse(
            b,
            f"was not evaluated on the data checked out: {escape.visible(name, 120)} has sha256 "
            f"{str(source.get(file_key))[:12]}…, the bundle says {escape.visible(said.get(file_key), 12)}…",
        )
    how = "the `test-data` file" if settings.test_data else f"`data` split with test-size {settings.test_size}"
    how += "" if settings.test_data else f" and seed {settings.seed}"
    raise _damaged(
        b,
        f"its holdout rows or labels are not those of {how} ({escape.visible(name, 120)}, as checked out): "
        "its fingerprint does not match the one recomputed from the data",
    )

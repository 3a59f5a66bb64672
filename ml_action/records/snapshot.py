"""Data snapshots: the exact rows a published version was trained and scored on, kept for ``reproduce``.

At publish the training frame and the holdout frame (after the split: the rows actually used, in their
order, only the feature and target columns) are written as two Parquet files with fixed writer options,
so the same frame always gives the same bytes with the same pyarrow. Each is stored content-addressed at
``<model-name>/data/<sha256>.parquet`` with a create-only write: when the key exists, identical data is
already stored and nothing is uploaded twice. The manifest refers to them under ``data.snapshots``::

    {"train": {"sha256": ..., "key": "data/<sha256>.parquet", "rows": ..., "columns": ..., "bytes": ...},
     "test":  {...}}

Train and holdout are separate objects (not one file with a split column) so that each keeps its own
dtypes exactly (a separate ``test-data`` file may parse differently) and an unchanged holdout is stored once.
Reading a snapshot back checks its sha256 before it is used.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ml_action.errors import UserError
from ml_action.records.artifacts import sha256_file

if TYPE_CHECKING:
    import pandas as pd

    from ml_action.adapters.registry import Registry
    from ml_action.config import Config
    from ml_action.pipeline.data import Dataset

SPLITS = ("train", "test")
# fixed so the bytes depend only on the frame (and the pyarrow version, which the writer records in the file)
PARQUET_OPTIONS: dict[str, Any] = {
    "compression": "zstd",
    "compression_level": 3,
    "row_group_size": 1 << 20,
    "use_dictionary": True,
    "write_statistics": True,
    "version": "2.6",
}


def enabled(config: Config) -> bool:
    """``snapshot-data``: ``true``/``false``, or ``auto`` = on for an S3 registry, off for a local folder."""
    if config.snapshot_data == "auto":
        return config.is_s3
    return config.snapshot_data == "true"


def write_parquet(frame: pd.DataFrame, path: Path) -> str:
    """Write ``frame`` (index dropped) deterministically; return the sha256 of the bytes written."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False)
    pq.write_table(table, path, **PARQUET_OPTIONS)
    return sha256_file(path)


def read_parquet(path: Path) -> pd.DataFrame:
    """Read back one file the action wrote (a data snapshot, a bundle's holdout or predictions, a reference
    file): the frame as ``pandas.read_parquet`` gives it, read from the file directly. ``pandas.read_parquet``
    goes through pyarrow's dataset layer, whose first use costs ~4 MiB of peak RSS on every evaluation."""
    import pyarrow.parquet as pq

    with pq.ParquetFile(path) as handle:
        return handle.read().to_pandas()


def store_snapshots(
    registry: Registry, dataset: Dataset, workdir: Path, log: Callable[[str], None] = print
) -> dict[str, dict[str, Any]]:
    """Write the train and holdout frames to the registry create-only; return the manifest's references."""
    out: dict[str, dict[str, Any]] = {}
    columns = [*dataset.features, dataset.target]
    for split, frame in (("train", dataset.train[columns]), ("test", dataset.test[columns])):
        path = workdir / "snapshot" / f"{split}.parquet"
        digest = write_parquet(frame, path)
        relative = registry.data_key(digest)
        stored = registry.store_data(path, digest)
        how = "stored" if stored else "already stored (identical data), not uploaded again"
        size = path.stat().st_size
        out[split] = {
            "sha256": digest,
            "key": relative,
            "rows": int(len(frame)),
            "columns": int(frame.shape[1]),
            "bytes": size,
            "format": "parquet",
        }
        log(f"data snapshot {split}: {len(frame)} rows, {size / 1e6:.2f} MB, sha256 {digest[:12]}… {how}")
    return out


def fetch_snapshots(
    registry: Registry, manifest: dict[str, Any], version: str, workdir: Path
) -> dict[str, pd.DataFrame]:
    """Download a version's snapshots, check each sha256 against the manifest, and read them."""

    refs = (manifest.get("data") or {}).get("snapshots")
    if not refs:
        raise UserError(
            "to-version",
            f"version {version} was published without `snapshot-data`, so the registry "
            "holds no copy of the rows it was trained on and it cannot be reproduced",
            "Reproduce a version published with `snapshot-data: true` (the default for an S3 "
            "registry); publish with it from now on.",
        )
    frames = {}
    for split in SPLITS:
        ref = refs.get(split)
        if not ref:
            raise UserError(
                "to-version",
                f"the manifest of version {version} has no {split} data snapshot",
                "Publish the model again with `snapshot-data: true`.",
            )
        expected = ref["sha256"]
        dest = workdir / "snapshot" / f"{version}-{split}.parquet"
        if not registry.download_data(expected, dest):
            raise UserError(
                "to-version",
                f"the {split} data snapshot of version {version} ({registry.data_url(expected)}) is missing",
                "It was deleted from the registry; this version can no longer be reproduced.",
            )
        actual = sha256_file(dest)
        if actual != expected:
            raise UserError(
                "to-version",
                f"the {split} data snapshot of version {version} fails its sha256 check "
                f"(expected {expected[:12]}…, got {actual[:12]}…); it was not used",
                "The snapshot object was altered or corrupted; restore it from a backup.",
            )
        frames[split] = read_parquet(dest)
    return frames

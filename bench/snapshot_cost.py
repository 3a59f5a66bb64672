"""Benchmark: what ``snapshot-data`` adds to a publish, in time and bytes, on the local registry.

A make_classification table (``--rows`` × ``--features`` numeric + 2 categorical columns, binary target) is
written as CSV; ``mode: publish`` runs in this process through ``cli.main`` with ``snapshot-data`` false
and true alternately, ``--repeat`` times each, each run into an empty registry (so the snapshot is really
written, never "already stored"). It prints the medians, their difference, and the snapshot's Parquet
bytes against the CSV bytes of the same rows. Because the difference is small next to run-to-run noise,
the snapshot step alone (``store_snapshots``: Parquet writing, sha256, create-only copy) is timed too.

    python bench/snapshot_cost.py [--rows 100000] [--features 20] [--repeat 3]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ml_action.cli import main as cli_main  # noqa: E402


def make_table(rows: int, features: int, path: Path) -> None:
    import numpy as np
    import pandas as pd
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=rows, n_features=features, n_informative=features // 2, random_state=0)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(features)])
    rng = np.random.default_rng(0)
    frame["plan"] = rng.choice(["basic", "standard", "premium"], size=rows)
    frame["region"] = rng.choice(["north", "south", "east", "west", "central"], size=rows)
    frame["target"] = np.where(y == 1, "yes", "no")
    frame.to_csv(path, index=False)


def publish_once(workspace: Path, snapshot: bool) -> tuple[float, dict[str, object]]:
    registry = workspace / "registry"
    shutil.rmtree(registry, ignore_errors=True)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "GITHUB_"))},
        "GITHUB_WORKSPACE": str(workspace),
    }
    flags = [
        "--mode",
        "publish",
        "--data",
        "data.csv",
        "--target",
        "target",
        "--model",
        "logistic_regression",
        "--bootstrap",
        "0",
        "--registry",
        "registry",
        "--snapshot-data",
        "true" if snapshot else "false",
        "--comment-mode",
        "off",
    ]
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        code = cli_main(flags, env)
    seconds = time.perf_counter() - started
    if code != 0:
        raise SystemExit(f"publish failed with exit code {code}")
    manifest = json.loads((registry / "model" / "versions" / "v1" / "manifest.json").read_text())
    return seconds, manifest


def snapshot_step(workspace: Path, repeat: int) -> list[float]:
    """Time ``store_snapshots`` alone on the same split, into an empty local registry each time."""
    from ml_action.adapters.registry import LocalStore, Registry
    from ml_action.config import Config
    from ml_action.pipeline.data import load_dataset
    from ml_action.records.snapshot import store_snapshots

    dataset = load_dataset(Config(workspace=workspace, data="data.csv", target="target"))
    out = []
    for _ in range(repeat):
        root = workspace / "step-registry"
        shutil.rmtree(root, ignore_errors=True)
        started = time.perf_counter()
        store_snapshots(Registry(LocalStore(root), "model"), dataset, workspace / "work", log=lambda _: None)
        out.append(time.perf_counter() - started)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="ml-action-bench-") as tmp:
        workspace = Path(tmp)
        make_table(args.rows, args.features, workspace / "data.csv")
        csv_bytes = (workspace / "data.csv").stat().st_size
        publish_once(workspace, False)  # warm-up: imports and caches, not timed
        times: dict[bool, list[float]] = {False: [], True: []}
        snapshots: dict[str, object] = {}
        for _ in range(args.repeat):
            for snapshot in (False, True):
                seconds, manifest = publish_once(workspace, snapshot)
                times[snapshot].append(seconds)
                if snapshot:
                    snapshots = manifest["data"]["snapshots"]
        off, on = statistics.median(times[False]), statistics.median(times[True])
        step = snapshot_step(workspace, args.repeat)
        parquet_bytes = sum(s["bytes"] for s in snapshots.values())  # type: ignore[index, union-attr]
        print(
            f"data: {args.rows} rows × {args.features} numeric + 2 categorical columns + target; "
            f"CSV {csv_bytes / 1e6:.2f} MB"
        )
        print(f"publish without snapshot-data: median {off:.2f} s  runs {[round(t, 2) for t in times[False]]}")
        print(f"publish with snapshot-data:    median {on:.2f} s  runs {[round(t, 2) for t in times[True]]}")
        print(f"snapshot adds {on - off:+.2f} s ({(on - off) / off * 100:+.1f} %)")
        print(f"the snapshot step alone: median {statistics.median(step):.2f} s  runs {[round(t, 2) for t in step]}")
        for split, ref in snapshots.items():
            print(f"  {split}: {ref['rows']} rows, Parquet {ref['bytes'] / 1e6:.2f} MB")  # type: ignore[index]
        print(
            f"Parquet total {parquet_bytes / 1e6:.2f} MB vs CSV {csv_bytes / 1e6:.2f} MB "
            f"({parquet_bytes / csv_bytes * 100:.0f} % of the CSV)"
        )


if __name__ == "__main__":
    main()

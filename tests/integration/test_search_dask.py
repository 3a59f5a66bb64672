"""Issue 15's acceptance: a real Dask cluster on 127.0.0.1 (a scheduler and 2 worker *processes*), a search of
24 candidates × 3 folds through ``entrypoint.py``; the fits ran on both workers, and the chosen parameters and
holdout metrics equal those of a local run with the same seed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import copy_example, run_action

INPUTS = {
    "mode": "publish",
    "bootstrap": "0",
    "comment-mode": "off",
    "model": "decision_tree",
    "params": "{}",
    "search": "{max_depth: {int: [1, 8]}, min_samples_leaf: {int: [1, 12]}, criterion: [gini, entropy], "
    "max_features: {low: 0.3, high: 1.0}}",
    "search-iter": "24",
    "cv": "3",
    "gates": "- metric: f1_macro\n  min: 0.5",
}


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=":0"
    ) as local:
        yield local


def _executed(cluster: Any) -> dict[str, int]:
    """Tasks each worker has executed so far, asked of the workers themselves."""
    from distributed import Client

    with Client(cluster.scheduler_address) as client:
        return client.run(lambda dask_worker: dask_worker.state.executed_count)


def _run(tmp_path: Path, name: str, extra: dict[str, str]) -> tuple[Any, dict[str, Any]]:
    ws = copy_example("iris", tmp_path / name)
    result = run_action(ws, INPUTS, extra)
    assert result.code == 0, result.stdout + result.stderr
    manifest = json.loads((ws / ".ml-action/registry/model/versions/v1/manifest.json").read_text())
    return result, manifest


def test_a_search_on_the_cluster_equals_the_local_one(tmp_path: Path, cluster: Any) -> None:
    before = _executed(cluster)
    assert len(before) == 2
    remote, on_dask = _run(tmp_path, "dask", {"DASK_SCHEDULER_ADDRESS": cluster.scheduler_address})
    after = _executed(cluster)
    ran = {worker: after[worker] - before[worker] for worker in before}
    # joblib batches the 72 fits into tasks: both worker processes ran some of them
    assert all(n > 0 for n in ran.values()), ran
    assert "joblib runs on a Dask cluster of 2 workers, 2 threads" in remote.stdout
    assert "24 candidates × 3 folds" in remote.stdout and "72 fits" in remote.stdout
    assert on_dask["search"]["where"] == "a Dask cluster of 2 workers, 2 threads"
    assert "on a Dask cluster of 2 workers, 2 threads" in remote.summary
    assert cluster.scheduler_address not in remote.summary  # the address may be a secret: not in the report

    local, on_runner = _run(tmp_path, "local", {})
    assert _executed(cluster) == after  # nothing of the local run went to the cluster
    assert "the runner's" in on_runner["search"]["where"]
    assert on_dask["search"]["chosen"] == on_runner["search"]["chosen"]
    assert on_dask["search"]["best_cv_score"] == on_runner["search"]["best_cv_score"]
    assert on_dask["params"] == on_runner["params"]
    assert on_dask["metrics"] == on_runner["metrics"]
    assert on_dask["predictions"]["sha256"] == on_runner["predictions"]["sha256"]
    assert remote.outputs["metrics"] == local.outputs["metrics"]

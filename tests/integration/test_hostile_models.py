"""Crafted tree models through ``entrypoint.py``: a champion whose tree, HGB predictor or KD/ball tree holds an
index ~2e9 past its arrays (sha256 recomputed, as anyone with write access to the bucket could) crashes plain
skops + ``predict`` with SIGSEGV; ml-action refuses it with one ``::error … is damaged`` and exit 1, for every
tree-based estimator the action offers and KNN on a KD or a ball tree, classifier and regressor."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from ml_action.records.artifacts import sha256_file
from tests.crafted import PREDICT_RAW, TREE_MODELS, corrupt, estimator
from tests.helpers import copy_example, run_action

REG = ".ml-action/registry/model"
EXAMPLES = {"classification": "iris", "regression": "diabetes"}


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """An iris and a diabetes workspace, each with v1 published as champion."""
    out = {}
    for task, example in EXAMPLES.items():
        workspace = copy_example(example, tmp_path_factory.mktemp(example) / "ws")
        assert run_action(workspace, {"mode": "publish", "gates": "[]"}).code == 0
        out[task] = workspace
    return out


def _swap_champion(workspace: Path, task: str, name: str) -> tuple[Path, list[str], str]:
    """v1's pipeline with its final step replaced by ``name``, fitted, then corrupted; sha256s fixed up."""
    import skops.io as sio

    version = workspace / REG / "versions/v1"
    path = version / "model.skops"
    manifest = json.loads((version / "manifest.json").read_text())
    pipeline = sio.load(path, trusted=sio.get_untrusted_types(file=path))
    frame = pd.read_csv(workspace / f"{EXAMPLES[task]}.csv")
    features = list(manifest["features"])
    pipeline.steps[-1] = (pipeline.steps[-1][0], estimator(name, task))
    pipeline.fit(frame[features], frame[manifest["target"]])
    what = corrupt(pipeline, "feature")
    sio.dump(pipeline, path)
    digest = sha256_file(path)
    manifest["artifacts"]["model.skops"]["sha256"] = digest
    (version / "manifest.json").write_text(json.dumps(manifest))
    pointer = json.loads((workspace / REG / "champion.json").read_text())
    (workspace / REG / "champion.json").write_text(json.dumps({**pointer, "sha256": digest}))
    return path, features, what


@pytest.mark.parametrize("task", sorted(EXAMPLES))
@pytest.mark.parametrize("name", sorted(TREE_MODELS))
def test_a_crafted_tree_model_is_refused_before_it_can_crash(
    published: dict[str, Path], tmp_path: Path, task: str, name: str
) -> None:
    workspace = Path(shutil.copytree(published[task], tmp_path / "ws"))
    path, features, what = _swap_champion(workspace, task, name)
    csv = workspace / f"{EXAMPLES[task]}.csv"
    # the attack is real: plain skops loads the file, and predict dies of a segmentation fault
    raw = subprocess.run(
        [sys.executable, "-c", PREDICT_RAW, str(path), str(csv), ",".join(features)],
        capture_output=True,
        text=True,
        timeout=300,
        env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"},
    )
    assert raw.returncode == -signal.SIGSEGV, (raw.returncode, raw.stdout, raw.stderr[-2000:])
    # through ml-action, the same file is refused when it is loaded, before any predict: at evaluate (the
    # champion re-scored beside the candidate) and at monitor
    inputs = {"gates": "[]"} if task == "classification" else {"mode": "monitor", "data": csv.name}
    result = run_action(workspace, inputs)
    assert result.code == 1, result.stdout[-3000:]
    assert len(result.errors) == 1, result.errors
    error = result.errors[0]
    assert error.startswith("::error title=registry::the model file of version v1 is damaged: "), error
    assert "2000000000" in error and ("feature" in error or "row" in error), error
    assert "Traceback" not in result.stderr and "internal error" not in result.stdout
    assert what in ("Tree", "TreePredictor", "KDTree", "BallTree")

"""Hostile manifests, pointers and result bundles through ``entrypoint.py`` and ``ml_action.load_model`` (issue 30,
items 3 and 5): each field a reader uses has its type, depth and bound checked when the object is read, so a
bad one is one ``::error … is damaged`` and exit 1 (never exit 2, never an allocation sized by the object)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from ml_action.errors import UserError
from ml_action.records.artifacts import sha256_file
from tests.helpers import copy_example, run_action

REG = ".ml-action/registry/model"
DEEP = "[" * 100_000 + "]" * 100_000


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An iris workspace with v1 published as champion, and a result bundle of one evaluation beside it."""
    workspace = copy_example("iris", tmp_path_factory.mktemp("records") / "ws")
    assert run_action(workspace, {"mode": "publish", "gates": "[]"}).code == 0
    done = run_action(workspace, {"comment-key": "one", "comment-mode": "off", "gates": "[]"})
    assert done.code == 0 and (workspace / "ml-action-result/one/bundle.json").is_file(), done.stdout
    return workspace


@pytest.fixture
def workspace(published: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(published, tmp_path / "ws"))


def _edit(workspace: Path, change: Callable[[dict[str, Any]], dict[str, Any]] | None, raw: str | None = None) -> None:
    path = workspace / REG / "versions/v1/manifest.json"
    path.write_text(raw if raw is not None else json.dumps(change(json.loads(path.read_text()))))  # type: ignore[misc]


def _one_damaged(result: Any, where: str = "v1/manifest.json is damaged") -> str:
    assert result.code == 1, result.stdout[-3000:]
    assert len(result.errors) == 1 and result.errors[0].startswith("::error title="), result.errors
    assert where in result.errors[0], result.errors[0]
    assert "Traceback" not in result.stderr and "internal error" not in result.stdout
    return result.errors[0]


CASES: dict[str, tuple[Callable[[dict[str, Any]], dict[str, Any]], str]] = {
    "features: 5": (lambda m: {**m, "features": 5}, "`features` is 5"),
    "a feature that is a list": (lambda m: {**m, "features": [["a"]]}, "`features[0]`"),
    "seed: abc": (lambda m: {**m, "seed": "abc"}, "`seed`"),
    "params: x": (lambda m: {**m, "params": "x"}, "`params`"),
    "target: {}": (lambda m: {**m, "target": {}}, "`target`"),
    "classes of objects": (lambda m: {**m, "classes": [{"a": 1}]}, "`classes[0]`"),
    "junk data.profile": (lambda m: {**m, "data": {**m["data"], "profile": {"rows": "many"}}}, "`data.profile.rows`"),
    "junk profile column": (
        lambda m: {
            **m,
            "data": {**m["data"], "profile": {"rows": 3, "columns": {"x": {"kind": "numeric", "std": []}}}},
        },
        "data.profile.columns",
    ),
    "proba_columns: 300000000": (
        lambda m: {**m, "reference": {**m["reference"], "proba_columns": 300_000_000}},
        "`reference.proba_columns`",
    ),
    "ragged predictions.proba": (
        lambda m: {**m, "predictions": {**m["predictions"], "proba": [[0.5], [0.1, 0.9]]}},
        "`predictions.proba[1]`",
    ),
    "sample_rows past its labels": (
        lambda m: {**m, "predictions": {**m["predictions"], "sample_rows": 10**9}},
        "`predictions.sample_rows`",
    ),
    "config.gates junk": (lambda m: {**m, "config": {**m["config"], "gates": [{"metric": "f1", "min": "x"}]}}, "gates"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_manifest_field_of_the_wrong_shape_is_one_damaged_error(workspace: Path, case: str) -> None:
    change, field = CASES[case]
    _edit(workspace, change)
    mode = {"mode": "monitor", "data": "iris.csv"} if "proba" in case or "profile" in case else {"gates": "[]"}
    error = _one_damaged(run_action(workspace, mode))
    assert field in error, error


@pytest.mark.parametrize("mode", ["evaluate", "monitor", "list"])
def test_a_100k_deep_manifest_is_one_damaged_error(workspace: Path, mode: str) -> None:
    manifest = json.loads((workspace / REG / "versions/v1/manifest.json").read_text())
    text = json.dumps({**manifest, "params": "PLACEHOLDER"}).replace('"PLACEHOLDER"', DEEP)
    _edit(workspace, None, text)
    result = run_action(workspace, {"mode": mode, "data": "iris.csv", "gates": "[]"})
    if mode == "list":  # list shows the damaged version and goes on
        assert result.code == 0 and "nested deeper than" in json.loads(result.outputs["versions"])[0]["damaged"]
        assert "Traceback" not in result.stderr
    else:
        assert "nested deeper than 64 levels" in _one_damaged(result)


def test_load_model_refuses_deep_pointers_and_manifests(workspace: Path) -> None:
    from ml_action import load_model

    registry = workspace / ".ml-action/registry"
    assert hasattr(load_model(registry, name="model", cache_dir=workspace / "cache"), "predict")
    _edit(workspace, None, '{"version": "v1", "x": ' + DEEP + "}")
    with pytest.raises(UserError, match="manifest.json is damaged: it is nested deeper"):
        load_model(registry, name="model", version="v1", cache_dir=workspace / "cache")
    (workspace / REG / "champion.json").write_text(DEEP)
    with pytest.raises(UserError, match="champion.json is damaged: it is nested deeper"):
        load_model(registry, name="model", cache_dir=workspace / "cache")


# ---------------------------------------------------------------------------------------------- bundles


def _bundle(workspace: Path) -> Path:
    return workspace / "ml-action-result/one"


def _edit_bundle(workspace: Path, change: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    path = _bundle(workspace) / "bundle.json"
    path.write_text(json.dumps(change(json.loads(path.read_text()))))


BUNDLE_CASES: dict[str, tuple[Callable[[dict[str, Any]], dict[str, Any]], str]] = {
    "features: 5": (lambda b: {**b, "features": 5}, "`features`"),
    "seed: abc in version_fields": (
        lambda b: {**b, "version_fields": {**b["version_fields"], "seed": "abc"}},
        "`version_fields.seed`",
    ),
    "junk profile in version_fields": (
        lambda b: {**b, "version_fields": {**b["version_fields"], "data": {"profile": []}}},
        "`version_fields.data.profile`",
    ),
    "deep holdout.source": (lambda b: {**b, "holdout": {**b["holdout"], "source": "PLACEHOLDER"}}, "nested deeper"),
}


def _leaderboard(workspace: Path) -> Any:
    return run_action(workspace, {"mode": "leaderboard", "results": "ml-action-result", "comment-mode": "off"})


@pytest.mark.parametrize("case", sorted(BUNDLE_CASES))
def test_a_bundle_field_of_the_wrong_shape_is_one_damaged_error(workspace: Path, case: str) -> None:
    change, field = BUNDLE_CASES[case]
    _edit_bundle(workspace, change)
    if "deep" in case:
        path = _bundle(workspace) / "bundle.json"
        path.write_text(path.read_text().replace('"PLACEHOLDER"', DEEP))
    error = _one_damaged(_leaderboard(workspace), "the result bundle one is damaged")
    assert error.startswith("::error title=results::") and field in error, error


def test_list_typed_bundle_columns_are_refused_before_pandas_reads_them(workspace: Path) -> None:
    from ml_action.records.snapshot import write_parquet

    folder = _bundle(workspace)
    holdout = pd.read_parquet(folder / "holdout.parquet")
    holdout["sepal_length"] = [[1.0, 2.0]] * len(holdout)  # rows of lists: hashing them raised TypeError (exit 2)
    write_parquet(holdout, folder / "holdout.parquet")
    digest = sha256_file(folder / "holdout.parquet")
    _edit_bundle(workspace, lambda b: {**b, "files": {**b["files"], "holdout.parquet": {"sha256": digest}}})
    error = _one_damaged(_leaderboard(workspace), "the result bundle one is damaged")
    assert "holdout.parquet has columns of lists or records" in error and "sepal_length" in error

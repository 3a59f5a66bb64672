"""``mode: diff`` says what is known about the two versions' data, never "unchanged" and "differ" at once
(issue 14, item 4): a version without a data snapshot makes its rows unknown, not different."""

from __future__ import annotations

from typing import Any

from ml_action.pipeline.reproduce import data_changes
from ml_action.report.markdown import render

TRAIN = {
    "file": "iris.csv",
    "sha256": "a" * 64,
    "rows": 150,
    "columns": 5,
    "split_rows": 120,
    "source": "iris.csv",
    "schema": {"x": "float64", "species": "object"},
}
SPLIT = {"split_of": "data", "test_size": 0.2, "seed": 42, "rows": 30}


def _manifest(version: str, snapshots: bool, train: dict[str, Any] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"fingerprints": {"train": train or TRAIN, "test": SPLIT}}
    if snapshots:
        data["snapshots"] = {"train": {"sha256": "b" * 64}, "test": {"sha256": "c" * 64}}
    return {"version": version, "data": data, "metrics": {"f1_macro": 0.9}, "holdout_rows": 30}


def _diff(a: dict[str, Any], b: dict[str, Any]) -> str:
    data = data_changes(a, b, a["version"], b["version"])
    return render(
        "diff.md.j2",
        model_name="model",
        old=a["version"],
        new=b["version"],
        params=[],
        unchanged_params=0,
        metrics=[],
        primary="f1_macro",
        data=data,
        drift=None,
        libraries=[],
        holdout=(30, 30),
        git=(None, None),
    )


def test_same_data_one_snapshot_missing_says_what_is_known() -> None:
    data = data_changes(_manifest("v1", False), _manifest("v2", True), "v1", "v2")
    assert data["holdout"] == "same"
    text = _diff(_manifest("v1", False), _manifest("v2", True))
    assert "holdouts differ" not in text and "data unchanged ·" not in text
    assert "data unchanged as far as recorded (a snapshot is missing)" in text
    assert "`v1` has no holdout snapshot, so its holdout rows cannot be compared row by row" in text
    assert "The training data has the same sha256 and rows in both versions" in text
    assert "not comparable" in text


def test_same_data_both_snapshots_is_unchanged_without_notes() -> None:
    text = _diff(_manifest("v1", True), _manifest("v2", True))
    assert "data unchanged ·" in text and "holdouts differ" not in text and "cannot be compared" not in text


def test_other_data_is_changed_and_the_holdouts_differ() -> None:
    other = {**TRAIN, "sha256": "d" * 64}
    for snapshots in (True, False):
        a, b = _manifest("v1", snapshots), _manifest("v2", snapshots, other)
        if snapshots:
            b["data"]["snapshots"]["test"] = {"sha256": "e" * 64}
        assert data_changes(a, b)["holdout"] == "differ"
        text = _diff(a, b)
        assert "data changed" in text and "the holdouts differ" in text


def test_a_manifest_without_fingerprints_is_unknown() -> None:
    a = {"version": "v1", "data": {}, "metrics": {}}
    assert data_changes(a, _manifest("v2", True))["holdout"] == "unknown"
    assert "is not recorded" in _diff(a, _manifest("v2", True))

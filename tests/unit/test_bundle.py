"""The result bundle's pieces that need no run: the holdout fingerprint and the default folder name."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ml_action.errors import UserError
from ml_action.records.bundle import folder_name, holdout_fingerprint, result_target
from tests.helpers import make_config

SOURCE = {"split_of_sha256": "a" * 64, "test_size": 0.2, "seed": 42}


def _rows() -> pd.DataFrame:
    return pd.DataFrame({"x": [1.0, 2.5, float("nan")], "c": ["a", "b", "c"], "y": [0, 1, 0]})


def test_the_fingerprint_is_stable_and_sees_rows_order_labels_and_source() -> None:
    base = holdout_fingerprint(_rows(), "y", "classification", SOURCE)
    assert base == holdout_fingerprint(_rows(), "y", "classification", dict(SOURCE))
    relabelled = _rows().assign(y=[0, 1, 1])
    reordered = _rows().iloc[[1, 0, 2]]
    changed = [
        holdout_fingerprint(relabelled, "y", "classification", SOURCE),
        holdout_fingerprint(reordered, "y", "classification", SOURCE),
        holdout_fingerprint(_rows(), "c", "classification", SOURCE),
        holdout_fingerprint(_rows(), "y", "regression", SOURCE),
        holdout_fingerprint(_rows(), "y", "classification", {**SOURCE, "seed": 7}),
        holdout_fingerprint(_rows().rename(columns={"x": "z"}), "y", "classification", SOURCE),
    ]
    assert len({base, *changed}) == 1 + len(changed)


def test_the_default_folder_is_a_safe_segment_inside_the_workspace(tmp_path: Path) -> None:
    assert folder_name("random_forest") == "random_forest"
    assert folder_name("../../etc matrix/1") == "etc-matrix-1"
    assert folder_name("...") == "model"
    config = make_config(tmp_path, comment_key="../x y")
    assert result_target(config) == tmp_path.resolve() / "ml-action-result" / "x-y"
    with pytest.raises(UserError) as caught:
        result_target(make_config(tmp_path, result_dir="../elsewhere"))
    assert caught.value.input == "result-dir"
    with pytest.raises(UserError):
        result_target(make_config(tmp_path, result_dir="."))


def test_files_the_action_wrote_read_back_as_pandas_reads_them(tmp_path: Path) -> None:
    """``snapshot.read_parquet`` (one file, no dataset layer) gives the frame ``pandas.read_parquet`` gives,
    dtypes included, so a bundle's fingerprint is the same whichever side computes it."""
    from ml_action.records.snapshot import read_parquet, write_parquet

    frame = pd.DataFrame(
        {
            "f": [1.5, float("nan"), -2.0],
            "i": [1, 2, 3],
            "n": pd.array([1, None, 3], dtype="Int64"),
            "s": ["a", None, "é"],
            "b": [True, False, True],
            "c": pd.Categorical(["x", "y", "x"]),
            "t": pd.to_datetime(["2026-01-01", "2026-06-01", None]).tz_localize("Europe/Lisbon"),
        }
    )
    write_parquet(frame, tmp_path / "f.parquet")
    ours, theirs = read_parquet(tmp_path / "f.parquet"), pd.read_parquet(tmp_path / "f.parquet")
    pd.testing.assert_frame_equal(ours, theirs)
    pd.testing.assert_frame_equal(ours, frame)
    assert holdout_fingerprint(ours, "f", "regression", SOURCE) == holdout_fingerprint(
        theirs, "f", "regression", SOURCE
    )

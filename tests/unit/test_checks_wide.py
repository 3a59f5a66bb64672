"""Data checks over a very wide frame: a seeded sample of the columns, progress in the log, a note in the
report, and drift against a sampled reference without false schema changes."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from ml_action.adapters.runner import Runner
from ml_action.context import RunContext
from ml_action.pipeline import checks
from tests.helpers import make_config


def wide(columns: int, rows: int, seed: int) -> SimpleNamespace:
    rng = np.random.default_rng(seed)
    names = [f"c{i}" for i in range(columns)]
    frame = pd.DataFrame(rng.normal(size=(rows, columns)), columns=names)
    frame["y"] = rng.integers(0, 2, size=rows)
    half = rows // 2
    return SimpleNamespace(
        features=names, target="y", task="classification", train=frame.iloc[:half], test=frame.iloc[half:]
    )


def test_a_hundred_thousand_columns_are_sampled_and_said_so(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(checks, "MAX_COLUMNS", 200)  # the default (1,000) works the same, only slower
    dataset = wide(100_000, 40, seed=0)
    found = checks.run_checks(make_config(Path(".")), dataset, None, Runner(RunContext()))
    out = capsys.readouterr().out
    assert "sample of 200 of the 100,000 feature columns" in out
    assert "profiling 201 columns" in out
    assert len(found.profile["columns"]) == checks.MAX_COLUMNS + 1
    assert found.profile["columns_sampled"] == {"of": 100_000}
    assert "sample of 200 of the 100,000" in checks.data_section(found, dataset)
    # a later run against that sampled profile: drift on shared columns, no 99,000 "added" columns
    champion = SimpleNamespace(manifest={"data": {"profile": found.profile}})
    again = checks.run_checks(make_config(Path(".")), wide(100_000, 40, seed=1), champion, Runner(RunContext()))
    assert again.drift is not None and not again.drift.added and not again.drift.removed
    assert len(again.drift.columns) == checks.MAX_COLUMNS
    assert "sample of 200 of the 100,000" in checks.data_section(again, dataset)


def test_narrow_frames_are_checked_whole() -> None:
    dataset = wide(5, 40, seed=0)
    found = checks.run_checks(make_config(Path(".")), dataset, None, Runner(RunContext()))
    assert found.sampled_note == "" and "columns_sampled" not in found.profile
    assert checks.sample_columns(list("abc"), 5, 0) == list("abc")
    picked = checks.sample_columns([str(i) for i in range(100)], 10, 0)
    assert len(picked) == 10 and picked == sorted(picked, key=int)

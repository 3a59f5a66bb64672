"""Decisions that know their noise, end to end on a local registry: a seed-only retrain is `inconclusive`
(a warning, not a failure), `on-inconclusive` decides the exit code and the promotion, and the monitor
judges fresh rows against the reference rows kept at publish (or, for older versions, says it cannot)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.helpers import ROOT, run_inprocess


def _sim() -> ModuleType:
    spec = importlib.util.spec_from_file_location("noise_sim", ROOT / "bench" / "noise_sim.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["noise_sim"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def sim() -> ModuleType:
    return _sim()


def _workspace(tmp_path: Path, sim: ModuleType) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    sim.make_process(4000, 0).to_csv(ws / "credit.csv", index=False)
    sim.make_process(1500, 11).to_csv(ws / "fresh.csv", index=False)
    sim.make_process(1500, 12, flip=0.2).to_csv(ws / "flipped.csv", index=False)
    return ws


BASE = {"data": "credit.csv", "target": "default", "bootstrap": "400"}
SEED_ONLY = {**BASE, "params": '{"random_state": 3}'}


def test_seed_only_retrain_is_inconclusive_and_on_inconclusive_decides(
    tmp_path: Path, sim: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = _workspace(tmp_path, sim)
    first = run_inprocess(ws, {**BASE, "mode": "publish"}, capsys)
    assert first.code == 0 and first.outputs["promoted"] == "true", first.stdout
    manifest = json.loads((ws / ".ml-action/registry/model/versions/v1/manifest.json").read_text())
    assert manifest["reference"]["rows"] == 800 and manifest["artifacts"]["reference.parquet"]["sha256"]

    pr = run_inprocess(ws, {**SEED_ONLY, "mode": "evaluate"}, capsys)
    assert pr.outputs["verdict"] == "inconclusive", pr.summary
    assert pr.code == 0 and not pr.errors
    warnings = [line for line in pr.stdout.splitlines() if line.startswith("::warning title=inconclusive::")]
    assert len(warnings) == 1 and "test-size" in warnings[0] and "test-data" in warnings[0]
    assert "🟡" in pr.summary and "**Inconclusive:**" in pr.summary and "holdout rows" in pr.summary
    assert "`confidence: 0.95`" in pr.summary  # the default rule says what it is

    strict = run_inprocess(ws, {**SEED_ONLY, "mode": "publish", "on-inconclusive": "fail"}, capsys)
    assert strict.code == 1 and strict.outputs["promoted"] == "false"
    assert "inconclusive (`on-inconclusive: fail`)" in strict.summary
    assert not (ws / ".ml-action/registry/model/versions/v2").exists()
    soft = run_inprocess(
        ws, {**SEED_ONLY, "mode": "evaluate", "on-inconclusive": "fail", "fail-on-gate": "false"}, capsys
    )
    assert soft.code == 0 and soft.outputs["verdict"] == "inconclusive"

    lenient = run_inprocess(ws, {**SEED_ONLY, "mode": "publish"}, capsys)
    assert lenient.code == 0 and lenient.outputs["promoted"] == "true"
    assert lenient.outputs["verdict"] == "inconclusive"

    crippled = run_inprocess(ws, {**BASE, "mode": "evaluate", "drop": "debt_ratio, late_payments"}, capsys)
    assert crippled.outputs["verdict"] in ("fail", "inconclusive")  # never a silent pass


def test_monitor_health_against_reference_rows_and_the_fallback(
    tmp_path: Path, sim: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = _workspace(tmp_path, sim)
    assert run_inprocess(ws, {**BASE, "mode": "publish"}, capsys).code == 0
    monitor = {**BASE, "mode": "monitor"}
    same = run_inprocess(ws, {**monitor, "data": "fresh.csv"}, capsys)
    assert same.code == 0 and same.outputs["health"] == "healthy", same.summary
    assert same.outputs["verdict"] == "pass" and "reference rows kept at publish" in same.summary
    broken = run_inprocess(ws, {**monitor, "data": "flipped.csv"}, capsys)
    assert broken.code == 1 and broken.outputs["health"] == "degraded", broken.summary
    assert any(
        line.startswith("::error title=monitor%3A f1_macro max-regression-pct 5%25 @ 0.95::")
        for line in broken.stdout.splitlines()
    ), broken.stdout

    # a version published before reference rows were kept: the earlier rule, and the report says so
    path = ws / ".ml-action/registry/model/versions/v1/manifest.json"
    manifest = json.loads(path.read_text())
    del manifest["reference"], manifest["artifacts"]["reference.parquet"]
    path.chmod(0o644)
    path.write_text(json.dumps(manifest))
    old = run_inprocess(ws, {**monitor, "data": "fresh.csv"}, capsys)
    assert "published without reference rows" in old.summary and "recorded at publish" in old.summary
    assert old.outputs["health"] in ("healthy", "degraded")

"""Trust in the numbers end to end: drift and its outputs, a missing champion feature, the bootstrap
interval and the significant-regression gate, and monitor mode with its GitHub issue."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from tests.helpers import copy_example, run_action
from tests.integration.github_emulator import GitHubEmulator

pytest_plugins = ["tests.integration.github_fixtures"]


def _shifted(workspace: Path, name: str = "shifted.csv") -> str:
    frame = pd.read_csv(workspace / "churn.csv")
    frame["monthly_charges"] = frame["monthly_charges"] + 40
    frame["tenure_months"] = frame["tenure_months"] * 3
    frame.loc[frame.index[:200], "plan"] = "enterprise"
    frame.to_csv(workspace / name, index=False)
    return name


def test_drift_outputs_and_fail_on_drift(tmp_path: Path) -> None:
    workspace = copy_example("churn", tmp_path / "ws")
    assert run_action(workspace, {"mode": "publish"}).code == 0
    data = _shifted(workspace)
    warned = run_action(workspace, {"data": data, "gates": "[]", "primary-metric": "f1_macro", "fail-on-gate": "false"})
    assert warned.outputs["drift-detected"] == "true"
    drifted = json.loads(warned.outputs["drifted-columns"])
    assert {"monthly_charges", "tenure_months"} <= set(drifted)
    assert any(line.startswith("::warning title=dataset drift::") for line in warned.stdout.splitlines())
    assert "Feature drift" in warned.summary and "enterprise" in warned.summary  # the new category
    failed = run_action(
        workspace, {"data": data, "fail-on-drift": "true", "gates": "- metric: f1_macro\n  max-regression: 1"}
    )
    assert failed.code == 1 and failed.outputs["verdict"] == "fail"
    assert any("fail-on-drift" in line for line in failed.errors)


def test_missing_champion_feature_fails_the_gate(tmp_path: Path) -> None:
    workspace = copy_example("churn", tmp_path / "ws")
    assert run_action(workspace, {"mode": "publish"}).code == 0
    pd.read_csv(workspace / "churn.csv").drop(columns=["region"]).to_csv(workspace / "no-region.csv", index=False)
    result = run_action(workspace, {"mode": "publish", "data": "no-region.csv"})
    assert result.code == 1 and result.outputs["promoted"] == "false"
    assert any("region" in line and "champion" in line for line in result.errors)
    assert "removed: `region`" in result.summary
    # leaving a feature out with `drop` is fine: the file still has it, so the champion is scored as usual
    dropped = run_action(workspace, {"drop": "region", "gates": "- metric: f1_macro\n  max-regression: 1"})
    assert dropped.code == 0, dropped.stdout
    assert json.loads(dropped.outputs["metrics"])["champion"]["f1_macro"] > 0.5


def test_champion_that_cannot_be_scored_is_not_replaced(tmp_path: Path) -> None:
    workspace = copy_example("iris", tmp_path / "ws")
    assert run_action(workspace, {"mode": "publish"}).code == 0
    frame = pd.read_csv(workspace / "iris.csv")
    frame["species"] = frame["species"].map({"setosa": 0, "versicolor": 1, "virginica": 2})
    frame.to_csv(workspace / "coded.csv", index=False)
    result = run_action(workspace, {"mode": "publish", "data": "coded.csv"})
    assert result.code == 1 and result.outputs["promoted"] == "false", result.stdout
    assert any("champion comparable" in line and "re-encoded" in line for line in result.errors)
    assert "Traceback" not in result.stderr


def test_interval_and_significant_regression_gate(tmp_path: Path) -> None:
    workspace = copy_example("breast-cancer", tmp_path / "ws")
    assert run_action(workspace, {"mode": "publish"}).code == 0
    gates = "- significant-regression: fail\n- metric: accuracy\n  max-regression: 1"
    close = run_action(
        workspace, {"primary-metric": "accuracy", "gates": gates, "params": '{"C": 0.8, "max_iter": 500}'}
    )
    assert close.code == 0, close.stdout
    assert "95 % interval of Δ accuracy" in close.summary
    dummy = run_action(
        workspace,
        {"primary-metric": "accuracy", "gates": gates, "model": "sklearn.dummy.DummyClassifier", "params": "{}"},
    )
    assert dummy.code == 1
    assert "a significant regression" in dummy.summary
    assert any("significant-regression" in line for line in dummy.errors)
    off = run_action(workspace, {"bootstrap": "0", "params": '{"C": 0.8, "max_iter": 500}'})
    assert "% interval of Δ" not in off.summary


def _degraded(workspace: Path) -> str:
    frame = pd.read_csv(workspace / "churn.csv")
    rng = np.random.default_rng(0)
    flip = rng.random(len(frame)) < 0.5
    frame.loc[flip, "churned"] = np.where(frame.loc[flip, "churned"] == "yes", "no", "yes")
    frame.to_csv(workspace / "fresh-bad.csv", index=False)
    return "fresh-bad.csv"


def test_monitor_opens_updates_and_closes_one_issue(github_api: GitHubEmulator, tmp_path: Path) -> None:
    workspace = copy_example("churn", tmp_path / "ws")
    assert run_action(workspace, {"mode": "publish"}).code == 0
    repo = "acme/churn"
    github_api.add_pull(repo, 1)  # makes the repository exist in the emulator
    extra = {
        "GITHUB_API_URL": github_api.url,
        "GITHUB_REPOSITORY": repo,
        "GITHUB_EVENT_NAME": "schedule",
        "GITHUB_RUN_ID": "5",
        "ML_ACTION_GITHUB_BACKOFF": "0.01",
    }
    inputs = {"mode": "monitor", "github-token": "ghs_actions"}
    bad = run_action(workspace, {**inputs, "data": _degraded(workspace)}, extra)
    assert bad.code == 1 and bad.outputs["verdict"] == "fail" and bad.outputs["issue-url"]
    again = run_action(workspace, {**inputs, "data": "fresh-bad.csv"}, extra)
    assert again.outputs["issue-url"] == bad.outputs["issue-url"]
    issues = github_api.issues_in(repo)
    assert len(issues) == 1 and issues[0]["state"] == "open" and "degraded" in issues[0]["title"]
    healthy = run_action(workspace, {**inputs, "data": "churn.csv"}, extra)
    assert healthy.code == 0 and healthy.outputs["verdict"] == "pass"
    issue = github_api.issues_in(repo)[0]
    assert issue["state"] == "closed"
    assert any("healthy again" in c["body"] for c in github_api.comments_on(repo, issue["number"]))
    soft = run_action(workspace, {**inputs, "data": "fresh-bad.csv", "fail-on-degradation": "false"}, extra)
    assert soft.code == 0 and soft.outputs["verdict"] == "fail"

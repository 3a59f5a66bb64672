"""Every example end to end through ``entrypoint.py``, driven as the runner drives a Docker action."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import copy_example, run_action

EXAMPLES = {"iris": "f1_macro", "breast-cancer": "roc_auc", "diabetes": "rmse", "churn": "f1_macro"}


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_example_publish_then_compare(tmp_path: Path, name: str) -> None:
    workspace = copy_example(name, tmp_path / "ws")
    first = run_action(workspace, {"mode": "publish"})
    assert first.code == 0, first.stdout + first.stderr
    assert first.outputs["verdict"] == "pass"
    assert first.outputs["primary-metric"] == EXAMPLES[name]
    assert first.outputs["promoted"] == "true" and first.outputs["model-version"] == "v1"
    assert first.outputs["champion-version"] == "v1"
    assert "No champion yet" in first.summary
    assert (workspace / "ml-action-report.md").read_text().startswith("## ✅ ml-action")
    manifest = json.loads((workspace / ".ml-action/registry/model/versions/v1/manifest.json").read_text())
    assert manifest["artifacts"]["model.skops"]["sha256"] and manifest["libraries"]["scikit-learn"]
    assert manifest["data"]["fingerprints"]["train"]["sha256"]

    second = run_action(workspace, {"mode": "evaluate", "seed": "7"})
    assert second.outputs["champion-version"] == "v1"
    metrics = json.loads(second.outputs["metrics"])
    assert set(metrics["champion"]) == set(metrics["candidate"])
    assert "champion `v1`" in second.summary and "| metric | champion `v1` | candidate |" in second.summary
    assert second.outputs["promoted"] == "false"
    assert second.code == (0 if second.outputs["verdict"] == "pass" else 1)
    assert not (workspace / ".ml-action/registry/model/versions/v2").exists()


def test_gate_failure_exits_1_with_annotation_and_keeps_champion(tmp_path: Path) -> None:
    workspace = copy_example("iris", tmp_path / "ws")
    assert run_action(workspace, {"mode": "publish"}).code == 0
    worse = run_action(workspace, {"mode": "publish", "params": '{"n_estimators": 1, "max_depth": 1}'})
    assert worse.code == 1
    assert worse.outputs["verdict"] == "fail" and worse.outputs["promoted"] == "false"
    assert any(line.startswith("::error title=gate failed") for line in worse.stdout.splitlines())
    assert not (workspace / ".ml-action/registry/model/versions/v2").exists()
    champion = json.loads((workspace / ".ml-action/registry/model/champion.json").read_text())
    assert champion["version"] == "v1"
    # fail-on-gate: false reports the failure but exits 0
    soft = run_action(
        workspace, {"mode": "evaluate", "params": '{"n_estimators": 1, "max_depth": 1}', "fail-on-gate": "false"}
    )
    assert soft.code == 0 and soft.outputs["verdict"] == "fail"


def test_auto_mode_follows_the_event(tmp_path: Path) -> None:
    workspace = copy_example("diabetes", tmp_path / "ws")
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"repository": {"default_branch": "main"}}))
    extra = {"GITHUB_EVENT_NAME": "push", "GITHUB_REF": "refs/heads/main", "GITHUB_EVENT_PATH": str(event)}
    pushed = run_action(workspace, {}, extra)
    assert pushed.code == 0 and pushed.outputs["promoted"] == "true"
    other = run_action(workspace, {}, {**extra, "GITHUB_REF": "refs/heads/feature"})
    assert other.outputs["promoted"] == "false" and "model-version" not in other.outputs


def test_rollback_and_list(tmp_path: Path) -> None:
    workspace = copy_example("iris", tmp_path / "ws")
    run_action(workspace, {"mode": "publish"})
    run_action(
        workspace,
        {
            "mode": "publish",
            "params": '{"n_estimators": 30, "max_depth": 3}',
            "gates": "[]",
            "primary-metric": "accuracy",
        },
    )
    listed = run_action(workspace, {"mode": "list"})
    rows = json.loads(listed.outputs["versions"])
    assert [r["version"] for r in rows] == ["v1", "v2"] and rows[1]["champion"]
    assert "| `v2` | ★ |" in listed.summary
    back = run_action(workspace, {"mode": "rollback", "to-version": "previous"})
    assert back.code == 0 and back.outputs["champion-version"] == "v1"
    again = run_action(workspace, {"mode": "rollback", "to-version": "v2"})
    assert again.code == 0 and again.outputs["champion-version"] == "v2"
    unknown = run_action(workspace, {"mode": "rollback", "to-version": "v7"})
    assert unknown.code == 1 and unknown.errors == [unknown.errors[0]] and "v7" in unknown.errors[0]
    champion = json.loads((workspace / ".ml-action/registry/model/champion.json").read_text())
    assert champion["version"] == "v2"

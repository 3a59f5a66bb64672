"""The whole pull-request flow through ``entrypoint.py``: a ``pull_request`` event, the GitHub emulator over
HTTP, the sticky comment created then updated; a fork run saves the comment and ``mode: comment`` posts it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.helpers import copy_example, run_action
from tests.integration.github_emulator import GitHubEmulator

pytest_plugins = ["tests.integration.github_fixtures"]

REPO = "acme/iris"


def _pr_env(emulator: GitHubEmulator, tmp_path: Path, number: int = 3) -> dict[str, str]:
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps(
            {"pull_request": {"number": number, "head": {"sha": "a" * 40}}, "repository": {"default_branch": "main"}}
        )
    )
    return {
        "GITHUB_API_URL": emulator.url,
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_RUN_ID": "99",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REF": "refs/pull/3/merge",
        "ML_ACTION_GITHUB_BACKOFF": "0.01",
    }


def test_pull_request_event_posts_then_updates_one_comment(github_api: GitHubEmulator, tmp_path: Path) -> None:
    github_api.add_pull(REPO, 3)
    workspace = copy_example("iris", tmp_path / "ws")
    extra = _pr_env(github_api, tmp_path)
    assert run_action(workspace, {"mode": "publish"}).code == 0  # a champion from main
    first = run_action(workspace, {"github-token": "ghs_actions", "params": '{"n_estimators": 50}'}, extra)
    assert first.code == 0, first.stdout
    assert first.outputs["promoted"] == "false" and first.outputs["comment-url"]
    assert first.stdout.count("ghs_actions") == 1 and "::add-mask::ghs_actions" in first.stdout
    second = run_action(workspace, {"github-token": "ghs_actions", "params": '{"n_estimators": 60}'}, extra)
    comments = github_api.comments_on(REPO, 3)
    assert len(comments) == 1 and second.outputs["comment-url"] == first.outputs["comment-url"]
    body = comments[0]["body"]
    assert body.startswith("<!-- ml-action:model -->")
    assert "champion `v1`" in body and "### Gates" in body and "actions/runs/99" in body
    assert "ghs_actions" not in body
    assert second.summary.count("## ✅ ml-action") == 1


def test_fork_run_saves_the_comment_and_the_trusted_run_posts_it(github_api: GitHubEmulator, tmp_path: Path) -> None:
    github_api.add_pull(REPO, 3)
    workspace = copy_example("iris", tmp_path / "ws")
    extra = _pr_env(github_api, tmp_path)
    fork = run_action(workspace, {"github-token": "ghs_readonly"}, extra)
    assert fork.code == 0
    assert any(line.startswith("::warning") and "mode: comment" in line for line in fork.stdout.splitlines())
    saved = workspace / "ml-action-comment.md"
    assert saved.is_file() and not github_api.comments_on(REPO, 3)
    trusted = tmp_path / "trusted"
    trusted.mkdir()
    # a fork's text is never posted: the trusted run renders the comment from the fork run's result bundle
    shutil.copytree(workspace / "ml-action-result", trusted / "ml-action-result")
    posted = run_action(
        trusted,
        {"mode": "comment", "github-token": "ghs_actions", "results": "ml-action-result"},
        {**extra, "GITHUB_EVENT_NAME": "workflow_run"},
    )
    assert posted.code == 0, posted.stdout
    assert len(github_api.comments_on(REPO, 3)) == 1 and posted.outputs["comment-url"]


def test_github_outage_is_a_warning_not_a_failure(github_api: GitHubEmulator, tmp_path: Path) -> None:
    github_api.add_pull(REPO, 3)
    workspace = copy_example("iris", tmp_path / "ws")
    github_api.fail_next(100, 502)
    result = run_action(workspace, {"github-token": "ghs_actions"}, _pr_env(github_api, tmp_path))
    assert result.code == 0 and result.outputs["verdict"] == "pass"
    assert any(line.startswith("::warning") and "not posted" in line for line in result.stdout.splitlines())

"""Issue 30 item 8: ``mode: comment`` posted a fork's comment file verbatim as the bot, so a fork could ping
``@org/security-team``, forge a ``<details><summary>✅ all gates pass`` and inject ``<img onerror>``. Through
``entrypoint.py`` against the GitHub emulator: a fork's comment file is refused; the comment is rendered from
the fork run's result bundle, re-judged here, and no mention, link or HTML the fork wrote survives."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from ml_action.report import comment as body_text
from tests.helpers import Result, copy_example, run_action
from tests.integration.github_emulator import GitHubEmulator

pytest_plugins = ["tests.integration.github_fixtures"]

REPO = "acme/iris"
FORK = "mallory/iris"
PR = 7
HEAD = "c" * 40
MENTION = "@org/security-team"
SUMMARY = "<details><summary>✅ all gates pass</summary>"
IMG = '<img src=x onerror="alert(1)">'
LINK = "[approve](https://evil.example/x)"
ATTACK = f"{MENTION} {SUMMARY} {IMG} {LINK} www.evil.example"
OUR_TAGS = {"details", "summary", "sub", "code"}


@pytest.fixture(scope="module")
def fork_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A champion published to a registry folder, then a fork's pull-request run: no token, so it saves its
    comment file and leaves its result bundle (``ml-action-result/model``) for PR 7."""
    root = tmp_path_factory.mktemp("fork")
    registry = root / "registry"
    champion = copy_example("iris", root / "main")
    done = run_action(
        champion, {"mode": "publish", "registry": str(registry), "model": "logistic_regression", "params": "{}"}
    )
    assert done.code == 0 and done.outputs["promoted"] == "true", done.stdout
    workspace = copy_example("iris", root / "fork")
    fork = run_action(workspace, {"mode": "evaluate", "pr-number": str(PR), "params": '{"n_estimators": 20}'})
    assert fork.code == 0, fork.stdout
    assert (workspace / "ml-action-comment.md").is_file()
    assert json.loads((workspace / "ml-action-result" / "model" / "bundle.json").read_text())["pull_request"] == PR
    return workspace, registry


def _trusted_env(emulator: GitHubEmulator, tmp_path: Path, head_repository: str | None = FORK) -> dict[str, str]:
    run: dict = {"head_sha": HEAD, "pull_requests": [], "event": "pull_request"}
    if head_repository:
        run["head_repository"] = {"full_name": head_repository}
    event = tmp_path / "workflow_run.json"
    event.write_text(json.dumps({"workflow_run": run, "repository": {"default_branch": "main"}}))
    return {
        "GITHUB_API_URL": emulator.url,
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_EVENT_NAME": "workflow_run",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_RUN_ID": "4243",
        "GITHUB_SERVER_URL": "https://github.com",
        "ML_ACTION_GITHUB_BACKOFF": "0.01",
    }


def _comment(trusted: Path, env: dict[str, str], **inputs: str) -> Result:
    return run_action(trusted, {"mode": "comment", "github-token": "ghs_actions", **inputs}, env)


def _no_forgery(body: str) -> None:
    """No live mention, no link or autolink, no HTML but our own tags, no forged summary."""
    assert not re.search(r"@org", body), "a live mention"
    assert "<img" not in body and SUMMARY not in body and "all gates pass</summary>" not in body
    assert not re.search(r"\]\(https?://evil", body) and "https://evil" not in body and "www.evil" not in body
    tags = {t.lower() for t in re.findall(r"</?([A-Za-z][A-Za-z0-9]*)", body)}
    assert tags <= OUR_TAGS, tags - OUR_TAGS


def test_a_forks_comment_file_is_never_posted(github_api: GitHubEmulator, tmp_path: Path, fork_run) -> None:
    workspace, _ = fork_run
    github_api.add_pull(REPO, PR, head_sha=HEAD)
    trusted = tmp_path / "trusted"
    trusted.mkdir()
    saved = (workspace / "ml-action-comment.md").read_text()
    (trusted / "ml-action-comment.md").write_text(saved.replace("## ", f"## {ATTACK}\n\n", 1))
    for origin in (FORK, None):  # a fork, or a run that does not say where it came from
        done = _comment(trusted, _trusted_env(github_api, tmp_path, origin))
        assert done.code == 1 and len(done.errors) == 1, done.stdout
        assert (
            done.errors[0].startswith("::error title=comment-file::") and "never posts a fork's text" in done.errors[0]
        )
        assert "results" in done.errors[0] and "Traceback" not in done.stdout + done.stderr
    assert github_api.comments_on(REPO, PR) == []


def _trusted(emulator: GitHubEmulator, workspace: Path, tmp_path: Path) -> tuple[Path, Path]:
    """PR 7 at the fork run's head; the trusted job's workspace with the fork run's artifact downloaded to
    ``fork-result``, and its bundle.json (what an attacker edits)."""
    emulator.add_pull(REPO, PR, head_sha=HEAD)
    trusted = tmp_path / "trusted"
    shutil.copytree(workspace / "ml-action-result", trusted / "fork-result")
    return trusted, trusted / "fork-result" / "model" / "bundle.json"


def _edit(path: Path, **fields: object) -> dict:
    manifest = json.loads(path.read_text())
    manifest.update(fields)
    path.write_text(json.dumps(manifest))
    return manifest


def _hostile(bundle: Path) -> None:
    """Everything the fork controls in its bundle, rewritten to the attack, kept consistent (sha256s and the
    fingerprint recomputed) so that ``bundle.read`` accepts it: names, checks, its own verdict and metrics,
    and the class labels themselves."""
    import pandas as pd

    from ml_action.records.artifacts import sha256_file
    from ml_action.records.bundle import holdout_fingerprint

    manifest = json.loads((bundle / "bundle.json").read_text())
    rename = {c: f"{ATTACK} {c}" for c in manifest["classes"]}
    preds = pd.read_parquet(bundle / "predictions.parquet")
    rows = pd.read_parquet(bundle / "holdout.parquet")
    for column in ("y_true", "prediction"):
        preds[column] = preds[column].map(rename)
    rows["species"] = rows["species"].map(rename)
    preds.to_parquet(bundle / "predictions.parquet", index=False)
    rows.to_parquet(bundle / "holdout.parquet", index=False)
    for name in ("predictions.parquet", "holdout.parquet"):
        manifest["files"][name]["sha256"] = sha256_file(bundle / name)
    holdout = manifest["holdout"]
    read_back = pd.read_parquet(bundle / "holdout.parquet")
    holdout["fingerprint"] = holdout_fingerprint(read_back, "species", "classification", holdout["source"])
    manifest["classes"] = sorted(rename.values())
    manifest.update(key=ATTACK, estimator=ATTACK, model=ATTACK, metrics={k: 1.0 for k in manifest["metrics"]})
    manifest["checks"]["leakage"] = [ATTACK]
    manifest["verdict"]["gates"] = [{"rule": SUMMARY, "metric": "*", "passed": True, "reason": ATTACK}]
    manifest["outputs"] = {"verdict": "pass", "comment-url": ATTACK}
    manifest["champion"] = {"version": ATTACK, "metrics": {}}
    (bundle / "bundle.json").write_text(json.dumps(manifest))


def test_the_comment_is_rendered_from_a_hostile_bundle_with_no_forgery(
    github_api: GitHubEmulator, tmp_path: Path, fork_run
) -> None:
    workspace, registry = fork_run
    trusted, path = _trusted(github_api, workspace, tmp_path)
    _hostile(path.parent)
    done = _comment(trusted, _trusted_env(github_api, tmp_path), results="fork-result", registry=str(registry))
    assert done.code == 0, done.stdout + done.stderr
    comments = github_api.comments_on(REPO, PR)
    assert len(comments) == 1 and comments[0]["user"]["login"] == "github-actions[bot]"
    body = comments[0]["body"]
    assert body.startswith(body_text.marker("model")) and done.outputs["comment-url"] == comments[0]["html_url"]
    _no_forgery(body)
    # the verdict is this job's: the relabelled classes share none with the champion's, so it fails here
    assert "· FAIL" in body and "champion comparable" in body and done.outputs["verdict"] == "fail"
    assert "&#64;org/security-team" in body or "@\u2060org/security-team" in body  # shown, as text
    assert "Rendered by the trusted `workflow_run` job" in body


def test_an_honest_bundle_is_judged_against_the_champion_and_its_own_numbers_ignored(
    github_api: GitHubEmulator, tmp_path: Path, fork_run
) -> None:
    workspace, registry = fork_run
    trusted, path = _trusted(github_api, workspace, tmp_path)
    recorded = json.loads(path.read_text())["metrics"]
    _edit(path, metrics={k: 1.0 for k in recorded})  # bundle.json is not hashed: it may say anything
    env = _trusted_env(github_api, tmp_path)
    first = _comment(trusted, env, results="fork-result", registry=str(registry))
    assert first.code == 0, first.stdout + first.stderr
    assert first.outputs["primary-metric"] == "f1_macro"
    assert float(first.outputs["primary-metric-value"]) == pytest.approx(recorded["f1_macro"])  # recomputed, not 1.0
    body = github_api.comments_on(REPO, PR)[0]["body"]
    assert "champion `v1`" in body and "### Gates" in body and "About this result" in body
    assert "champion `v1` is re-scored now" in body
    second = _comment(trusted, env, results="fork-result", registry=str(registry))
    assert second.code == 0 and len(github_api.comments_on(REPO, PR)) == 1  # sticky
    assert second.outputs["comment-url"] == first.outputs["comment-url"]


def test_a_bundle_pointing_at_another_pull_request_is_refused(
    github_api: GitHubEmulator, tmp_path: Path, fork_run
) -> None:
    workspace, _ = fork_run
    github_api.add_pull(REPO, 8, head_sha="d" * 40)
    trusted, path = _trusted(github_api, workspace, tmp_path)
    _edit(path, pull_request=8)
    done = _comment(trusted, _trusted_env(github_api, tmp_path), results="fork-result")
    assert done.code == 1 and len(done.errors) == 1 and done.errors[0].startswith("::error title=pr-number::")
    assert github_api.comments_on(REPO, 8) == [] and github_api.comments_on(REPO, PR) == []
    _edit(path, pull_request="7; rm -rf /")
    done = _comment(trusted, _trusted_env(github_api, tmp_path), results="fork-result")
    assert done.code == 1 and done.errors[0].startswith("::error title=")
    assert "Traceback" not in done.stdout + done.stderr


def test_two_bundles_or_none_are_refused(github_api: GitHubEmulator, tmp_path: Path, fork_run) -> None:
    workspace, _ = fork_run
    trusted = tmp_path / "trusted"
    shutil.copytree(workspace / "ml-action-result" / "model", trusted / "results" / "a")
    shutil.copytree(workspace / "ml-action-result" / "model", trusted / "results" / "b")
    done = _comment(trusted, _trusted_env(github_api, tmp_path), results="results")
    assert done.code == 1 and len(done.errors) == 1 and done.errors[0].startswith("::error title=results::")
    empty = _comment(trusted, _trusted_env(github_api, tmp_path), results="nowhere")
    assert empty.code == 1 and empty.errors[0].startswith("::error title=results::")
    assert github_api.total_requests() == 0

"""The ml-action image, run the way GitHub runs a Docker action (slow: builds the image).

The full test is the project's life cycle through the image, with the S3 server and the GitHub API
emulator listening on the host (the container shares the host network): a pull request is evaluated and
commented, the merge to main publishes v1 to S3 and promotes it, and the next pull request run is compared
with champion v1 and updates the same comment.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.helpers import parse_outputs
from tests.integration.github_emulator import GitHubEmulator

from .conftest import ROOT, Image, Runner

pytestmark = pytest.mark.container

REPO = "octo/iris"
PR = 5
HEAD = "b" * 40
SECRET = "fake-secret-access-key-0123456789"
INPUTS = {"data": "iris.csv", "target": "species"}


def test_version_through_the_entrypoint(image: Image, runner: Runner) -> None:
    init = (ROOT / "ml_action" / "__init__.py").read_text()
    match = re.search(r"""^__version__\s*=\s*["']([^"']+)["']""", init, re.MULTILINE)
    assert match, "ml_action/__init__.py defines no __version__"
    done = runner.run(image, "version", {}, args=("--version",))
    assert done.returncode == 0, done.stderr
    assert match.group(1) in done.stdout


def _aws(endpoint: str) -> dict[str, str]:
    """What a workflow's configure-aws-credentials step would leave in the environment (fake values)."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "AKIAFAKEFAKEFAKEFAKE",
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def _no_secret_in_logs(done: subprocess.CompletedProcess[str], runner: Runner, step: str) -> None:
    """The fake secret is masked once, first thing, and appears in no other line, output or summary."""
    lines = [line for line in (done.stdout + done.stderr).splitlines() if SECRET in line]
    assert lines == [f"::add-mask::{SECRET}"], lines
    assert SECRET not in runner.output(step) and SECRET not in runner.summary(step)


def _pull_request(
    image: Image, runner: Runner, step: str, registry: str, env: dict[str, str]
) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    event = {
        "pull_request": {"number": PR, "head": {"sha": HEAD}},
        "repository": {"full_name": REPO, "default_branch": "main"},
    }
    done = runner.run(
        image,
        step,
        {**INPUTS, "registry": registry, "github-token": "ghs_actions"},
        event_name="pull_request",
        event=event,
        env={**env, "GITHUB_REF": f"refs/pull/{PR}/merge", "GITHUB_SHA": HEAD},
    )
    return done, parse_outputs(runner.output(step))


def test_pull_request_merge_and_next_pull_request_on_s3(
    image: Image, runner: Runner, bucket: str, s3_endpoint: str, github_api: GitHubEmulator
) -> None:
    runner.copy_example("iris")
    github_api.add_pull(REPO, PR, head_sha=HEAD)
    registry = f"s3://{bucket}/models"
    env = {
        **_aws(s3_endpoint),
        "GITHUB_API_URL": github_api.url,
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_SERVER_URL": "https://github.com",
        "ML_ACTION_GITHUB_BACKOFF": "0.01",
    }

    # (a) a pull request: evaluated (no champion yet), one sticky comment on the PR
    first, out = _pull_request(image, runner, "pr-1", registry, env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert out["verdict"] == "pass" and out["promoted"] == "false", out
    assert runner.summary("pr-1").strip()
    comments = github_api.comments_on(REPO, PR)
    assert len(comments) == 1 and comments[0]["body"].startswith("<!-- ml-action:model -->")
    assert comments[0]["user"]["login"] == "github-actions[bot]"
    assert out["comment-url"] == comments[0]["html_url"]
    _no_secret_in_logs(first, runner, "pr-1")

    # (b) the merge: a push to the default branch with mode auto publishes v1 to S3 and promotes it
    push = {"ref": "refs/heads/main", "after": "c" * 40, "repository": {"full_name": REPO, "default_branch": "main"}}
    merged = runner.run(
        image,
        "push",
        {**INPUTS, "registry": registry, "github-token": "ghs_actions"},
        event_name="push",
        event=push,
        env={**env, "GITHUB_SHA": "c" * 40},
    )
    assert merged.returncode == 0, merged.stdout + merged.stderr
    out = parse_outputs(runner.output("push"))
    assert out["promoted"] == "true", out
    assert out["model-uri"] == f"s3://{bucket}/models/model/versions/v1"
    assert out["champion-version"] == "v1"
    import boto3

    s3 = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing-key-id",
        aws_secret_access_key="testing-secret",
    )
    assert s3.head_object(Bucket=bucket, Key="models/model/champion.json")["ContentLength"] > 0
    _no_secret_in_logs(merged, runner, "push")

    # (c) the next pull request run is compared with champion v1: the same comment, edited in place
    second, out = _pull_request(image, runner, "pr-2", registry, env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert out["champion-version"] == "v1" and out["promoted"] == "false", out
    comments = github_api.comments_on(REPO, PR)
    assert len(comments) == 1, [c["body"][:80] for c in comments]
    assert comments[0]["body"].startswith("<!-- ml-action:model -->")
    assert "champion `v1`" in comments[0]["body"]
    assert "ghs_actions" not in comments[0]["body"]
    _no_secret_in_logs(second, runner, "pr-2")
    assert not (Path(runner.workspace) / ".ml-action").exists()  # the S3 registry was used, not a local one

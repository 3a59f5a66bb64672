"""A matrix of models and one leaderboard, through ``entrypoint.py``: three evaluations write result bundles,
``mode: leaderboard`` posts exactly one sticky comment to the GitHub emulator and, on a push to main,
publishes the winner to the S3 server from its bundled model; bad bundles are refused with one ``::error``."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.helpers import copy_example, run_action
from tests.integration.github_emulator import GitHubEmulator

pytest_plugins = ["tests.integration.github_fixtures"]

REPO = "acme/iris"
CONFIG = (
    "data: iris.csv\ntarget: species\nprimary-metric: f1_macro\nbootstrap: 200\n"
    "gates:\n  - metric: f1_macro\n    min: 0.8\n"
)
CANDIDATES = {
    "forest": ("random_forest", '{"n_estimators": 15}'),
    "logistic": ("logistic_regression", "{}"),
    "stump": ("decision_tree", '{"max_depth": 1}'),
}


def _workspace(dest: Path) -> Path:
    workspace = copy_example("iris", dest)
    (workspace / "ml-action.yml").write_text(CONFIG)
    return workspace


def _evaluate(
    workspace: Path, key: str, model: str, params: str, extra: dict[str, str] | None = None, **inputs: str
) -> None:
    done = run_action(
        workspace,
        {"mode": "evaluate", "model": model, "params": params, "comment-key": key, "comment-mode": "off", **inputs},
        extra,
    )
    assert done.code in (0, 1) and not [e for e in done.errors if "gate failed" not in e], done.stdout
    assert (workspace / "ml-action-result" / key / "bundle.json").is_file()


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three candidates on the iris holdout, plus one on another split and one on another target (local
    registry, no champion): the folder holds ``ml-action-result/<key>/``."""
    workspace = _workspace(tmp_path_factory.mktemp("bundles") / "ws")
    for key, (model, params) in CANDIDATES.items():
        _evaluate(workspace, key, model, params)
    _evaluate(workspace, "other-split", "logistic_regression", "{}", seed="7")
    (workspace / "other-target.yml").write_text("data: iris.csv\ntarget: petal_width\nbootstrap: 200\n")
    _evaluate(workspace, "other-target", "ridge", "{}", config="other-target.yml", task="regression")
    return workspace / "ml-action-result"


def _results(bundles: Path, dest: Path, *keys: str) -> Path:
    workspace = _workspace(dest)
    for key in keys:
        shutil.copytree(bundles / key, workspace / "results" / key)
    return workspace


def _aws(endpoint: str, ref: str = "refs/heads/main") -> dict[str, str]:
    keys = (
        "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_DEFAULT_REGION",
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
        "AWS_EC2_METADATA_DISABLED",
    )
    return {
        **{k: os.environ[k] for k in keys},
        "AWS_ENDPOINT_URL": endpoint,
        "GITHUB_SHA": "c0ffee" * 6 + "abcd",
        "GITHUB_RUN_ID": "17",
        "GITHUB_REF": ref,
    }


def _pr(emulator: GitHubEmulator, tmp_path: Path) -> dict[str, str]:
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps({"pull_request": {"number": 5, "head": {"sha": "a" * 40}}, "repository": {"default_branch": "main"}})
    )
    return {
        "GITHUB_API_URL": emulator.url,
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_RUN_ID": "99",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REF": "refs/pull/5/merge",
        "ML_ACTION_GITHUB_BACKOFF": "0.01",
    }


def _push(tmp_path: Path) -> dict[str, str]:
    event = tmp_path / "push.json"
    event.write_text(json.dumps({"repository": {"default_branch": "main"}}))
    return {"GITHUB_EVENT_NAME": "push", "GITHUB_EVENT_PATH": str(event), "GITHUB_REPOSITORY": REPO}


def test_three_evaluations_one_comment_then_the_winner_is_published(
    github_api: GitHubEmulator, tmp_path: Path, bucket: str, s3_env: str, s3_client
) -> None:
    github_api.add_pull(REPO, 5)
    workspace = _workspace(tmp_path / "ws")
    registry = f"s3://{bucket}/models"
    aws = _aws(s3_env)
    champion = run_action(
        workspace,
        {
            "mode": "publish",
            "registry": registry,
            "model": "decision_tree",
            "params": '{"max_depth": 2}',
            "gates": "",
            "result-dir": "champion-run",
        },
        {**aws, **_push(tmp_path)},
    )
    assert champion.code == 0 and champion.outputs["promoted"] == "true", champion.stdout
    for key, (model, params) in CANDIDATES.items():
        _evaluate(workspace, key, model, params, aws, registry=registry)
    pr = {**aws, **_pr(github_api, tmp_path), "GITHUB_REF": "refs/pull/5/merge"}
    inputs = {"mode": "leaderboard", "results": "ml-action-result", "registry": registry, "github-token": "ghs_actions"}
    first = run_action(workspace, inputs, pr)
    assert first.code == 0, first.stdout + first.stderr
    comments = github_api.comments_on(REPO, 5)
    assert len(comments) == 1 and first.outputs["comment-url"]
    body = comments[0]["body"]
    assert body.startswith("<!-- ml-action:leaderboard -->")
    assert "xychart-beta" in body and "Winner: `" in body and "champion `v1`" in body
    assert all(f"`{key}`" in body for key in CANDIDATES)
    assert first.outputs["winner"] in ("forest", "logistic") and first.outputs["promoted"] == "false"
    versions = s3_client.list_objects_v2(Bucket=bucket, Prefix="models/model/versions/")["Contents"]
    assert not [o for o in versions if "/v2/" in o["Key"]]  # a pull request publishes nothing
    again = run_action(workspace, inputs, pr)
    assert again.code == 0 and len(github_api.comments_on(REPO, 5)) == 1
    assert again.outputs["comment-url"] == first.outputs["comment-url"]

    pushed = run_action(workspace, {**inputs, "github-token": ""}, {**aws, **_push(tmp_path)})
    assert pushed.code == 0 and pushed.outputs["promoted"] == "true", pushed.stdout + pushed.stderr
    winner = pushed.outputs["winner"]
    pointer = json.loads(s3_client.get_object(Bucket=bucket, Key="models/model/champion.json")["Body"].read())
    assert pointer["version"] == "v2" and pointer["previous"] == "v1"
    bundled = json.loads((workspace / "ml-action-result" / winner / "bundle.json").read_text())
    assert pointer["sha256"] == bundled["files"]["model.skops"]["sha256"]  # the bundled file, not a retrained one
    manifest = json.loads(
        s3_client.get_object(Bucket=bucket, Key="models/model/versions/v2/manifest.json")["Body"].read()
    )
    assert manifest["leaderboard"]["winner"] == winner and manifest["git"]["sha"].startswith("c0ffee")
    assert manifest["data"]["holdout_fingerprint"] == bundled["holdout"]["fingerprint"]


def test_same_data_same_split_same_fingerprint_another_split_differs(bundles: Path) -> None:
    prints = {
        key: json.loads((bundles / key / "bundle.json").read_text())["holdout"]["fingerprint"]
        for key in [*CANDIDATES, "other-split"]
    }
    assert prints["forest"] == prints["logistic"] == prints["stump"] != prints["other-split"]


def _leaderboard(workspace: Path, **inputs: str):
    return run_action(workspace, {"mode": "leaderboard", "results": "results", **inputs})


def _refused(done, *words: str) -> None:
    assert done.code == 1, done.stdout + done.stderr
    assert len(done.errors) == 1 and done.errors[0].startswith("::error title=results::"), done.stdout
    assert all(w in done.errors[0] for w in words), done.errors[0]
    assert "Traceback" not in done.stdout + done.stderr
    assert not (done.workspace / ".ml-action" / "registry" / "model" / "versions").exists()


def test_an_altered_model_file_is_refused(bundles: Path, tmp_path: Path) -> None:
    workspace = _results(bundles, tmp_path / "ws", *CANDIDATES)
    with open(workspace / "results" / "logistic" / "model.skops", "ab") as fh:
        fh.write(b"\0")
    _refused(_leaderboard(workspace, **{"mode": "leaderboard"}), "logistic", "sha256")


def test_bundles_from_different_holdouts_are_refused(bundles: Path, tmp_path: Path) -> None:
    workspace = _results(bundles, tmp_path / "ws", "forest", "logistic", "other-split")
    _refused(_leaderboard(workspace), "different holdout rows", "other-split", "forest, logistic")


def test_bundles_for_different_targets_are_refused(bundles: Path, tmp_path: Path) -> None:
    workspace = _results(bundles, tmp_path / "ws", "forest", "other-target")
    _refused(_leaderboard(workspace), "different targets", "other-target", "petal_width", "species")


def test_an_edited_holdout_is_refused_even_with_its_sha256_updated(bundles: Path, tmp_path: Path) -> None:
    import pandas as pd

    from ml_action.artifacts import sha256_file

    workspace = _results(bundles, tmp_path / "ws", "forest", "logistic")
    folder = workspace / "results" / "forest"
    rows = pd.read_parquet(folder / "holdout.parquet")
    rows.loc[0, "species"] = "virginica" if rows.loc[0, "species"] != "virginica" else "setosa"
    rows.to_parquet(folder / "holdout.parquet", index=False)
    manifest = json.loads((folder / "bundle.json").read_text())
    manifest["files"]["holdout.parquet"]["sha256"] = sha256_file(folder / "holdout.parquet")
    (folder / "bundle.json").write_text(json.dumps(manifest))
    _refused(_leaderboard(workspace), "forest", "fingerprint")


def test_an_empty_results_folder_is_a_clear_error(tmp_path: Path) -> None:
    workspace = _workspace(tmp_path / "ws")
    (workspace / "results").mkdir()
    _refused(_leaderboard(workspace), "holds no result bundle")
    _refused(_leaderboard(workspace, results="nowhere"), "does not exist")
    _refused(_leaderboard(workspace, results=""), "is required")
    _refused(_leaderboard(workspace, results="../.."), "outside the workspace")


def test_a_damaged_bundle_manifest_is_refused(bundles: Path, tmp_path: Path) -> None:
    workspace = _results(bundles, tmp_path / "ws", "forest", "logistic")
    path = workspace / "results" / "forest" / "bundle.json"
    manifest = json.loads(path.read_text())
    manifest["files"]["model.skops"] = {"sha256": "../../etc/passwd"}
    path.write_text(json.dumps(manifest))
    _refused(_leaderboard(workspace), "forest", "sha256")


def test_a_result_dir_outside_the_workspace_fails_before_any_work(tmp_path: Path) -> None:
    workspace = _workspace(tmp_path / "ws")
    done = run_action(workspace, {"mode": "evaluate", "result-dir": "../outside"})
    assert done.code == 1 and len(done.errors) == 1 and done.errors[0].startswith("::error title=result-dir::")
    assert "Train candidate" not in done.stdout and not (tmp_path / "outside").exists()


def test_a_bad_comment_file_fails_the_leaderboard_before_the_winner_is_published(bundles: Path, tmp_path: Path) -> None:
    workspace = _results(bundles, tmp_path / "ws", *CANDIDATES)
    done = run_action(
        workspace, {"mode": "leaderboard", "results": "results", "comment-file": "iris.csv/c.md"}, _push(tmp_path)
    )
    assert done.code == 1 and len(done.errors) == 1, done.stdout
    assert done.errors[0].startswith("::error title=comment-file::") and "under a file" in done.errors[0]
    assert "Traceback" not in done.stdout + done.stderr
    assert not (workspace / ".ml-action" / "registry" / "model" / "versions").exists()

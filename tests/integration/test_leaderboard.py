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

    from ml_action.records.artifacts import sha256_file

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


def _relabel(folder: Path, labels: object = None) -> None:
    """Rewrite a bundle's labels (to its own predictions by default), consistently: holdout.parquet and
    predictions.parquet edited, their sha256s and the holdout fingerprint recomputed, so ``bundle.read`` finds
    nothing wrong."""
    import pandas as pd

    from ml_action.records.artifacts import sha256_file
    from ml_action.records.bundle import holdout_fingerprint

    manifest = json.loads((folder / "bundle.json").read_text())
    preds = pd.read_parquet(folder / "predictions.parquet")
    rows = pd.read_parquet(folder / "holdout.parquet")
    new = preds["prediction"].to_numpy() if labels is None else labels
    assert (preds["y_true"].to_numpy() != new).any(), "the labels must change for the attack to matter"
    preds["y_true"] = new
    rows["species"] = new
    preds.to_parquet(folder / "predictions.parquet", index=False)
    rows.to_parquet(folder / "holdout.parquet", index=False)
    for name in ("predictions.parquet", "holdout.parquet"):
        manifest["files"][name]["sha256"] = sha256_file(folder / name)
    read_back = pd.read_parquet(folder / "holdout.parquet")
    holdout = manifest["holdout"]
    holdout["fingerprint"] = holdout_fingerprint(read_back, "species", "classification", holdout["source"])
    manifest["metrics"] = {k: 1.0 for k in manifest["metrics"]}
    (folder / "bundle.json").write_text(json.dumps(manifest))


def test_a_bundle_relabelled_to_its_own_predictions_is_refused_not_promoted(bundles: Path, tmp_path: Path) -> None:
    """Issue 30 item 7: labels rewritten to the bundle's own predictions (every sha256 and the fingerprint
    recomputed) scored f1 1.0 and beat the real champion. The labels are re-derived from the data checked out."""
    from ml_action.records.bundle import read

    workspace = _results(bundles, tmp_path / "ws", "stump")
    champion = run_action(workspace, {"mode": "publish", "model": "logistic_regression", "result-dir": "champ"})
    assert champion.code == 0 and champion.outputs["promoted"] == "true", champion.stdout
    _relabel(workspace / "results" / "stump")
    forged = read(workspace / "results" / "stump", "stump")  # consistent in itself: the old check passes
    assert (forged.y == forged.preds.labels).all()
    done = run_action(workspace, {"mode": "leaderboard", "results": "results"}, _push(tmp_path))
    _refused_after_champion(done, "stump", "labels", "fingerprint", "iris.csv")


def _refused_after_champion(done, *words: str) -> None:
    assert done.code == 1, done.stdout + done.stderr
    assert len(done.errors) == 1 and done.errors[0].startswith("::error title=results::"), done.stdout
    assert all(w in done.errors[0] for w in words), done.errors[0]
    assert "Traceback" not in done.stdout + done.stderr
    versions = done.workspace / ".ml-action" / "registry" / "model" / "versions"
    assert sorted(p.name for p in versions.iterdir()) == ["v1"]  # nothing published over the champion
    pointer = json.loads((done.workspace / ".ml-action" / "registry" / "model" / "champion.json").read_text())
    assert pointer["version"] == "v1"


def test_the_whole_matrix_relabelled_alike_is_refused(bundles: Path, tmp_path: Path) -> None:
    """Every bundle forged with the same labels shares one (forged) fingerprint: the data checked out still
    disagrees. Honest rows with edited split settings are refused as well."""
    import pandas as pd

    workspace = _results(bundles, tmp_path / "ws", *CANDIDATES)
    forged = pd.read_parquet(workspace / "results" / "stump" / "predictions.parquet")["prediction"].to_numpy()
    for key in CANDIDATES:
        _relabel(workspace / "results" / key, forged)
    _refused(_leaderboard(workspace), "forest", "fingerprint")
    honest = _results(bundles, tmp_path / "ws2", "forest")
    path = honest / "results" / "forest" / "bundle.json"
    manifest = json.loads(path.read_text())
    manifest["version_fields"]["config"]["seed"] = 7
    path.write_text(json.dumps(manifest))
    _refused(_leaderboard(honest), "forest", "fingerprint", "seed 7")


def test_a_bundle_evaluated_on_other_data_than_the_checkout_is_refused(bundles: Path, tmp_path: Path) -> None:
    workspace = _results(bundles, tmp_path / "ws", "forest", "logistic")
    with open(workspace / "iris.csv", "a") as fh:  # the checkout moved on: one more row
        fh.write("5.0,3.4,1.5,0.2,setosa\n")
    _refused(_leaderboard(workspace), "forest", "not evaluated on the data checked out", "sha256")


@pytest.mark.parametrize(
    ("setting", "value", "words"),
    [
        ("data", "../../etc/passwd", ("outside the workspace",)),
        ("data", "s3://someone-elses-bucket/iris.csv", ("S3 file", "not this job's")),
        ("data", {"nested": 1}, ("not a setting",)),
        ("test-size", 7, ("bad `test-size`",)),
    ],
)
def test_a_bundle_naming_bad_data_settings_is_refused(
    bundles: Path, tmp_path: Path, setting: str, value: object, words: tuple[str, ...]
) -> None:
    workspace = _results(bundles, tmp_path / "ws", "forest")
    path = workspace / "results" / "forest" / "bundle.json"
    manifest = json.loads(path.read_text())
    manifest["version_fields"]["config"][setting] = value
    path.write_text(json.dumps(manifest))
    _refused(_leaderboard(workspace), "forest", *words)

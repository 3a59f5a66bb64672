"""Issue 8 through ``entrypoint.py``: data snapshots at publish, ``mode: reproduce`` in a fresh workspace
(data only from the snapshot), tampering detected, one stored copy of identical data, ``mode: diff``,
a model card per version, and ``data: s3://...`` — against the S3 test server and the local registry.

Issue 30 against a hostile registry: a manifest's ``model`` is never imported from outside the workspace
(item 2), a stored model that cannot be verified is never "reproduced" (item 4), manifest text reaches the
report escaped (item 6) and the champion pointer's sha256 must be the manifest's (item 11)."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ml_action.records.artifacts import sha256_file
from tests.helpers import EXAMPLES, Result, copy_example, run_action

FAST = {"bootstrap": "0", "cv": "0"}


def _aws(endpoint: str, sha: str = "c0ffee" * 6 + "abcd") -> dict[str, str]:
    keys = (
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
        "GITHUB_SHA": sha,
        "GITHUB_RUN_ID": "8",
        "GITHUB_REF": "refs/heads/main",
    }


def _keys(s3_client: Any, bucket: str, prefix: str) -> list[str]:
    return sorted(o["Key"] for o in s3_client.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []))


def _manifest(s3_client: Any, bucket: str, key: str) -> dict[str, Any]:
    return json.loads(s3_client.get_object(Bucket=bucket, Key=key)["Body"].read())


def test_s3_publish_snapshots_then_reproduce_in_a_fresh_workspace(
    tmp_path: Path, bucket: str, s3_env: str, s3_client: Any
) -> None:
    workspace = copy_example("iris", tmp_path / "ws")
    registry = f"s3://{bucket}/models"
    extra = _aws(s3_env)
    first = run_action(workspace, {"mode": "publish", "registry": registry, **FAST}, extra)
    assert first.code == 0 and first.outputs["model-version"] == "v1", first.stdout + first.stderr
    data_keys = _keys(s3_client, bucket, "models/model/data/")
    assert len(data_keys) == 2  # train and holdout, each content-addressed
    manifest = _manifest(s3_client, bucket, "models/model/versions/v1/manifest.json")
    snaps = manifest["data"]["snapshots"]
    assert {f"models/model/{snaps[s]['key']}" for s in ("train", "test")} == set(data_keys)
    assert snaps["train"]["rows"] + snaps["test"]["rows"] == 150
    assert manifest["predictions"]["rows"] == snaps["test"]["rows"] and manifest["predictions"]["sha256"]
    for name in ("python", "scikit-learn", "numpy", "scipy", "pandas", "skops"):
        assert manifest["libraries"][name]
    # the model card is stored beside the model, hashed in the manifest and linked from the report
    card = s3_client.get_object(Bucket=bucket, Key="models/model/versions/v1/model-card.md")["Body"].read()
    assert manifest["artifacts"]["model-card.md"]["sha256"] == hashlib.sha256(card).hexdigest()
    text = card.decode()
    assert manifest["artifacts"]["model.skops"]["sha256"] in text and "sio.load" in text
    assert snaps["train"]["sha256"] in text and "Gates passed" in text and "holdout rows" in text
    assert f"s3://{bucket}/models/model/versions/v1/model-card.md" in first.summary

    # the same data again: nothing new under data/
    second = run_action(workspace, {"mode": "publish", "registry": registry, **FAST}, extra)
    assert second.code == 0 and second.outputs["model-version"] == "v2", second.stdout
    assert "already stored" in second.stdout
    assert _keys(s3_client, bucket, "models/model/data/") == data_keys

    # a fresh, empty workspace: no ml-action.yml, no iris.csv; everything comes from the registry
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    result = run_action(fresh, {"mode": "reproduce", "registry": registry, "to-version": "v1"}, extra)
    assert result.code == 0, result.stdout + result.stderr
    assert result.outputs["reproduced"] == "true"
    assert "REPRODUCED" in result.summary and "identical, bit for bit" in result.summary
    assert (fresh / result.outputs["report-path"]).read_text().count("❌") == 0
    # the default is the champion (v2)
    champion = run_action(fresh, {"mode": "reproduce", "registry": registry}, extra)
    assert champion.code == 0 and champion.outputs["model-version"] == "v2", champion.stdout

    # one byte of the training snapshot altered in the bucket: a hash error naming the version
    key = f"models/model/{snaps['train']['key']}"
    body = bytearray(s3_client.get_object(Bucket=bucket, Key=key)["Body"].read())
    body[len(body) // 2] ^= 0x01
    s3_client.put_object(Bucket=bucket, Key=key, Body=bytes(body))
    broken = run_action(fresh, {"mode": "reproduce", "registry": registry, "to-version": "v1"}, extra)
    assert broken.code == 1 and len(broken.errors) == 1, broken.stdout
    assert broken.errors[0].startswith("::error title=to-version::")
    assert "version v1" in broken.errors[0] and "sha256" in broken.errors[0]
    assert "Traceback" not in broken.stderr


def test_s3_data_uri(tmp_path: Path, bucket: str, s3_env: str, s3_client: Any) -> None:
    source = EXAMPLES / "iris" / "iris.csv"
    s3_client.put_object(Bucket=bucket, Key="datasets/iris.csv", Body=source.read_bytes())
    workspace = tmp_path / "ws"
    workspace.mkdir()
    inputs = {
        "mode": "publish",
        "registry": f"s3://{bucket}/models",
        "data": f"s3://{bucket}/datasets/iris.csv",
        "target": "species",
        **FAST,
    }
    result = run_action(workspace, inputs, _aws(s3_env))
    assert result.code == 0, result.stdout + result.stderr
    train = _manifest(s3_client, bucket, "models/model/versions/v1/manifest.json")["data"]["fingerprints"]["train"]
    assert train["source"] == f"s3://{bucket}/datasets/iris.csv" and train["rows"] == 150
    assert train["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    missing = run_action(workspace, {**inputs, "data": f"s3://{bucket}/datasets/nope.csv"}, _aws(s3_env))
    assert missing.code == 1 and missing.errors[0].startswith("::error title=data::"), missing.stdout
    assert "nope.csv" in missing.errors[0]


def test_local_snapshot_reproduce_and_diff(tmp_path: Path) -> None:
    workspace = copy_example("iris", tmp_path / "ws")
    local = {"snapshot-data": "true", **FAST}
    first = run_action(workspace, {"mode": "publish", "params": '{"n_estimators": 50}', **local})
    assert first.code == 0, first.stdout + first.stderr
    second = run_action(
        workspace,
        {
            "mode": "publish",
            "params": '{"n_estimators": 5, "max_depth": 2}',
            "gates": "- metric: f1_macro\n  max-regression: 1",
            **local,
        },
    )
    assert second.code == 0 and second.outputs["model-version"] == "v2", second.stdout

    fresh = tmp_path / "fresh"
    fresh.mkdir()
    registry = str(workspace / ".ml-action" / "registry")
    result = run_action(fresh, {"mode": "reproduce", "registry": registry, "to-version": "v1"})
    assert result.code == 0 and result.outputs["reproduced"] == "true", result.stdout + result.stderr

    diff = run_action(workspace, {"mode": "diff", "from-version": "v1", "to-version": "v2"})
    assert diff.code == 0, diff.stdout + diff.stderr
    report = (workspace / diff.outputs["report-path"]).read_text()
    assert "diff `model` `v1` → `v2`" in report and "diff `model` `v1` → `v2`" in diff.summary
    assert "| model__n_estimators | 50 | 5 |" in report and "| model__max_depth | None | 2 |" in report
    assert "### Metrics" in report and "f1_macro" in report and "↑" in report
    assert "### Data" in report and "### Libraries" in report and "_Same library versions._" in report
    # the drift hook: both versions carry a data profile, and the same rows do not drift
    assert "Drift of the training data" in report and "0 of 4 columns drifted" in report
    assert "diff `model` `v1` → `v2`" in diff.stdout  # the log has it too


def test_reproduce_without_snapshot_is_a_clear_error(tmp_path: Path) -> None:
    workspace = copy_example("iris", tmp_path / "ws")
    assert run_action(workspace, {"mode": "publish", **FAST}).code == 0  # local registry: auto = off
    result = run_action(workspace, {"mode": "reproduce"})
    assert result.code == 1 and len(result.errors) == 1, result.stdout
    assert result.errors[0].startswith("::error title=to-version::")
    assert "v1 was published without `snapshot-data`" in result.errors[0]
    assert "Traceback" not in result.stderr


def test_reproduce_reports_what_differs_and_the_tolerance_decides(tmp_path: Path) -> None:
    workspace = copy_example("iris", tmp_path / "ws")
    assert run_action(workspace, {"mode": "publish", "snapshot-data": "true", **FAST}).code == 0
    # an edited record stands in for a rebuild that drifted: metrics, probabilities and a library version
    path = workspace / ".ml-action" / "registry" / "model" / "versions" / "v1" / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["metrics"]["f1_macro"] += 1e-6
    manifest["predictions"]["sha256"] = "0" * 64
    manifest["predictions"]["proba"][0][0] += 1e-6
    manifest["libraries"]["scikit-learn"] = "1.0.0"
    path.write_text(json.dumps(manifest))
    strict = run_action(workspace, {"mode": "reproduce"})
    assert strict.code == 1 and strict.outputs["reproduced"] == "false", strict.stdout
    assert "NOT REPRODUCED" in strict.summary
    assert "| f1_macro |" in strict.summary and "❌" in strict.summary
    assert "probabilities (rebuilt model) | recorded values | max abs Δ 1e-06 | ❌ |" in strict.summary
    assert "scikit-learn 1.0.0 → " in strict.summary
    assert any(
        line.startswith("::warning title=reproduce::library versions differ") for line in strict.stdout.splitlines()
    )
    assert strict.errors and "f1_macro" in strict.errors[-1]
    loose = run_action(workspace, {"mode": "reproduce", "tolerance": "1e-4"})
    assert loose.code == 0 and loose.outputs["reproduced"] == "true", loose.stdout


def test_prediction_record_of_a_regression_and_the_tolerance() -> None:
    import numpy as np

    from ml_action.core.metrics import Predictions
    from ml_action.pipeline.reproduce import compare_predictions
    from ml_action.records.artifacts import prediction_record

    preds = Predictions(labels=np.array([1.5, 2.25, 3.0]), proba=None, classes=None)
    record = json.loads(json.dumps(prediction_record(preds)))  # as stored in the manifest
    same = compare_predictions(record, preds, 0.0)
    assert [c.reproduced for c in same][-1] == "identical, bit for bit" and all(c.ok for c in same)
    moved = Predictions(labels=np.array([1.5, 2.25, 3.0 + 1e-7]), proba=None, classes=None)
    assert [c.ok for c in compare_predictions(record, moved, 1e-9)] == [True, None, False]
    assert [c.ok for c in compare_predictions(record, moved, 1e-6)] == [True, None, True]


# ---------------------------------------------------------------------------------------------- issue 30

REG = ".ml-action/registry/model"
HOSTILE = "<img src=x onerror=alert(1)> @org/security-team </details>"
FACTORY = """
import os
print("::add-mask::forged-at-import")
os.write(1, b"::error title=forged::from a file descriptor\\n")

def make():
    print("::set-output name=reproduced::true")
    from sklearn.ensemble import RandomForestClassifier
    return RandomForestClassifier()
"""


@pytest.fixture(scope="module")
def snapshotted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An iris workspace whose local registry holds v1 (the champion) with its data snapshots."""
    workspace = copy_example("iris", tmp_path_factory.mktemp("snapshotted") / "ws")
    first = run_action(workspace, {"mode": "publish", "snapshot-data": "true", **FAST})
    assert first.code == 0 and first.outputs["champion-version"] == "v1", first.stdout + first.stderr
    return workspace


@pytest.fixture
def published(snapshotted: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(snapshotted, tmp_path / "ws"))


def _edit(
    workspace: Path, change: Callable[[dict[str, Any]], dict[str, Any]], name: str = "versions/v1/manifest.json"
) -> None:
    path = workspace / REG / name
    path.write_text(json.dumps(change(json.loads(path.read_text()))))


def _replace_model(workspace: Path, body: bytes) -> None:
    """v1's model file replaced, its sha256 fixed in the manifest and the pointer, as a bucket writer can."""
    model = workspace / REG / "versions/v1/model.skops"
    model.write_bytes(body)
    digest = sha256_file(model)
    _edit(
        workspace,
        lambda m: {**m, "artifacts": {**m["artifacts"], "model.skops": {"file": "model.skops", "sha256": digest}}},
    )
    _edit(workspace, lambda p: {**p, "sha256": digest}, "champion.json")


def _only_error(result: Result, title: str) -> str:
    assert len(result.errors) == 1, result.stdout
    assert result.errors[0].startswith(f"::error title={title}::"), result.errors
    assert "Traceback" not in result.stderr, result.stderr
    return result.errors[0]


@pytest.mark.parametrize("spec", ["sys:exit", "os:abort", "this.s", "yaml:safe_load"])
def test_reproduce_never_imports_what_a_manifest_names_outside_the_workspace(published: Path, spec: str) -> None:
    """Before: ``sys:exit`` ended the run with exit 0 and no outputs, ``os:abort`` aborted, ``this.s`` printed
    the Zen of Python to stdout past the escaping."""
    _edit(published, lambda m: {**m, "model": spec})
    result = run_action(published, {"mode": "reproduce"})
    assert result.code == 1, result.stdout + result.stderr
    error = _only_error(result, "registry")
    assert "v1/manifest.json is damaged: `model`:" in error, error
    assert "outside the workspace" in error or "standard-library" in error, error
    assert "Zen of Python" not in result.stdout + result.stderr
    assert result.outputs.get("reproduced") != "true"


def test_a_factory_runs_from_the_checkout_and_what_it_prints_is_escaped(tmp_path: Path) -> None:
    workspace = copy_example("iris", tmp_path / "ws")
    (workspace / "factories.py").write_text(FACTORY)
    inputs = {"model": "factories:make", "snapshot-data": "true", **FAST}
    runs = [run_action(workspace, {"mode": "publish", **inputs}), run_action(workspace, {"mode": "reproduce"})]
    for result in runs:
        assert result.code == 0, result.stdout + result.stderr
        lines = result.stdout.splitlines() + result.stderr.splitlines()
        assert not [line for line in lines if "forged" in line and line.lstrip().startswith("::")], lines
        assert not [line for line in lines if line.startswith("::set-output")]
        assert "› ::add-mask::forged-at-import" in result.stdout  # echoed, made inert
        assert "› ::error title=forged::from a file descriptor" in result.stdout
    assert runs[1].outputs["reproduced"] == "true"


def test_reproduce_fails_when_the_stored_model_cannot_be_verified(published: Path) -> None:
    """Before: the loader's refusal became a note, exit 0 and ``reproduced=true``."""
    _replace_model(published, pickle.dumps({"not": "a model"}))
    result = run_action(published, {"mode": "reproduce"})
    assert result.code == 1 and result.outputs["reproduced"] == "false", result.stdout
    error = _only_error(result, "not reproduced")
    assert "the stored model could not be verified" in error and "pickle" in error
    assert (
        "NOT REPRODUCED" in result.summary and "| stored model | sha256 and safe load | not verified:" in result.summary
    )


def test_without_recorded_predictions_the_stored_model_meets_the_recorded_metrics(published: Path) -> None:
    import numpy as np
    import skops.io as sio
    from sklearn.dummy import DummyClassifier

    _edit(published, lambda m: {**m, "predictions": None})
    honest = run_action(published, {"mode": "reproduce"})
    assert honest.code == 0 and honest.outputs["reproduced"] == "true", honest.stdout
    assert "f1_macro (stored model)" in honest.summary

    other = DummyClassifier().fit(np.zeros((3, 4)), ["setosa", "versicolor", "virginica"])
    _replace_model(published, sio.dumps(other))
    swapped = run_action(published, {"mode": "reproduce"})
    assert swapped.code == 1 and swapped.outputs["reproduced"] == "false", swapped.stdout
    assert "f1_macro (stored model)" in _only_error(swapped, "not reproduced")


def test_the_champion_pointer_must_record_the_manifests_sha256(published: Path) -> None:
    _edit(published, lambda p: {**p, "sha256": "ab" * 32}, "champion.json")
    result = run_action(published, {"mode": "reproduce"})
    assert result.code == 1, result.stdout
    error = _only_error(result, "registry")
    assert "the champion records sha256 abababababab… for v1, whose manifest records" in error
    assert "nothing was loaded" in error and "reproduced" not in result.outputs
    by_id = run_action(published, {"mode": "reproduce", "to-version": "v1"})  # not through the pointer
    assert by_id.code == 0 and by_id.outputs["reproduced"] == "true", by_id.stdout


def _inert(text: str) -> None:
    assert "<img" not in text and "@org/security-team" not in text and "`<" not in text, text


def test_manifest_text_reaches_the_reproduce_report_escaped(published: Path) -> None:
    def hostile(m: dict[str, Any]) -> dict[str, Any]:
        libraries = {**m["libraries"], HOSTILE: HOSTILE}
        return {
            **m,
            "git": {**m["git"], "sha": HOSTILE},
            "libraries": libraries,
            "metrics": {**m["metrics"], HOSTILE: 0.5},
        }

    _edit(published, hostile)
    result = run_action(published, {"mode": "reproduce"})
    assert result.code == 1 and result.outputs["reproduced"] == "false", result.stdout + result.stderr
    report = (published / result.outputs["report-path"]).read_text()
    for text in (result.summary, report):
        _inert(text)
        assert text.count("</details>") == 1  # the template's own
        assert "&lt;img src=x onerror=alert(1)&gt;" in text
    assert not [line for line in result.stdout.splitlines() if "<img" in line and not line.startswith("::")]


def test_manifest_text_reaches_the_diff_report_escaped(published: Path) -> None:
    _edit(
        published,
        lambda m: {**m, "git": {**m["git"], "sha": HOSTILE}, "libraries": {**m["libraries"], "numpy": HOSTILE}},
    )
    result = run_action(published, {"mode": "diff", "from-version": "v1", "to-version": "v1"})
    assert result.code == 0, result.stdout + result.stderr
    _inert(result.summary)
    assert "&lt;img" in result.summary

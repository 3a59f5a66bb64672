"""A hostile or damaged registry through ``entrypoint.py``: bad objects give one ``::error`` naming the key,
``list`` goes on past a damaged version, ``rollback`` refuses only a damaged target, paths from the
registry stay confined, pickles are loud, and bucket names are checked."""

from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path

import pytest

from ml_action.records.artifacts import sha256_file
from tests.helpers import copy_example, run_action

REG = ".ml-action/registry/model"


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An iris workspace whose local registry holds v1 and v2 (the champion)."""
    workspace = copy_example("iris", tmp_path_factory.mktemp("published") / "ws")
    assert run_action(workspace, {"mode": "publish"}).code == 0
    second = run_action(workspace, {"mode": "publish", "gates": "[]"})
    assert second.code == 0 and second.outputs["champion-version"] == "v2", second.stdout
    return workspace


@pytest.fixture
def workspace(published: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(published, tmp_path / "ws"))


def _one_error(result, title: str = "registry") -> str:
    assert len(result.errors) == 1, result.stdout
    assert result.errors[0].startswith(f"::error title={title}::"), result.errors
    assert "Traceback" not in result.stderr, result.stderr
    return result.errors[0]


def _edit_manifest(workspace: Path, version: str, change) -> None:
    path = workspace / REG / "versions" / version / "manifest.json"
    path.write_text(json.dumps(change(json.loads(path.read_text()))))


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'{"sha256": "x"}'])
def test_damaged_champion_pointer_is_one_error(workspace: Path, body: bytes) -> None:
    (workspace / REG / "champion.json").write_bytes(body)
    result = run_action(workspace, {})
    assert result.code == 1
    assert "champion.json is damaged" in _one_error(result)


def test_list_shows_a_damaged_version_and_goes_on(workspace: Path) -> None:
    _edit_manifest(workspace, "v1", lambda m: {**m, "artifacts": [1]})
    result = run_action(workspace, {"mode": "list"})
    assert result.code == 0, result.stdout
    rows = {r["version"]: r for r in json.loads(result.outputs["versions"])}
    assert "`artifacts` is a list" in rows["v1"]["damaged"] and "damaged" not in rows["v2"]
    assert rows["v2"]["champion"] and isinstance(rows["v2"]["value"], float)
    assert "damaged" in result.summary
    assert any(
        line.startswith("::warning title=registry::") and "v1/manifest.json" in line
        for line in result.stdout.splitlines()
    )


def test_list_writes_manifest_text_escaped(workspace: Path) -> None:
    """Issue 30 item 6: ``primary_metric``, ``created_at`` and ``git.sha`` used to reach the job summary raw."""
    hostile = "<img src=x onerror=alert(1)> @org/security-team </details>\n::error::forged"
    _edit_manifest(
        workspace,
        "v2",
        lambda m: {**m, "primary_metric": hostile, "created_at": hostile, "git": {**m["git"], "sha": hostile}},
    )
    result = run_action(workspace, {"mode": "list"})
    assert result.code == 0, result.stdout + result.stderr
    summary = result.summary
    assert "<img" not in summary and "@org/security-team" not in summary and "</details>" not in summary, summary
    assert result.summary.count("&lt;img src=x onerror=alert(1)&gt;") == 2  # metric and date; the sha is cut
    assert "<code>&lt;img src=x o</code>" in result.summary
    assert not [line for line in result.stdout.splitlines() if "forged" in line and line.startswith("::")]
    v2 = {r["version"]: r for r in json.loads(result.outputs["versions"])}["v2"]
    assert v2["created_at"].endswith("\\n::error::forged") and "\n" not in v2["created_at"]


def test_rollback_refuses_a_damaged_target_and_works_for_a_good_one(workspace: Path) -> None:
    _edit_manifest(workspace, "v1", lambda m: {**m, "version": "v7"})
    refused = run_action(workspace, {"mode": "rollback", "to-version": "v1"})
    assert refused.code == 1 and "v1/manifest.json is damaged" in _one_error(refused)
    assert json.loads((workspace / REG / "champion.json").read_text())["version"] == "v2"
    _edit_manifest(workspace, "v1", lambda m: {**m, "version": "v1"})
    assert run_action(workspace, {"mode": "rollback", "to-version": "v1"}).code == 0
    assert json.loads((workspace / REG / "champion.json").read_text())["version"] == "v1"


def test_traversal_from_a_manifest_writes_nothing_outside(workspace: Path, tmp_path: Path) -> None:
    escape = f"ml-action-escape-{os.getpid()}"
    _edit_manifest(
        workspace,
        "v2",
        lambda m: {
            **m,
            "artifacts": {"model.skops": {**m["artifacts"]["model.skops"], "file": f"../../../../tmp/{escape}"}},
        },
    )
    result = run_action(workspace, {})
    assert result.code == 1
    assert "`artifacts.model.skops.file`" in _one_error(result)
    assert not Path("/tmp", escape).exists() and not (tmp_path / escape).exists()


def _swap_model_for_pickle(workspace: Path, obj: object) -> str:
    """Replace v2's model by a pickle and fix up its sha256, as someone with bucket access could."""
    model = workspace / REG / "versions/v2/model.skops"
    model.write_bytes(pickle.dumps(obj))
    digest = sha256_file(model)
    _edit_manifest(
        workspace,
        "v2",
        lambda m: {**m, "artifacts": {**m["artifacts"], "model.skops": {"file": "model.skops", "sha256": digest}}},
    )
    pointer = json.loads((workspace / REG / "champion.json").read_text())
    (workspace / REG / "champion.json").write_text(json.dumps({**pointer, "sha256": digest}))
    return digest


def test_pickle_loads_only_after_a_warning_naming_file_and_sha256(workspace: Path) -> None:
    import skops.io as sio

    fitted = sio.load(
        workspace / REG / "versions/v2/model.skops",
        trusted=sio.get_untrusted_types(file=workspace / REG / "versions/v2/model.skops"),
    )
    digest = _swap_model_for_pickle(workspace, fitted)
    refused = run_action(workspace, {})
    assert refused.code == 1 and "pickle" in _one_error(refused, "allow-unsafe-model-format")
    loud = run_action(workspace, {"allow-unsafe-model-format": "true"})
    assert loud.code in (0, 1) and "Traceback" not in loud.stderr
    lines = loud.stdout.splitlines()
    warned = [i for i, line in enumerate(lines) if line.startswith("::warning") and digest in line]
    assert len(warned) == 1 and "versions/v2/model.skops" in lines[warned[0]]
    assert json.loads(loud.outputs["metrics"])["champion"]  # the champion was loaded and scored


def test_pickle_that_is_no_estimator_is_a_clear_error(workspace: Path) -> None:
    _swap_model_for_pickle(workspace, {"not": "a model"})
    result = run_action(workspace, {"allow-unsafe-model-format": "true"})
    assert result.code == 1
    assert "not an estimator" in _one_error(result)


def test_invalid_bucket_name_is_one_error(tmp_path: Path) -> None:
    workspace = copy_example("iris", tmp_path / "ws")
    result = run_action(workspace, {"registry": "s3://Bad_Bucket!/x"})
    assert result.code == 1 and "not a valid bucket name" in _one_error(result)


def test_upper_case_scheme_is_s3(tmp_path: Path, bucket: str, s3_env: str, s3_client) -> None:
    workspace = copy_example("iris", tmp_path / "ws")
    extra = {
        k: os.environ[k]
        for k in (
            "AWS_ENDPOINT_URL",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_DEFAULT_REGION",
            "AWS_CONFIG_FILE",
            "AWS_SHARED_CREDENTIALS_FILE",
            "AWS_EC2_METADATA_DISABLED",
        )
    }
    result = run_action(workspace, {"mode": "publish", "registry": f"S3://{bucket}/up"}, extra)
    assert result.code == 0, result.stdout + result.stderr
    assert not (workspace / "S3:").exists()
    keys = [o["Key"] for o in s3_client.list_objects_v2(Bucket=bucket, Prefix="up/model/")["Contents"]]
    assert "up/model/champion.json" in keys

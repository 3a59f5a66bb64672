"""The CD half through ``entrypoint.py`` against the S3 server: publish, promote, list, roll back, and a
permission error that names the bucket, key and IAM action."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.helpers import copy_example, run_action
from tests.integration.s3_faults import FaultProxy


def _aws(endpoint: str) -> dict[str, str]:
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
        "GITHUB_REF": "refs/heads/main",
    }


def test_publish_promote_list_rollback_on_s3(tmp_path: Path, bucket: str, s3_env: str, s3_client) -> None:
    workspace = copy_example("iris", tmp_path / "ws")
    registry = f"s3://{bucket}/models"
    extra = _aws(s3_env)
    first = run_action(workspace, {"mode": "publish", "registry": registry}, extra)
    assert first.code == 0, first.stdout + first.stderr
    assert first.outputs["model-uri"] == f"s3://{bucket}/models/model/versions/v1"
    assert [line for line in first.stdout.splitlines() if "testing-secret" in line] == ["::add-mask::testing-secret"]
    assert "testing-secret" not in first.summary
    second = run_action(
        workspace,
        {
            "mode": "publish",
            "registry": registry,
            "primary-metric": "accuracy",
            "gates": "- metric: accuracy\n  max-regression: 0.05",
        },
        extra,
    )
    assert second.code == 0 and second.outputs["promoted"] == "true", second.stdout
    pointer = json.loads(s3_client.get_object(Bucket=bucket, Key="models/model/champion.json")["Body"].read())
    assert pointer["version"] == "v2" and pointer["previous"] == "v1"
    manifest = json.loads(
        s3_client.get_object(Bucket=bucket, Key="models/model/versions/v2/manifest.json")["Body"].read()
    )
    assert manifest["git"]["sha"].startswith("c0ffee") and manifest["run"]["id"] == "17"
    listed = run_action(workspace, {"mode": "list", "registry": registry}, extra)
    assert [r["version"] for r in json.loads(listed.outputs["versions"])] == ["v1", "v2"]
    back = run_action(workspace, {"mode": "rollback", "registry": registry}, extra)
    assert back.code == 0 and back.outputs["champion-version"] == "v1"
    events = s3_client.list_objects_v2(Bucket=bucket, Prefix="models/model/events/")["Contents"]
    assert len(events) == 3


def test_worse_model_is_not_published(tmp_path: Path, bucket: str, s3_env: str, s3_client) -> None:
    workspace = copy_example("iris", tmp_path / "ws")
    registry = f"s3://{bucket}/r"
    assert run_action(workspace, {"mode": "publish", "registry": registry}, _aws(s3_env)).code == 0
    worse = run_action(
        workspace,
        {"mode": "publish", "registry": registry, "params": '{"n_estimators": 1, "max_depth": 1}'},
        _aws(s3_env),
    )
    assert worse.code == 1 and worse.outputs["promoted"] == "false"
    keys = [o["Key"] for o in s3_client.list_objects_v2(Bucket=bucket, Prefix="r/model/versions/")["Contents"]]
    assert not [k for k in keys if "/v2/" in k]


def test_access_denied_names_bucket_key_and_action(
    tmp_path: Path, bucket: str, s3_env: str, fault_proxy: FaultProxy
) -> None:
    workspace = copy_example("iris", tmp_path / "ws")
    fault_proxy.deny("PUT")
    result = run_action(workspace, {"mode": "publish", "registry": f"s3://{bucket}/r"}, _aws(fault_proxy.url))
    assert result.code == 1 and len(result.errors) == 1, result.stdout
    line = result.errors[0]
    assert line.startswith("::error title=registry::") and "s3:PutObject" in line and bucket in line
    assert "Traceback" not in result.stderr

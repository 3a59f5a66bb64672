"""The registry on S3, end to end over HTTP against moto: create-only versions, the champion's
compare-and-swap under concurrent publishers, crashes, retried faults, permissions, tampering, rollback,
multipart uploads and server-side encryption.
"""

from __future__ import annotations

import base64
import hashlib
import json
import multiprocessing
import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ml_action.adapters.registry import s3 as s3_module
from ml_action.adapters.registry.base import Promotion, Registry
from ml_action.adapters.registry.s3 import S3Store
from ml_action.adapters.registry.s3_client import read_s3_uri
from ml_action.adapters.registry.store import AlreadyExists, Conflict
from ml_action.config import Config
from ml_action.errors import UserError
from ml_action.records.artifacts import MODEL_FILE, sha256_file
from tests.helpers import make_config

try:  # tests/ as a package, or (the default) rootdir-relative imports with tests/integration on sys.path
    from .s3_faults import FaultProxy
except ImportError:
    from s3_faults import FaultProxy  # type: ignore[no-redef]

ConfigFactory = Callable[..., Config]


def open_registry(config: Config, name: str = "model") -> Registry:
    return Registry(S3Store.from_config(config, dict(os.environ), info=print), name)


def accept(current: dict[str, Any] | None) -> tuple[bool, str]:
    return True, "always"


def publish(registry: Registry, model_path: Path, by: str = "test") -> Promotion:
    """Allocate, write and promote a version, as ``mode: publish`` does."""
    version = registry.allocate_version({"by": by})
    manifest = registry.write_version(version, model_path, {"metrics": {"f1_macro": 0.9}, "by": by})
    return registry.swap_champion(version, manifest["artifacts"][MODEL_FILE]["sha256"], by, "promote", accept)


# ---------------------------------------------------------------------- worker processes (spawned)


def _publish_worker(registry_uri: str, endpoint: str, model_path: str, name: str, barrier: Any, results: Any) -> None:
    config = make_config(Path(model_path).parent, registry=registry_uri, s3_endpoint_url=endpoint)
    registry = open_registry(config)
    barrier.wait(timeout=120)
    promotion = publish(registry, Path(model_path), by=name)
    results.put((name, promotion.version, promotion.promoted, promotion.previous, promotion.conflicts))


def _crash_worker(registry_uri: str, endpoint: str, model_path: str) -> None:
    config = make_config(Path(model_path).parent, registry=registry_uri, s3_endpoint_url=endpoint)
    registry = open_registry(config)
    version = registry.allocate_version({"by": "crasher"})
    registry.write_version(version, Path(model_path), {"by": "crasher"})
    os._exit(3)  # dies between writing the version and swapping the champion


# ---------------------------------------------------------------------- store primitives


def test_create_only_and_compare_and_swap(s3_config: ConfigFactory, bucket: str, s3_client: Any) -> None:
    store = S3Store.from_config(s3_config(), dict(os.environ))
    assert store.read("a/x.json") is None
    store.create("a/x.json", b"one")
    with pytest.raises(AlreadyExists):
        store.create("a/x.json", b"two")
    data, token = store.read("a/x.json") or (b"", "")
    assert data == b"one"

    with pytest.raises(Conflict):
        store.replace("a/x.json", b"blind", None)  # token None: only if absent
    store.replace("a/x.json", b"three", token)
    data, token2 = store.read("a/x.json") or (b"", "")
    assert data == b"three" and token2 != token
    with pytest.raises(Conflict):
        store.replace("a/x.json", b"stale", token)
    with pytest.raises(Conflict):
        store.replace("a/missing.json", b"gone", token2)  # If-Match on a missing key answers 404
    store.replace("a/new.json", b"fresh", None)

    assert store.list("a/") == ["a/new.json", "a/x.json"]
    assert store.url("a/x.json") == f"s3://{bucket}/registry/a/x.json"
    raw = s3_client.list_objects_v2(Bucket=bucket)["Contents"]
    # and the conditional-writes probe object, under the registry prefix (reused by every run)
    assert sorted(o["Key"] for o in raw) == [
        "registry/.ml-action/conditional-writes-probe.json",
        "registry/a/new.json",
        "registry/a/x.json",
    ]


def test_publish_then_promote_second_version(
    s3_config: ConfigFactory, model_file: Path, tmp_path: Path, bucket: str, s3_client: Any
) -> None:
    registry = open_registry(s3_config())
    first = publish(registry, model_file)
    assert (first.promoted, first.version, first.previous) == (True, "v1", None)
    second = publish(registry, model_file)
    assert (second.promoted, second.version, second.previous) == (True, "v2", "v1")

    champion, _ = registry.champion()
    assert champion is not None and champion["version"] == "v2" and champion["previous"] == "v1"
    assert registry.versions() == ["v1", "v2"]
    assert [(e["kind"], e["version"], e["previous"]) for e in registry.events()] == [
        ("promote", "v1", None),
        ("promote", "v2", "v1"),
    ]
    model = registry.fetch_model("v2", registry.manifest("v2"), tmp_path)
    assert model.predict([[0.0, 0.0, 0.0, 0.0]]).shape == (1,)
    keys = {o["Key"] for o in s3_client.list_objects_v2(Bucket=bucket)["Contents"]}
    assert {
        "registry/model/champion.json",
        "registry/model/versions/v1/model.skops",
        "registry/model/versions/v2/manifest.json",
        "registry/model/versions/v2/claim.json",
    } <= keys


def test_eight_concurrent_publishers_lose_no_update(
    s3_config: ConfigFactory, model_file: Path, fault_proxy: FaultProxy
) -> None:
    config = s3_config(s3_endpoint_url=fault_proxy.url)
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(8), ctx.Queue()
    workers = [
        ctx.Process(
            target=_publish_worker,
            args=(config.registry, fault_proxy.url, str(model_file), f"job{i}", barrier, results),
        )
        for i in range(8)
    ]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=300) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0

    registry = open_registry(config)
    versions = sorted(o[1] for o in outcomes)
    assert len(set(versions)) == 8 and all(o[2] for o in outcomes)
    assert registry.versions() == sorted(versions, key=lambda v: int(v[1:]))
    for version in versions:
        registry.verify_version(version, model_file.parent)

    champion, _ = registry.champion()
    assert champion is not None and champion["version"] in versions
    registry.fetch_model(champion["version"], registry.manifest(champion["version"]), model_file.parent)

    events = registry.events()
    promotes = [e for e in events if e["kind"] == "promote"]
    assert len(promotes) == 8 and sorted(e["version"] for e in promotes) == versions
    previous_of = {e["version"]: e["previous"] for e in promotes}
    assert previous_of == {o[1]: o[3] for o in outcomes}
    # Walking back from the champion must visit every promoted version once and end at "no champion":
    # two swaps that replaced the same champion would be a lost update and break the chain.
    chain, current = [], champion["version"]
    while current is not None:
        chain.append(current)
        current = previous_of[current]
    assert sorted(chain) == versions


def test_crash_before_swap_keeps_old_champion(s3_config: ConfigFactory, model_file: Path) -> None:
    config = s3_config()
    registry = open_registry(config)
    publish(registry, model_file)
    ctx = multiprocessing.get_context("spawn")
    crasher = ctx.Process(target=_crash_worker, args=(config.registry, "", str(model_file)))
    crasher.start()
    crasher.join(timeout=120)
    assert crasher.exitcode == 3

    champion, _ = registry.champion()
    assert champion is not None and champion["version"] == "v1"
    assert registry.versions() == ["v1", "v2"]  # written, never promoted
    after = publish(registry, model_file)
    assert (after.version, after.previous) == ("v3", "v1")
    assert [e["version"] for e in registry.events()] == ["v1", "v3"]


def test_incomplete_version_is_ignored(s3_config: ConfigFactory, model_file: Path) -> None:
    registry = open_registry(s3_config())
    claimed = registry.allocate_version({"by": "dies before the manifest"})
    registry.store.create_file(registry.key("versions", claimed, MODEL_FILE), model_file, sha256_file(model_file))
    assert registry.versions() == []
    assert publish(registry, model_file).version == "v2"


# ---------------------------------------------------------------------- faults and errors


def test_transient_errors_are_retried(s3_config: ConfigFactory, model_file: Path, fault_proxy: FaultProxy) -> None:
    registry = open_registry(s3_config(s3_endpoint_url=fault_proxy.url))
    fault_proxy.fail(2, 503, "SlowDown")
    fault_proxy.fail(1, 500, "InternalError")
    fault_proxy.fail(2, 503, "SlowDown", method="PUT", path_contains="model.skops")
    fault_proxy.fail(1, 503, "ServiceUnavailable", method="PUT", path_contains="champion.json")
    promotion = publish(registry, model_file)
    assert promotion.promoted and promotion.version == "v1"
    assert registry.champion()[0]["version"] == "v1"  # type: ignore[index]
    assert fault_proxy.count("PUT", 503) == 3 and fault_proxy.count("GET", 500) + fault_proxy.count("PUT", 500) == 1


def test_write_applied_but_answer_lost_is_recognised(
    s3_config: ConfigFactory, model_file: Path, fault_proxy: FaultProxy
) -> None:
    """S3 stored the object but the client saw a 500 and retried: the retry's 412 must not be taken as a loss."""
    registry = open_registry(s3_config(s3_endpoint_url=fault_proxy.url))
    publish(registry, model_file)
    fault_proxy.fail(1, 500, "InternalError", method="PUT", path_contains="claim.json", after=True)
    fault_proxy.fail(1, 500, "InternalError", method="PUT", path_contains="model.skops", after=True)
    fault_proxy.fail(1, 500, "InternalError", method="PUT", path_contains="champion.json", after=True)
    promotion = publish(registry, model_file)
    assert (promotion.version, promotion.previous, promotion.conflicts) == ("v2", "v1", [])
    for name in ("claim.json", "model.skops", "champion.json"):  # one refused retry each, each recognised
        assert fault_proxy.count("PUT", 412, f"/v2/{name}" if name != "champion.json" else name) == 1
    champion, _ = registry.champion()
    assert champion is not None and (champion["version"], champion["previous"]) == ("v2", "v1")
    assert [(e["version"], e["previous"]) for e in registry.events()] == [("v1", None), ("v2", "v1")]


def test_conditional_request_conflict_is_retried(s3_config: ConfigFactory, fault_proxy: FaultProxy) -> None:
    store = S3Store.from_config(s3_config(s3_endpoint_url=fault_proxy.url), dict(os.environ))
    fault_proxy.fail(2, 409, "ConditionalRequestConflict", method="PUT")
    store.create("k.json", b"1")
    assert store.read("k.json") == (b"1", store.read("k.json")[1])  # type: ignore[index]
    assert fault_proxy.count("PUT", 409) == 2


def test_retries_exhausted_is_a_user_error(s3_config: ConfigFactory, fault_proxy: FaultProxy) -> None:
    store = S3Store.from_config(s3_config(s3_endpoint_url=fault_proxy.url, s3_max_attempts=2), dict(os.environ))
    fault_proxy.fail(2, 503, "SlowDown", method="PUT")
    with pytest.raises(UserError) as err:
        store.create("k.json", b"1")
    assert "SlowDown" in str(err.value) and "s3-max-attempts" in str(err.value)


@pytest.mark.parametrize(
    ("method", "where", "action"),
    [
        ("PUT", "claim.json", "s3:PutObject"),
        ("GET", "champion.json", "s3:GetObject"),
        ("GET", "list-type=2", "s3:ListBucket"),
    ],
)
def test_access_denied_names_bucket_key_and_action(
    s3_config: ConfigFactory,
    model_file: Path,
    bucket: str,
    fault_proxy: FaultProxy,
    method: str,
    where: str,
    action: str,
) -> None:
    registry = open_registry(s3_config(s3_endpoint_url=fault_proxy.url))
    fault_proxy.deny(method, where)
    with pytest.raises(UserError) as err:
        publish(registry, model_file)
    message = str(err.value)
    assert err.value.input == "registry"
    assert f"access denied: {action} on s3://{bucket}/registry/model/" in message
    if action == "s3:PutObject":
        assert "versions/v1/claim.json" in message
    assert "IAM policy" in err.value.hint and bucket in err.value.hint
    fault_proxy.clear()
    assert registry.store.read("model/champion.json") is None


def test_missing_bucket_is_named(s3_env: str, tmp_path: Path) -> None:
    store = S3Store.from_config(make_config(tmp_path, registry="s3://no-such-bucket-here/x"), dict(os.environ))
    with pytest.raises(UserError) as err:
        store.list("model/")
    assert "no-such-bucket-here" in err.value.problem and "does not exist" in err.value.problem


def test_no_credentials_explains_where_they_come_from(
    s3_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    store = S3Store.from_config(make_config(tmp_path, registry="s3://some-bucket/x"), dict(os.environ))
    with pytest.raises(UserError) as err:
        store.read("model/champion.json")
    assert "no AWS credentials" in err.value.problem
    assert "AWS_ACCESS_KEY_ID" in err.value.hint and "configure-aws-credentials" in err.value.hint


# ---------------------------------------------------------------------- integrity of what is loaded


class _Exploit:
    """Unpickling this creates a marker file: stands for arbitrary code run by a pickle."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return open, (str(self.marker), "w")


def test_tampered_model_is_not_loaded(
    s3_config: ConfigFactory, model_file: Path, tmp_path: Path, bucket: str, s3_client: Any
) -> None:
    registry = open_registry(s3_config())
    publish(registry, model_file)
    marker = tmp_path / "exploited"
    s3_client.put_object(
        Bucket=bucket, Key="registry/model/versions/v1/model.skops", Body=pickle.dumps(_Exploit(marker))
    )
    with pytest.raises(UserError) as err:
        registry.fetch_model("v1", registry.manifest("v1"), tmp_path, allow_unsafe=True)
    assert "sha256" in err.value.problem and "not loaded" in err.value.problem
    assert not marker.exists()
    with pytest.raises(UserError):
        registry.verify_version("v1", tmp_path)


def test_pickle_with_matching_sha256_is_refused(s3_config: ConfigFactory, tmp_path: Path) -> None:
    registry = open_registry(s3_config())
    marker = tmp_path / "exploited"
    evil = tmp_path / "evil.skops"
    evil.write_bytes(pickle.dumps(_Exploit(marker)))
    version = registry.allocate_version({"by": "attacker"})
    manifest = registry.write_version(version, evil, {})
    assert manifest["artifacts"][MODEL_FILE]["sha256"] == sha256_file(evil)

    with pytest.raises(UserError) as err:
        registry.fetch_model(version, registry.manifest(version), tmp_path)
    assert err.value.input == "allow-unsafe-model-format" and "allow-unsafe-model-format" in str(err.value)
    assert not marker.exists()
    # The fixture is a real exploit: opting in does run it, after a warning naming the file and its sha256;
    # what it returns is no estimator, which is a clear error.
    warnings: list[str] = []
    registry.warn = lambda text: warnings.append(text) if not marker.exists() else None
    with pytest.raises(UserError) as err:
        registry.fetch_model(version, registry.manifest(version), tmp_path, allow_unsafe=True)
    assert marker.exists()
    assert "not an estimator" in err.value.problem and "TextIOWrapper" in err.value.problem
    assert len(warnings) == 1 and sha256_file(evil) in warnings[0] and "versions/v1/model.skops" in warnings[0]


def test_rollback_flow(s3_config: ConfigFactory, model_file: Path, tmp_path: Path) -> None:
    registry = open_registry(s3_config())
    for _ in range(3):
        publish(registry, model_file)
    target = registry.resolve_version("previous")
    assert target == "v2"
    manifest = registry.verify_version(target, tmp_path)
    rollback = registry.swap_champion(
        target, manifest["artifacts"][MODEL_FILE]["sha256"], "oncall", "rollback", accept, {"from": "v3"}
    )
    assert (rollback.promoted, rollback.previous) == (True, "v3")
    champion, token = registry.champion()
    assert champion is not None and (champion["version"], champion["previous"]) == ("v2", "v3")
    assert registry.events()[-1]["kind"] == "rollback"

    with pytest.raises(UserError) as err:
        registry.resolve_version("v99")
    assert "v99" in err.value.problem and "v3" in err.value.hint
    assert registry.champion() == (champion, token)


# ---------------------------------------------------------------------- uploads and settings


def test_multipart_upload_of_a_large_file(
    s3_config: ConfigFactory, tmp_path: Path, bucket: str, s3_client: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = open_registry(s3_config())
    big = tmp_path / "big.bin"
    with open(big, "wb") as fh:
        for _ in range(70):
            fh.write(os.urandom(1 << 20))
    version = registry.allocate_version({})
    manifest = registry.write_version(version, big, {})
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("upload ")]
    percents = [int(line.split(": ")[1].split(" %")[0]) for line in lines]
    assert len(percents) >= 4 and percents == sorted(set(percents)) and percents[-1] == 100
    assert lines[-1] == f"upload registry/model/versions/{version}/{MODEL_FILE}: 100 % (73.4MB/73.4MB)"
    key = f"registry/model/versions/{version}/{MODEL_FILE}"
    head = s3_client.head_object(Bucket=bucket, Key=key)
    assert head["ContentLength"] == 70 << 20 and head["ETag"].endswith('-5"')  # 16 MiB parts
    assert s3_client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    copy = tmp_path / "copy.bin"
    assert registry.store.download(f"model/versions/{version}/{MODEL_FILE}", copy)
    assert sha256_file(copy) == manifest["artifacts"][MODEL_FILE]["sha256"]


def test_multipart_completion_is_create_only(
    s3_config: ConfigFactory, tmp_path: Path, bucket: str, s3_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(s3_module, "MULTIPART_THRESHOLD", 5 << 20)
    monkeypatch.setattr(s3_module, "PART_SIZE", 5 << 20)
    store = S3Store.from_config(s3_config(), dict(os.environ))
    data = tmp_path / "eleven.bin"
    data.write_bytes(os.urandom(11 << 20))
    digest = sha256_file(data)
    store.create_file("f.bin", data, digest)
    with pytest.raises(AlreadyExists):
        store.create_file("f.bin", data, digest)
    assert s3_client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []  # the loser was aborted
    with pytest.raises(RuntimeError, match="changed while it was uploaded"):
        store.create_file("g.bin", data, "0" * 64)
    assert store.read("g.bin") is None


def test_single_put_carries_the_sha256(s3_config: ConfigFactory, model_file: Path, bucket: str, s3_client: Any) -> None:
    store = S3Store.from_config(s3_config(), dict(os.environ))
    digest = sha256_file(model_file)
    store.create_file("m.skops", model_file, digest)
    head = s3_client.head_object(Bucket=bucket, Key="registry/m.skops", ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == base64.b64encode(bytes.fromhex(digest)).decode()
    with pytest.raises(AlreadyExists):
        store.create_file("m.skops", model_file, digest)


def test_checksum_when_required(s3_config: ConfigFactory, model_file: Path, tmp_path: Path) -> None:
    registry = open_registry(s3_config(s3_checksum="when_required"))
    assert publish(registry, model_file).promoted
    assert registry.verify_version("v1", tmp_path)["version"] == "v1"


@pytest.mark.parametrize(("sse", "kms_key"), [("AES256", ""), ("aws:kms", "alias/ml-action")])
def test_server_side_encryption_on_every_write(
    s3_config: ConfigFactory, model_file: Path, bucket: str, s3_client: Any, sse: str, kms_key: str
) -> None:
    registry = open_registry(s3_config(s3_sse=sse, s3_kms_key_id=kms_key))
    publish(registry, model_file)
    keys = [o["Key"] for o in s3_client.list_objects_v2(Bucket=bucket)["Contents"]]
    assert len(keys) == 6  # claim, model, manifest, champion, event, and the conditional-writes probe
    for key in keys:
        head = s3_client.head_object(Bucket=bucket, Key=key)
        assert head["ServerSideEncryption"] == sse
        assert head.get("SSEKMSKeyId", "") == kms_key


def test_read_s3_uri(s3_config: ConfigFactory, bucket: str, s3_client: Any, tmp_path: Path) -> None:
    s3_client.put_object(Bucket=bucket, Key="data/train.csv", Body=b"a,b\n1,2\n")
    dest = read_s3_uri(f"s3://{bucket}/data/train.csv", s3_config(), tmp_path / "in" / "train.csv", dict(os.environ))
    assert dest.read_bytes() == b"a,b\n1,2\n"
    assert [p.name for p in dest.parent.iterdir()] == ["train.csv"]  # no temporary file left behind
    with pytest.raises(UserError) as err:
        read_s3_uri(f"s3://{bucket}/data/nope.csv", s3_config(), tmp_path / "nope.csv", dict(os.environ))
    assert err.value.input == "data" and "does not exist" in err.value.problem


def test_registry_json_is_plain(s3_config: ConfigFactory, model_file: Path, bucket: str, s3_client: Any) -> None:
    """The champion pointer is readable by anyone with the AWS CLI: plain JSON, sha256 included."""
    registry = open_registry(s3_config())
    publish(registry, model_file)
    body = s3_client.get_object(Bucket=bucket, Key="registry/model/champion.json")["Body"].read()
    pointer = json.loads(body)
    assert pointer["version"] == "v1" and pointer["sha256"] == hashlib.sha256(model_file.read_bytes()).hexdigest()


def test_rejected_credentials_are_explained(s3_config: ConfigFactory, fault_proxy: FaultProxy) -> None:
    store = S3Store.from_config(s3_config(s3_endpoint_url=fault_proxy.url), dict(os.environ))
    fault_proxy.fail(10, 403, "InvalidAccessKeyId")
    with pytest.raises(UserError) as err:
        store.read("model/champion.json")
    assert "InvalidAccessKeyId" in err.value.problem and "AWS_SECRET_ACCESS_KEY" in err.value.hint


def test_unreachable_endpoint_names_the_input(s3_config: ConfigFactory) -> None:
    store = S3Store.from_config(s3_config(s3_endpoint_url="http://127.0.0.1:9", s3_max_attempts=1), dict(os.environ))
    with pytest.raises(UserError) as err:
        store.read("model/champion.json")
    assert err.value.input == "s3-endpoint-url" and "127.0.0.1:9" in err.value.problem


def test_importing_the_store_does_not_import_boto3() -> None:
    import subprocess
    import sys

    code = "import sys, ml_action.adapters.registry.s3; sys.exit('boto3' in sys.modules or 'botocore' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).parents[2]).returncode == 0

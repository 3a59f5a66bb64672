"""The public API and aliases on S3 over HTTP (moto behind the fault proxy, which logs every request):
load by alias and by version, a second load served from the cache (no GET of the model), tampering
refused, concurrent alias setters serialised by compare-and-swap, and ``ml-action fetch``."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import ml_action
from ml_action import cli
from ml_action.adapters.registry.base import Registry
from ml_action.adapters.registry.s3 import S3Store
from ml_action.config import Config
from ml_action.records.artifacts import MODEL_FILE

try:  # tests/ as a package, or (the default) rootdir-relative imports with tests/integration on sys.path
    from .s3_faults import FaultProxy
except ImportError:
    from s3_faults import FaultProxy  # type: ignore[no-redef]


def _open(config: Config) -> Registry:
    return Registry(S3Store.from_config(config, dict(os.environ)), "churn")


def _publish(registry: Registry, model_path: Path) -> str:
    version = registry.allocate_version({})
    manifest = registry.write_version(version, model_path, {"metrics": {"f1_macro": 0.9}})
    registry.swap_champion(
        version, manifest["artifacts"][MODEL_FILE]["sha256"], "test", "promote", lambda current: (True, "")
    )
    return version


@pytest.fixture
def published(
    s3_config: Callable[..., Config], fault_proxy: FaultProxy, model_file: Path, tmp_path: Path
) -> tuple[Registry, str]:
    """Two versions of ``churn`` through the proxy, champion v2 and ``staging`` on v1; the registry's URI."""
    from sklearn.linear_model import LinearRegression

    from ml_action.records.artifacts import save_model

    config = s3_config(s3_endpoint_url=fault_proxy.url)
    registry = _open(config)
    _publish(registry, model_file)
    other = tmp_path / "other.skops"
    save_model(LinearRegression().fit([[0.0], [1.0]], [0.0, 2.0]), other)
    _publish(registry, other)
    registry.swap_alias("staging", "v1", registry.manifest("v1")["artifacts"][MODEL_FILE]["sha256"], "test")
    return registry, config.registry


def test_load_by_alias_and_version_then_from_the_cache(
    published: tuple[Registry, str], fault_proxy: FaultProxy, tmp_path: Path
) -> None:
    _, uri = published
    cache = tmp_path / "cache"
    load: Callable[..., Any] = lambda **kw: ml_action.load_model(  # noqa: E731
        uri, name="churn", cache_dir=cache, endpoint_url=fault_proxy.url, **kw
    )
    gets = lambda: fault_proxy.count("GET", 200, MODEL_FILE)  # noqa: E731
    assert type(load()).__name__ == "LinearRegression" and gets() == 1  # the champion, v2
    assert type(load(alias="staging")).__name__ == "LogisticRegression" and gets() == 2
    before = gets()
    assert type(load(version="v1")).__name__ == "LogisticRegression"
    assert type(load(alias="champion")).__name__ == "LinearRegression"
    assert gets() == before  # both from the cache: the pointer and manifest are read, the model is not
    assert len(list(cache.glob("*.skops"))) == 2
    info = ml_action.registry_info(uri, "churn", endpoint_url=fault_proxy.url)
    assert info["aliases"] == {"champion": "v2", "staging": "v1"} and info["versions"] == ["v1", "v2"]


def test_a_tampered_object_is_refused(
    published: tuple[Registry, str], fault_proxy: FaultProxy, s3_client: Any, bucket: str, tmp_path: Path
) -> None:
    _, uri = published
    key = "registry/churn/versions/v2/model.skops"
    body = bytearray(s3_client.get_object(Bucket=bucket, Key=key)["Body"].read())
    body[len(body) // 2] ^= 0xFF
    s3_client.put_object(Bucket=bucket, Key=key, Body=bytes(body))
    with pytest.raises(ml_action.UserError, match="fails its sha256 check"):
        ml_action.load_model(uri, name="churn", cache_dir=tmp_path / "c", endpoint_url=fault_proxy.url)
    assert not list((tmp_path / "c").glob("*.skops"))


def test_concurrent_alias_setters_on_s3(
    published: tuple[Registry, str], s3_config: Callable[..., Config], fault_proxy: FaultProxy
) -> None:
    """Six setters with their own clients race on one alias through real HTTP conditional writes: each change
    is applied in turn (the events form one chain), none is lost."""
    registry, _ = published
    shas = {v: registry.manifest(v)["artifacts"][MODEL_FILE]["sha256"] for v in ("v1", "v2")}
    barrier = threading.Barrier(6)
    changed: list[bool] = []

    def setter(i: int) -> None:
        version = ("v1", "v2")[i % 2]
        mine = _open(s3_config(s3_endpoint_url=fault_proxy.url))
        barrier.wait()
        changed.append(mine.swap_alias("canary", version, shas[version], f"t{i}")[0])

    threads = [threading.Thread(target=setter, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(changed) == 6
    events = sorted((e for e in registry.events() if e.get("alias") == "canary"), key=lambda e: e["at"])
    assert len(events) == changed.count(True) >= 1
    assert events[0]["previous"] is None
    assert all(b["previous"] == a["to"] for a, b in zip(events, events[1:], strict=False))
    assert registry.alias("canary")["version"] == events[-1]["to"]  # type: ignore[index]


def test_fetch_command_on_s3(
    published: tuple[Registry, str], fault_proxy: FaultProxy, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, uri = published
    out = tmp_path / "model.skops"
    env = {**os.environ, "AWS_ENDPOINT_URL": fault_proxy.url}
    code = cli.main(
        [
            "fetch",
            "--registry",
            uri,
            "--model-name",
            "churn",
            "--alias",
            "staging",
            "--out",
            str(out),
            "--cache-dir",
            str(tmp_path / "c"),
        ],
        env=env,
    )
    assert code == 0 and out.is_file() and "version v1" in capsys.readouterr().out
    code = cli.main(
        [
            "fetch",
            "--registry",
            uri,
            "--model-name",
            "churn",
            "--alias",
            "canary",
            "--out",
            str(out),
            "--cache-dir",
            str(tmp_path / "c"),
        ],
        env=env,
    )
    errors = [line for line in capsys.readouterr().out.splitlines() if line.startswith("::error")]
    assert code == 1 and len(errors) == 1 and "title=alias" in errors[0] and "'canary' is not set" in errors[0]

"""One-off network faults between the action and S3, injected by the fault proxy in front of moto: a GET body
cut off or corrupted on the way, a dropped connection, an answer nobody expects. Transient ones are retried
(botocore's retries for requests, ``retry_body`` for bodies); what still fails after ``s3-max-attempts``,
and any unknown refusal, is one ``::error title=registry::`` and exit 1, never a traceback and exit 2."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ml_action.adapters.registry.base import Registry
from ml_action.adapters.registry.s3 import S3Store
from ml_action.config import Config
from ml_action.errors import UserError
from tests.helpers import Result, run_inprocess
from tests.integration.test_s3_registry import publish

try:  # tests/ as a package, or (the default) rootdir-relative imports with tests/integration on sys.path
    from .s3_faults import FaultProxy
except ImportError:
    from s3_faults import FaultProxy  # type: ignore[no-redef]

ConfigFactory = Callable[..., Config]
BODY = json.dumps({"padding": "x" * 4000}).encode()  # big enough to be cut in half mid-stream


def _store(config: Config) -> S3Store:
    return S3Store.from_config(config, dict(os.environ))


def _gets(proxy: FaultProxy, key: str) -> list[int]:
    with proxy.lock:
        return [status for method, path, status in proxy.log if method == "GET" and path.endswith(key)]


@pytest.mark.parametrize("fault", ["truncate", "corrupt", "drop"])
@pytest.mark.parametrize("how", ["read", "download"])
def test_a_one_off_fault_on_a_get_is_retried(
    fault: str, how: str, s3_config: ConfigFactory, fault_proxy: FaultProxy, tmp_path: Path
) -> None:
    store = _store(s3_config(s3_endpoint_url=fault_proxy.url))
    store.create("a/x.json", BODY)
    getattr(fault_proxy, fault)(1, method="GET", path_contains="a/x.json")
    if how == "read":
        found = store.read("a/x.json")
        assert found is not None and found[0] == BODY
    else:
        assert store.download("a/x.json", tmp_path / "x.json") and (tmp_path / "x.json").read_bytes() == BODY
        assert [p.name for p in tmp_path.iterdir()] == ["x.json"]  # the broken first copy left nothing behind
    assert len(_gets(fault_proxy, "a/x.json")) == 2  # the fault, then the good answer


@pytest.mark.parametrize("fault", ["truncate", "corrupt", "drop"])
def test_a_fault_that_persists_is_one_registry_error_after_the_attempts(
    fault: str, s3_config: ConfigFactory, fault_proxy: FaultProxy
) -> None:
    store = _store(s3_config(s3_endpoint_url=fault_proxy.url, s3_max_attempts=3))
    store.create("a/x.json", BODY)
    getattr(fault_proxy, fault)(100, method="GET", path_contains="a/x.json")
    with pytest.raises(UserError) as err:
        store.read("a/x.json")
    assert err.value.input == "registry"
    assert "kept failing on s3://" in err.value.problem and "after all retry attempts" in err.value.problem
    assert "s3-max-attempts" in err.value.hint
    assert len(_gets(fault_proxy, "a/x.json")) == 3  # bounded: exactly s3-max-attempts


def test_an_unknown_400_names_the_operation_and_the_code_and_is_not_retried(
    s3_config: ConfigFactory, fault_proxy: FaultProxy
) -> None:
    store = _store(s3_config(s3_endpoint_url=fault_proxy.url))
    store.create("a/x.json", BODY)
    fault_proxy.fail(1, 400, "SomethingNobodyExpects", method="GET", path_contains="a/x.json")
    with pytest.raises(UserError) as err:
        store.read("a/x.json")
    assert err.value.input == "registry"
    assert "refused GetObject on s3://" in err.value.problem and "400 SomethingNobodyExpects" in err.value.problem
    assert _gets(fault_proxy, "a/x.json") == [400]


# ---------------------------------------------------------------------- through the action


@pytest.fixture
def one_version(s3_config: ConfigFactory, fault_proxy: FaultProxy, model_file: Path) -> Registry:
    """``model`` v1, promoted to champion, under ``s3://<bucket>/registry``."""
    registry = Registry(_store(s3_config(s3_endpoint_url=fault_proxy.url)), "model")
    assert publish(registry, model_file).promoted
    with fault_proxy.lock:
        fault_proxy.log.clear()  # the tests count the action's requests only
    return registry


def _list(tmp_path: Path, capsys: Any, registry: Registry, proxy: FaultProxy, **inputs: str) -> Result:
    workspace = tmp_path / "ws"
    workspace.mkdir(exist_ok=True)
    values = {"mode": "list", "registry": registry.store.uri, "s3-endpoint-url": proxy.url, **inputs}
    return run_inprocess(workspace, values, capsys, {"AWS_ENDPOINT_URL": proxy.url})


def _one_registry_error(result: Result) -> str:
    assert result.code == 1, result.stdout + result.stderr
    assert len(result.errors) == 1 and result.errors[0].startswith("::error title=registry::"), result.errors
    assert "Traceback" not in result.stdout + result.stderr and "internal error" not in result.stdout
    return result.errors[0]


def test_the_action_rides_out_one_cut_off_body(
    tmp_path: Path, capsys: Any, one_version: Registry, fault_proxy: FaultProxy
) -> None:
    fault_proxy.truncate(1, method="GET", path_contains="versions/v1/manifest.json")
    fault_proxy.drop(1, method="GET", path_contains="champion.json")
    result = _list(tmp_path, capsys, one_version, fault_proxy)
    assert result.code == 0, result.stdout + result.stderr
    listed = json.loads(result.outputs["versions"])
    assert [v["version"] for v in listed] == ["v1"] and not any(v.get("damaged") for v in listed)
    assert _gets(fault_proxy, "versions/v1/manifest.json")[:2] == [200, 200]  # cut off, then whole
    assert _gets(fault_proxy, "champion.json")[:2] == [0, 200]  # dropped, then answered


def test_the_action_reports_a_body_that_keeps_breaking_as_one_error(
    tmp_path: Path, capsys: Any, one_version: Registry, fault_proxy: FaultProxy
) -> None:
    fault_proxy.truncate(100, method="GET", path_contains="champion.json")
    error = _one_registry_error(_list(tmp_path, capsys, one_version, fault_proxy, **{"s3-max-attempts": "2"}))
    assert "champion.json after all retry attempts" in error and "s3-max-attempts" in error
    assert len(_gets(fault_proxy, "champion.json")) == 2


def test_the_action_reports_dropped_connections_as_one_error(
    tmp_path: Path, capsys: Any, one_version: Registry, fault_proxy: FaultProxy
) -> None:
    fault_proxy.drop(100, method="GET", path_contains="champion.json")
    error = _one_registry_error(_list(tmp_path, capsys, one_version, fault_proxy, **{"s3-max-attempts": "2"}))
    assert "ConnectionClosedError" in error and "after all retry attempts" in error


def test_the_action_reports_an_unknown_400_as_one_error(
    tmp_path: Path, capsys: Any, one_version: Registry, fault_proxy: FaultProxy
) -> None:
    fault_proxy.fail(1, 400, "SomethingNobodyExpects", method="GET", path_contains="champion.json")
    error = _one_registry_error(_list(tmp_path, capsys, one_version, fault_proxy))
    assert "refused GetObject" in error and "400 SomethingNobodyExpects" in error
    assert _gets(fault_proxy, "champion.json") == [400]

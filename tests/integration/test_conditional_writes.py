"""A store that ignores conditional writes: the probe refuses it before anything is written, costs at most
4 small requests per run, and ``s3-conditional-writes: unsupported`` publishes with a warning instead. A
store that answers 501 to the conditions is told so plainly after one request; with ``unsupported`` the
writes go out without them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ml_action.adapters.registry.base import Registry
from ml_action.adapters.registry.s3 import PROBE_KEY, S3Store
from ml_action.config import Config
from ml_action.errors import UserError
from tests.helpers import ROOT, copy_example, parse_outputs, run_action, runner_env
from tests.integration.test_s3_registry import publish

try:
    from .s3_faults import FaultProxy
except ImportError:
    from s3_faults import FaultProxy  # type: ignore[no-redef]

ConfigFactory = Callable[..., Config]


@pytest.fixture
def lax_proxy(moto_endpoint: str) -> Iterator[FaultProxy]:
    """A proxy standing for a store that accepts ``If-None-Match`` / ``If-Match`` and ignores them."""
    proxy = FaultProxy(moto_endpoint, conditions="strip").start()
    yield proxy
    proxy.stop()


@pytest.fixture
def no_conditions(moto_endpoint: str) -> Iterator[FaultProxy]:
    """A proxy standing for a store that answers ``501 NotImplemented`` to ``If-None-Match`` / ``If-Match``."""
    proxy = FaultProxy(moto_endpoint).start()
    proxy.fail(10**6, 501, "NotImplemented", conditional=True)
    yield proxy
    proxy.stop()


def _registry(config: Config) -> Registry:
    return Registry(S3Store.from_config(config, dict(os.environ)), "model")


def _probe_puts(proxy: FaultProxy) -> int:
    with proxy.lock:
        return sum(1 for method, path, _ in proxy.log if PROBE_KEY in path)


def _keys(s3_client: Any, bucket: str, prefix: str) -> list[str]:
    return [o["Key"] for o in s3_client.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]


def test_probe_costs_at_most_4_requests_once_per_run(
    s3_config: ConfigFactory, fault_proxy: FaultProxy, model_file: Path
) -> None:
    registry = _registry(s3_config(s3_endpoint_url=fault_proxy.url))
    version = registry.allocate_version({})
    first = _probe_puts(fault_proxy)
    assert first == 3  # the very first probe of a registry: create, create again (412), stale If-Match (412)
    manifest = registry.write_version(version, model_file, {})
    registry.swap_champion(
        version, manifest["artifacts"]["model.skops"]["sha256"], "t", "promote", lambda current: (True, "")
    )
    assert _probe_puts(fault_proxy) == first  # cached for the rest of the run (this store object)
    again = _registry(s3_config(s3_endpoint_url=fault_proxy.url))  # the next run
    again.allocate_version({})
    assert _probe_puts(fault_proxy) - first == 2  # the probe object exists: two refused PUTs
    assert all(method == "PUT" for method, path, _ in fault_proxy.log if PROBE_KEY in path)


def test_probe_refuses_a_store_that_ignores_conditions(
    s3_config: ConfigFactory, lax_proxy: FaultProxy, s3_client: Any, bucket: str
) -> None:
    registry = _registry(s3_config(s3_endpoint_url=lax_proxy.url))
    with pytest.raises(UserError) as err:
        registry.allocate_version({})
    assert err.value.input == "registry" and "ignores conditional writes" in err.value.problem
    assert "s3-conditional-writes: unsupported" in err.value.hint and "concurrency:" in err.value.hint
    with pytest.raises(UserError):  # the answer is cached: every later write is refused the same way
        registry.store.create("model/x.json", b"{}")
    assert _probe_puts(lax_proxy) == 2  # the second create-only PUT already gave the store away
    assert _keys(s3_client, bucket, "registry/model/") == []


def _aws(endpoint: str) -> dict[str, str]:
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
        "GITHUB_SHA": "ab" * 20,
        "GITHUB_RUN_ID": "3",
        "GITHUB_REF": "refs/heads/main",
    }


def test_publish_on_a_store_ignoring_conditions_is_refused(
    tmp_path: Path, bucket: str, s3_env: str, lax_proxy: FaultProxy, s3_client: Any
) -> None:
    workspace = copy_example("iris", tmp_path / "ws")
    result = run_action(workspace, {"mode": "publish", "registry": f"s3://{bucket}/r"}, _aws(lax_proxy.url))
    assert result.code == 1, result.stdout + result.stderr
    assert len(result.errors) == 1 and result.errors[0].startswith("::error title=registry::")
    assert "ignores conditional writes" in result.errors[0] and "Traceback" not in result.stderr
    assert _keys(s3_client, bucket, "r/model/") == []  # nothing published
    assert result.outputs.get("promoted") != "true"


def test_unsupported_publishes_with_a_warning(
    tmp_path: Path, bucket: str, s3_env: str, lax_proxy: FaultProxy, s3_client: Any
) -> None:
    workspace = copy_example("iris", tmp_path / "ws")
    inputs = {"mode": "publish", "registry": f"s3://{bucket}/r", "s3-conditional-writes": "unsupported"}
    result = run_action(workspace, inputs, _aws(lax_proxy.url))
    assert result.code == 0, result.stdout + result.stderr
    assert result.outputs["promoted"] == "true" and result.outputs["model-version"] == "v1"
    warnings = [
        line
        for line in result.stdout.splitlines()
        if line.startswith("::warning title=registry::") and "s3-conditional-writes" in line
    ]
    assert len(warnings) == 1 and "concurrency:" in warnings[0]
    assert _probe_puts(lax_proxy) == 0  # no probe: the user said the store does not support it
    pointer = json.loads(s3_client.get_object(Bucket=bucket, Key="r/model/champion.json")["Body"].read())
    assert pointer["version"] == "v1"


def test_two_racing_publishes_on_a_lax_store_lose_nothing_silently(
    tmp_path: Path, bucket: str, s3_env: str, lax_proxy: FaultProxy, s3_client: Any
) -> None:
    procs = []
    for name in ("a", "b"):
        workspace = copy_example("iris", tmp_path / name)
        env = runner_env(workspace, {"mode": "publish", "registry": f"s3://{bucket}/r"}, _aws(lax_proxy.url))
        procs.append(
            (
                env,
                subprocess.Popen(
                    [sys.executable, str(ROOT / "entrypoint.py")],
                    cwd=workspace,
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                ),
            )
        )
    for env, proc in procs:
        stdout, stderr = proc.communicate(timeout=600)
        # refused up front, each with one line saying why; nothing half-done to lose
        assert proc.returncode == 1, stdout + stderr
        errors = [line for line in stdout.splitlines() if line.startswith("::error")]
        assert len(errors) == 1 and "ignores conditional writes" in errors[0]
        assert parse_outputs(Path(env["GITHUB_OUTPUT"]).read_text()).get("promoted") != "true"
    assert _keys(s3_client, bucket, "r/model/") == []


def test_a_store_answering_501_to_conditions_is_told_so_after_one_request(
    s3_config: ConfigFactory, no_conditions: FaultProxy, s3_client: Any, bucket: str
) -> None:
    registry = _registry(s3_config(s3_endpoint_url=no_conditions.url))
    with pytest.raises(UserError) as err:
        registry.allocate_version({})
    assert err.value.input == "registry"
    assert (
        "does not support conditional writes (it answered 501 NotImplemented to a PutObject with If-None-Match: *"
        in (err.value.problem)
    )
    assert "kept failing" not in err.value.problem and "retry" not in err.value.problem
    assert "s3-conditional-writes: unsupported" in err.value.hint
    assert _probe_puts(no_conditions) == 1 and no_conditions.count("PUT", 501) == 1
    assert _keys(s3_client, bucket, "registry/") == []


def test_unsupported_on_a_store_answering_501_writes_without_the_conditions(
    s3_config: ConfigFactory, no_conditions: FaultProxy, model_file: Path
) -> None:
    registry = _registry(s3_config(s3_endpoint_url=no_conditions.url, s3_conditional_writes="unsupported"))
    promotion = publish(registry, model_file)
    assert promotion.promoted and registry.champion()[0]["version"] == promotion.version  # type: ignore[index]
    assert no_conditions.count("PUT", 501) == 1  # the first write learnt it; the rest went without
    assert _probe_puts(no_conditions) == 0

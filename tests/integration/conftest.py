"""S3 fixtures: a real S3 server (moto's server application) on 127.0.0.1 whose conditional writes are atomic
as on AWS S3, one bucket per test, and a fault-injecting proxy in front of it. boto3 is never patched: every
call goes over HTTP.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ml_action.config import Config
from tests.helpers import make_config

try:  # tests/ as a package, or (the default) rootdir-relative imports with tests/integration on sys.path
    from .moto_server import MotoServer
    from .s3_faults import FaultProxy
except ImportError:
    from moto_server import MotoServer  # type: ignore[no-redef]
    from s3_faults import FaultProxy  # type: ignore[no-redef]


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    """An S3 server for the whole session, its conditional writes atomic (see ``moto_server.py``)."""
    server = MotoServer(atomic=True).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def moto_endpoint(moto_server: MotoServer) -> str:
    """URL of the session's S3 server; tests isolate themselves with their own bucket."""
    return moto_server.url


@pytest.fixture
def s3_env(monkeypatch: pytest.MonkeyPatch, moto_endpoint: str, tmp_path: Path) -> str:
    """Environment of a runner with fake credentials pointed at the test server (boto3 reads it itself)."""
    for name in (
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_REGION",
        "AWS_ENDPOINT_URL_S3",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "GITHUB_ACTIONS",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing-key-id")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return moto_endpoint


@pytest.fixture
def s3_client(s3_env: str) -> Any:
    """A plain boto3 client on the test server, for setting up and inspecting buckets."""
    import boto3

    return boto3.client("s3", endpoint_url=s3_env)


@pytest.fixture
def bucket(s3_client: Any) -> str:
    name = f"ml-action-{uuid.uuid4().hex[:12]}"
    s3_client.create_bucket(Bucket=name)
    return name


@pytest.fixture
def fault_proxy(moto_endpoint: str) -> Iterator[FaultProxy]:
    """A proxy in front of the S3 server that injects faults on demand (the server's conditional writes are atomic)."""
    proxy = FaultProxy(moto_endpoint).start()
    yield proxy
    proxy.stop()


@pytest.fixture
def s3_config(tmp_path: Path, bucket: str) -> Callable[..., Config]:
    """``s3_config(**overrides)``: a ``Config`` whose registry is ``s3://<bucket>/registry``."""

    def make(**overrides: Any) -> Config:
        values: dict[str, Any] = {"registry": f"s3://{bucket}/registry", "s3_max_attempts": 5}
        values.update(overrides)
        return make_config(tmp_path, **values)

    return make


@pytest.fixture(scope="session")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small real scikit-learn model saved with skops."""
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression

    from ml_action.records.artifacts import save_model

    X, y = make_classification(n_samples=80, n_features=4, random_state=0)
    path = tmp_path_factory.mktemp("model") / "model.skops"
    save_model(LogisticRegression().fit(X, y), path)
    return path

"""The S3 connection inputs are checked before any work: a bad ``s3-endpoint-url`` or ``aws-region`` used to
reach botocore and end in a ``ValueError`` (exit 2); ``s3-max-attempts`` had no upper bound (1e6 against a
dead endpoint ran on)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ml_action.adapters.registry.s3_client import make_client
from ml_action.config import load_config
from ml_action.errors import UserError
from ml_action.s3_settings import MAX_S3_ATTEMPTS, attempts, aws_region, endpoint_url
from tests.helpers import make_config

GOOD_ENDPOINTS = [
    "",
    "http://127.0.0.1:9000",
    "https://minio.example.com",
    "https://abc123.r2.cloudflarestorage.com/",
    "http://[::1]:9000",
    "https://s3.eu-west-1.amazonaws.com.",
    "http://localhost:4566/some/path",
]
BAD_ENDPOINTS = {
    "minio.example.com": "does not start with http:// or https://",
    "ftp://example.com": "does not start with http:// or https://",
    "http://exa mple.com": "holds characters a URL cannot",
    "http://example.com:99999": "is not a URL",
    "http://example.com:abc": "is not a URL",
    "http://": "does not name a valid host",
    "http://-bad-.example.com": "does not name a valid host",
    "http://under_score.example.com": "does not name a valid host",
    "https://key:secret@example.com": "with credentials in the URL",
    "https://example.com/?x=1": "has a query or fragment",
    "http://example.com:0": "names port 0",
    "http://example.com\n::error::x": "holds characters a URL cannot",
}


@pytest.mark.parametrize("url", GOOD_ENDPOINTS)
def test_endpoints_that_are_urls_pass(url: str) -> None:
    assert endpoint_url("s3-endpoint-url", f"  {url} ") == url


@pytest.mark.parametrize(("url", "words"), BAD_ENDPOINTS.items())
def test_endpoints_that_are_not_are_user_errors(url: str, words: str) -> None:
    with pytest.raises(UserError) as err:
        endpoint_url("s3-endpoint-url", url)
    assert err.value.input == "s3-endpoint-url" and words in err.value.problem
    assert "secret" not in err.value.problem and "\n" not in err.value.problem


@pytest.mark.parametrize("region", ["", "eu-west-1", "us-gov-west-1", "auto", "garage"])
def test_region_names_pass(region: str) -> None:
    assert aws_region("aws-region", region) == region


@pytest.mark.parametrize("region", ["eu west 1", "eu-west-1/", "-eu", "123", "x" * 64, "eu_west_1", "é"])
def test_other_regions_are_user_errors(region: str) -> None:
    with pytest.raises(UserError) as err:
        aws_region("aws-region", region)
    assert err.value.input == "aws-region" and "is not a region name" in err.value.problem


def test_attempts_are_bounded() -> None:
    assert attempts("s3-max-attempts", "1") == 1 and attempts("s3-max-attempts", str(MAX_S3_ATTEMPTS)) == 20
    for value, words in (("0", "below 1"), ("21", "above 20"), ("1000000", "above 20"), ("x", "not a whole number")):
        with pytest.raises(UserError) as err:
            attempts("s3-max-attempts", value)
        assert err.value.input == "s3-max-attempts" and words in err.value.problem


@pytest.mark.parametrize(
    ("name", "value"), [("s3-endpoint-url", "not a url"), ("aws-region", "eu west 1"), ("s3-max-attempts", "1000000")]
)
def test_the_config_checks_them(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(UserError) as err:
        load_config({"GITHUB_WORKSPACE": str(tmp_path), f"INPUT_{name.upper()}": value})
    assert err.value.input == name


def test_the_client_checks_the_environment_and_direct_configs(tmp_path: Path) -> None:
    """``AWS_ENDPOINT_URL`` and a ``Config`` built by the Python API do not pass through the inputs' parsers."""
    with pytest.raises(UserError) as err:
        make_client(make_config(tmp_path), {"AWS_ENDPOINT_URL": "localhost:9000"})
    assert err.value.input == "AWS_ENDPOINT_URL"
    with pytest.raises(UserError) as err:
        make_client(make_config(tmp_path, s3_endpoint_url="http://a b"), {})
    assert err.value.input == "s3-endpoint-url"
    with pytest.raises(UserError) as err:
        make_client(make_config(tmp_path, aws_region="eu west"), {})
    assert err.value.input == "aws-region"
    client = make_client(make_config(tmp_path, aws_region="eu-west-1"), {"AWS_ENDPOINT_URL": "http://[::1]:9"})
    assert client.meta.region_name == "eu-west-1" and client.meta.endpoint_url == "http://[::1]:9"

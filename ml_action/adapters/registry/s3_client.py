"""The S3 client and its errors: ``s3://`` URIs, a boto3 client with our retry/checksum/addressing settings,
the failures a user can fix turned into ``UserError`` (naming the IAM action, bucket and key), and
downloads (``s3://`` data files). The registry's object store on top of it is ``registry/s3.py``.
boto3 is imported inside functions so that ``ml-action --version`` stays instant.

Retries: botocore's standard mode retries a request (5xx, throttling, resets, timeouts) until its answer's
headers arrive, ``s3-max-attempts`` times in all with exponential backoff. It cannot retry an answer whose
*body* breaks off or fails its checksum while it is streamed (``GetObject``), so ``retry_body`` sends such a
GET again, as many times and with the same backoff. Whatever still fails, and any answer we do not expect
(an unknown 400, a 501), is one ``UserError`` naming the operation and the code: never a traceback.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ml_action.errors import UserError, first_line

if TYPE_CHECKING:
    from ml_action.config import Config

PART_CONCURRENCY = 4  # parallel part uploads (the client's connection pool is sized for them)
README_POLICY = "see 'Minimal IAM policy' in docs/s3.md"
# What botocore accepts as a bucket name (S3's own rules are stricter; other stores differ).
_BUCKET_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,254}$")

# API operation -> the IAM action that allows it (what an AccessDenied message should name).
IAM_ACTIONS = {
    "GetObject": "s3:GetObject",
    "HeadObject": "s3:GetObject",
    "PutObject": "s3:PutObject",
    "CreateMultipartUpload": "s3:PutObject",
    "UploadPart": "s3:PutObject",
    "CompleteMultipartUpload": "s3:PutObject",
    "AbortMultipartUpload": "s3:AbortMultipartUpload",
    "ListObjectsV2": "s3:ListBucket",
    "DeleteObject": "s3:DeleteObject",
}
_DENIED = {"AccessDenied", "403", "Forbidden", "AllAccessDisabled"}
_BAD_CREDENTIALS = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidToken",
    "TokenRefreshRequired",
}
_MISSING = {"NoSuchKey", "404", "NotFound"}
_THROTTLED = {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "500", "503"}
MAX_BACKOFF = 20.0  # seconds, botocore's cap in standard mode
T = TypeVar("T")


def is_s3_uri(value: str) -> bool:
    """Whether ``value`` names S3 (the scheme is case-insensitive: ``S3://bucket`` is S3, not a folder)."""
    return value[:5].lower() == "s3://"


def parse_s3_uri(uri: str, input_name: str = "registry") -> tuple[str, str]:
    """``s3://bucket/some/prefix`` -> ``("bucket", "some/prefix")``; ``UserError`` for an invalid bucket name."""
    rest = uri[len("s3://") :] if is_s3_uri(uri) else ""
    bucket, _, prefix = rest.partition("/")
    if not bucket:
        raise UserError(input_name, f"'{uri}' does not name an S3 bucket", "Write it as `s3://bucket/prefix`.")
    if not _BUCKET_RE.match(bucket) or ".." in bucket:
        raise UserError(
            input_name,
            f"'{bucket[:70]}' is not a valid bucket name",
            "S3 bucket names are 3-63 lower-case letters, digits, '.' and '-' (no '_', '!' or "
            "spaces); write the registry as `s3://bucket/prefix`.",
        )
    return bucket, prefix.strip("/")


def make_client(config: Config, env: Mapping[str, str]) -> Any:
    """An S3 client with our retry, checksum and addressing settings; region and endpoint as configured.

    ``env`` is the run's environment (read once by the CLI): the endpoint comes from ``s3-endpoint-url``,
    else ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL`` in it, and static keys from it when it has them;
    otherwise boto3's default chain (web identity, instance role...) finds the credentials."""
    import boto3
    from botocore.config import Config as BotoConfig

    options: dict[str, Any] = {
        # total_max_attempts counts the first request; botocore's max_attempts would count retries only.
        "retries": {"mode": "standard", "total_max_attempts": config.s3_max_attempts},
        "request_checksum_calculation": config.s3_checksum,
        "response_checksum_validation": config.s3_checksum,
        "max_pool_connections": 2 * PART_CONCURRENCY + 2,
    }
    from ml_action import s3_settings

    custom_endpoint = next(
        (
            s3_settings.endpoint_url(name, value)
            for name, value in (
                ("s3-endpoint-url", config.s3_endpoint_url),
                ("AWS_ENDPOINT_URL_S3", env.get("AWS_ENDPOINT_URL_S3")),
                ("AWS_ENDPOINT_URL", env.get("AWS_ENDPOINT_URL")),
            )
            if value
        ),
        "",
    )
    region = s3_settings.aws_region("aws-region", config.aws_region)
    if custom_endpoint:  # MinIO, R2, moto...: bucket names in the path, not the host name
        options["s3"] = {"addressing_style": "path"}
    keys: dict[str, str] = {}
    if env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY"):
        keys = {"aws_access_key_id": env["AWS_ACCESS_KEY_ID"], "aws_secret_access_key": env["AWS_SECRET_ACCESS_KEY"]}
        if env.get("AWS_SESSION_TOKEN"):
            keys["aws_session_token"] = env["AWS_SESSION_TOKEN"]
    session = boto3.session.Session(region_name=region or None, **keys)
    return session.client("s3", endpoint_url=custom_endpoint or None, config=BotoConfig(**options))


def _error_code(exc: BaseException) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def _status(exc: BaseException) -> int:
    return int(getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)


def _message(exc: BaseException) -> str:
    """The store's own words for a refusal (untrusted text: one visible line, clipped)."""
    from ml_action.report.escape import visible

    return visible(str(getattr(exc, "response", {}).get("Error", {}).get("Message", "") or ""), 200)


def is_not_implemented(exc: BaseException) -> bool:
    return _error_code(exc) == "NotImplemented" or _status(exc) == 501


def max_attempts(client: Any) -> int:
    """The attempts the client makes per request (``s3-max-attempts``), for the retries botocore cannot make."""
    retries = getattr(getattr(getattr(client, "meta", None), "config", None), "retries", None) or {}
    return max(1, int(retries.get("total_max_attempts") or 3))


def body_errors() -> tuple[type[BaseException], ...]:
    """What botocore raises when an answer's body breaks off, times out or fails its checksum mid-stream."""
    from botocore.exceptions import FlexibleChecksumError, IncompleteReadError, ReadTimeoutError, ResponseStreamingError

    return (ResponseStreamingError, IncompleteReadError, FlexibleChecksumError, ReadTimeoutError)


def retry_body(client: Any, fetch: Callable[[], T]) -> T:
    """``fetch()`` (a GET and the read of its whole body) again while the body fails in transit, up to the
    client's attempts, with botocore's standard backoff (a random wait up to 2**n s, at most 20 s)."""
    attempts = max_attempts(client)
    for attempt in range(1, attempts + 1):
        try:
            return fetch()
        except body_errors():
            if attempt == attempts:
                raise
            time.sleep(min(MAX_BACKOFF, random.random() * 2 ** (attempt - 1)))
    raise AssertionError("unreachable")


def was_retried(exc: BaseException) -> bool:
    """Whether botocore sent the request more than once (an earlier attempt may have been applied)."""
    return int(getattr(exc, "response", {}).get("ResponseMetadata", {}).get("RetryAttempts", 0) or 0) > 0


def is_missing(exc: BaseException) -> bool:
    return _error_code(exc) in _MISSING or (_status(exc) == 404 and _error_code(exc) != "NoSuchBucket")


def is_precondition(exc: BaseException) -> bool:
    return _error_code(exc) == "PreconditionFailed" or _status(exc) == 412


def is_conflict(exc: BaseException) -> bool:
    return _error_code(exc) == "ConditionalRequestConflict" or _status(exc) == 409


@contextlib.contextmanager
def s3_errors(bucket: str, key: str, endpoint: str = "", input_name: str = "registry") -> Iterator[None]:
    """Turn S3 failures into one ``UserError`` each: those a user can fix (permissions, bucket, credentials,
    endpoint), faults that outlived the retries (5xx, throttling, resets, broken bodies) and answers nobody
    retries (an unknown 4xx, a 501), named with the operation and the code."""
    from botocore.exceptions import ClientError, HTTPClientError, NoCredentialsError, PartialCredentialsError
    from botocore.exceptions import ConnectionError as NoConnection

    where = f"s3://{bucket}/{key}" if key else f"s3://{bucket}"
    try:
        yield
    except ClientError as exc:
        code, operation = _error_code(exc), getattr(exc, "operation_name", "")
        if code == "NoSuchBucket":
            raise UserError(
                input_name,
                f"the bucket '{bucket}' does not exist{' at ' + endpoint if endpoint else ''}",
                f"Create the bucket, or fix the bucket name in `{input_name}` (and `aws-region`/`s3-endpoint-url`).",
            ) from None
        if code in _BAD_CREDENTIALS:
            raise UserError(
                input_name,
                f"S3 rejected the AWS credentials ({code}) while accessing {where}",
                "Check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (or the role assumed by "
                "aws-actions/configure-aws-credentials) and that the session has not expired.",
            ) from None
        if code in _DENIED or _status(exc) == 403:
            action = IAM_ACTIONS.get(operation, f"s3:{operation}" if operation else "s3:*")
            extra = (
                " (S3 also answers 'access denied' for a missing key when s3:ListBucket is not allowed)"
                if action == "s3:GetObject"
                else ""
            )
            raise UserError(
                input_name,
                f"access denied: {action} on {where}",
                f"Allow {action} on arn:aws:s3:::{bucket}{'/*' if action != 's3:ListBucket' else ''} "
                f"for the job's AWS identity{extra}; {README_POLICY}.",
            ) from None
        if code in _THROTTLED or (_status(exc) >= 500 and not is_not_implemented(exc)):
            raise UserError(
                input_name,
                f"S3 kept failing ({code or _status(exc)}) on {operation} {where} after all retry attempts",
                "Run the job again later, or raise `s3-max-attempts`.",
            ) from None
        said = _message(exc)
        raise UserError(
            input_name,
            f"the S3 store{' at ' + endpoint if endpoint else ''} refused {operation or 'a request'} on {where}: "
            f"{_status(exc) or '?'} {code or 'no error code'}{' (' + said + ')' if said and said != code else ''}",
            "ml-action does not retry this answer: check that the store supports this operation with these "
            "settings (`s3-checksum`, `s3-sse`, `s3-conditional-writes`), then run the job again.",
        ) from None
    except body_errors() + (HTTPClientError,) as exc:  # resets, timeouts, broken bodies: botocore's and ours
        raise UserError(
            input_name,
            f"the connection to S3 kept failing on {where} after all retry attempts ({type(exc).__name__}: "
            f"{first_line(exc)[:200]})",
            "Run the job again later, or raise `s3-max-attempts`.",
        ) from None
    except (NoCredentialsError, PartialCredentialsError):
        raise UserError(
            input_name,
            f"no AWS credentials were found to access {where}",
            "Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY as environment variables from secrets, "
            "or add an aws-actions/configure-aws-credentials step (OIDC) before this action.",
        ) from None
    except NoConnection as exc:  # no connection at all: refused, unresolvable, connect timeout, TLS
        raise UserError(
            "s3-endpoint-url",
            f"cannot connect to the S3 endpoint {exc.kwargs.get('endpoint_url', '')} ({type(exc).__name__})",
            "Check `s3-endpoint-url` / AWS_ENDPOINT_URL and that the store is reachable.",
        ) from None


def download_object(client: Any, bucket: str, key: str, dest: Path) -> bool:
    """Stream an object into a temporary file beside ``dest``, then rename it; False when it does not exist.
    A body that breaks off or fails its checksum is fetched again from the start (``retry_body``)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    return retry_body(client, lambda: _download_once(client, bucket, key, dest))


def _download_once(client: Any, bucket: str, key: str, dest: Path) -> bool:
    from botocore.exceptions import ClientError

    try:
        response = client.get_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if is_missing(exc):
            return False
        raise
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            for chunk in response["Body"].iter_chunks(1 << 20):
                fh.write(chunk)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


def read_s3_uri(uri: str, config: Config, dest: Path, env: Mapping[str, str], input_name: str = "data") -> Path:
    """Download ``s3://bucket/key`` to ``dest`` with the registry's client settings; ``UserError`` if absent."""
    bucket, key = parse_s3_uri(uri, input_name)
    if not key:
        raise UserError(input_name, f"'{uri}' names a bucket but no object", "Write it as `s3://bucket/path/file`.")
    client = make_client(config, env)
    with s3_errors(bucket, key, str(client.meta.endpoint_url or ""), input_name):
        if not download_object(client, bucket, key, dest):
            raise UserError(input_name, f"'{uri}' does not exist", "Check the bucket and key.")
    return dest


def data_fetcher(config: Config, workdir: Path, env: Mapping[str, str]) -> Callable[[str, str], Path]:
    """``data.Fetch`` with the registry's S3 settings: an input's ``s3://`` file downloaded under ``workdir``."""

    def fetch(uri: str, input_name: str) -> Path:
        folder = workdir / "s3-data" / input_name
        return read_s3_uri(uri, config, folder / uri.rstrip("/").rsplit("/", 1)[-1], env, input_name)

    return fetch

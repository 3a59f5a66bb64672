"""The registry's object store on S3 (or any S3-compatible store): boto3, conditional writes, clear errors.

Create-only writes use ``PutObject`` with ``If-None-Match: *`` and the champion's compare-and-swap uses
``If-Match: <etag>``; S3 evaluates both atomically. Files up to ``MULTIPART_THRESHOLD`` go up in one
``PutObject`` carrying their SHA-256 (S3 rejects a body that does not match); larger ones in parts, the
completion being create-only as well. Credentials come only from boto3's default chain (environment,
OIDC web identity, instance role), never from action inputs. boto3 is imported inside functions so that
``ml-action --version`` stays instant.

Some S3-compatible stores accept those conditions and ignore them. Before the first conditional write of
a run, ``S3Store`` therefore probes the store once on a fixed key (``PROBE_KEY``, under the registry
prefix) and refuses to write when either condition is ignored, unless the user declared
``s3-conditional-writes: unsupported`` (then ``Registry`` re-reads what it wrote to detect a lost race).
The probe costs at most 3 PUTs (2 once the probe object exists) and needs no delete: the same small
object is reused by every run.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ml_action.errors import UserError
from ml_action.registry.base import UNSUPPORTED, AlreadyExists, Conflict, utc_now

if TYPE_CHECKING:
    from ml_action.config import Config

MULTIPART_THRESHOLD = 64 * 1024 * 1024
PART_SIZE = 16 * 1024 * 1024
PART_CONCURRENCY = 4
CONFLICT_RETRIES = 5
README_POLICY = "see 'Minimal IAM policy' in the README"
PROBE_KEY = ".ml-action/conditional-writes-probe.json"  # model names start with a letter or digit: no clash
STALE_ETAG = '"00000000000000000000000000000000"'  # never the ETag of the probe object
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
_BAD_CREDENTIALS = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken",
                    "TokenRefreshRequired"}
_MISSING = {"NoSuchKey", "404", "NotFound"}
_THROTTLED = {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "500", "503"}


class _Retry409(Exception):
    """S3 answered 409 ConditionalRequestConflict: a concurrent conditional write; try again."""


def is_s3_uri(value: str) -> bool:
    """Whether ``value`` names S3 (the scheme is case-insensitive: ``S3://bucket`` is S3, not a folder)."""
    return value[:5].lower() == "s3://"


def parse_s3_uri(uri: str, input_name: str = "registry") -> tuple[str, str]:
    """``s3://bucket/some/prefix`` -> ``("bucket", "some/prefix")``; ``UserError`` for an invalid bucket name."""
    rest = uri[len("s3://"):] if is_s3_uri(uri) else ""
    bucket, _, prefix = rest.partition("/")
    if not bucket:
        raise UserError(input_name, f"'{uri}' does not name an S3 bucket", "Write it as `s3://bucket/prefix`.")
    if not _BUCKET_RE.match(bucket) or ".." in bucket:
        raise UserError(input_name, f"'{bucket[:70]}' is not a valid bucket name",
                        "S3 bucket names are 3-63 lower-case letters, digits, '.' and '-' (no '_', '!' or "
                        "spaces); write the registry as `s3://bucket/prefix`.")
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
    custom_endpoint = config.s3_endpoint_url or env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
    if custom_endpoint:  # MinIO, R2, moto...: bucket names in the path, not the host name
        options["s3"] = {"addressing_style": "path"}
    keys: dict[str, str] = {}
    if env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY"):
        keys = {"aws_access_key_id": env["AWS_ACCESS_KEY_ID"], "aws_secret_access_key": env["AWS_SECRET_ACCESS_KEY"]}
        if env.get("AWS_SESSION_TOKEN"):
            keys["aws_session_token"] = env["AWS_SESSION_TOKEN"]
    session = boto3.session.Session(region_name=config.aws_region or None, **keys)
    return session.client("s3", endpoint_url=custom_endpoint or None, config=BotoConfig(**options))


def _error_code(exc: BaseException) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def _status(exc: BaseException) -> int:
    return int(getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)


def _retried(exc: BaseException) -> bool:
    """Whether botocore sent the request more than once (an earlier attempt may have been applied)."""
    return int(getattr(exc, "response", {}).get("ResponseMetadata", {}).get("RetryAttempts", 0) or 0) > 0


def _is_missing(exc: BaseException) -> bool:
    return _error_code(exc) in _MISSING or (_status(exc) == 404 and _error_code(exc) != "NoSuchBucket")


def _is_precondition(exc: BaseException) -> bool:
    return _error_code(exc) == "PreconditionFailed" or _status(exc) == 412


def _is_conflict(exc: BaseException) -> bool:
    return _error_code(exc) == "ConditionalRequestConflict" or _status(exc) == 409


@contextlib.contextmanager
def s3_errors(bucket: str, key: str, endpoint: str = "", input_name: str = "registry") -> Iterator[None]:
    """Turn the S3 failures a user can fix (permissions, bucket, credentials, endpoint) into ``UserError``."""
    from botocore.exceptions import (
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        PartialCredentialsError,
    )

    where = f"s3://{bucket}/{key}" if key else f"s3://{bucket}"
    try:
        yield
    except ClientError as exc:
        code, operation = _error_code(exc), getattr(exc, "operation_name", "")
        if code == "NoSuchBucket":
            raise UserError(input_name, f"the bucket '{bucket}' does not exist{' at ' + endpoint if endpoint else ''}",
                            f"Create the bucket, or fix the bucket name in `{input_name}` (and `aws-region`/"
                            "`s3-endpoint-url`).") from None
        if code in _BAD_CREDENTIALS:
            raise UserError(input_name, f"S3 rejected the AWS credentials ({code}) while accessing {where}",
                            "Check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (or the role assumed by "
                            "aws-actions/configure-aws-credentials) and that the session has not expired.") from None
        if code in _DENIED or _status(exc) == 403:
            action = IAM_ACTIONS.get(operation, f"s3:{operation}" if operation else "s3:*")
            extra = (" (S3 also answers 'access denied' for a missing key when s3:ListBucket is not allowed)"
                     if action == "s3:GetObject" else "")
            raise UserError(input_name, f"access denied: {action} on {where}",
                            f"Allow {action} on arn:aws:s3:::{bucket}{'/*' if action != 's3:ListBucket' else ''} "
                            f"for the job's AWS identity{extra}; {README_POLICY}.") from None
        if code in _THROTTLED or _status(exc) >= 500:
            raise UserError(input_name, f"S3 kept failing ({code or _status(exc)}) on {operation} {where} "
                            "after all retry attempts",
                            "Run the job again later, or raise `s3-max-attempts`.") from None
        raise
    except (NoCredentialsError, PartialCredentialsError):
        raise UserError(input_name, f"no AWS credentials were found to access {where}",
                        "Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY as environment variables from secrets, "
                        "or add an aws-actions/configure-aws-credentials step (OIDC) before this action.") from None
    except EndpointConnectionError as exc:
        raise UserError("s3-endpoint-url", f"cannot connect to the S3 endpoint {exc.kwargs.get('endpoint_url', '')}",
                        "Check `s3-endpoint-url` / AWS_ENDPOINT_URL and that the store is reachable.") from None


class S3Store:
    """``ObjectStore`` over ``s3://bucket/prefix``; keys are relative to the prefix."""

    def __init__(self, client: Any, bucket: str, prefix: str = "", sse: str = "", kms_key_id: str = "",
                 checksum: str = "when_supported", conditional_writes: str = "verify") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.sse = sse
        self.kms_key_id = kms_key_id
        self.checksum = checksum
        self.uri = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"
        self.endpoint = str(getattr(getattr(client, "meta", None), "endpoint_url", "") or "")
        self.conditional_writes = conditional_writes  # "verify" or "unsupported"
        self._probed: str | None = None  # None: not yet; "": the store honours both conditions; else why not
        self.probe_requests = 0  # PUTs the probe sent (for tests and the log)

    @classmethod
    def from_config(cls, config: Config, env: Mapping[str, str]) -> S3Store:
        bucket, prefix = parse_s3_uri(config.registry)
        return cls(make_client(config, env), bucket, prefix, sse=config.s3_sse, kms_key_id=config.s3_kms_key_id,
                   checksum=config.s3_checksum, conditional_writes=config.s3_conditional_writes)

    # ------------------------------------------------------------------ the probe
    def ensure_conditional_writes(self) -> None:
        """Refuse to write to a store that ignores ``If-None-Match`` / ``If-Match`` (probed once per store object).

        The probe uses a fixed key: a create-only PUT (it succeeds only the very first time the registry is
        probed), a second create-only PUT that must fail, and a PUT with a stale ETag that must fail. A
        store that ignores the headers answers 200 and overwrites the (tiny, throw-away) probe object.
        """
        if self.conditional_writes == UNSUPPORTED:
            return
        if self._probed is None:
            self._probed = self._probe()
        if self._probed:
            where = self.endpoint or "AWS S3"
            raise UserError("registry", f"the S3 store at {where} ignores conditional writes ({self._probed} on "
                            f"{self.url(PROBE_KEY)}), so two runs could overwrite each other's versions and "
                            "promotions; nothing was written",
                            "Use a store that honours If-None-Match and If-Match on PutObject (AWS S3, recent "
                            "MinIO or R2), or, only if a single job writes this registry at a time (a "
                            "`concurrency:` group), set `s3-conditional-writes: unsupported`.")

    def _probe(self) -> str:
        body = json.dumps({"probe": "ml-action checks that this store honours conditional writes",
                           "at": utc_now()}).encode()
        with self._errors(PROBE_KEY):
            if self._probe_put(body, {"IfNoneMatch": "*"}) and self._probe_put(body, {"IfNoneMatch": "*"}):
                return "a create-only PutObject (If-None-Match: *) replaced an existing object"
            if self._probe_put(body, {"IfMatch": STALE_ETAG}):
                return "a PutObject with a stale ETag (If-Match) replaced the object"
        return ""

    def _probe_put(self, body: bytes, condition: dict[str, str]) -> bool:
        """True when the store applied the write, False when it refused it on its condition."""
        from botocore.exceptions import ClientError
        self.probe_requests += 1
        try:
            self.client.put_object(Bucket=self.bucket, Key=self._key(PROBE_KEY), Body=body, **condition,
                                   **self._write_args())
        except ClientError as exc:
            # 412: refused; 409: a concurrent conditional write (also a refusal); 404: If-Match on a key
            # another run's probe has not created yet
            if _is_precondition(exc) or _is_conflict(exc) or _is_missing(exc):
                return False
            raise
        return True

    # ------------------------------------------------------------------ helpers
    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def url(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._key(key)}"

    def _errors(self, key: str) -> contextlib.AbstractContextManager[None]:
        return s3_errors(self.bucket, self._key(key), self.endpoint)

    def _write_args(self) -> dict[str, str]:
        args = {}
        if self.sse:
            args["ServerSideEncryption"] = self.sse
        if self.sse == "aws:kms" and self.kms_key_id:
            args["SSEKMSKeyId"] = self.kms_key_id
        return args

    def _put(self, key: str, body: Any, condition: dict[str, str], **extra: Any) -> None:
        """One conditional PutObject, retrying S3's 409 ConditionalRequestConflict a few times."""
        from botocore.exceptions import ClientError
        for attempt in range(CONFLICT_RETRIES):
            if hasattr(body, "seek"):
                body.seek(0)
            try:
                self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=body, **condition,
                                       **self._write_args(), **extra)
                return
            except ClientError as exc:
                if not _is_conflict(exc) or attempt == CONFLICT_RETRIES - 1:
                    raise
                time.sleep(0.05 * 2 ** attempt)

    def _holds(self, key: str, data: bytes) -> bool:
        """After a retried write was refused: did one of our own earlier attempts land?"""
        found = self.read(key)
        return found is not None and found[0] == data

    # ------------------------------------------------------------------ ObjectStore
    def read(self, key: str) -> tuple[bytes, str] | None:
        from botocore.exceptions import ClientError
        with self._errors(key):
            try:
                response = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
            except ClientError as exc:
                if _is_missing(exc):
                    return None
                raise
            return response["Body"].read(), response["ETag"]

    def create(self, key: str, data: bytes) -> None:
        from botocore.exceptions import ClientError
        self.ensure_conditional_writes()
        with self._errors(key):
            try:
                self._put(key, data, {"IfNoneMatch": "*"})
            except ClientError as exc:
                if _is_precondition(exc) and _retried(exc) and self._holds(key, data):
                    return
                if _is_precondition(exc) or _is_conflict(exc):
                    raise AlreadyExists(self.url(key)) from None
                raise

    def replace(self, key: str, data: bytes, token: str | None) -> None:
        from botocore.exceptions import ClientError
        self.ensure_conditional_writes()
        condition = {"IfNoneMatch": "*"} if token is None else {"IfMatch": token}
        with self._errors(key):
            try:
                self._put(key, data, condition)
            except ClientError as exc:
                if _is_precondition(exc) and _retried(exc) and self._holds(key, data):
                    return
                # If-Match on a key deleted meanwhile answers 404: the object changed all the same.
                if _is_precondition(exc) or _is_conflict(exc) or (token is not None and _is_missing(exc)):
                    raise Conflict(self.url(key)) from None
                raise

    def create_file(self, key: str, path: Path, sha256: str) -> None:
        from botocore.exceptions import ClientError
        self.ensure_conditional_writes()
        size = path.stat().st_size
        with self._errors(key):
            if size > MULTIPART_THRESHOLD:
                self._create_multipart(key, path, sha256, size)
                return
            checksum = {}
            if self.checksum == "when_supported":
                checksum = {"ChecksumAlgorithm": "SHA256",
                            "ChecksumSHA256": base64.b64encode(bytes.fromhex(sha256)).decode()}
            try:
                with open(path, "rb") as body:
                    self._put(key, body, {"IfNoneMatch": "*"}, **checksum)
            except ClientError as exc:
                if _is_precondition(exc) and _retried(exc) and self._has_sha256(key, sha256):
                    return
                if _is_precondition(exc) or _is_conflict(exc):
                    raise AlreadyExists(self.url(key)) from None
                raise

    def _has_sha256(self, key: str, sha256: str) -> bool:
        """Whether the stored object carries ``sha256`` as its full-object checksum."""
        from botocore.exceptions import BotoCoreError, ClientError
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self._key(key), ChecksumMode="ENABLED")
        except (ClientError, BotoCoreError):
            return False
        return head.get("ChecksumSHA256") == base64.b64encode(bytes.fromhex(sha256)).decode()

    def _create_multipart(self, key: str, path: Path, sha256: str, size: int) -> None:
        for attempt in range(CONFLICT_RETRIES):
            try:
                self._multipart_once(key, path, sha256, size)
                return
            except _Retry409:  # S3 asks to start the whole upload again
                time.sleep(0.05 * 2 ** attempt)
        raise AlreadyExists(self.url(key))

    def _multipart_once(self, key: str, path: Path, sha256: str, size: int) -> None:
        full = self._key(key)
        checksum = {"ChecksumAlgorithm": "SHA256"} if self.checksum == "when_supported" else {}
        upload_id = self.client.create_multipart_upload(Bucket=self.bucket, Key=full, **checksum,
                                                        **self._write_args())["UploadId"]
        try:
            parts = self._upload_parts(full, upload_id, path, sha256, size, bool(checksum))
            self.client.complete_multipart_upload(Bucket=self.bucket, Key=full, UploadId=upload_id,
                                                  MultipartUpload={"Parts": parts}, IfNoneMatch="*")
        except BaseException as exc:
            self._abort(full, upload_id)
            if _is_precondition(exc):
                raise AlreadyExists(self.url(key)) from None
            if _is_conflict(exc):
                raise _Retry409() from None
            raise

    def _upload_parts(self, full: str, upload_id: str, path: Path, sha256: str, size: int,
                      with_checksum: bool) -> list[dict[str, Any]]:
        """Upload ``path`` in ``PART_SIZE`` parts, a few at a time, hashing it on the way as a last check."""
        progress = _Progress(full, size)
        digest = hashlib.sha256()
        parts: list[dict[str, Any]] = []
        pending: set[Future[dict[str, Any]]] = set()

        def send(number: int, chunk: bytes) -> dict[str, Any]:
            extra = {}
            if with_checksum:
                extra["ChecksumSHA256"] = base64.b64encode(hashlib.sha256(chunk).digest()).decode()
            response = self.client.upload_part(Bucket=self.bucket, Key=full, UploadId=upload_id,
                                               PartNumber=number, Body=chunk, **extra)
            progress.add(len(chunk))
            return {"PartNumber": number, "ETag": response["ETag"], **extra}

        with ThreadPoolExecutor(PART_CONCURRENCY) as pool, open(path, "rb") as fh:
            for number in range(1, size // PART_SIZE + 2):
                chunk = fh.read(PART_SIZE)
                if not chunk and number > 1:
                    break
                digest.update(chunk)
                if len(pending) >= PART_CONCURRENCY:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    parts.extend(f.result() for f in done)
                pending.add(pool.submit(send, number, chunk))
            parts.extend(f.result() for f in wait(pending).done)
        if digest.hexdigest() != sha256:
            raise RuntimeError(f"{path} changed while it was uploaded (sha256 {digest.hexdigest()} != {sha256})")
        return sorted(parts, key=lambda p: p["PartNumber"])

    def _abort(self, full: str, upload_id: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=full, UploadId=upload_id)
        # the upload's own error matters more; unfinished parts cost money though
        except (ClientError, BotoCoreError) as exc:
            print(f"::warning::could not abort the multipart upload of s3://{self.bucket}/{full} ({exc}); "
                  "add a lifecycle rule that aborts incomplete multipart uploads", flush=True)

    def list(self, prefix: str) -> list[str]:
        full = self._key(prefix)
        skip = len(self.prefix) + 1 if self.prefix else 0
        out: list[str] = []
        with self._errors(prefix):
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=full):
                out.extend(item["Key"][skip:] for item in page.get("Contents", []))
        return sorted(out)

    def download(self, key: str, dest: Path) -> bool:
        with self._errors(key):
            return download_object(self.client, self.bucket, self._key(key), dest)


class _Progress:
    """Prints ``upload <key>: 45 % (72.0MB/160.0MB)`` whenever a finished part crosses another 10 % mark."""

    def __init__(self, key: str, total: int) -> None:
        self.key, self.total, self.sent, self.shown = key, total, 0, 0
        self.lock = threading.Lock()

    def add(self, n: int) -> None:
        with self.lock:
            self.sent += n
            tenth = self.sent * 10 // max(self.total, 1)
            if tenth > self.shown:
                self.shown = tenth
                percent = self.sent * 100 // max(self.total, 1)
                print(f"upload {self.key}: {percent} % ({self.sent / 1e6:.1f}MB/{self.total / 1e6:.1f}MB)",
                      flush=True)


def download_object(client: Any, bucket: str, key: str, dest: Path) -> bool:
    """Stream an object into a temporary file beside ``dest``, then rename it; False when it does not exist."""
    from botocore.exceptions import ClientError
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        response = client.get_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if _is_missing(exc):
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

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
object is reused by every run. A store that answers ``501 NotImplemented`` to the conditions is told so
plainly; with ``unsupported`` a write it answers 501 is sent again without them (and later ones too).
Retries of failed requests and of bodies that break off are ``s3_client``'s (``retry_body``).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ml_action.adapters.registry.s3_client import (
    PART_CONCURRENCY,
    download_object,
    is_conflict,
    is_missing,
    is_not_implemented,
    is_precondition,
    make_client,
    parse_s3_uri,
    retry_body,
    s3_errors,
    was_retried,
)
from ml_action.adapters.registry.store import UNSUPPORTED, AlreadyExists, Conflict, print_warning
from ml_action.errors import UserError
from ml_action.records.provenance import utc_now

if TYPE_CHECKING:
    from ml_action.config import Config
MULTIPART_THRESHOLD = 64 * 1024 * 1024
PART_SIZE = 16 * 1024 * 1024
CONFLICT_RETRIES = 5
PROBE_KEY = ".ml-action/conditional-writes-probe.json"  # model names start with a letter or digit: no clash
STALE_ETAG = '"00000000000000000000000000000000"'  # never the ETag of the probe object


class _Retry409(Exception):
    """S3 answered 409 ConditionalRequestConflict: a concurrent conditional write; try again."""


class _NoConditions(Exception):
    """The store answered 501 NotImplemented to a conditional PutObject (the header is the argument)."""


class S3Store:
    """``ObjectStore`` over ``s3://bucket/prefix``; keys are relative to the prefix."""

    def __init__(
        self,
        client: Any,
        bucket: str,
        prefix: str = "",
        sse: str = "",
        kms_key_id: str = "",
        checksum: str = "when_supported",
        conditional_writes: str = "verify",
        info: Callable[[str], None] | None = None,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self.client = client
        self.info = info or (lambda text: None)  # progress lines (the runner's log in a run; quiet as a library)
        self.warn = warn or print_warning
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
        self._send_conditions = True  # False once an `unsupported` store answered 501 to them

    @classmethod
    def from_config(
        cls,
        config: Config,
        env: Mapping[str, str],
        info: Callable[[str], None] | None = None,
        warn: Callable[[str], None] | None = None,
    ) -> S3Store:
        bucket, prefix = parse_s3_uri(config.registry)
        return cls(
            make_client(config, env),
            bucket,
            prefix,
            sse=config.s3_sse,
            kms_key_id=config.s3_kms_key_id,
            checksum=config.s3_checksum,
            conditional_writes=config.s3_conditional_writes,
            info=info,
            warn=warn,
        )

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
            try:
                self._probed = self._probe()
            except _NoConditions as exc:
                self._probed = (
                    f"does not support conditional writes (it answered 501 NotImplemented to a PutObject "
                    f"with {exc.args[0]}"
                )
        if self._probed:
            where = self.endpoint or "AWS S3"
            raise UserError(
                "registry",
                f"the S3 store at {where} {self._probed} on {self.url(PROBE_KEY)}), so two runs could "
                "overwrite each other's versions and promotions; nothing was written",
                "Use a store that honours If-None-Match and If-Match on PutObject (AWS S3, recent "
                "MinIO or R2), or, only if a single job writes this registry at a time (a "
                "`concurrency:` group), set `s3-conditional-writes: unsupported`.",
            )

    def _probe(self) -> str:
        body = json.dumps(
            {"probe": "ml-action checks that this store honours conditional writes", "at": utc_now()}
        ).encode()
        ignores = "ignores conditional writes ("
        with self._errors(PROBE_KEY):
            if self._probe_put(body, {"IfNoneMatch": "*"}) and self._probe_put(body, {"IfNoneMatch": "*"}):
                return ignores + "a create-only PutObject (If-None-Match: *) replaced an existing object"
            if self._probe_put(body, {"IfMatch": STALE_ETAG}):
                return ignores + "a PutObject with a stale ETag (If-Match) replaced the object"
        return ""

    def _probe_put(self, body: bytes, condition: dict[str, str]) -> bool:
        """True when the store applied the write, False when it refused it on its condition."""
        from botocore.exceptions import ClientError

        self.probe_requests += 1
        try:
            self.client.put_object(
                Bucket=self.bucket, Key=self._key(PROBE_KEY), Body=body, **condition, **self._write_args()
            )
        except ClientError as exc:
            # 412: refused; 409: a concurrent conditional write (also a refusal); 404: If-Match on a key
            # another run's probe has not created yet
            if is_precondition(exc) or is_conflict(exc) or is_missing(exc):
                return False
            if is_not_implemented(exc):
                header = "If-None-Match: *" if "IfNoneMatch" in condition else "If-Match"
                raise _NoConditions(header) from None
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

    def _conditions(self, condition: dict[str, str]) -> dict[str, str]:
        return condition if self._send_conditions else {}

    def _put(self, key: str, body: Any, condition: dict[str, str], **extra: Any) -> None:
        """One conditional PutObject, retrying S3's 409 ConditionalRequestConflict a few times; under
        ``s3-conditional-writes: unsupported``, without the condition once the store answered 501 to it."""
        from botocore.exceptions import ClientError

        for attempt in range(CONFLICT_RETRIES):
            if hasattr(body, "seek"):
                body.seek(0)
            try:
                self.client.put_object(
                    Bucket=self.bucket,
                    Key=self._key(key),
                    Body=body,
                    **self._conditions(condition),
                    **self._write_args(),
                    **extra,
                )
                return
            except ClientError as exc:
                if self.conditional_writes == UNSUPPORTED and self._send_conditions and is_not_implemented(exc):
                    self._send_conditions = False
                    continue
                if not is_conflict(exc) or attempt == CONFLICT_RETRIES - 1:
                    raise
                time.sleep(0.05 * 2**attempt)

    def _holds(self, key: str, data: bytes) -> bool:
        """After a retried write was refused: did one of our own earlier attempts land?"""
        found = self.read(key)
        return found is not None and found[0] == data

    # ------------------------------------------------------------------ ObjectStore
    def read(self, key: str) -> tuple[bytes, str] | None:
        from botocore.exceptions import ClientError

        def get() -> tuple[bytes, str] | None:
            try:
                response = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
            except ClientError as exc:
                if is_missing(exc):
                    return None
                raise
            return response["Body"].read(), response["ETag"]

        with self._errors(key):
            return retry_body(self.client, get)

    def create(self, key: str, data: bytes) -> None:
        from botocore.exceptions import ClientError

        self.ensure_conditional_writes()
        with self._errors(key):
            try:
                self._put(key, data, {"IfNoneMatch": "*"})
            except ClientError as exc:
                if is_precondition(exc) and was_retried(exc) and self._holds(key, data):
                    return
                if is_precondition(exc) or is_conflict(exc):
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
                if is_precondition(exc) and was_retried(exc) and self._holds(key, data):
                    return
                # If-Match on a key deleted meanwhile answers 404: the object changed all the same.
                if is_precondition(exc) or is_conflict(exc) or (token is not None and is_missing(exc)):
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
                checksum = {
                    "ChecksumAlgorithm": "SHA256",
                    "ChecksumSHA256": base64.b64encode(bytes.fromhex(sha256)).decode(),
                }
            try:
                with open(path, "rb") as body:
                    self._put(key, body, {"IfNoneMatch": "*"}, **checksum)
            except ClientError as exc:
                if is_precondition(exc) and was_retried(exc) and self._has_sha256(key, sha256):
                    return
                if is_precondition(exc) or is_conflict(exc):
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
                time.sleep(0.05 * 2**attempt)
        raise AlreadyExists(self.url(key))

    def _multipart_once(self, key: str, path: Path, sha256: str, size: int) -> None:
        full = self._key(key)
        checksum = {"ChecksumAlgorithm": "SHA256"} if self.checksum == "when_supported" else {}
        upload_id = self.client.create_multipart_upload(Bucket=self.bucket, Key=full, **checksum, **self._write_args())[
            "UploadId"
        ]
        try:
            parts = self._upload_parts(full, upload_id, path, sha256, size, bool(checksum))
            self.client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=full,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
                **self._conditions({"IfNoneMatch": "*"}),
            )
        except BaseException as exc:
            self._abort(full, upload_id)
            if is_precondition(exc):
                raise AlreadyExists(self.url(key)) from None
            if is_conflict(exc):
                raise _Retry409() from None
            raise

    def _upload_parts(
        self, full: str, upload_id: str, path: Path, sha256: str, size: int, with_checksum: bool
    ) -> list[dict[str, Any]]:
        """Upload ``path`` in ``PART_SIZE`` parts, a few at a time, hashing it on the way as a last check."""
        progress = _Progress(full, size, self.info)
        digest = hashlib.sha256()
        parts: list[dict[str, Any]] = []
        pending: set[Future[dict[str, Any]]] = set()

        def send(number: int, chunk: bytes) -> dict[str, Any]:
            extra = {}
            if with_checksum:
                extra["ChecksumSHA256"] = base64.b64encode(hashlib.sha256(chunk).digest()).decode()
            response = self.client.upload_part(
                Bucket=self.bucket, Key=full, UploadId=upload_id, PartNumber=number, Body=chunk, **extra
            )
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
            self.warn(
                f"could not abort the multipart upload of s3://{self.bucket}/{full} ({exc}); "
                "add a lifecycle rule that aborts incomplete multipart uploads"
            )

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

    def __init__(self, key: str, total: int, info: Callable[[str], None]) -> None:
        self.key, self.total, self.sent, self.shown, self.info = key, total, 0, 0, info
        self.lock = threading.Lock()

    def add(self, n: int) -> None:
        with self.lock:
            self.sent += n
            tenth = self.sent * 10 // max(self.total, 1)
            if tenth > self.shown:
                self.shown = tenth
                percent = self.sent * 100 // max(self.total, 1)
                self.info(f"upload {self.key}: {percent} % ({self.sent / 1e6:.1f}MB/{self.total / 1e6:.1f}MB)")

"""The S3 connection inputs' parsers: ``s3-endpoint-url``, ``aws-region`` and ``s3-max-attempts``, checked
before any work so that a bad value is one ``UserError`` naming the input, not botocore's ``ValueError``
(exit 2) on the first request. ``registry/s3_client.make_client`` applies the same checks to the
``AWS_ENDPOINT_URL*`` variables and to values given to the Python API."""

from __future__ import annotations

import re
from typing import Any

from ml_action.errors import UserError
from ml_action.inputs import parse_int, text

MAX_S3_ATTEMPTS = 20
"""Upper bound of ``s3-max-attempts``. botocore's standard mode waits a random time of up to 2**(n-1) s
(at most 20 s) before attempt n, so 20 attempts may already wait about 5 minutes for one request, which
a run repeats for each of its requests; beyond that a store that is down looks like a job that hangs."""
_HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_REGION = re.compile(r"(?![0-9]+$)(?!-)[A-Za-z0-9-]{1,63}(?<!-)")  # botocore's check: one DNS label


def attempts(name: str, value: Any) -> int:
    """Attempts per S3 request, 1 to ``MAX_S3_ATTEMPTS``."""
    number = parse_int(name, value, minimum=1)
    if number > MAX_S3_ATTEMPTS:
        raise UserError(
            name,
            f"{number} is above {MAX_S3_ATTEMPTS}",
            f"Set `{name}` to at most {MAX_S3_ATTEMPTS}: each attempt waits up to 20 s more, so more would "
            "make a store that is down look like a job that hangs.",
        )
    return number


def endpoint_url(name: str, value: Any) -> str:
    """An S3 endpoint: ``http(s)://host[:port][/path]``, no credentials, query or fragment; empty: none."""
    import ipaddress
    from urllib.parse import urlsplit

    from ml_action.report.escape import visible

    url = text(name, value)
    if not url:
        return ""
    hint = f"Set `{name}` to the store's URL, like `https://minio.example.com:9000`."
    shown = visible(url, 100)
    if any(ch.isspace() or ord(ch) < 32 or ch in "\\\"'<>^`{|}" for ch in url):
        raise UserError(name, f"'{shown}' holds characters a URL cannot", hint)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UserError(name, f"'{shown}' is not a URL ({exc})", hint) from None
    if parts.scheme.lower() not in ("http", "https"):
        raise UserError(name, f"'{shown}' does not start with http:// or https://", hint)
    if parts.username is not None or parts.password is not None:
        raise UserError(
            name, f"'{visible(parts.hostname, 100)}' is given with credentials in the URL", "Remove `user:password@`."
        )
    if parts.query or parts.fragment:
        raise UserError(name, f"'{shown}' has a query or fragment", hint)
    host = parts.hostname or ""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        labels = host[:-1].split(".") if host.endswith(".") else host.split(".")
        if not host or len(host) > 253 or not all(_HOST_LABEL.fullmatch(label) for label in labels):
            raise UserError(name, f"'{shown}' does not name a valid host", hint) from None
    if port == 0:
        raise UserError(name, f"'{shown}' names port 0", hint)
    return url


def aws_region(name: str, value: Any) -> str:
    """An AWS region name (``eu-west-1``; other stores' names such as ``auto`` too); empty: the environment's."""
    from ml_action.report.escape import visible

    region = text(name, value)
    if region and not _REGION.fullmatch(region):
        raise UserError(
            name,
            f"'{visible(region, 70)}' is not a region name",
            f"Set `{name}` to a region like `eu-west-1` (letters, digits and '-'), or leave it empty.",
        )
    return region

"""A small fault-injecting HTTP proxy for S3 tests: sits on 127.0.0.1 in front of an S3 server (moto).

It forwards every request unchanged, except that it can

- answer the next N matching requests itself with an S3 error (``503 SlowDown``, ``500 InternalError``...),
  either before forwarding (the server never sees it) or after (the write lands, the client sees an error);
- answer matching requests with ``403 AccessDenied`` for as long as a rule stays in place;
- serialize conditional writes (``If-Match`` / ``If-None-Match``) so that the server's check-then-write
  is atomic, as it is on AWS S3. moto checks the precondition and then stores the object in two separate
  steps of a threaded server, so two racing writers could in principle both pass the check;
- or (``strip_conditions=True``) drop ``If-Match`` / ``If-None-Match`` from every request, standing for an
  S3-compatible store that accepts the conditions and ignores them.

Every request seen is recorded in ``log`` as ``(method, path, status)``.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "proxy-connection",
    "expect",
    "content-length",
}
_MESSAGES = {
    "SlowDown": "Please reduce your request rate.",
    "InternalError": "We encountered an internal error. Please try again.",
    "ServiceUnavailable": "Service is unable to handle request.",
    "AccessDenied": "Access Denied",
}


@dataclass
class Rule:
    """Answer matching requests with ``status``/``code``; ``remaining`` None means for ever."""

    status: int
    code: str
    match: Callable[[str, str], bool]
    remaining: int | None = None
    after: bool = False  # forward first (the server applies the request), then answer with the error


def error_body(code: str, resource: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
        f"<Message>{_MESSAGES.get(code, code)}</Message><Resource>{resource}</Resource>"
        "<RequestId>FAULTPROXY</RequestId></Error>"
    ).encode()


class FaultProxy:
    """Start with ``FaultProxy(upstream).start()``; point the S3 client at ``proxy.url``."""

    def __init__(self, upstream: str, serialize_conditional: bool = True, strip_conditions: bool = False) -> None:
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self.serialize_conditional = serialize_conditional
        self.strip_conditions = strip_conditions
        self.rules: list[Rule] = []
        self.log: list[tuple[str, str, int]] = []
        self.lock = threading.Lock()
        self.write_lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # ------------------------------------------------------------------ rules
    def fail(
        self,
        times: int,
        status: int = 503,
        code: str = "SlowDown",
        method: str | None = None,
        path_contains: str = "",
        after: bool = False,
    ) -> Rule:
        """Answer the next ``times`` matching requests with an error."""
        rule = Rule(status, code, _matcher(method, path_contains), times, after)
        with self.lock:
            self.rules.append(rule)
        return rule

    def deny(self, method: str | None = None, path_contains: str = "") -> Rule:
        """Answer matching requests with 403 AccessDenied until ``clear()``."""
        rule = Rule(403, "AccessDenied", _matcher(method, path_contains))
        with self.lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self.lock:
            self.rules.clear()

    def _take(self, method: str, path: str) -> Rule | None:
        with self.lock:
            for rule in self.rules:
                if rule.match(method, path) and (rule.remaining is None or rule.remaining > 0):
                    if rule.remaining is not None:
                        rule.remaining -= 1
                    return rule
        return None

    def count(self, method: str, status: int, path_contains: str = "") -> int:
        with self.lock:
            return sum(1 for m, p, s in self.log if m == method and s == status and path_contains in p)

    # ------------------------------------------------------------------ forwarding
    def forward(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, list, bytes]:
        conditional = method in ("PUT", "POST") and any(h.lower() in ("if-match", "if-none-match") for h in headers)
        guard = self.write_lock if conditional and self.serialize_conditional else _NoLock()
        with guard:
            conn = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=60)
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                return response.status, response.getheaders(), response.read()
            finally:
                conn.close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # quiet
                pass

            def _read_body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    out = bytearray()
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return bytes(out)
                        out += self.rfile.read(size)
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _reply(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
                with proxy.lock:  # logged before the client can see the answer, so a test reads a full log
                    proxy.log.append((self.command, self.path, status))
                self.send_response(status)
                length = str(len(body))
                for name, value in headers:
                    if name.lower() == "content-length" and self.command == "HEAD":
                        length = value  # a HEAD answer carries the object's length, not its (empty) body's
                    elif name.lower() not in _HOP_BY_HOP:
                        self.send_header(name, value)
                self.send_header("Content-Length", length)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _handle(self) -> None:
                body = self._read_body()
                rule = proxy._take(self.command, self.path)
                if rule is not None and not rule.after:
                    self._reply(rule.status, [("Content-Type", "application/xml")], error_body(rule.code, self.path))
                    return
                dropped = _HOP_BY_HOP | ({"if-match", "if-none-match"} if proxy.strip_conditions else set())
                headers = {k: v for k, v in self.headers.items() if k.lower() not in dropped}
                headers["Content-Length"] = str(len(body))
                status, response_headers, response_body = proxy.forward(self.command, self.path, headers, body)
                if rule is not None:
                    self._reply(rule.status, [("Content-Type", "application/xml")], error_body(rule.code, self.path))
                    return
                self._reply(status, response_headers, response_body)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

        return Handler


class _NoLock:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *args: object) -> None:
        return None


def _matcher(method: str | None, path_contains: str) -> Callable[[str, str], bool]:
    def match(request_method: str, path: str) -> bool:
        return (method is None or request_method == method) and path_contains in path

    return match

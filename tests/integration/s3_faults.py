"""A small fault-injecting HTTP proxy for S3 tests: sits on 127.0.0.1 in front of an S3 server (moto).

It forwards every request unchanged, except that it can

- answer the next N matching requests itself with an S3 error (``503 SlowDown``, ``500 InternalError``,
  an unknown ``400``...), either before forwarding (the server never sees it) or after (the write lands,
  the client sees an error); ``conditional=True`` matches only requests carrying ``If-Match`` /
  ``If-None-Match`` (a store answering ``501 NotImplemented`` to them);
- answer matching requests with ``403 AccessDenied`` for as long as a rule stays in place;
- break the connection: ``drop`` closes it without an answer (before or after forwarding), ``truncate``
  sends the answer's headers and half its body, then closes, ``corrupt`` flips one byte of the body;
- stand for other stores (``conditions=``): ``"forward"`` (the default) passes the conditions to the
  server, which evaluates them atomically (see ``moto_server.py``); ``"strip"`` drops them, a store that
  accepts the conditions and ignores them; ``"check_then_write"`` evaluates them itself with a HEAD and
  then writes unconditionally: a store that honours them one request at a time but not atomically, as
  raw moto does. ``race(n, path)`` holds the first ``n`` matching conditional writes between their check
  and their write until all ``n`` have passed the check, so such a store forks every time, not by luck.

Every request seen is recorded in ``log`` as ``(method, path, status)`` (0 for a dropped connection).
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
_CONDITIONS = {"if-match", "if-none-match"}
_MESSAGES = {
    "SlowDown": "Please reduce your request rate.",
    "InternalError": "We encountered an internal error. Please try again.",
    "ServiceUnavailable": "Service is unable to handle request.",
    "AccessDenied": "Access Denied",
    "NotImplemented": "A header you provided implies functionality that is not implemented.",
    "PreconditionFailed": "At least one of the pre-conditions you specified did not hold",
    "NoSuchKey": "The specified key does not exist.",
}
Answer = tuple[int, list[tuple[str, str]], bytes]


@dataclass
class Rule:
    """Answer matching requests with ``status``/``code`` (or break them: ``kind``); ``remaining`` None: for ever."""

    status: int
    code: str
    match: Callable[[str, str], bool]
    remaining: int | None = None
    after: bool = False  # forward first (the server applies the request), then answer with the fault
    kind: str = "error"  # "error", "drop", "truncate" or "corrupt"
    conditional: bool = False  # only requests carrying If-Match / If-None-Match


def error_body(code: str, resource: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
        f"<Message>{_MESSAGES.get(code, code)}</Message><Resource>{resource}</Resource>"
        "<RequestId>FAULTPROXY</RequestId></Error>"
    ).encode()


class FaultProxy:
    """Start with ``FaultProxy(upstream).start()``; point the S3 client at ``proxy.url``."""

    def __init__(self, upstream: str, conditions: str = "forward") -> None:
        assert conditions in ("forward", "strip", "check_then_write"), conditions
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self.conditions = conditions
        self.rules: list[Rule] = []
        self.log: list[tuple[str, str, int]] = []
        self.lock = threading.Lock()
        self._race: tuple[threading.Barrier, str] | None = None
        self._racers = 0
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
        conditional: bool = False,
    ) -> Rule:
        """Answer the next ``times`` matching requests with an error."""
        return self._add(Rule(status, code, _matcher(method, path_contains), times, after, conditional=conditional))

    def deny(self, method: str | None = None, path_contains: str = "") -> Rule:
        """Answer matching requests with 403 AccessDenied until ``clear()``."""
        return self._add(Rule(403, "AccessDenied", _matcher(method, path_contains)))

    def drop(self, times: int, method: str | None = None, path_contains: str = "", after: bool = False) -> Rule:
        """Close the connection of the next ``times`` matching requests without answering."""
        return self._add(Rule(0, "", _matcher(method, path_contains), times, after, kind="drop"))

    def truncate(self, times: int, method: str | None = None, path_contains: str = "") -> Rule:
        """Forward the next ``times`` matching requests; send the full headers but half the body, then close."""
        return self._add(Rule(0, "", _matcher(method, path_contains), times, True, kind="truncate"))

    def corrupt(self, times: int, method: str | None = None, path_contains: str = "") -> Rule:
        """Forward the next ``times`` matching requests; flip one byte in the middle of the answer's body."""
        return self._add(Rule(0, "", _matcher(method, path_contains), times, True, kind="corrupt"))

    def race(self, parties: int, path_contains: str) -> None:
        """With ``check_then_write``: the first ``parties`` conditional writes on matching paths all pass their
        check before any of them writes."""
        with self.lock:
            self._race, self._racers = (threading.Barrier(parties, timeout=60), path_contains), 0

    def _add(self, rule: Rule) -> Rule:
        with self.lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self.lock:
            self.rules.clear()

    def _take(self, method: str, path: str, conditional: bool) -> Rule | None:
        with self.lock:
            for rule in self.rules:
                if (
                    rule.match(method, path)
                    and (conditional or not rule.conditional)
                    and (rule.remaining is None or rule.remaining > 0)
                ):
                    if rule.remaining is not None:
                        rule.remaining -= 1
                    return rule
        return None

    def count(self, method: str, status: int, path_contains: str = "") -> int:
        with self.lock:
            return sum(1 for m, p, s in self.log if m == method and s == status and path_contains in p)

    # ------------------------------------------------------------------ forwarding
    def _send(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        conn = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            conn.close()

    def forward(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        conditions = {k: v for k, v in headers.items() if k.lower() in _CONDITIONS}
        if not conditions or self.conditions == "forward":
            return self._send(method, path, headers, body)
        plain = {k: v for k, v in headers.items() if k.lower() not in _CONDITIONS}
        if self.conditions == "check_then_write":
            refused = self._check(path, conditions, headers)
            if refused is not None:
                return refused
            self._hold(path)
        return self._send(method, path, plain, body)

    def _check(self, path: str, conditions: dict[str, str], request: dict[str, str]) -> Answer | None:
        """The store's own evaluation of the conditions, by a HEAD of the key: None when they hold."""
        key_path = path.split("?", 1)[0]
        auth = {k: v for k, v in request.items() if k.lower() == "authorization" or k.lower().startswith("x-amz-")}
        status, headers, _ = self._send("HEAD", key_path, auth, b"")
        etag = next((v for k, v in headers if k.lower() == "etag"), None) if status == 200 else None
        wanted = {k.lower(): v for k, v in conditions.items()}
        xml = [("Content-Type", "application/xml")]
        if wanted.get("if-none-match") == "*" and etag is not None:
            return 412, xml, error_body("PreconditionFailed", key_path)
        if "if-match" in wanted and etag is None:
            return 404, xml, error_body("NoSuchKey", key_path)
        if "if-match" in wanted and wanted["if-match"] != etag:
            return 412, xml, error_body("PreconditionFailed", key_path)
        return None

    def _hold(self, path: str) -> None:
        with self.lock:
            race = self._race
            if race is None or race[1] not in path or self._racers >= race[0].parties:
                return
            self._racers += 1
        race[0].wait()

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

            def _reply(self, status: int, headers: list[tuple[str, str]], body: bytes, kind: str = "") -> None:
                with proxy.lock:  # logged before the client can see the answer, so a test reads a full log
                    proxy.log.append((self.command, self.path, 0 if kind == "drop" else status))
                if kind == "drop":
                    self.close_connection = True
                    return
                self.send_response(status)
                length = str(len(body))
                for name, value in headers:
                    if name.lower() == "content-length" and self.command == "HEAD":
                        length = value  # a HEAD answer carries the object's length, not its (empty) body's
                    elif name.lower() not in _HOP_BY_HOP:
                        self.send_header(name, value)
                self.send_header("Content-Length", length)
                self.end_headers()
                if self.command == "HEAD":
                    return
                if kind == "truncate":
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                if kind == "corrupt" and body:
                    middle = len(body) // 2
                    body = body[:middle] + bytes([body[middle] ^ 0xFF]) + body[middle + 1 :]
                self.wfile.write(body)

            def _handle(self) -> None:
                body = self._read_body()
                conditional = any(k.lower() in _CONDITIONS for k in self.headers)
                rule = proxy._take(self.command, self.path, conditional)
                error = [("Content-Type", "application/xml")], error_body(rule.code, self.path) if rule else b""
                if rule is not None and not rule.after:
                    self._reply(rule.status, *error, kind=rule.kind)
                    return
                dropped = _HOP_BY_HOP | (_CONDITIONS if proxy.conditions == "strip" else set())
                headers = {k: v for k, v in self.headers.items() if k.lower() not in dropped}
                headers["Content-Length"] = str(len(body))
                answer = proxy.forward(self.command, self.path, headers, body)
                if rule is not None and rule.kind in ("error", "drop"):
                    self._reply(rule.status, *error, kind=rule.kind)
                    return
                self._reply(*answer, kind=rule.kind if rule else "")

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

        return Handler


def _matcher(method: str | None, path_contains: str) -> Callable[[str, str], bool]:
    def match(request_method: str, path: str) -> bool:
        return (method is None or request_method == method) and path_contains in path

    return match

"""moto's S3 server on 127.0.0.1 with atomic conditional writes, as AWS S3 has them.

moto checks ``If-Match`` / ``If-None-Match`` and then stores the object in two separate steps, on a
threaded server: two PUTs carrying the same ``If-Match`` can both pass the check and both land (measured
here: 3 of 20 rounds of 8 racing PUTs forked). AWS S3 evaluates the condition and the write atomically, and
the registry's compare-and-swap relies on exactly that, so race tests on raw moto would test less than they
claim. ``AtomicConditionalWrites`` wraps moto's own WSGI application (the one ``ThreadedMotoServer``
serves) and runs every conditional write alone, under one lock; everything else stays concurrent.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def is_conditional_write(environ: dict[str, Any]) -> bool:
    """A PUT or POST (a multipart completion) carrying ``If-Match`` or ``If-None-Match``."""
    return environ.get("REQUEST_METHOD") in ("PUT", "POST") and bool(
        environ.get("HTTP_IF_MATCH") or environ.get("HTTP_IF_NONE_MATCH")
    )


class AtomicConditionalWrites:
    """WSGI middleware: a conditional write runs under one lock, its answer produced before the next starts."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.conditional_writes = 0  # how many ran under the lock (the fixture's test reads it)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not is_conditional_write(environ):
            return self.app(environ, start_response)
        with self.lock:
            self.conditional_writes += 1
            return list(self.app(environ, start_response))  # the check and the write both happen in here


class MotoServer:
    """``MotoServer(atomic=True).start()``; ``url`` is its address. ``atomic=False`` serves raw moto."""

    def __init__(self, atomic: bool = True) -> None:
        from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app

        app: WSGIApp = DomainDispatcherApplication(create_backend_app)
        self.atomic = AtomicConditionalWrites(app) if atomic else None
        self.server: BaseWSGIServer = make_server(
            "127.0.0.1", 0, self.atomic or app, threaded=True, request_handler=MotoRequestHandler
        )
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> MotoServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self._thread.join()
        self.server.server_close()

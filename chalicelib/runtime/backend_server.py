"""The embedded backend's HTTP server: moto's, with connections kept open between requests.

moto's `ThreadedMotoServer` runs werkzeug's development server, which answers every request
with `Connection: close`. So each DynamoDB, SQS or S3 request of the local runtime opened a new
TCP connection, and the server started a new thread for it; and moto's dispatcher listed its own
package directory (`os.listdir` and an `isdir` per entry) on every request to find the service.
Measured on a trivial Query, that was about 1.6 ms of the backend's CPU and 0.85 ms of the
caller's, most of it none of DynamoDB's business; a list page or a task creation is a few such
requests to dozens.

`KeepAliveMotoServer` is `ThreadedMotoServer` with two changes, and nothing else of moto's
request handling altered (same WSGI application, same environ, same status, headers and body):

- responses carry a `Content-Length` (the body is built whole first, as moto builds it anyway)
  and no `Connection: close`, so HTTP/1.1 clients keep the connection, and its thread, for the
  next request; a client that asks to close gets `Connection: close` as before;
- the dispatcher answers "is this a moto service?" from the package listing taken once.
"""

from __future__ import annotations

import io
import socket
import sys
from collections.abc import Iterable
from typing import Any

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

#: Headers this server frames itself: the app's own are not passed on.
_FRAMING = frozenset({"connection", "transfer-encoding", "keep-alive"})


class KeepAliveMotoServer(ThreadedMotoServer):
    """`ThreadedMotoServer` whose connections stay open between requests."""

    def _server_entry(self) -> None:
        app = _Dispatcher(create_backend_app)
        self._server = make_server(self._ip_address, self._port, app, True, request_handler=KeepAliveRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()


class _Dispatcher(DomainDispatcherApplication):
    """moto's dispatcher, with the list of its service modules read once."""

    def __init__(self, create_app: Any) -> None:
        from moto import backends

        super().__init__(create_app)
        self._modules = frozenset(backends.list_of_moto_modules())

    def get_backend_for_host(self, host: str | None) -> Any:
        if host is not None and host != "moto_api" and host in self._modules:
            return host  # what moto answers for a module's name, without listing the package again
        return super().get_backend_for_host(host)


class KeepAliveRequestHandler(MotoRequestHandler):
    """Runs the WSGI app as werkzeug does, then writes a response framed by `Content-Length`,
    so the connection serves the client's next request."""

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def run_wsgi(self) -> None:
        if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        self.environ = environ = self.make_environ()
        # The whole request body, read now: the next request follows it on the connection.
        stream = environ["wsgi.input"]
        if environ.get("wsgi.input_terminated"):
            body = stream.read()
        else:
            body = stream.read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("wsgi.input_terminated", None)
        try:
            status, headers, data = _call(self.server.app, environ)
        except Exception as exc:  # noqa: BLE001 - as werkzeug: a 500, and the error logged
            from werkzeug.debug.tbtools import DebugTraceback
            from werkzeug.exceptions import InternalServerError

            self.server.log("error", f"Error on request:\n{DebugTraceback(exc).render_traceback_text()}")
            status, headers, data = _call(InternalServerError(), environ)
        self._write(status, headers, data, head=environ["REQUEST_METHOD"] == "HEAD")

    def _write(self, status: str, headers: list[tuple[str, str]], data: bytes, *, head: bool) -> None:
        code_text, _, message = status.partition(" ")
        code = int(code_text)
        self.send_response(code, message)
        names = set()
        for name, value in headers:
            lowered = name.lower()
            if lowered in _FRAMING:
                continue
            names.add(lowered)
            self.send_header(name, value)
        bodiless = head or code < 200 or code in (204, 304)
        if "content-length" not in names and not bodiless:
            self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        # Head and body in one write: two small writes on a kept connection would wait for the
        # client's delayed ACK (Nagle's algorithm), about 40 ms a response.
        self._headers_buffer.append(b"\r\n")  # what end_headers() adds
        if data and not bodiless:
            self._headers_buffer.append(data)
        self.flush_headers()


def _call(app: Any, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    """Run a WSGI app to the end: (status, headers, body)."""
    started: dict[str, Any] = {}
    written: list[bytes] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        if exc_info is not None and started:
            raise exc_info[1].with_traceback(exc_info[2])
        started["status"], started["headers"] = status, list(headers)
        return written.append

    result: Iterable[bytes] = app(environ, start_response)
    try:
        for chunk in result:
            written.append(chunk)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    if not started:
        print("embedded backend: the app answered without starting a response", file=sys.stderr)
        return "500 INTERNAL SERVER ERROR", [], b""
    return started["status"], started["headers"], b"".join(written)

"""A billing service on loopback for the execution tests: a token endpoint, scripted answers per
path, and a record of every request it received."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.waiting import wait_until

TOKEN = "svc-token-2b7e"


class BillingService:
    """What the service answers and what it saw. `script[path]` is a list of statuses answered
    in turn (the last one repeats); a path without a script answers 200."""

    def __init__(self) -> None:
        self.url = ""
        self.script: dict[str, list[int]] = {}
        self.requests: list[dict[str, Any]] = []
        #: Decides the status from (path, JSON body) before the script does; None: no opinion.
        self.rule: Callable[[str, Any], int | None] | None = None
        self._lock = threading.Lock()

    def answer(self, path: str, *statuses: int) -> None:
        with self._lock:
            self.script[path] = list(statuses)

    def _status(self, path: str) -> int:
        with self._lock:
            statuses = self.script.get(path)
            if not statuses:
                return 200
            return statuses.pop(0) if len(statuses) > 1 else statuses[0]

    def paths(self) -> list[str]:
        with self._lock:
            return [r["path"] for r in self.requests]

    def calls_to(self, path: str) -> list[dict[str, Any]]:
        with self._lock:
            return [r for r in self.requests if r["path"] == path]

    def wait_for(self, predicate: Any, timeout: float = 20.0) -> Any:
        """Poll until `predicate()` is truthy; fail after `timeout` seconds."""
        try:
            return wait_until(predicate, timeout)
        except AssertionError:
            raise AssertionError(f"condition not met within {timeout}s; the service saw {self.paths()}") from None


@contextmanager
def billing_service() -> Iterator[BillingService]:
    service = BillingService()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            path = self.path.split("?")[0]
            parsed = json.loads(raw) if raw else None
            with service._lock:
                service.requests.append({"method": self.command, "path": path, "headers": dict(self.headers),
                                         "body": parsed, "at": time.time()})
            ruled = service.rule(path, parsed) if service.rule is not None else None
            if path.endswith("/token"):
                status, body = 200, {"token": TOKEN}
            else:
                status = ruled if ruled is not None else service._status(path)
                body = {"path": path, "status": status}
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    service.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield service
    finally:
        server.shutdown()
        server.server_close()

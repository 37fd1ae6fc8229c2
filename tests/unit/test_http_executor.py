"""The `http` executor against a real HTTP server on loopback: 2xx succeeds, anything else fails."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from chalicelib.engine.executors import ExecutionContext, HttpExecutor, Outcome

SECRET = "Bearer s3cr3t-value-never-logged"


class RecordingLog:
    """The run log, as lines the test can read."""

    kill_requested = False

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def write(self, stream: str, text: str, *, size: int | None = None) -> None:
        self.lines.append((stream, text))

    def text(self) -> str:
        return "\n".join(text for _, text in self.lines)


class Site:
    """What the server saw, and the gate a slow answer waits on."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        self.release = threading.Event()


@pytest.fixture
def site() -> Iterator[tuple[str, Site]]:
    seen = Site()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            seen.requests.append((self.command, self.path, dict(self.headers), self.rfile.read(length)))
            if self.path == "/slow":
                seen.release.wait(10)
            status = {"/ok": 200, "/created": 201, "/missing": 404, "/broken": 500}.get(self.path, 200)
            body = f"answer to {self.path}".encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, *args) -> None:  # keep the test output quiet
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    seen.release.set()
    server.shutdown()
    server.server_close()


def run(config: dict, *, timeout: float | None = 5.0) -> tuple[object, RecordingLog]:
    log = RecordingLog()
    context = ExecutionContext(log=log, timeout=timedelta(seconds=timeout) if timeout else None)
    return HttpExecutor().execute(config, context), log


@pytest.mark.parametrize(("path", "status"), [("/ok", 200), ("/created", 201)])
def test_a_2xx_answer_succeeds_with_its_status_and_body_in_the_log(site, path, status):
    url, _ = site
    result, log = run({"url": url + path})
    assert (result.outcome, result.exit_code, result.http_status) == (Outcome.SUCCESS, 0, status)
    assert ("stdout", f"answer to {path}") in log.lines


@pytest.mark.parametrize(("path", "status"), [("/missing", 404), ("/broken", 500)])
def test_a_4xx_or_5xx_answer_fails_the_run_with_its_status(site, path, status):
    url, _ = site
    result, log = run({"url": url + path})
    assert (result.outcome, result.exit_code, result.http_status) == (Outcome.FAILED, 1, status)
    assert result.detail == f"HTTP {status}"
    assert ("stdout", f"answer to {path}") in log.lines


def test_the_method_and_a_json_body_are_sent_as_configured(site):
    url, seen = site
    result, _ = run({"url": url + "/ok", "method": "post", "body": {"n": 1}})
    assert result.outcome is Outcome.SUCCESS
    (method, path, _, body) = seen.requests[0]
    assert (method, path, body) == ("POST", "/ok", b'{"n": 1}')


def test_header_values_reach_the_server_but_never_the_log(site):
    url, seen = site
    result, log = run({"url": url + "/ok", "headers": {"Authorization": SECRET, "X-Api-Key": "k-123456"}})
    assert result.outcome is Outcome.SUCCESS
    headers = seen.requests[0][2]
    assert headers["Authorization"] == SECRET and headers["X-Api-Key"] == "k-123456"
    assert "s3cr3t" not in log.text() and "k-123456" not in log.text()
    assert "Authorization" in log.text() and "X-Api-Key" in log.text()  # the names are logged


def test_a_server_slower_than_the_timeout_ends_the_run_timeout(site):
    url, seen = site
    result, log = run({"url": url + "/slow"}, timeout=0.3)
    seen.release.set()
    assert (result.outcome, result.exit_code, result.http_status) == (Outcome.TIMEOUT, 1, None)
    assert "request failed" in log.text()


def test_a_refused_connection_fails_the_run_and_says_why():
    with socket.socket() as probe:  # a port nobody listens on: bound, then closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result, log = run({"url": f"http://127.0.0.1:{port}/"})
    assert (result.outcome, result.exit_code, result.http_status) == (Outcome.FAILED, 1, None)
    assert result.detail.startswith("request failed:") and "refused" in result.detail.lower()
    assert "request failed" in log.text()


@pytest.mark.parametrize("url", [None, "", "ftp://example.com/x", "127.0.0.1/x"])
def test_a_missing_or_non_http_url_fails_to_start(url):
    result, log = run({"url": url})
    assert (result.outcome, result.exit_code) == (Outcome.START_FAILED, -1)
    assert log.lines == [("system", "http executor needs an http(s) 'url'")]

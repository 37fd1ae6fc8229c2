"""A step's action as an HTTP call, against a real HTTP server on loopback."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import msgspec
import pytest

from chalicelib.engine.execution.definition import ExecutionAction, ExecutionAuthorization, ExecutionService
from chalicelib.engine.execution.step_http import CallSubject, HttpStepCaller
from chalicelib.engine.execution.steps import StepContext

TOKEN = "tok-3f9a-never-recorded"


def Service(key: str, base_urls: list, methods: list, **extra: Any) -> ExecutionService:  # noqa: N802
    return msgspec.convert({"key": key, "baseUrls": base_urls, "methods": methods, **extra}, ExecutionService)


def Method(key: str, url: str, method: str, is_async: bool = False) -> dict[str, Any]:  # noqa: N802
    return {"key": key, "url": url, "method": method, "async": is_async}


def Action(key: str, service: str, method: str, **extra: Any) -> ExecutionAction:  # noqa: N802
    return msgspec.convert({"key": key, "service": service, "method": method, **extra}, ExecutionAction)


def Authorization(environment: str, url: str, method: str = "post", **extra: Any) -> ExecutionAuthorization:  # noqa: N802
    return msgspec.convert({"environment": environment, "url": url, "method": method, **extra},
                           ExecutionAuthorization)


@dataclass(frozen=True)
class Step:
    key: str
    action: str | None


class Site:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.release = threading.Event()


@pytest.fixture
def site() -> Iterator[tuple[str, Site]]:
    seen = Site()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            seen.requests.append({"method": self.command, "path": self.path, "headers": dict(self.headers),
                                  "body": json.loads(raw) if raw else None})
            route = self.path.split("?")[0].removeprefix("/api")
            if route == "/slow":
                seen.release.wait(10)
            status, body = {
                "/charges": (201, {"charge": "ch_1"}),
                "/broken": (502, {"error": "upstream"}),
                "/text": (200, "plain words"),
                "/oauth/token": (200, {"auth": {"token": TOKEN}}),
                "/oauth/denied": (401, {"error": "bad client"}),
            }.get(route, (200, {"ok": True}))
            payload = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _answer

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    seen.release.set()
    server.shutdown()
    server.server_close()


SUBJECT = CallSubject(instance_sid="in-1", cycle=2, attributes={"customer": "c-9"}, event_sid="ev-7",
                      task="bill", date="2026-04-30T09:00:00+00:00")
CONTEXT = StepContext(attempt=1, correlation_id="ev-7.1.charge", results={"quote": {"amount": 12}})


def caller(base: str, *, methods: tuple = (), action: ExecutionAction | None = None,
           authorization: ExecutionAuthorization | None = None, environment: str = "local", timeout: float = 5.0,
           **service: Any) -> HttpStepCaller:
    billing = Service("billing", [{"environment": "local", "url": base + "/api/"},
                                  {"environment": "prod", "url": "https://x.invalid"}],
                      list(methods or (Method("charge", "/charges", "post"),)), **service)
    opened: list[str] = []

    def authorization_of(service_key: str) -> ExecutionAuthorization | None:
        opened.append(service_key)
        return authorization

    return HttpStepCaller(services=[billing], actions=[action or Action("do-charge", "billing", "charge")],
                          environment=environment, subject=SUBJECT, authorization=authorization_of,
                          timeout=timeout)


def test_a_post_goes_to_the_environments_base_url_with_the_envelope_and_a_2xx_is_a_success(site):
    base, seen = site
    action = Action("do-charge", "billing", "charge", data={"plan": "gold"}, headers={"X-Tenant-Ref": "r1"})
    answer = caller(base, action=action)(Step("charge", "do-charge"), CONTEXT)
    assert answer.success is True and answer.waits is False
    assert answer.data == {"charge": "ch_1"}
    assert answer.http["response"] == {"status": 201}
    assert answer.http["request"]["method"] == "POST" and answer.http["request"]["url"] == base + "/api/charges"
    (request,) = seen.requests
    assert (request["method"], request["path"]) == ("POST", "/api/charges")
    assert request["headers"]["X-Correlation-Id"] == "ev-7.1.charge"
    assert request["headers"]["X-Execution-Instance"] == "in-1"
    assert request["headers"]["X-Execution-Event"] == "ev-7"
    assert request["headers"]["X-Tenant-Ref"] == "r1"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["body"] == {
        "data": {"plan": "gold"}, "step": "charge", "results": {"quote": {"amount": 12}},
        "instance": {"sid": "in-1", "cycle": 2, "attributes": {"customer": "c-9"}},
        "event": {"sid": "ev-7", "task": "bill", "date": "2026-04-30T09:00:00+00:00", "attempt": 1,
                  "correlationId": "ev-7.1.charge"},
    }


def test_a_get_sends_no_body_and_the_actions_params_as_the_query(site):
    base, seen = site
    action = Action("look", "billing", "status", params={"customer": "c 9"})
    answer = caller(base, methods=(Method("status", "status", "get"),), action=action)(Step("s", "look"), CONTEXT)
    assert answer.success is True and answer.data == {"ok": True}
    (request,) = seen.requests
    assert (request["method"], request["path"], request["body"]) == ("GET", "/api/status?customer=c+9", None)
    assert answer.http["request"]["url"] == base + "/api/status"


def test_a_non_2xx_answer_is_a_failure_with_its_status_and_body_recorded(site):
    base, _ = site
    answer = caller(base, methods=(Method("charge", "/broken", "put"),))(Step("charge", "do-charge"), CONTEXT)
    assert (answer.success, answer.message, answer.data) == (False, "HTTP 502", {"error": "upstream"})
    assert answer.http["response"] == {"status": 502}


def test_a_text_answer_is_kept_as_text(site):
    base, _ = site
    answer = caller(base, methods=(Method("charge", "/text", "post"),))(Step("charge", "do-charge"), CONTEXT)
    assert (answer.success, answer.data) == (True, "plain words")


def test_an_async_method_that_accepts_the_call_leaves_the_step_waiting(site):
    base, _ = site
    answer = caller(base, methods=(Method("charge", "/charges", "post", is_async=True),))(
        Step("charge", "do-charge"), CONTEXT)
    assert (answer.success, answer.waits) == (True, True)


def test_a_token_request_authorizes_the_calls_and_its_token_is_fetched_once(site):
    base, seen = site
    auth = Authorization("local", base + "/oauth/token", data={"client_id": "c"}, headers={"X-Client": "tl"})
    call = caller(base, authorization=auth, credentialPath="auth.token", credentialType="Token")
    first, second = call(Step("a", "do-charge"), CONTEXT), call(Step("b", "do-charge"), CONTEXT)
    assert first.success and second.success
    assert [r["path"] for r in seen.requests] == ["/oauth/token", "/api/charges", "/api/charges"]
    assert seen.requests[0]["body"] == {"client_id": "c"} and seen.requests[0]["headers"]["X-Client"] == "tl"
    assert {r["headers"].get("Authorization") for r in seen.requests[1:]} == {f"Token {TOKEN}"}
    assert TOKEN not in json.dumps(first.http) and "Authorization" in first.http["request"]["headers"]


def test_an_authorization_path_is_asked_under_the_base_url(site):
    base, seen = site
    call = caller(base, authorization=Authorization("local", "/oauth/token", method="get"),
                  credentialPath="auth.token")
    assert call(Step("a", "do-charge"), CONTEXT).success
    assert [(r["method"], r["path"]) for r in seen.requests] == [("GET", "/api/oauth/token"), ("POST", "/api/charges")]


def test_no_cache_fetches_a_token_for_every_call(site):
    base, seen = site
    auth = Authorization("local", base + "/oauth/token", noCache=True)
    call = caller(base, authorization=auth, credentialPath="auth.token")
    call(Step("a", "do-charge"), CONTEXT)
    call(Step("b", "do-charge"), CONTEXT)
    assert [r["path"] for r in seen.requests] == ["/oauth/token", "/api/charges"] * 2
    assert seen.requests[1]["headers"]["Authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize(("path", "credential_path", "says"), [
    ("/oauth/denied", "auth.token", "authorization failed: HTTP 401"),
    ("/oauth/token", "auth.missing", "no credential at 'auth.missing'"),
])
def test_a_failed_token_request_fails_the_step_without_calling_the_method(site, path, credential_path, says):
    base, seen = site
    call = caller(base, authorization=Authorization("local", base + path), credentialPath=credential_path)
    answer = call(Step("a", "do-charge"), CONTEXT)
    assert answer.success is False and says in answer.message and "'billing'" in answer.message
    assert [r["path"] for r in seen.requests] == [path]


def test_a_service_without_a_base_url_for_the_environment_fails_the_step_naming_it(site):
    base, seen = site
    answer = caller(base, environment="staging")(Step("a", "do-charge"), CONTEXT)
    assert answer.success is False
    assert answer.message == "service 'billing' base URL: none for environment 'staging'"
    assert seen.requests == []


def test_a_service_slower_than_the_timeout_fails_the_step(site):
    base, seen = site
    answer = caller(base, methods=(Method("charge", "/slow", "post"),), timeout=0.3)(Step("a", "do-charge"), CONTEXT)
    seen.release.set()
    assert (answer.success, answer.message) == (False, "timed out after 0.3s")


def test_a_link_local_address_is_refused_without_a_call():
    billing = Service("billing", [{"environment": "local", "url": "http://169.254.169.254/latest"}],
                      [Method("charge", "/meta-data", "get")])
    call = HttpStepCaller(services=[billing], actions=[Action("do-charge", "billing", "charge")],
                          environment="local", subject=SUBJECT, authorization=lambda key: None)
    answer = call(Step("a", "do-charge"), CONTEXT)
    assert answer.success is False and "link-local" in answer.message


def test_an_action_naming_no_service_method_fails_the_step(site):
    base, seen = site
    answer = caller(base, action=Action("do-charge", "billing", "refund"))(Step("a", "do-charge"), CONTEXT)
    assert answer.success is False and "names no service method" in answer.message
    assert seen.requests == []

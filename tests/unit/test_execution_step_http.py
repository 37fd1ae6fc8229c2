"""A step's action as an HTTP call, against a real HTTP server on loopback."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from chalicelib.engine.execution.step_http import CallSubject, HttpStepCaller
from chalicelib.engine.execution.steps import StepContext

TOKEN = "tok-3f9a-never-recorded"


@dataclass(frozen=True)
class BaseUrl:
    environment: str
    url: str


@dataclass(frozen=True)
class Authorization:
    environment: str
    url: str | None = None
    method: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    no_cache: bool = False


@dataclass(frozen=True)
class Method:
    key: str
    url: str
    method: str
    is_async: bool = False


@dataclass(frozen=True)
class Service:
    key: str
    base_urls: tuple[BaseUrl, ...]
    methods: tuple[Method, ...]
    authorization: tuple[Authorization, ...] = ()
    credential_path: str | None = None
    credential_type: str | None = None


@dataclass(frozen=True)
class Action:
    key: str
    service: str
    method: str
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)


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


def caller(base: str, *, methods: tuple[Method, ...] = (), action: Action | None = None,
           authorization: tuple[Authorization, ...] = (), environment: str = "local", timeout: float = 5.0,
           **service: Any) -> HttpStepCaller:
    billing = Service(key="billing", base_urls=(BaseUrl("local", base + "/api/"), BaseUrl("prod", "https://x.invalid")),
                      methods=methods or (Method("charge", "/charges", "post"),), authorization=authorization,
                      **service)
    return HttpStepCaller(services=[billing], actions=[action or Action("do-charge", "billing", "charge")],
                          environment=environment, subject=SUBJECT, timeout=timeout)


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


def test_static_authorization_headers_of_the_environment_reach_the_service_but_never_the_record(site):
    base, seen = site
    auth = (Authorization("prod", headers={"Authorization": "Bearer prod-key"}),
            Authorization("local", headers={"Authorization": f"Bearer {TOKEN}"}))
    answer = caller(base, authorization=auth)(Step("charge", "do-charge"), CONTEXT)
    assert answer.success is True
    assert seen.requests[0]["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in json.dumps(answer.http) and "Authorization" in answer.http["request"]["headers"]


def test_a_token_request_authorizes_the_calls_and_its_token_is_fetched_once(site):
    base, seen = site
    auth = (Authorization("local", url=base + "/oauth/token", method="post", data={"client_id": "c"}),)
    call = caller(base, authorization=auth, credential_path="auth.token", credential_type="Token")
    assert call(Step("a", "do-charge"), CONTEXT).success and call(Step("b", "do-charge"), CONTEXT).success
    assert [r["path"] for r in seen.requests] == ["/oauth/token", "/api/charges", "/api/charges"]
    assert seen.requests[0]["body"] == {"client_id": "c"}
    assert {r["headers"].get("Authorization") for r in seen.requests[1:]} == {f"Token {TOKEN}"}


def test_no_cache_fetches_a_token_for_every_call(site):
    base, seen = site
    auth = (Authorization("local", url=base + "/oauth/token", no_cache=True),)
    call = caller(base, authorization=auth, credential_path="auth.token")
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
    call = caller(base, authorization=(Authorization("local", url=base + path),), credential_path=credential_path)
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
    billing = Service(key="billing", base_urls=(BaseUrl("local", "http://169.254.169.254/latest"),),
                      methods=(Method("charge", "/meta-data", "get"),))
    call = HttpStepCaller(services=[billing], actions=[Action("do-charge", "billing", "charge")],
                          environment="local", subject=SUBJECT)
    answer = call(Step("a", "do-charge"), CONTEXT)
    assert answer.success is False and "link-local" in answer.message


def test_an_action_naming_no_service_method_fails_the_step(site):
    base, seen = site
    answer = caller(base, action=Action("do-charge", "billing", "refund"))(Step("a", "do-charge"), CONTEXT)
    assert answer.success is False and "names no service method" in answer.message
    assert seen.requests == []

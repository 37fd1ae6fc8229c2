"""Who may do what on the daemon face: role x route, generated from the app's route table.

Every `/daemon` path and method the app serves is called with a reader's, an operator's and an
admin's token. A route added later is covered without editing this file, and a write route that
declares no role fails `test_every_daemon_write_route_declares_the_role_it_needs`.
"""

from __future__ import annotations

import json

import pytest

import app as app_module
from chalicelib.identity import mint_token
from chalicelib.timefmt import utcnow
from tests.conftest import TEST_SECRET
from tests.functional.engine_harness import make_harness

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

#: The tokens, least privileged first: what a refused call would have written shows before a
#: permitted call changes anything.
TOKENS = {
    "reader": (),
    "operator": ("operator",),
    "admin": ("admin",),
}
#: The roles each token holds, implied ones included (admin implies operator).
HOLDS = {"reader": set(), "operator": {"operator"}, "admin": {"admin", "operator"}}

#: The policy as README's role table states it, for the routes that exist today.
POLICY = {
    ("PUT", "/daemon/api/tasks/{taskName}"): "admin",
    ("DELETE", "/daemon/api/tasks/{taskName}"): "admin",
    ("POST", "/daemon/api/reload"): "admin",
    ("POST", "/daemon/api/tasks/{taskName}/run"): "operator",
    ("POST", "/daemon/api/tasks/{taskName}/stop"): "operator",
    ("POST", "/daemon/api/tasks/{taskName}/restart"): "operator",
    ("POST", "/daemon/api/tasks/{taskName}/runs/{runId}/stop"): "operator",
    ("DELETE", "/daemon/api/tasks/{taskName}/runs/{runId}"): "operator",
}


def _daemon_routes():
    for path, methods in sorted(app_module.app.routes.items()):
        if path == "/daemon" or path.startswith("/daemon/"):
            for method, entry in sorted(methods.items()):
                yield method, path, entry.view_function


ROUTES = list(_daemon_routes())
SERVED = [(m, p, v) for m, p, v in ROUTES if not getattr(v, "method_not_allowed", False)]
REFUSED = [(m, p) for m, p, v in ROUTES if getattr(v, "method_not_allowed", False)]


def declared(view) -> str | None:
    role = getattr(view, "required_role", None)
    return None if role is None else str(role)


def test_the_route_table_holds_the_daemon_face():
    assert len(SERVED) >= 17 and ("GET", "/daemon/health") in {(m, p) for m, p, _ in SERVED}


def test_every_daemon_write_route_declares_the_role_it_needs():
    undeclared = [f"{m} {p}" for m, p, v in SERVED if m in WRITE_METHODS and declared(v) not in {"admin", "operator"}]
    assert not undeclared, f"declare role=... on these daemon write routes: {undeclared}"


def test_the_declared_roles_are_the_documented_policy():
    by_route = {(m, p): declared(v) for m, p, v in SERVED}
    assert {route: by_route.get(route) for route in POLICY} == POLICY
    reads = {route: role for route, role in by_route.items() if route[0] == "GET" and role is not None}
    assert reads == {}, "every user of the tenant reads"


def _headers(token_name: str) -> dict[str, str]:
    token = mint_token(TEST_SECRET, tenant="acme", user=token_name, roles=TOKENS[token_name])
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def _call(client, method: str, path: str, headers: dict[str, str]):
    body = "{}" if method in {"POST", "PUT", "PATCH"} else None
    response = getattr(client.http, method.lower())(path, headers=headers, body=body)
    text = response.body.decode() if isinstance(response.body, bytes) else (response.body or "")
    try:
        parsed = json.loads(text) if text else None
    except ValueError:
        parsed = text
    return response.status_code, parsed, {k.lower(): v for k, v in response.headers.items()}


def _state(client) -> tuple:
    """What a write could change: every task and every run, as an admin reads them."""
    admin = _headers("admin")
    return tuple(_call(client, "GET", p, admin)[1] for p in ("/daemon/api/tasks", "/daemon/api/runs"))


@pytest.fixture
def world(client, aws, monkeypatch):
    """A task `job` with one ended run, and a service `svc`: every path parameter has a target."""
    h = make_harness(monkeypatch, aws, utcnow())
    admin = _headers("admin")
    for name, definition in (("job", {"run": "true"}), ("svc", {"run": "sleep 0", "kind": "service"})):
        status, body, _ = _call_with(client, "PUT", f"/daemon/api/tasks/{name}", admin, definition)
        assert status == 201, body
    status, run, _ = _call_with(client, "POST", "/daemon/api/tasks/job/run", admin, {})
    assert status == 201, run
    h.sent = [s for s in h.sent if s.run_id == run["id"]]  # the service's instances stay pending
    h.deliver()
    return {"taskName": "job", "runId": run["id"]}


def _call_with(client, method: str, path: str, headers: dict[str, str], body):
    response = getattr(client.http, method.lower())(path, headers=headers, body=json.dumps(body))
    return response.status_code, json.loads(response.body or b"null"), response.headers


#: Task-level actions that only a service answers.
_SERVICE_ACTIONS = ("/daemon/api/tasks/{taskName}/stop", "/daemon/api/tasks/{taskName}/restart")


def _concrete(path: str, world: dict[str, str]) -> str:
    values = {**world, "taskName": "svc" if path in _SERVICE_ACTIONS else world["taskName"]}
    concrete = path
    for name, value in values.items():
        concrete = concrete.replace("{" + name + "}", value)
    assert "{" not in concrete, f"give the path parameter of {path} a target in the `world` fixture"
    return concrete


@pytest.mark.parametrize(("method", "path", "view"), SERVED, ids=[f"{m} {p}" for m, p, _ in SERVED])
def test_each_token_gets_exactly_what_the_route_declares(client, world, method, path, view):
    role = POLICY.get((method, path), declared(view))
    url = _concrete(path, world)
    for token_name in TOKENS:
        before = _state(client)
        status, body, headers = _call(client, method, url, _headers(token_name))
        if role is not None and role not in HOLDS[token_name]:
            assert status == 403, (token_name, status, body)
            assert headers["content-type"] == "application/problem+json"
            assert body["status"] == 403 and body["required_role"] == role
            assert f"'{role}'" in body["detail"]
            assert _state(client) == before, f"a refused {method} {path} wrote something"
        else:
            refused_for_role = isinstance(body, dict) and "required_role" in body
            assert not refused_for_role and status < 500, (token_name, status, body)


def test_unserved_methods_are_405_for_every_token_and_write_nothing(client, world):
    assert REFUSED
    before = _state(client)
    for method, path in REFUSED:
        for token_name in TOKENS:
            status, body, _ = _call(client, method, _concrete(path, world), _headers(token_name))
            assert status == 405 and body["status"] == 405, (method, path, token_name, body)
    assert _state(client) == before


def test_an_operator_runs_stops_and_deletes_runs_but_cannot_define_tasks(client, world):
    operator = _headers("operator")
    status, run, _ = _call_with(client, "POST", "/daemon/api/tasks/job/run", operator, {})
    assert status == 201 and run["triggered_by"] == "api"
    status, stopped, _ = _call(client, "POST", f"/daemon/api/tasks/job/runs/{run['id']}/stop", operator)
    assert status == 200 and stopped["status"] == "ended"
    assert _call(client, "DELETE", f"/daemon/api/tasks/job/runs/{world['runId']}", operator)[0] == 204
    status, body, _ = _call_with(client, "PUT", "/daemon/api/tasks/other", operator, {"run": "true"})
    assert status == 403 and body["required_role"] == "admin"
    assert "other" not in {t["name"] for t in _call(client, "GET", "/daemon/api/tasks", operator)[1]}


def test_a_role_refusal_comes_before_the_body_is_read(client, world):
    response = client.http.put("/daemon/api/tasks/job", headers=_headers("reader"), body="{not json")
    body = json.loads(response.body)
    assert response.status_code == 403 and body["required_role"] == "admin"

"""Checks of the local server's edges (unknown path, no token, unknown method), shared by the
`tasklane local` and `chalice local --stage local` end-to-end tests."""

from __future__ import annotations

import json

import requests

from chalicelib.runtime.resources import load_template

UNKNOWN_PATHS = ("/", "/api/nope", "/daemon/api/taskz", "/api/scheduling/taskz/x/y/z", "/openapi.jsn")
GUARDED_PATHS = ("/whoami", "/api/scheduling/tasks", "/daemon/api/tasks", "/api/tasks", "/api/task-runs/x")


def deployed_body(resource: str, trace: str) -> dict:
    """The JSON body template.yaml's gateway response `resource` answers with, for `trace`."""
    props = load_template()["Resources"][resource]["Properties"]
    return json.loads(props["ResponseTemplates"]["application/json"].replace("$context.requestId", trace))


def assert_unknown_paths_are_404_json(url: str, token: str) -> None:
    for path in UNKNOWN_PATHS:
        for headers in ({}, {"Authorization": f"Bearer {token}"}, {"Authorization": "Bearer nonsense"}):
            response = requests.get(url + path + "?q=1", headers=headers, timeout=30)
            assert response.status_code == 404, (path, headers, response.text)
            assert response.headers["Content-Type"] == "application/json"
            body = response.json()
            assert body["error"]["code"] == deployed_body("UnknownPathResponse", "t")["error"]["code"]
            assert f"no such path: {path};" in body["error"]["message"]
            assert "/openapi.json" in body["error"]["message"]
            assert set(body) == {"error", "traceId"} and body["traceId"]


def assert_head_answers_carry_no_body(url: str) -> None:
    with requests.Session() as session:
        for path in ("/api/nope", "/daemon/api/tasks", "/health"):
            answer = session.head(url + path, timeout=30)
            assert answer.status_code in (404, 401, 405), (path, answer.status_code)
            assert answer.content == b""
            # Had a body been written, this answer would start with it.
            follow = session.get(url + "/openapi.json", timeout=30)
            assert follow.status_code == 200 and follow.json()["openapi"].startswith("3.1")


def assert_missing_token_is_the_deployed_401(url: str) -> None:
    for path in GUARDED_PATHS:
        response = requests.get(url + path, timeout=30)
        assert response.status_code == 401, (path, response.text)
        assert response.headers["Content-Type"] == "application/json"
        body = response.json()
        assert body == deployed_body("MissingTokenResponse", body["traceId"])


def assert_unknown_methods_are_405_in_the_face_shape(url: str) -> None:
    with requests.Session() as session:
        for method in ("TRACE", "CONNECT", "PROPFIND", "BREW"):
            daemon = session.request(method, url + "/daemon/api/tasks", data=b"ignored body", timeout=30)
            assert daemon.status_code == 405, (method, daemon.text)
            assert daemon.headers["Content-Type"] == "application/problem+json"
            problem = daemon.json()
            assert (problem["status"], problem["title"]) == (405, "Method Not Allowed")
            assert method in problem["detail"] and problem["traceId"]

            scheduling = session.request(method, url + "/api/scheduling/tasks/abc", timeout=30)
            assert scheduling.status_code == 405, (method, scheduling.text)
            errors = scheduling.json()["errors"]
            assert errors[0]["code"] == "HTTP-405" and method in errors[0]["detail"]

            agent = session.request(method, url + "/api/tasks/abc", timeout=30)
            assert agent.status_code == 405, (method, agent.text)
            assert set(agent.json()) == {"error"} and method in agent.json()["error"]
            assert agent.headers["Allow"] == "DELETE, GET, PATCH"  # RFC 9110: a 405 lists what the path serves

            system = session.request(method, url + "/health", timeout=30)
            assert system.status_code == 405
            assert system.json()["error"]["code"] == "method_not_allowed"
        # The refusals left the kept-alive connection usable.
        assert session.get(url + "/health", timeout=30).status_code == 200

"""A method a path does not serve: a 405 in the face's own shape that says, in `Allow`, which
methods the path does serve (RFC 9110 section 15.5.6), HEAD included."""

from __future__ import annotations

import json

import pytest

from chalicelib.identity import mint_token
from tests.conftest import TEST_SECRET

ADMIN = {"Authorization": "Bearer " + mint_token(TEST_SECRET, tenant="t1", user="alice", admin=True)}

CASES = [
    # method, path, the methods the path serves, where the face's shape shows
    ("PATCH", "/api/scheduling/tasks", "GET, POST", "errors"),
    ("POST", "/api/scheduling/tasks/abc", "DELETE, GET, PATCH, PUT", "errors"),
    ("HEAD", "/api/scheduling/tasks/abc/runs", "GET", "errors"),
    ("PUT", "/daemon/api/tasks", "GET", "type"),
    ("HEAD", "/daemon/api/tasks/greet", "DELETE, GET, PUT", "type"),
    ("GET", "/daemon/api/reload", "POST", "type"),
    ("POST", "/health", "GET", "error"),
    ("HEAD", "/openapi.json", "GET", "error"),
]


@pytest.mark.parametrize(("method", "path", "allowed", "shape"), CASES)
def test_a_405_names_the_methods_the_path_serves_in_allow(client, method, path, allowed, shape):
    response = client.http.request(method, path, headers=ADMIN)
    assert response.status_code == 405, (method, path, response.body)
    assert response.headers.get("Allow") == allowed
    body = json.loads(response.body)
    assert shape in body and body["traceId"], body
    assert "MethodNotAllowedError" not in response.body.decode()  # never Chalice's own answer

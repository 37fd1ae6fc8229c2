"""Checks of the local server's edges (unknown path, no token, unknown method), shared by the
`tasklane local` and `chalice local --stage local` end-to-end tests."""

from __future__ import annotations

import contextlib
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
            assert daemon.headers["Allow"] == "GET"  # RFC 9110: a 405 names what the path serves
            problem = daemon.json()
            assert (problem["status"], problem["title"]) == (405, "Method Not Allowed")
            assert method in problem["detail"] and problem["traceId"]

            scheduling = session.request(method, url + "/api/scheduling/tasks/abc", timeout=30)
            assert scheduling.status_code == 405, (method, scheduling.text)
            errors = scheduling.json()["errors"]
            assert errors[0]["code"] == "HTTP-405" and method in errors[0]["detail"]
            assert scheduling.headers["Allow"] == "DELETE, GET, PATCH, PUT"

            agent = session.request(method, url + "/api/tasks/abc", timeout=30)
            assert agent.status_code == 405, (method, agent.text)
            assert set(agent.json()) == {"error"} and method in agent.json()["error"]
            assert agent.headers["Allow"] == "DELETE, GET, PATCH"  # RFC 9110: a 405 lists what the path serves

            system = session.request(method, url + "/health", timeout=30)
            assert system.status_code == 405
            assert system.json()["error"]["code"] == "method_not_allowed"
            assert system.headers["Allow"] == "GET"
        # The refusals left the kept-alive connection usable.
        assert session.get(url + "/health", timeout=30).status_code == 200


def assert_percent_encoded_path_parameters_arrive_decoded(url: str, token: str) -> None:
    """API Gateway hands a route its path parameters URL-decoded: a client that encodes the
    `:` of a daemon task name (`quote(name, safe="")`, as most HTTP libraries do) reaches the
    same task as one that does not."""
    headers = {"Authorization": f"Bearer {token}"}
    created = requests.put(url + "/daemon/api/tasks/edge:encoded", headers=headers, json={"run": "true"}, timeout=30)
    assert created.status_code in (200, 201), created.text
    try:
        for path in ("/daemon/api/tasks/edge%3Aencoded", "/daemon/api/tasks/edge%3aencoded"):
            answer = requests.get(url + path, headers=headers, timeout=30)
            assert answer.status_code == 200, (path, answer.text)
            assert answer.json()["name"] == "edge:encoded"
        runs = requests.get(url + "/daemon/api/tasks/edge%3Aencoded/runs", headers=headers, timeout=30)
        assert runs.status_code == 200 and runs.json() == {"runs": [], "total": 0}, runs.text
        # Decoded once, as the gateway does: an encoded `%` stays a `%`, which no task name holds.
        twice = requests.get(url + "/daemon/api/tasks/edge%253Aencoded", headers=headers, timeout=30)
        assert twice.status_code == 422 and twice.json()["errors"][0]["value"] == "edge%3Aencoded", twice.text
    finally:
        requests.delete(url + "/daemon/api/tasks/edge%3Aencoded", headers=headers, timeout=30)
    gone = requests.get(url + "/daemon/api/tasks/edge:encoded", headers=headers, timeout=30)
    assert gone.status_code == 404, gone.text


def _raw_exchange(url: str, payload: bytes, timeout: float = 10.0) -> bytes:
    """Send `payload` on one connection and read until the server closes it or goes quiet."""
    import socket
    from urllib.parse import urlsplit

    where = urlsplit(url)
    with socket.create_connection((where.hostname, where.port), timeout=timeout) as sock:
        sock.sendall(payload)
        received = b""
        with contextlib.suppress(TimeoutError):  # the socket timeout ends a silence: what came is the answer
            for _ in range(256):  # bounded: the answers are a few KiB
                chunk = sock.recv(65536)
                received += chunk
                if not chunk or (received.count(b"HTTP/1.1 ") >= 2 and received.rstrip().endswith(b"}")):
                    break
    return received


def assert_request_bodies_are_read_as_the_gateway_reads_them(url: str, token: str) -> None:
    """A chunked body is the request's body (not an empty one whose chunks then read as the next
    request); a declared length over the cap is a 413 at once, unread; a length that is no
    number is a 400 in the face's shape."""
    body = b'{"name": "chunked-body", "specVersion": "1.16.0"}'
    chunked = (b"POST /api/scheduling/tasks HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + token.encode()
               + b"\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
               + f"{len(body) - 10:x}\r\n".encode() + body[:-10] + b"\r\n"
               + f"{10:x}\r\n".encode() + body[-10:] + b"\r\n0\r\n\r\n"
               + b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
    answers = _raw_exchange(url, chunked).split(b"HTTP/1.1 ")
    assert len(answers) == 3, answers
    assert answers[1].startswith(b"201 ") and b'"chunked-body"' in answers[1], answers[1]
    assert answers[2].startswith(b"200 ") and b'"status"' in answers[2], answers[2]

    huge = (b"POST /api/scheduling/tasks HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + token.encode()
            + b"\r\nContent-Type: application/json\r\nContent-Length: 999999999999\r\n\r\n" + body)
    answer = _raw_exchange(url, huge)
    assert answer.startswith(b"HTTP/1.1 413 ") and b'"HTTP-413"' in answer, answer

    garbled = (b"PUT /daemon/api/tasks/x HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + token.encode()
               + b"\r\nContent-Type: application/json\r\nContent-Length: ten\r\n\r\n{}")
    answer = _raw_exchange(url, garbled)
    assert answer.startswith(b"HTTP/1.1 400 ") and b"application/problem+json" in answer, answer
    assert b"Content-Length" in answer.split(b"\r\n\r\n", 1)[1], answer

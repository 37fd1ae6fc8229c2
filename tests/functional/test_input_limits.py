"""Bad input is a 4xx in the face's own shape, never a 500 or a leak (issue 12, items 5, 7, 8).

Both faces go through one wrapper (`chalicelib/faces/http.py` and `chalicelib/faces/body.py`),
so each test drives the scheduling face (`{"errors": [...], "traceId"}`) and the daemon face
(`application/problem+json`) through chalice.test.Client.
"""

from __future__ import annotations

import base64
import json
import re
import time

import jwt
import pytest

from chalicelib.faces.body import MAX_BODY_BYTES
from chalicelib.identity import mint_token
from tests.conftest import TEST_SECRET
from tests.functional.scheduling_support import Api, task_body

SCHEDULING = "/api/scheduling/tasks"
DAEMON = "/daemon/api/tasks"
INTERNALS = ("codec", "set_int_max_str_digits", "Traceback", "Exceeds the limit", "RecursionError", "Expecting")


def bearer(token: str | None = None, **extra: str) -> dict[str, str]:
    token = token or mint_token(TEST_SECRET, tenant="acme", user="ops", admin=True)
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json", **extra}


def send(client, method: str, path: str, body: bytes | str | None = None, headers: dict | None = None):
    """(status, parsed body, lower-cased headers, raw text)."""
    response = getattr(client.http, method.lower())(path, headers=headers or bearer(), body=body)
    raw = response.body.decode() if isinstance(response.body, bytes) else (response.body or "")
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = None
    return response.status_code, parsed, {k.lower(): v for k, v in response.headers.items()}, raw


def scheduling_details(body) -> list[str]:
    """The scheduling face's shape: every detail, after checking the shape itself."""
    assert set(body) == {"errors", "traceId"}, body
    return [e["detail"] for e in body["errors"]]


def daemon_locations(body, headers) -> list[str]:
    """The daemon face's shape: problem+json; the field locations it names."""
    assert headers["content-type"] == "application/problem+json"
    assert {"type", "title", "status", "detail", "traceId"} <= set(body), body
    return [e["location"] for e in body.get("errors", [])]


# -- item 5: non-finite numbers --------------------------------------------------------------


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_numbers_are_refused_when_parsing_on_both_faces_and_nothing_is_written(client, literal):
    document = json.dumps(task_body("nan-task")).replace('"appId": "app-1"', f'"appId": {literal}')
    status, body, _, _ = send(client, "POST", SCHEDULING, document)
    assert status == 400, body
    assert any(d.startswith("body.states[0].actions[0].functionRef.arguments.appId:") for d in scheduling_details(body))
    listed = send(client, "GET", SCHEDULING)
    assert listed[0] == 200 and listed[1]["data"] == []

    status, body, headers, _ = send(client, "PUT", f"{DAEMON}/nan-task",
                                    f'{{"run": "echo hi", "cron": "0 3 * * *", "timeout": {literal}}}')
    assert status == 400, body
    assert daemon_locations(body, headers) == ["body.timeout"]
    assert send(client, "GET", f"{DAEMON}/nan-task")[0] == 404


def test_a_daemon_config_file_with_nan_or_inf_is_refused_naming_the_file():
    from chalicelib.errors import ValidationError
    from chalicelib.faces.daemon.config_file import parse_config

    for literal in ("nan", "inf", "-inf"):
        with pytest.raises(ValidationError) as info:
            parse_config(f'[tasks.t]\nrun = "echo"\ncron = "0 3 * * *"\nweight = {literal}\n')
        assert info.value.location == "file" and "not a finite number" in info.value.message


# -- item 7: body size, nesting, SCIM depth --------------------------------------------------


@pytest.mark.parametrize("size", [1024 * 1024, 10 * 1024 * 1024])
def test_a_body_over_the_limit_is_413_in_each_face_shape_before_it_is_parsed(client, size):
    # Not even JSON: a 413 proves the size was checked before parsing.
    oversized = b"[" * size
    status, body, _, _ = send(client, "POST", SCHEDULING, oversized)
    assert status == 413
    assert body["errors"][0]["code"] == "HTTP-413" and str(MAX_BODY_BYTES) in body["errors"][0]["detail"]
    status, body, headers, _ = send(client, "PUT", f"{DAEMON}/big", oversized)
    assert status == 413 and body["status"] == 413
    assert daemon_locations(body, headers) == ["body"]


def test_a_body_at_the_limit_is_read_and_one_byte_over_is_not(client):
    padding = '{"name": "x", "pad": "' + "a" * MAX_BODY_BYTES
    at_limit = padding[: MAX_BODY_BYTES - 2] + '"}'
    assert len(at_limit.encode()) == MAX_BODY_BYTES
    assert send(client, "POST", SCHEDULING, at_limit)[0] == 400  # read: no specVersion
    over = padding[: MAX_BODY_BYTES - 1] + '"}'
    assert send(client, "POST", SCHEDULING, over)[0] == 413


@pytest.mark.parametrize("depth", [10_000, 40])
def test_json_nested_too_deep_is_400_naming_the_body(client, depth):
    nested = '{"name": ' + "[" * depth + "]" * depth + "}"
    status, body, _, raw = send(client, "POST", SCHEDULING, nested)
    assert status == 400
    assert scheduling_details(body)[0].startswith("body")
    assert "32 levels" in raw
    status, body, headers, _ = send(client, "PUT", f"{DAEMON}/deep", nested)
    assert status == 400
    assert daemon_locations(body, headers)[0].startswith("body")


@pytest.mark.parametrize(("depth", "why"), [(5_000, "longer than 2048"), (1_000, "parentheses nested more than 16"),
                                            (17, "parentheses nested more than 16")])
def test_a_scim_filter_nested_too_deep_is_400_naming_the_filter(client, depth, why):
    text = "(" * depth + 'name eq "a"' + ")" * depth
    status, body, _, _ = send(client, "GET", f"{SCHEDULING}?filter={text}")
    assert status == 400
    assert scheduling_details(body)[0].startswith(f"filter: invalid filter: {why}")


def test_a_scim_filter_at_the_depth_limit_still_works(client):
    text = "(" * 16 + 'name eq "a"' + ")" * 16
    assert send(client, "GET", f"{SCHEDULING}?filter={text}")[0] == 200


@pytest.mark.parametrize("query", [
    "filter=triggerType eq " + "9" * 5000,
    "filter=triggerType eq 1e999",
    "filter=" + " and ".join(['name eq "a"'] * 3000),
])
def test_scim_filters_too_long_or_with_numbers_too_large_are_400_naming_the_filter(client, query):
    status, body, _, raw = send(client, "GET", f"{SCHEDULING}?{query}")
    assert status == 400
    assert scheduling_details(body)[0].startswith("filter: ")
    assert not any(leak in raw for leak in INTERNALS)


ODD_BODIES = [
    b"", b"{", b"}", b"\x00", b"\xb7\xff", b"\xef\xbb\xbf{}", b"1" * 5000, b'{"name": ' + b"1" * 5000 + b"}",
    b"null", b"true", b"[]", b'"x"', b"{}", b"1e999", b"-0", b'{"a": "\\ud800"}', b'{"\\ud800": 1}',
    b'{"name": {}}', b'{"name": []}', b'{"name": null, "states": "x"}', b'{"run": 1}', b'{"run": ["a"]}',
    b'{"run": "echo", "cron": 5}', b'{"run": "echo", "cron": "' + b"*" * 300 + b'"}', b'{"params": []}',
    b'{"params": {"a": {"b": 1}}}', "{\"name\": \"caf\u00e9\"}".encode(), b'[' * 31 + b']' * 31,
    json.dumps([{"op": "replace", "path": "/name", "value": "x"}]).encode(),
    json.dumps([{"op": "bogus"}]).encode(), json.dumps({"op": "add"}).encode(),
]
ODD_ROUTES = [
    ("POST", SCHEDULING), ("PUT", f"{SCHEDULING}/missing"), ("PATCH", f"{SCHEDULING}/missing"),
    ("POST", f"{SCHEDULING}/missing/actions/start"), ("PUT", f"{DAEMON}/odd"), ("POST", f"{DAEMON}/odd/run"),
    ("POST", "/daemon/api/reload"), ("DELETE", f"{DAEMON}/odd"),
]
ODD_QUERIES = [
    "limit=nan", "limit=" + "9" * 5000, "limit=-1", "limit=%00", "sort=%00", "page=%00", "page=" + "A" * 5000,
    "filter=%00", "filter=name eq \"\\ud800\"", "filter=name eq", "filter=(", "filter=)", "offset=1e999",
    "status=%ff", "wait_timeout=nan", "level=" + "9" * 5000, "from=-1", "from=" + "9" * 5000,
]
ODD_GETS = [
    SCHEDULING, f"{SCHEDULING}/x/runs", f"{SCHEDULING}/x/graphs/children", "/daemon/api/runs", DAEMON,
    f"{DAEMON}/odd/runs",
]


def test_odd_bodies_and_queries_are_never_a_500_and_never_leak_internals(client):
    send(client, "PUT", f"{DAEMON}/odd", json.dumps({"run": "echo hi", "cron": "0 3 * * *"}))
    seen = []
    for (method, path) in ODD_ROUTES:
        for payload in ODD_BODIES:
            for content_type in ("application/json", "application/xml", "text/plain; charset=utf-8"):
                status, _, _, raw = send(client, method, path, payload, bearer(**{"Content-Type": content_type}))
                seen.append((method, path, payload[:40], content_type, status))
                assert status < 500, seen[-1]
                assert '"Code"' not in raw, seen[-1]  # Chalice's own error body
                assert not any(leak in raw for leak in INTERNALS), (seen[-1], raw[:300])
    for path in ODD_GETS:
        for query in ODD_QUERIES:
            status, _, _, raw = send(client, "GET", f"{path}?{query}")
            assert status < 500 and '"Code"' not in raw, (path, query[:40], status, raw[:300])
            assert not any(leak in raw for leak in INTERNALS), (path, query[:40], raw[:300])
    for segment in ("%00", "..", "a%2Fb", "x" * 2000, "%ff%fe", "caf%C3%A9"):
        for template in (f"{SCHEDULING}/%s", f"{DAEMON}/%s", f"{SCHEDULING}/%s/runs", f"{DAEMON}/%s/runs"):
            status, _, _, raw = send(client, "GET", template % segment)
            assert status < 500 and '"Code"' not in raw, (template, segment[:20], status, raw[:300])


# -- item 8: identity ------------------------------------------------------------------------


def _token(**overrides) -> str:
    claims = {"sub": "alice", "tenant": "acme", "roles": ["admin"], "exp": int(time.time()) + 600}
    claims.update(overrides)
    return jwt.encode(claims, TEST_SECRET, algorithm="HS256")


@pytest.mark.parametrize("claims", [
    {"sub": ""},
    {"sub": "   "},
    {"sub": "a\nb"},
    {"sub": "x" * 257},
    {"exp": str(int(time.time()) + 600)},
    {"exp": True},
    {"iat": "yesterday"},
    {"actor_kind": {"kind": "agent"}},
    {"actor_kind": ["agent"]},
    {"actor_kind": "a" * 33},
    {"session": 42},
    {"session": ""},
    {"session": "s" * 129},
])
def test_tokens_with_malformed_claims_are_401_on_both_faces(client, claims):
    headers = bearer(_token(**claims))
    status, body, _, _ = send(client, "GET", SCHEDULING, headers=headers)
    assert status == 401, claims
    assert body["errors"][0]["code"] == "HTTP-401"
    status, body, headers_out, _ = send(client, "GET", DAEMON, headers=headers)
    assert status == 401 and body["status"] == 401 and headers_out["content-type"] == "application/problem+json"


@pytest.mark.parametrize("token", ["a.b.c", "x", "eyJhbGciOiJIUzI1NiJ9.e30", "\u00e9.\u00e9.\u00e9"])
def test_a_malformed_token_is_401_in_plain_words_on_both_faces(client, token):
    for path in (SCHEDULING, DAEMON):
        status, _, _, raw = send(client, "GET", path, headers=bearer(token))
        assert status == 401
        assert "not a well-formed JWT" in raw
        assert not any(word in raw for word in ("padding", "segments", "codec", "Invalid"))


def test_a_token_with_bounded_string_agent_claims_is_accepted(client):
    headers = bearer(_token(actor_kind="agent", session="s" * 128))
    assert send(client, "GET", SCHEDULING, headers=headers)[0] == 200
    assert send(client, "GET", DAEMON, headers=headers)[0] == 200


# -- item 8: shapes and leaks ----------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["application/xml", "image/png", "text/html", "foo"])
def test_an_unknown_content_type_is_415_in_each_face_shape(client, content_type):
    headers = bearer(**{"Content-Type": content_type})
    status, body, _, raw = send(client, "POST", SCHEDULING, json.dumps(task_body("t")), headers)
    assert status == 415 and '"Code"' not in raw
    assert body["errors"][0]["code"] == "HTTP-415"
    status, body, headers_out, raw = send(client, "PUT", f"{DAEMON}/t", '{"run": "echo"}', headers)
    assert status == 415 and body["status"] == 415 and '"Code"' not in raw
    daemon_locations(body, headers_out)


@pytest.mark.parametrize(("payload", "plain"), [
    (b'{"name": "\xb7"}', "body: must be UTF-8 text"),
    (b'{"name": ' + b"7" * 5000 + b"}", "body.name: must have at most 38 digits"),
    (b'{"name": "\\ud800"}', "body.name: must not contain lone surrogate escapes"),
])
def test_error_details_name_the_field_in_plain_words_without_library_internals(client, payload, plain):
    status, body, _, raw = send(client, "POST", SCHEDULING, payload)
    assert status == 400 and scheduling_details(body)[0].startswith(plain)
    assert not any(leak in raw for leak in INTERNALS)
    status, body, _, raw = send(client, "PUT", f"{DAEMON}/leak", payload)
    assert status == 400 and body["detail"].startswith(plain)
    assert not any(leak in raw for leak in INTERNALS)


@pytest.mark.parametrize(("given", "kept"), [
    ("req-1.A_b", True),
    ("t" * 64, True),
    ("t" * 65, False),
    ("a\r\nX-Injected: 1", False),
    ("<script>", False),
    ("späti", False),
])
def test_x_trace_id_is_kept_only_when_it_is_a_short_safe_token(client, given, kept):
    for path in (f"{SCHEDULING}/missing", f"{DAEMON}/missing"):
        status, body, headers, _ = send(client, "GET", path, headers=bearer(**{"X-Trace-Id": given}))
        assert status == 404
        assert (body["traceId"] == given) is kept
        assert re.fullmatch(r"[A-Za-z0-9._-]{1,64}", body["traceId"])
        assert headers["x-trace-id"] == body["traceId"]


def _decoded(cursor: str) -> bytes:
    return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))


def test_page_cursors_are_encrypted_and_a_tampered_one_is_400_naming_page(client):
    api = Api(client, user="ops", admin=True)
    for name in ("alpha", "beta", "gamma"):
        api.create(task_body(name))
    for sort in ("-updatedAt", "%2Bname"):  # paged by key, and by offset
        first = api.get(f"{SCHEDULING}?limit=1&sort={sort}")
        href = first.json["links"]["next"]["href"]
        cursor = re.search(r"page=([^&]+)", href).group(1)
        plain = _decoded(cursor)
        # Nothing readable: random-looking bytes (printable ASCII about 37% of them, as in noise,
        # where a signed JSON payload is nearly all printable), no key names, tenant or task ids.
        printable = sum(32 <= b < 127 for b in plain) / len(plain)
        assert printable < 0.6, plain
        for secret in (b"acme", b"ops", b"updatedAt", b'"o"', first.json["data"][0]["id"].encode()):
            assert secret not in plain
        assert api.follow(href).status == 200
        flipped = bytearray(plain)
        flipped[len(flipped) // 2] ^= 0x01
        tampered = base64.urlsafe_b64encode(bytes(flipped)).rstrip(b"=").decode()
        answer = api.get(f"{SCHEDULING}?limit=1&sort={sort}&page={tampered}")
        assert answer.status == 400 and answer.json["errors"][0]["detail"].startswith("query.page:")


# -- item 8: scheduling task names ----------------------------------------------------------


@pytest.mark.parametrize("name", ["x" * 257, "a\x00b", "a\rb", "a\nb", "a\tb", "bell\x07", "del\x7f"])
def test_scheduling_task_names_over_256_characters_or_with_control_characters_are_400_naming_name(client, name):
    api = Api(client, user="ops", admin=True)
    answer = api.call("POST", SCHEDULING, task_body(name))
    assert answer.status == 400 and answer.json["errors"][0]["detail"].startswith("name:")
    created = api.create(task_body("fine"))
    replaced = api.call("PUT", f"{SCHEDULING}/{created['id']}", task_body(name))
    assert replaced.status == 400 and replaced.json["errors"][0]["detail"].startswith("name:")
    patched = api.call("PATCH", f"{SCHEDULING}/{created['id']}", [{"op": "replace", "path": "/name", "value": name}],
                       content_type="application/json-patch+json")
    assert patched.status == 400 and patched.json["errors"][0]["detail"].startswith("name:")
    assert [t["name"] for t in api.get(SCHEDULING).json["data"]] == ["fine"]


def test_a_scheduling_task_name_of_256_characters_is_kept(client):
    api = Api(client, user="ops", admin=True)
    assert api.create(task_body("n" * 256))["name"] == "n" * 256

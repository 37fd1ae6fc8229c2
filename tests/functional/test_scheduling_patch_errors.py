"""A JSON Patch that cannot apply is refused in plain words naming the operation and the
pointer, never with the patch library's text (Python type names, a repr of the whole task)."""

from __future__ import annotations

import pytest

from tests.functional.scheduling_support import BASE, Api, task_body
from tests.functional.test_scheduling_tasks import assert_error

#: What must never reach a client: Python reprs and the patch library's wording.
LEAKS = ("<class", "{'", "non-existent object", "member '", "EndOfList", "__getitem__", "Location must")


@pytest.fixture
def api(client):
    return Api(client)


CASES = [
    # operation, what the detail must name
    ({"op": "test", "path": "/name", "value": "other"}, ["body[0]", "test failed", "/name"]),
    ({"op": "test", "path": "/nothing", "value": 1}, ["body[0]", "/nothing"]),
    ({"op": "copy", "from": "/nothing", "path": "/description"}, ["body[0].from", "/nothing"]),
    ({"op": "move", "from": "/nothing", "path": "/description"}, ["body[0].from", "/nothing"]),
    ({"op": "move", "from": "/states", "path": "/states/0/x"}, ["body[0].path", "/states/0/x"]),
    ({"op": "replace", "path": "/description", "value": "d"}, ["body[0].path", "/description"]),
    ({"op": "remove", "path": "/nothing"}, ["body[0].path", "/nothing"]),
    ({"op": "add", "path": "/a/b/c", "value": 1}, ["body[0].path", "/a/b/c"]),
    ({"op": "add", "path": "/name/x", "value": 1}, ["body[0].path", "/name/x"]),
    ({"op": "add", "path": "/states/-/x", "value": 1}, ["body[0].path", "/states/-/x"]),
    ({"op": "replace", "path": "/states/99/name", "value": "x"}, ["body[0].path", "/states/99/name"]),
    ({"op": "replace", "path": "/states/01/name", "value": "x"}, ["body[0].path", "/states/01/name"]),
    ({"op": "replace", "path": "enabled", "value": True}, ["body[0].path", "JSON Pointer"]),
    ({"op": "move", "from": "name", "path": "/x"}, ["body[0].from", "JSON Pointer"]),
    ({"op": "replace", "path": "/name"}, ["body[0].value", "required"]),
    ({"op": "copy", "path": "/x"}, ["body[0].from", "required"]),
]


@pytest.mark.parametrize(("operation", "named"), CASES, ids=[str(i) for i in range(len(CASES))])
def test_a_patch_that_cannot_apply_says_why_in_plain_words_and_changes_nothing(api, operation, named):
    task = api.create(task_body("patched"))
    answer = api.call("PATCH", f"{BASE}/{task['id']}", [operation])
    body = assert_error(answer, 400, *named)
    detail = body["errors"][0]["detail"]
    assert not any(leak in detail for leak in LEAKS), detail
    assert api.get(f"{BASE}/{task['id']}").json == task


def test_a_detail_names_its_field_once(api):
    task = api.create(task_body("named-once"))
    patched = api.call("PATCH", f"{BASE}/{task['id']}", [{"op": "remove", "path": "/nothing"}])
    assert assert_error(patched, 400)["errors"][0]["detail"] == "body[0].path: /nothing does not exist in the task"
    limit = api.get(f"{BASE}?limit=0")
    assert assert_error(limit, 400)["errors"][0]["detail"] == "query.limit: must be a whole number from 1 to 100"
    nameless = api.call("POST", BASE, {**task_body("x"), "name": ""})
    assert assert_error(nameless, 400)["errors"][0]["detail"] == "name: must not be empty"

"""A second task with the same name and version is a 409 that says so in plain words."""

from __future__ import annotations

from tests.functional.scheduling_support import BASE, Api
from tests.functional.test_scheduling_tasks import assert_error


def test_a_duplicate_task_without_a_version_is_named_without_a_python_none(client):
    api = Api(client)
    assert api.call("POST", BASE, {"name": "unversioned", "specVersion": "1"}).status == 201
    body = assert_error(api.call("POST", BASE, {"name": "unversioned", "specVersion": "1"}), 409, "unversioned")
    detail = body["errors"][0]["detail"]
    assert "None" not in detail and "without a version" in detail, detail
    assert api.call("POST", BASE, {"name": "versioned", "version": "2", "specVersion": "1"}).status == 201
    again = assert_error(api.call("POST", BASE, {"name": "versioned", "version": "2", "specVersion": "1"}), 409)
    assert "version '2'" in again["errors"][0]["detail"]

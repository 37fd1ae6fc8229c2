"""`POST /daemon/api/tasks/{name}/run` takes no body or an object `{"params": {...}}`; any
other JSON value is a 400 in the problem shape, and no run is created."""

from __future__ import annotations

import pytest

from tests.functional.test_daemon_api import call


@pytest.mark.parametrize("raw", ["[]", "[1]", "0", "false", '""', '"x"', "12"])
def test_a_trigger_body_that_is_not_an_object_is_refused_and_creates_no_run(client, raw):
    status, _, _ = call(client, "PUT", "/api/tasks/shaped", {"run": "true"})
    assert status == 201
    status, problem, headers = call(client, "POST", "/api/tasks/shaped/run", raw=raw)
    assert status == 400, problem
    assert headers["Content-Type"] == "application/problem+json" and "object" in problem["detail"]
    status, runs, _ = call(client, "GET", "/api/tasks/shaped/runs")
    assert status == 200 and runs == {"runs": [], "total": 0}


def test_no_body_and_an_empty_object_still_trigger(client):
    call(client, "PUT", "/api/tasks/shaped", {"run": "true"})
    assert call(client, "POST", "/api/tasks/shaped/run")[0] == 201
    assert call(client, "POST", "/api/tasks/shaped/run", raw="{}")[0] == 201
    assert call(client, "GET", "/api/tasks/shaped/runs")[1]["total"] == 2

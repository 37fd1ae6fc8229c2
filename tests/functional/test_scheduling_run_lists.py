"""The run lists take `limit`, `page` and `sort` only (seed 000): `/openapi.json` says so, and a
`filter` is refused naming it rather than silently ignored (every run would come back)."""

from __future__ import annotations

import json

import pytest

from tests.functional.scheduling_support import BASE, Api, task_body
from tests.functional.test_scheduling_tasks import assert_error

RUN_LISTS = ("/api/scheduling/tasks/{id}/runs", "/api/scheduling/tasks/resources/{id}/runs")


@pytest.fixture
def api(client):
    return Api(client)


def test_the_document_gives_the_run_lists_the_parameters_the_page_gives_them(client):
    document = json.loads(client.http.get("/openapi.json").body)
    for path in RUN_LISTS:
        parameters = {p["name"]: p for p in document["paths"][path]["get"]["parameters"]}
        assert set(parameters) == {"id", "sort", "limit", "page"}, path
        assert "-startedAt" in parameters["sort"]["schema"]["enum"] and len(parameters["sort"]["schema"]["enum"]) == 10
    tasks = {p["name"]: p for p in document["paths"]["/api/scheduling/tasks"]["get"]["parameters"]}
    assert "filter" in tasks and "-updatedAt" in tasks["sort"]["schema"]["enum"]


def test_a_filter_on_a_run_list_is_refused_naming_it(api):
    task = api.create(task_body("filtered-runs"))
    for path in (f"{BASE}/{task['id']}/runs", f"{BASE}/resources/app-1/runs"):
        answer = api.get(path + '?filter=status%20eq%20%22FAILED%22')
        assert_error(answer, 400, "query.filter")
        assert api.get(path + "?filter=").status == 200  # an empty value is an absent one

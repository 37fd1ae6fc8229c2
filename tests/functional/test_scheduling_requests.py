"""What the scheduling face's busiest calls cost in backend requests (issue 18): creating a
task, and the first page of a filtered list."""

from __future__ import annotations

import collections

import pytest

from tests.functional.scheduling_support import BASE, Api, task_body


@pytest.fixture
def api(client, monkeypatch):
    from chalicelib import settings

    monkeypatch.setenv("TASKLANE_RATE_TIER1", "0")  # the rate limiter's own writes are not counted here
    monkeypatch.setenv("TASKLANE_RATE_TIER2", "0")
    settings.reset()
    yield Api(client)
    settings.reset()


@pytest.fixture
def requests(monkeypatch):
    """Every botocore request made while the test runs, by operation."""
    from botocore.client import BaseClient

    counted: collections.Counter[str] = collections.Counter()
    real = BaseClient._make_api_call

    def count(client, operation, params):
        counted[operation] += 1
        return real(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", count)
    return counted


def test_creating_a_task_costs_three_requests(api, requests):
    """Claim its (name, version) (PutItem), store it (PutItem), and look for edges that named it
    as a parent before it existed (Query): the answer's topology needs no further read, since
    the stored item says whether any task subscribes to it."""
    api.create(task_body("first"))
    requests.clear()
    created = api.create(task_body("second"))
    assert dict(requests) == {"PutItem": 2, "Query": 1}
    assert created["metadata"]["topology"] == {"isChild": False, "isParent": False}


def test_a_filtered_first_page_reads_each_candidate_once_and_the_pages_last_runs(api, requests):
    """The update index in chunks (one Query each) with the chunk's items as listings (one
    BatchGetItem each, only the attributes the filter and access need), the page's tasks whole
    (one BatchGetItem), the tenant's chain edges (one Query), and each page task's newest run
    (one Query of one item each: DynamoDB has no batch Query)."""
    for n in range(12):
        api.create(task_body(f"sales-{n}" if n % 3 == 0 else f"ops-{n}", enabled=n % 2 == 0))
    requests.clear()
    page = api.get(f'{BASE}?filter=name co "sales"&limit=2')
    assert [task["name"] for task in page.json["data"]] == ["sales-9", "sales-6"]
    # limit + 1 = 3 keys, then 6 more: sales-9 (1st), sales-6 (4th) and sales-3 (7th) seen
    assert dict(requests) == {"Query": 2 + 1 + 2, "BatchGetItem": 2 + 1}

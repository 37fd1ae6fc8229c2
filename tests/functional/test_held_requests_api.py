"""Held requests beyond the caps are a 429 with Retry-After in the daemon face's shape, and a
refused `wait=true` creates no run (chalice.test.Client, moto; holders are real threads)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from chalicelib.faces import held_requests
from chalicelib.timefmt import utcnow
from tests.functional.engine_harness import make_harness
from tests.functional.test_daemon_api import ADMIN, auth, call, put, run_now


@pytest.fixture
def h(client, aws, monkeypatch):
    return make_harness(monkeypatch, aws, utcnow())


@contextmanager
def holders(tenant: str, count: int) -> Iterator[None]:
    """`count` threads each holding one of `tenant`'s slots until the block ends."""
    ready, release = threading.Semaphore(0), threading.Event()

    def hold() -> None:
        with held_requests.hold(tenant, seconds=20):
            ready.release()
            release.wait(timeout=30)

    threads = [threading.Thread(target=hold) for _ in range(count)]
    for thread in threads:
        thread.start()
    for _ in threads:
        assert ready.acquire(timeout=10)
    try:
        yield
    finally:
        release.set()
        for thread in threads:
            thread.join()


def test_a_tenant_past_its_held_request_cap_gets_429_with_retry_after_and_no_run(client, h):
    put(client, "slow", run="true")
    done = run_now(client, h, "slow")
    with holders("acme", 8):
        status, body, headers = call(client, "POST", "/api/tasks/slow/run?wait=true&wait_timeout=5")
        assert status == 429 and headers["Content-Type"] == "application/problem+json"
        assert body["status"] == 429 and "held requests" in body["detail"]
        assert 1 <= int(headers["Retry-After"]) <= 20
        assert call(client, "GET", "/api/tasks/slow/runs")[1]["total"] == 1  # the refused wait made no run

        status, body, headers = call(client, "GET", f"/api/tasks/slow/runs/{done['id']}/log/stream")
        assert status == 429 and "Retry-After" in headers

        status, _, _ = call(client, "POST", "/api/tasks/slow/run")  # not held: not counted
        assert status == 201
        other = auth(tenant="beta")
        call(client, "PUT", "/api/tasks/mine", {"run": "true"}, headers=other)
        status, _, _ = call(client, "POST", "/api/tasks/mine/run?wait=true&wait_timeout=1", headers=other)
        assert status == 201  # another tenant has its own slots
    status, _, _ = call(client, "GET", f"/api/tasks/slow/runs/{done['id']}/log/stream", headers=ADMIN)
    assert status == 200  # the slots came back


def test_the_total_cap_refuses_every_tenant_once_reached(client, h, monkeypatch):
    from chalicelib import settings

    monkeypatch.setenv("TASKLANE_HELD_TOTAL", "3")
    settings.reset()
    try:
        put(client, "slow", run="true")
        done = run_now(client, h, "slow")
        with holders("gamma", 3):
            status, _, headers = call(client, "GET", f"/api/tasks/slow/runs/{done['id']}/log/stream")
            assert status == 429 and "Retry-After" in headers
    finally:
        monkeypatch.delenv("TASKLANE_HELD_TOTAL")
        settings.reset()


def test_slots_held_by_other_instances_count_against_the_tenant(client, h):
    from chalicelib.engine import held_slots

    put(client, "slow", run="true")
    elsewhere = [held_slots.take_slot("acme", cap=8, seconds=20, now=utcnow()) for _ in range(8)]
    assert held_requests.held_requests().held("acme") == 0  # none of them in this process
    status, body, headers = call(client, "POST", "/api/tasks/slow/run?wait=true&wait_timeout=5")
    assert status == 429 and 20 <= int(headers["Retry-After"]) <= 26
    assert call(client, "GET", "/api/tasks/slow/runs")[1]["total"] == 0
    held_slots.give_slot(elsewhere[0])
    status, _, _ = call(client, "POST", "/api/tasks/slow/run?wait=true&wait_timeout=1")
    assert status == 201

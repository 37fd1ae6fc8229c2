"""The daemon face's policies end to end through its API: overlap, catch-up, retries with each
backoff, timeouts and log caps (chalice.test.Client over the in-memory twin, an injected clock)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.engine import backend
from chalicelib.engine import runs as run_engine
from chalicelib.timefmt import from_iso, utcnow
from tests.functional.engine_harness import make_twin_harness
from tests.functional.test_daemon_api import call, put


@pytest.fixture
def client(twin_client):
    """The daemon face over the in-memory twin."""
    return twin_client


@pytest.fixture
def h(client, twin, monkeypatch):
    return make_twin_harness(monkeypatch, twin, utcnow())


def runs(client, name: str, query: str = "") -> list[dict]:
    return call(client, "GET", f"/api/tasks/{name}/runs{query}")[1]["runs"]


def trigger(client, name: str) -> str:
    status, body, _ = call(client, "POST", f"/api/tasks/{name}/run")
    assert status == 201, body
    return body["id"]


def hold_slot(name: str, run_id: str = "0000000000000-holder") -> None:
    assert backend.current().slots.acquire_slot("acme", f"daemon:{name}", run_id, 1)


def test_overlap_skip_records_a_skipped_run_that_never_executed(client, h):
    put(client, "single", run="true", on_overlap="skip")
    hold_slot("single")
    run_id = trigger(client, "single")
    h.deliver()
    run = call(client, "GET", f"/api/tasks/single/runs/{run_id}")[1]
    assert (run["end_reason"], run["exit_code"]) == ("skipped", -1)


def test_overlap_queue_refuses_past_queue_max_and_runs_the_rest_in_order(client, h):
    put(client, "queued", run="true", on_overlap="queue", queue_max=1)
    hold_slot("queued")
    first, second = trigger(client, "queued"), trigger(client, "queued")
    h.deliver()
    assert call(client, "GET", f"/api/tasks/queued/runs/{first}")[1]["status"] == "pending"
    assert call(client, "GET", f"/api/tasks/queued/runs/{second}")[1]["end_reason"] == "queue_full"
    backend.current().slots.release_slot("acme", "daemon:queued", "0000000000000-holder")
    h.send("acme", "daemon:queued", backend.current().slots.pop_waiting("acme", "daemon:queued"))
    h.deliver()
    assert call(client, "GET", f"/api/tasks/queued/runs/{first}")[1]["end_reason"] == "success"


def test_overlap_terminate_asks_the_active_run_to_stop(client, h):
    put(client, "latest", run="true", on_overlap="terminate")
    old = trigger(client, "latest")
    h.sent.clear()
    hold_slot("latest", old)
    trigger(client, "latest")
    h.deliver()
    assert run_engine.get_run("acme", "daemon:latest", old).stop_requested


@pytest.mark.parametrize(("policy", "executed"), [("latest", 1), ("all", 10), ("skip", 0)])
def test_catch_up_after_downtime_records_one_missed_run_and_runs_per_policy(client, h, policy, executed):
    first_tick = from_iso(put(client, "minutely", run="true", cron="* * * * *", catch_up=policy)["next_run_at"])
    h.clock.now = first_tick + timedelta(minutes=9, seconds=30)  # the dispatcher was down for ten ticks
    h.tick()
    missed = runs(client, "minutely", "?status=missed")
    assert len(missed) == 1 and missed[0]["exit_code"] == -1
    assert len([r for r in runs(client, "minutely") if r["status"] == "pending"]) == executed


@pytest.mark.parametrize(
    ("backoff", "waits"),
    [("constant", [2.0, 2.0, 2.0]), ("linear", [2.0, 4.0, 6.0]), ("exponential", [2.0, 4.0, 8.0])],
)
def test_retries_wait_per_backoff_and_link_to_the_run_they_retry(client, h, backoff, waits):
    put(client, "flaky", run="exit 1", retry_attempts=3, retry_delay="2s", retry_backoff=backoff)
    trigger(client, "flaky")
    h.deliver()
    history = sorted(runs(client, "flaky"), key=lambda r: r["retry_attempt"])
    assert [r["retry_attempt"] for r in history] == [0, 1, 2, 3]
    assert all(r["end_reason"] == "failed" for r in history)
    # Every retry names the run that first failed, so a chain of attempts groups under one id.
    assert {r["retry_of_run_id"] for r in history[1:]} == {history[0]["id"]}
    assert [m.delay_seconds for m in h.delivered[1:]] == waits


def test_a_success_is_never_retried(client, h):
    put(client, "fine", run="true", retry_attempts=3)
    trigger(client, "fine")
    h.deliver()
    assert len(runs(client, "fine")) == 1


def test_a_run_past_its_timeout_ends_timeout(client, h):
    put(client, "slow", run="sleep 5", timeout="300ms", graceful_stop="100ms")
    run_id = trigger(client, "slow")
    h.deliver()
    assert call(client, "GET", f"/api/tasks/slow/runs/{run_id}")[1]["end_reason"] == "timeout"


@pytest.mark.parametrize(
    ("on_full", "reason", "kept"),
    [("kill_task", "log_overflow", None), ("drop_new", "success", "line 1"), ("drop_old", "success", "line 200")],
)
def test_log_caps_follow_log_on_full(client, h, on_full, reason, kept):
    put(client, "chatty", run='for i in $(seq 1 200); do echo "line $i"; done', log_max_size="300b",
        log_on_full=on_full)
    run_id = trigger(client, "chatty")
    h.deliver()
    run = call(client, "GET", f"/api/tasks/chatty/runs/{run_id}")[1]
    assert run["end_reason"] == reason
    log = call(client, "GET", f"/api/tasks/chatty/runs/{run_id}/log")[1]
    assert log["truncated"] is True
    if kept:
        assert kept in [line["text"] for line in log["lines"]]


def test_keep_runs_deletes_the_oldest_ended_runs(client, h):
    put(client, "kept", run="true", keep_runs=2)
    for _ in range(4):
        trigger(client, "kept")
        h.deliver()
        h.clock.advance(1)
    assert len(runs(client, "kept")) == 2


def test_next_run_at_moves_with_the_schedule(client, h):
    body = put(client, "hourly", run="true", cron="0 * * * *")
    start = h.clock()
    expected = (start + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    assert body["next_run_at"].startswith(expected.strftime("%Y-%m-%dT%H:00:00"))

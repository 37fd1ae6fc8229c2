"""The agent face's claim, lease and run endpoints (seed 001) through chalice.test.Client against
moto, on a pinned clock: claim order, 204, one lease per session, heartbeats, expiry and the stale
holder, idempotent operator calls."""

from __future__ import annotations

import hashlib

import pytest

from chalicelib.engine import agent_runs
from tests.functional.agent_support import AGENT1, AGENT2, ALICE, call, claim, create, pin_clock


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    return pin_clock(monkeypatch)


def test_claim_next_takes_the_highest_priority_then_the_oldest_and_answers_204_when_empty(client, clock):
    low = create(client, "low", priority="low")
    clock.advance(1)
    urgent = create(client, "urgent", priority="urgent")
    clock.advance(1)
    create(client, "draft", priority="urgent", draft=True)
    status, body = claim(client, lease_seconds=60)
    assert status == 200
    got = body["claim"]
    assert got["task"]["id"] == urgent["id"] and got["run"]["status"] == "claimed"
    token = got["claim_token"]
    assert got["lease"]["claim_token_hash"] == "sha256:" + hashlib.sha256(token.encode()).hexdigest()
    assert got["run"]["claim_token_hash"] == got["lease"]["claim_token_hash"] and token not in str(got["run"])
    assert got["lease"]["claimed_by"] == {"kind": "agent_session", "ref": "s1"}
    assert got["lease"]["lease_until"] == "2026-03-02T09:01:02.000Z"
    assert got["run"]["claimed_at"] == "2026-03-02T09:00:02.000Z"
    status, body = claim(client, AGENT1)
    assert status == 409 and "already holds" in body["error"]  # one lease per session
    status, body = claim(client, AGENT2)
    assert status == 200 and body["claim"]["task"]["id"] == low["id"]
    status, body, _ = call(client, "POST", "/api/agent/tasks/claim-next", None, ALICE)
    assert status == 204 and body is None
    detail = call(client, "GET", f"/api/tasks/{urgent['id']}")[1]["task"]
    assert detail["task"]["status"] == "in_progress" and detail["runs"][0]["claim_token_hash"].startswith("sha256:")


def test_claim_next_filters_by_channel_scope_and_workspace_and_refuses_bad_leases(client, clock):
    create(client, "plain")
    gpu = create(client, "gpu", network_channel="gpu")
    ws = create(client, "ws", scope="workspace", workspace_id="w1")
    assert claim(client, network_channel="gpu")[1]["claim"]["task"]["id"] == gpu["id"]
    assert claim(client, AGENT2, workspace_id="w1")[1]["claim"]["task"]["id"] == ws["id"]
    for bad, field in (({"lease_seconds": 0}, "body.lease_seconds"), ({"lease_seconds": 86_401}, "body.lease_seconds"),
                       ({"wait_seconds": -1}, "body.wait_seconds"), ({"scope": "team"}, "body.scope")):
        status, body = claim(client, ALICE, **bad)
        assert status == 400 and field in body["error"]
    assert [t["status"] for t in call(client, "GET", "/api/tasks")[1]["tasks"]].count("ready") == 1


def test_heartbeat_extends_complete_ends_and_the_task_follows(client, clock):
    task = create(client, "work")
    run_id = claim(client, lease_seconds=60)[1]["claim"]["run"]["id"]
    clock.advance(30)
    status, body, _ = call(client, "POST", f"/api/agent/tasks/{run_id}/heartbeat", {"lease_seconds": 120}, AGENT1)
    assert status == 200 and body["lease"]["lease_until"] == "2026-03-02T09:02:30.000Z"
    assert body["lease"]["heartbeat_at"] == "2026-03-02T09:00:30.000Z"
    status, body, _ = call(client, "POST", f"/api/agent/tasks/{run_id}/heartbeat", {}, AGENT2)
    assert status == 409  # not the holder
    status, body, _ = call(client, "POST", f"/api/agent/tasks/{run_id}/complete", {"result": {"pages": 3}}, AGENT1)
    assert status == 200 and body["lease"]["status"] == "completed"
    run = call(client, "GET", f"/api/task-runs/{run_id}")[1]["run"]
    assert run["run"]["result"] == {"pages": 3} and run["run"]["status"] == "completed"
    assert run["task"]["status"] == "completed" and run["summary"]["last_event_type"] == "run.completed"
    assert call(client, "GET", f"/api/tasks/{task['id']}")[1]["task"]["task"]["closed_at"] == "2026-03-02T09:00:30.000Z"
    status, _, _ = call(client, "POST", f"/api/agent/tasks/{run_id}/complete", {}, AGENT1)
    assert status == 409  # done already: the session holds nothing


def test_release_requeues_and_fail_needs_an_error(client, clock):
    create(client, "work")
    run_id = claim(client)[1]["claim"]["run"]["id"]
    status, body, _ = call(client, "POST", f"/api/agent/tasks/{run_id}/fail", {}, AGENT1)
    assert status == 400 and "body.error" in body["error"]
    status, body, _ = call(client, "POST", f"/api/agent/tasks/{run_id}/release", {"reason": "busy"}, AGENT1)
    assert status == 200 and body["lease"]["status"] == "queued" and body["lease"]["claimed_by"] is None
    again = claim(client, AGENT2)[1]["claim"]["run"]
    assert again["id"] == run_id and again["attempt"] == 1


def test_an_expired_lease_is_requeued_and_its_stale_holder_refused(client, clock):
    task = create(client, "slow")
    run_id = claim(client, lease_seconds=30)[1]["claim"]["run"]["id"]
    clock.advance(31)
    status, body, _ = call(client, "POST", f"/api/agent/tasks/{run_id}/heartbeat", {}, AGENT1)
    assert status == 409 and "live lease" in body["error"]
    # the next claim requeues it lazily and takes it
    status, body = claim(client, AGENT2)
    assert status == 200 and body["claim"]["run"]["id"] == run_id
    for action, payload in (("heartbeat", {}), ("complete", {}), ("fail", {"error": "x"}), ("release", {})):
        status, body, _ = call(client, "POST", f"/api/agent/tasks/{run_id}/{action}", payload, AGENT1)
        assert status == 409, action
    assert call(client, "POST", f"/api/agent/tasks/{run_id}/complete", {}, AGENT2)[0] == 200
    types = [e["event_type"] for e in call(client, "GET", f"/api/tasks/{task['id']}/timeline")[1]["timeline"]]
    assert types.count("run.claimed") == 2 and "run.lease_expired" in types


def test_the_maintenance_sweep_requeues_expired_leases(client, clock):
    task = create(client, "slow")
    claim(client, lease_seconds=30)
    clock.advance(60)
    assert agent_runs.requeue_expired(clock()) == 1
    detail = call(client, "GET", f"/api/tasks/{task['id']}")[1]["task"]
    assert detail["task"]["status"] == "ready" and detail["runs"][0]["status"] == "queued"
    assert detail["runs"][0]["claimed_by"] is None and detail["runs"][0]["claim_token_hash"] is None


def test_operator_claim_start_complete_with_idempotency_keys(client, clock):
    task = create(client, "manual")
    run_id = call(client, "GET", f"/api/tasks/{task['id']}/runs")[1]["runs"][0]["id"]
    status, body, _ = call(client, "POST", f"/api/task-runs/{run_id}/claim", {"idempotency_key": "k1"})
    assert status == 200 and body["run"]["status"] == "claimed" and body["run"]["idempotency_key"] == "k1"
    assert body["run"]["claimed_by"] == {"kind": "human", "ref": "alice"}
    first = body["run"]
    clock.advance(5)
    status, body, _ = call(client, "POST", f"/api/task-runs/{run_id}/claim", {"idempotency_key": "k1"})
    assert status == 200 and body["run"] == first  # the retry changed nothing
    assert call(client, "POST", f"/api/task-runs/{run_id}/claim", {"idempotency_key": "k2"})[0] == 409
    status, body, _ = call(client, "POST", f"/api/task-runs/{run_id}/start", {"idempotency_key": "s1"})
    assert status == 200 and body["run"]["status"] == "running"
    assert body["run"]["started_at"] == "2026-03-02T09:00:05.000Z"
    started = body["run"]
    clock.advance(5)
    assert call(client, "POST", f"/api/task-runs/{run_id}/start", {"idempotency_key": "s1"})[1]["run"] == started
    assert call(client, "POST", f"/api/task-runs/{run_id}/start", {})[0] == 409
    assert call(client, "POST", f"/api/task-runs/{run_id}/complete", {}, AGENT1)[0] == 409  # not the holder
    timeline = call(client, "GET", f"/api/tasks/{task['id']}/timeline")[1]["timeline"]
    assert [e["event_type"] for e in timeline].count("run.claimed") == 1
    status, body, _ = call(client, "POST", f"/api/task-runs/{run_id}/complete", {"result": "ok"})
    assert status == 200 and body["run"]["status"] == "completed" and body["run"]["result"] == "ok"


def test_operator_fail_cancel_and_attach_session(client, clock):
    task = create(client, "x", max_attempts=1)
    run_id = call(client, "GET", f"/api/tasks/{task['id']}/runs")[1]["runs"][0]["id"]
    status, body, _ = call(client, "POST", f"/api/task-runs/{run_id}/attach-session", {"session_id": "sess-9"})
    assert status == 200 and body["run"]["session_id"] == "sess-9"
    assert call(client, "POST", f"/api/task-runs/{run_id}/attach-session", {})[0] == 400
    call(client, "POST", f"/api/task-runs/{run_id}/claim", {})
    status, body, _ = call(client, "POST", f"/api/task-runs/{run_id}/fail", {"error": "broken"})
    assert status == 200 and body["run"]["status"] == "failed" and body["run"]["error"] == "broken"
    assert call(client, "GET", f"/api/tasks/{task['id']}")[1]["task"]["task"]["status"] == "failed"
    assert call(client, "POST", f"/api/task-runs/{run_id}/cancel", {})[0] == 409  # ended already
    assert call(client, "POST", f"/api/task-runs/{run_id}/attach-session", {"session_id": "s"})[0] == 409
    other = create(client, "y")
    other_run = call(client, "GET", f"/api/tasks/{other['id']}/runs")[1]["runs"][0]["id"]
    claim(client)
    status, body, _ = call(client, "POST", f"/api/task-runs/{other_run}/cancel")
    assert status == 200 and body["run"]["status"] == "canceled"
    assert claim(client, AGENT1)[0] == 204  # s1 was freed and nothing is left
    runs = call(client, "GET", f"/api/tasks/{other['id']}/runs?status=canceled")[1]["runs"]
    assert [r["id"] for r in runs] == [other_run]
    assert call(client, "GET", f"/api/tasks/{other['id']}/runs?status=queued")[1]["runs"] == []
    assert call(client, "GET", f"/api/tasks/{other['id']}/runs?status=nope")[0] == 400


def test_unknown_runs_are_404_on_every_run_endpoint(client, clock):
    for method, path, body in (("GET", "/api/task-runs/nope", None), ("POST", "/api/task-runs/nope/claim", {}),
                               ("POST", "/api/task-runs/nope/start", {}), ("POST", "/api/task-runs/nope/complete", {}),
                               ("POST", "/api/task-runs/nope/fail", {"error": "e"}),
                               ("POST", "/api/task-runs/nope/cancel", {}),
                               ("POST", "/api/task-runs/nope/attach-session", {"session_id": "s"}),
                               ("POST", "/api/agent/tasks/nope/heartbeat", {}),
                               ("POST", "/api/agent/tasks/nope/complete", {}),
                               ("POST", "/api/agent/tasks/nope/fail", {"error": "e"}),
                               ("POST", "/api/agent/tasks/nope/release", {})):
        status, answer, _ = call(client, method, path, body, AGENT1)
        assert status == 404 and set(answer) == {"error"}, path


def test_claim_next_with_wait_holds_until_work_appears_or_the_hold_ends(client, clock, monkeypatch):
    import threading
    import time

    started = time.monotonic()
    status, _ = claim(client, wait_seconds=0.6)
    assert status == 204 and 0.5 <= time.monotonic() - started < 5
    answer: dict = {}

    def wait_for_work() -> None:
        answer["claim"] = claim(client, AGENT2, wait_seconds=10)

    waiter = threading.Thread(target=wait_for_work)
    started = time.monotonic()
    waiter.start()
    task = create(client, "late work")
    waiter.join(timeout=15)
    assert not waiter.is_alive() and time.monotonic() - started < 9
    status, body = answer["claim"]
    assert status == 200 and body["claim"]["task"]["id"] == task["id"]

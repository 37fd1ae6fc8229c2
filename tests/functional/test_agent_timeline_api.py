"""A task's timeline and its SSE stream (seed 001): every change is an event with an increasing
sequence; the stream resumes from `Last-Event-ID` or `after_sequence` and holds while nothing new
happened, at most its hold."""

from __future__ import annotations

import json
import threading
import time

import pytest

from chalicelib.faces.agent import timeline_routes
from tests.functional.agent_support import AGENT1, call, claim, create, pin_clock


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    return pin_clock(monkeypatch)


def frames(text: str) -> list[dict]:
    """The SSE frames of a stream body as {id, event, data}."""
    found = []
    for block in text.strip().split("\n\n"):
        frame: dict = {}
        for line in block.splitlines():
            key, _, value = line.partition(": ")
            frame[key] = json.loads(value) if key == "data" else value
        if "event" in frame:
            found.append(frame)
    return found


def work(client) -> tuple[dict, str]:
    task = create(client, "work")
    run_id = claim(client)[1]["claim"]["run"]["id"]
    call(client, "POST", f"/api/agent/tasks/{run_id}/heartbeat", {}, AGENT1)
    call(client, "POST", f"/api/agent/tasks/{run_id}/complete", {"result": 1}, AGENT1)
    return task, run_id


def test_every_change_is_on_the_timeline_in_sequence_order_and_pages(client):
    task, run_id = work(client)
    status, body, _ = call(client, "GET", f"/api/tasks/{task['id']}/timeline")
    assert status == 200
    items = body["timeline"]
    assert [i["sequence"] for i in items] == list(range(1, len(items) + 1))
    types = [i["event_type"] for i in items]
    assert types == ["task.created", "run.queued", "run.claimed", "task.status_changed", "run.heartbeat",
                     "run.completed", "task.status_changed"]
    claimed = items[2]
    assert claimed["run"]["id"] == run_id and claimed["run"]["status"] == "claimed"
    assert claimed["actor"] == {"kind": "agent_session", "ref": "s1"} and claimed["task"]["id"] == task["id"]
    assert items[-1]["payload"] == {"from": "in_progress", "to": "completed"}
    page = call(client, "GET", f"/api/tasks/{task['id']}/timeline?after_sequence=3&limit=2")[1]
    assert [i["sequence"] for i in page["timeline"]] == [4, 5] and page["next_after_sequence"] == 5
    assert call(client, "GET", f"/api/tasks/{task['id']}/timeline?limit=0")[0] == 400
    assert call(client, "GET", f"/api/tasks/{task['id']}/timeline?after_sequence=-1")[0] == 400
    events = call(client, "GET", f"/api/tasks/{task['id']}")[1]["task"]["events"]
    assert [e["event_type"] for e in events] == types and events[2]["run_id"] == run_id


def test_the_stream_serves_the_same_events_with_ids_and_resumes(client):
    task, _ = work(client)
    status, body, headers = call(client, "GET", f"/api/tasks/{task['id']}/stream")
    assert status == 200 and headers["Content-Type"] == "text/event-stream"
    got = frames(body)
    assert [f["id"] for f in got if f["event"] == "timeline"] == [str(n) for n in range(1, 8)]
    assert got[-1]["event"] == "done" and got[-1]["data"] == {"status": "completed"}
    assert got[0]["data"]["type"] == "timeline" and got[0]["data"]["timeline"]["event_type"] == "task.created"
    resumed = frames(call(client, "GET", f"/api/tasks/{task['id']}/stream",
                          headers={**AGENT1, "Last-Event-ID": "5"})[1])
    assert [f["id"] for f in resumed if f["event"] == "timeline"] == ["6", "7"]
    by_query = frames(call(client, "GET", f"/api/tasks/{task['id']}/stream?after_sequence=6")[1])
    assert [f["id"] for f in by_query if f["event"] == "timeline"] == ["7"]
    status, body, _ = call(client, "GET", f"/api/tasks/{task['id']}/stream", headers={**AGENT1, "Last-Event-ID": "x"})
    assert status == 400 and "Last-Event-ID" in body["error"]


def test_a_caught_up_stream_holds_at_most_its_hold_then_answers_nothing_new(client, monkeypatch):
    monkeypatch.setattr(timeline_routes, "STREAM_HOLD_SECONDS", 0.6)
    task = create(client, "idle")
    last = call(client, "GET", f"/api/tasks/{task['id']}/timeline")[1]["timeline"][-1]["sequence"]
    started = time.monotonic()
    status, body, _ = call(client, "GET", f"/api/tasks/{task['id']}/stream?after_sequence={last}")
    assert status == 200 and frames(body) == [] and 0.5 <= time.monotonic() - started < 5


def test_a_held_stream_answers_as_soon_as_something_happens(client, monkeypatch):
    monkeypatch.setattr(timeline_routes, "STREAM_HOLD_SECONDS", 10)
    task = create(client, "watched")
    last = call(client, "GET", f"/api/tasks/{task['id']}/timeline")[1]["timeline"][-1]["sequence"]
    answer: dict = {}

    def follow() -> None:
        answer["body"] = call(client, "GET", f"/api/tasks/{task['id']}/stream?after_sequence={last}")[1]

    follower = threading.Thread(target=follow)
    started = time.monotonic()
    follower.start()
    claim(client)
    follower.join(timeout=15)
    assert not follower.is_alive() and time.monotonic() - started < 9
    assert frames(answer["body"])[0]["data"]["timeline"]["event_type"] == "run.claimed"

"""The agent face over real HTTP: two agents work a three-task dependency chain (A <- B <- C) to
completion while a third client follows each task's SSE stream and sees every transition, in
sequence order, with nothing missing (the same events as the timeline)."""

from __future__ import annotations

import json
import threading
import time
import uuid

import pytest
import requests

from chalicelib.identity import mint_token
from tests.e2e.conftest import Runtime

pytestmark = pytest.mark.slow

#: How long the whole chain may take on a loaded machine, seconds.
DEADLINE = 120.0


def headers(runtime: Runtime, tenant: str, user: str, **claims) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(runtime.secret, tenant=tenant, user=user, **claims)}"}


def sse_events(text: str) -> list[tuple[str | None, str, dict]]:
    """(id, event, data) of each event in an SSE body."""
    events = []
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            name, _, value = line.partition(": ")
            fields[name] = value
        if "data" in fields:
            events.append((fields.get("id"), fields.get("event", "message"), json.loads(fields["data"])))
    return events


def follow(runtime: Runtime, task_id: str, auth: dict[str, str], seen: list[dict], stop: threading.Event) -> None:
    """Follow the task's stream, resuming by Last-Event-ID, until it says `done`."""
    last: str | None = None
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline and not stop.is_set():
        resume = {"Last-Event-ID": last} if last else {}
        answer = requests.get(f"{runtime.url}/api/tasks/{task_id}/stream", headers={**auth, **resume}, timeout=60)
        assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/event-stream")
        for event_id, kind, data in sse_events(answer.text):
            if kind == "done":
                return
            assert event_id == str(data["sequence"])
            seen.append(data["timeline"])
            last = event_id


def agent_loop(runtime: Runtime, auth: dict[str, str], name: str, claims: list[tuple[str, str, str]],
               stop: threading.Event, errors: list[str]) -> None:
    """Claim (waiting a little for work), heartbeat, complete; until told to stop."""
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline and not stop.is_set():
        answer = requests.post(f"{runtime.url}/api/agent/tasks/claim-next", headers=auth,
                               json={"wait_seconds": 1, "lease_seconds": 60}, timeout=60)
        if answer.status_code == 204:
            continue
        if answer.status_code != 200:
            errors.append(f"{name} claim-next {answer.status_code} {answer.text}")
            return
        claim = answer.json()["claim"]
        run_id = claim["run"]["id"]
        claims.append((name, claim["task"]["title"], run_id))
        for step in ("heartbeat", "complete"):
            done = requests.post(f"{runtime.url}/api/agent/tasks/{run_id}/{step}", headers=auth,
                                 json={"result": {"by": name}} if step == "complete" else {}, timeout=60)
            if done.status_code != 200:
                errors.append(f"{name} {step} {done.status_code} {done.text}")
                return


def test_two_agents_work_a_dependency_chain_while_a_follower_sees_every_transition(runtime):
    tenant = "chain-" + uuid.uuid4().hex[:8]
    owner = headers(runtime, tenant, "alice")
    ids: dict[str, str] = {}
    for title in ("A", "B", "C"):
        answer = requests.post(f"{runtime.url}/api/tasks", headers=owner, timeout=30,
                               json={"title": title, "scope": "global", "draft": title != "A"})
        assert answer.status_code == 201, answer.text
        ids[title] = answer.json()["task"]["id"]
    for task, blocker in (("B", "A"), ("C", "B")):
        answer = requests.post(f"{runtime.url}/api/tasks/{ids[task]}/dependencies", headers=owner, timeout=30,
                               json={"depends_on_task_id": ids[blocker]})
        assert answer.status_code == 200, answer.text
        assert requests.post(f"{runtime.url}/api/tasks/{ids[task]}/publish", headers=owner,
                             timeout=30).status_code == 200

    stop = threading.Event()
    seen: dict[str, list[dict]] = {title: [] for title in ids}
    claims: list[tuple[str, str, str]] = []
    errors: list[str] = []
    followers = [threading.Thread(target=follow, args=(runtime, ids[title], owner, seen[title], stop))
                 for title in ids]
    agents = [threading.Thread(target=agent_loop, args=(
        runtime, headers(runtime, tenant, f"bot-{n}", actor_kind="agent_session", session=f"sess-{n}"),
        f"sess-{n}", claims, stop, errors)) for n in (1, 2)]
    for thread in followers + agents:
        thread.start()
    for thread in followers:  # each returns when its task's stream says done
        thread.join(DEADLINE + 30)
    stop.set()
    for thread in agents:
        thread.join(60)
    assert not errors, errors
    assert not any(thread.is_alive() for thread in followers + agents)

    # The chain ran in order, each task once, by the two agents' sessions.
    assert [title for _, title, _ in claims] == ["A", "B", "C"]
    assert {name for name, _, _ in claims} <= {"sess-1", "sess-2"}
    runs = {}
    for title, task_id in ids.items():
        detail = requests.get(f"{runtime.url}/api/tasks/{task_id}", headers=owner, timeout=30).json()["task"]
        assert detail["task"]["status"] == "completed"
        (run,) = detail["runs"]
        runs[title] = run
        assert run["status"] == "completed"
    assert runs["A"]["ended_at"] <= runs["B"]["claimed_at"] and runs["B"]["ended_at"] <= runs["C"]["claimed_at"]

    for title, task_id in ids.items():
        events = seen[title]
        # Every event, in sequence order, nothing missing: the same as the timeline.
        assert [e["sequence"] for e in events] == list(range(1, len(events) + 1))
        timeline = requests.get(f"{runtime.url}/api/tasks/{task_id}/timeline?limit=200", headers=owner,
                                timeout=30).json()["timeline"]
        assert [(e["sequence"], e["event_type"]) for e in events] == \
            [(e["sequence"], e["event_type"]) for e in timeline]
        run_steps = [e["event_type"] for e in events if e["event_type"].startswith("run.")]
        assert run_steps == ["run.queued", "run.claimed", "run.heartbeat", "run.completed"]
        statuses = [(e["payload"]["from"], e["payload"]["to"]) for e in events
                    if e["event_type"] == "task.status_changed"]
        assert statuses[-2:] == [("ready", "in_progress"), ("in_progress", "completed")]
        if title != "A":  # a dependent waits blocked until its blocker completes
            assert ("blocked", "ready") in statuses
            assert [e["task"]["status"] for e in events if e["event_type"] == "run.queued"] == ["blocked"]

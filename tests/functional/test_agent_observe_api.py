"""The observe endpoints through chalice.test.Client on moto: the dashboard, the inbox, triage
per actor, another tenant's data invisible, refusals in `{"error": "..."}`."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from chalicelib.engine import agent_runs, agent_tasks
from chalicelib.engine.agent_model import Actor
from chalicelib.timefmt import utcnow

ALICE = Actor(kind="human", ref="alice")
AGENT = Actor(kind="agent_session", ref="sess-1")


def get(client, path, headers):
    answer = client.http.get(path, headers=headers)
    return answer.status_code, json.loads(answer.body) if answer.body else None


def post(client, path, headers):
    answer = client.http.post(path, headers=headers)
    return answer.status_code, json.loads(answer.body) if answer.body else None


@pytest.fixture
def work(client):
    """acme: a task claimed ten minutes ago (stuck), one queued on channel gpu, one awaiting
    approval, one blocked on a dependency; globex: one task of its own."""
    now = utcnow()
    earlier = now - timedelta(minutes=10)
    stuck = agent_runs.create("acme", actor=ALICE, now=earlier, title="stuck one", priority="urgent").task
    agent_runs.claim_next("acme", "sess-1", actor=AGENT, now=earlier + timedelta(seconds=2), lease_seconds=3600)
    queued = agent_runs.create("acme", actor=ALICE, now=now, title="gpu job", network_channel="gpu").task
    approval = agent_runs.create("acme", actor=ALICE, now=now, title="needs a yes", approval_policy="manual").task
    waiting = agent_runs.create("acme", actor=ALICE, now=now, title="after gpu", draft=True).task
    agent_tasks.add_dependency("acme", waiting.task_id, queued.task_id, actor=ALICE, now=now)
    agent_runs.publish("acme", waiting.task_id, actor=ALICE, now=now)
    theirs = agent_runs.create("globex", actor=ALICE, now=now, title="globex task").task
    return {"stuck": stuck, "queued": queued, "approval": approval, "waiting": waiting, "theirs": theirs}


def test_the_dashboard_counts_the_tenants_work_with_stuck_runs_queue_depth_and_latency(client, auth, work):
    status, body = get(client, "/api/observe/tasks/dashboard", auth())
    assert status == 200
    board = body["dashboard"]
    totals = board["totals"]
    assert (totals["tasks_total"], totals["in_progress_tasks"], totals["blocked_tasks"], totals["ready_tasks"]) == \
        (4, 1, 2, 1)
    assert (totals["awaiting_approval_tasks"], totals["dependency_blocked_tasks"]) == (1, 1)
    assert (totals["runs_total"], totals["claimed_runs"], totals["queued_runs"]) == (3, 1, 2)
    (held,) = [item for item in board["active_runs"]["items"] if item["run_status"] == "claimed"]
    assert held["stuck"] is True and held["task_title"] == "stuck one" and held["session_id"] == "sess-1"
    assert held["age_ms"] >= 9 * 60 * 1000 and held["health_status"] == "warning"
    assert board["active_runs"]["total"] == 3 and board["health"]["stuck_runs"] == 1
    assert board["health"]["status"] == "warning"
    # The blocked task's run is parked: the claimable queue is the gpu run only.
    assert [(d["network_channel"], d["count"]) for d in board["queue"]["depth"]] == [("gpu", 1)]
    assert board["queue"]["total"] == 1 and board["queue"]["backlog_threshold_ms"] == 300_000
    assert board["cards"]["latency"]["claim_latency_ms"] == {"average_ms": 2000, "maximum_ms": 2000, "samples": 1}
    assert board["cards"]["blocked"] == {"awaiting_approval": 1, "awaiting_dependencies": 1,
                                         "health_status": "warning", "tasks": 2}
    assert {row["status"]: row["share_percent"] for row in board["status_breakdown"]}["blocked"] == 50.0
    assert board["freshness"]["has_live_work"] is True and board["freshness"]["status"] == "live"


def test_the_dashboard_filters_and_never_shows_another_tenants_work(client, auth, work):
    status, body = get(client, "/api/observe/tasks/dashboard?network_channel=gpu", auth())
    assert status == 200 and body["dashboard"]["totals"]["tasks_total"] == 1
    status, body = get(client, "/api/observe/tasks/dashboard", auth(tenant="globex"))
    titles = [item["task_title"] for item in body["dashboard"]["active_runs"]["items"]]
    assert body["dashboard"]["totals"]["tasks_total"] == 1 and titles == ["globex task"]
    status, body = get(client, "/api/observe/tasks/dashboard?owner_ref=nobody", auth())
    assert body["dashboard"]["totals"]["tasks_total"] == 0 and body["dashboard"]["health"]["status"] == "ok"


@pytest.mark.parametrize("query, field", [("scope=nowhere", "scope"), ("owner_kind=robot", "owner_kind"),
                                          ("origin_kind=fax", "origin_kind")])
def test_the_dashboard_refuses_a_bad_filter_naming_it(client, auth, query, field):
    status, body = get(client, f"/api/observe/tasks/dashboard?{query}", auth())
    assert status == 400 and set(body) == {"error"} and field in body["error"]


def test_observe_refuses_a_caller_with_a_bad_token(client):
    bad = {"Authorization": "Bearer nope"}
    for path in ("/api/observe/tasks/dashboard", "/api/observe/tasks/inbox"):
        status, body = get(client, path, bad)
        assert status == 401 and set(body) == {"error"}
    status, body = post(client, "/api/tasks/tsk_x/triage/read", bad)
    assert status == 401 and set(body) == {"error"}


def lanes(body) -> dict[str, list[str]]:
    return {group["lane"]: [item["task"]["title"] for item in group["items"]] for group in body["inbox"]["groups"]}


def test_the_inbox_puts_each_task_in_its_lane_with_the_callers_unread_state(client, auth, work):
    status, body = get(client, "/api/observe/tasks/inbox", auth(user="alice"))
    assert status == 200
    assert lanes(body) == {"my_work": ["gpu job", "stuck one"], "approvals": ["needs a yes"], "failed_runs": [],
                           "blocked": ["after gpu"], "archived": []}
    assert (body["inbox"]["total"], body["inbox"]["unread_total"], body["inbox"]["archived_total"]) == (4, 4, 0)
    item = body["inbox"]["groups"][1]["items"][0]
    assert (item["lane"], item["approval_policy"], item["approval_state"]) == ("approvals", "manual", "pending")
    assert item["triage"]["read"] is False and item["triage"]["actor"] == {"kind": "human", "ref": "alice"}
    held = next(i for i in body["inbox"]["groups"][0]["items"] if i["task"]["title"] == "stuck one")
    assert held["run"]["status"] == "claimed" and held["run"]["session_id"] == "sess-1"
    assert held["run"]["max_attempts"] == 3 and held["run"]["claim_token_hash"].startswith("sha256:")
    blocked = lanes(body)["blocked"]
    assert blocked == ["after gpu"]
    # The agent session's own work is the run it holds.
    agent = auth(user="bot", actor_kind="agent_session", session="sess-1")
    status, body = get(client, "/api/observe/tasks/inbox?lane=my_work", agent)
    assert lanes(body) == {"my_work": ["stuck one"]}
    status, body = get(client, "/api/observe/tasks/inbox", auth(tenant="globex"))
    assert lanes(body)["my_work"] == ["globex task"] and body["inbox"]["total"] == 1


def test_triage_is_per_actor_read_dismiss_and_archive(client, auth, work):
    alice, bob = auth(user="alice"), auth(user="bob")
    approval = work["approval"].task_id
    status, body = post(client, f"/api/tasks/{approval}/triage/read", alice)
    assert status == 200 and body["triage"]["read"] is True and body["triage"]["task_id"] == approval
    assert body["triage"]["actor"] == {"kind": "human", "ref": "alice"}
    assert body["triage"]["last_seen_activity_at"] is not None
    _, mine = get(client, "/api/observe/tasks/inbox?lane=approvals", alice)
    _, his = get(client, "/api/observe/tasks/inbox?lane=approvals", bob)
    assert mine["inbox"]["groups"][0]["unread_count"] == 0 and his["inbox"]["groups"][0]["unread_count"] == 1
    _, unread = get(client, "/api/observe/tasks/inbox?unread=true", alice)
    assert "needs a yes" not in sum(lanes(unread).values(), [])
    status, body = post(client, f"/api/tasks/{work['waiting'].task_id}/triage/dismiss", alice)
    assert status == 200 and body["triage"]["dismissed"] is True
    status, body = post(client, f"/api/tasks/{work['queued'].task_id}/triage/archive", alice)
    assert status == 200 and body["triage"]["archived"] is True
    _, body = get(client, "/api/observe/tasks/inbox", alice)
    assert lanes(body) == {"my_work": ["stuck one"], "approvals": ["needs a yes"], "failed_runs": [], "blocked": [],
                           "archived": ["gpu job"]}
    assert body["inbox"]["archived_total"] == 1
    _, body = get(client, "/api/observe/tasks/inbox", bob)  # bob's inbox is untouched
    assert lanes(body)["blocked"] == ["after gpu"] and lanes(body)["archived"] == []


def test_triage_of_another_tenants_or_no_task_is_a_404_that_writes_nothing(client, auth, work):
    theirs = work["theirs"].task_id
    for action in ("read", "dismiss", "archive"):
        status, body = post(client, f"/api/tasks/{theirs}/triage/{action}", auth())
        assert status == 404 and set(body) == {"error"}
    status, body = post(client, "/api/tasks/tsk_missing/triage/read", auth())
    assert status == 404 and set(body) == {"error"}
    _, body = get(client, "/api/observe/tasks/inbox", auth(tenant="globex", user="alice"))
    assert body["inbox"]["unread_total"] == 1 and lanes(body)["archived"] == []
    _, body = get(client, "/api/observe/tasks/inbox?lane=archived", auth())
    assert lanes(body) == {"archived": []}


@pytest.mark.parametrize("query, field", [("lane=inbox", "lane"), ("limit=0", "limit"), ("limit=501", "limit"),
                                          ("unread=maybe", "unread"), ("owner_kind=robot", "owner_kind")])
def test_the_inbox_refuses_a_bad_query_naming_the_parameter(client, auth, query, field):
    status, body = get(client, f"/api/observe/tasks/inbox?{query}", auth())
    assert status == 400 and set(body) == {"error"} and field in body["error"]


def test_the_inbox_limit_and_text_query(client, auth, work):
    _, body = get(client, "/api/observe/tasks/inbox?limit=1", auth())
    assert sum(len(group["items"]) for group in body["inbox"]["groups"]) == 1
    assert body["inbox"]["total"] == 4  # counts are before the limit
    _, body = get(client, "/api/observe/tasks/inbox?query=GPU", auth())
    assert sum(lanes(body).values(), []) == ["gpu job", "after gpu"]

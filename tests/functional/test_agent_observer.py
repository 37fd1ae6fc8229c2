"""The observer over real agent tasks and runs (on the in-memory twin, clock injected): what the
dashboard and inbox read, and triage as of the task's latest activity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.engine import agent_observer, agent_runs, agent_tasks
from chalicelib.engine.agent_model import Actor as Who
from chalicelib.engine.agent_observe import Actor, InboxQuery, Lane
from chalicelib.engine.agent_observer import Scope, TriageAction
from chalicelib.engine.pull_status import TaskStatus
from chalicelib.errors import NotFound

T0 = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)
ALICE = Who(kind="human", ref="alice")
AGENT = Who(kind="agent_session", ref="sess-1")


def lanes(box) -> dict[str, list[str]]:
    return {lane.lane.value: [item.task.title for item in lane.items] for lane in box.lanes}


def test_the_dashboard_reads_the_tenants_tasks_and_runs_only(twin):
    first = agent_runs.create("acme", actor=ALICE, now=T0, title="first", network_channel="gpu").task
    agent_runs.create("acme", actor=ALICE, now=T0 + timedelta(seconds=1), title="second")
    agent_runs.create("acme", actor=ALICE, now=T0, title="draft", draft=True)
    agent_runs.create("globex", actor=ALICE, now=T0, title="elsewhere")
    claimed = agent_runs.claim_next("acme", "sess-1", actor=AGENT, now=T0 + timedelta(seconds=3),
                                    network_channel="gpu")
    assert claimed.task.task_id == first.task_id
    board, _ = agent_observer.tenant_dashboard("acme", Scope(), now=T0 + timedelta(minutes=6))
    assert board.tasks_total == 3 and board.task_counts[TaskStatus.IN_PROGRESS] == 1
    assert board.task_counts[TaskStatus.DRAFT] == 1
    assert {(item.run.status, item.stuck) for item in board.active} == {("claimed", True), ("queued", False)}
    assert board.claim_latency.samples == 1 and board.claim_latency.maximum == timedelta(seconds=3)
    assert [(c.network_channel, c.count) for c in board.depth] == [(None, 1)]
    gpu, _ = agent_observer.tenant_dashboard("acme", Scope(network_channel="gpu"), now=T0)
    assert gpu.tasks_total == 1 and gpu.runs_total == 1
    other, _ = agent_observer.tenant_dashboard("globex", Scope(), now=T0)
    assert other.tasks_total == 1 and other.active[0].task.title == "elsewhere"


def test_a_blocked_task_awaits_its_dependency_or_approval(twin):
    blocker = agent_runs.create("acme", actor=ALICE, now=T0, title="blocker").task
    waiting = agent_runs.create("acme", actor=ALICE, now=T0, title="waiting", draft=True).task
    agent_tasks.add_dependency("acme", waiting.task_id, blocker.task_id, actor=ALICE, now=T0)
    agent_runs.publish("acme", waiting.task_id, actor=ALICE, now=T0)
    agent_runs.create("acme", actor=ALICE, now=T0, title="approve me", approval_policy="manual")
    board, _ = agent_observer.tenant_dashboard("acme", Scope(), now=T0)
    assert (board.awaiting_dependencies, board.awaiting_approval) == (1, 1)
    assert [(c.count) for c in board.depth] == [1]  # the blocked task's run is parked: not claimable
    box, _ = agent_observer.actor_inbox("acme", Actor(kind="human", ref="bob"), Scope(), InboxQuery())
    assert lanes(box) == {"my_work": [], "approvals": ["approve me"], "failed_runs": [], "blocked": ["waiting"],
                          "archived": []}


def test_triage_holds_until_new_activity_on_the_task(twin):
    task = agent_runs.create("acme", actor=ALICE, now=T0, title="mine").task
    me = Actor(kind="human", ref="alice")
    box, _ = agent_observer.actor_inbox("acme", me, Scope(), InboxQuery())
    assert lanes(box)["my_work"] == ["mine"] and box.unread_total == 1
    record = agent_observer.triage("acme", me, task.task_id, TriageAction.READ, now=T0 + timedelta(minutes=1))
    assert record.read and record.last_seen_activity_at == T0 and record.updated_at == T0 + timedelta(minutes=1)
    box, _ = agent_observer.actor_inbox("acme", me, Scope(), InboxQuery())
    assert box.unread_total == 0
    agent_runs.claim_next("acme", "sess-1", actor=AGENT, now=T0 + timedelta(minutes=2))
    box, _ = agent_observer.actor_inbox("acme", me, Scope(), InboxQuery())
    assert box.unread_total == 1  # the claim is new activity
    agent_observer.triage("acme", me, task.task_id, TriageAction.ARCHIVE, now=T0 + timedelta(minutes=3))
    box, _ = agent_observer.actor_inbox("acme", me, Scope(), InboxQuery())
    assert lanes(box)["archived"] == ["mine"] and lanes(box)["my_work"] == [] and box.archived_total == 1


def test_triage_of_another_tenants_task_is_not_found(twin):
    task = agent_runs.create("acme", actor=ALICE, now=T0, title="mine").task
    with pytest.raises(NotFound):
        agent_observer.triage("globex", Actor(kind="human", ref="alice"), task.task_id, TriageAction.READ, now=T0)
    assert list(twin.triage.triage_of_actor("globex", "human", "alice")) == []
    assert lanes(agent_observer.actor_inbox("acme", Actor(kind="human", ref="alice"), Scope(),
                                            InboxQuery(lane=Lane.MY_WORK))[0]) == {"my_work": ["mine"]}

"""Agent tasks over both stores: revisions, edges read backwards, pages, tenancy; and the agent
engine's flow (publish, claim, complete, cascade, timeline) on each."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.engine import agent_runs, agent_tasks, agent_timeline
from chalicelib.engine.agent_model import Actor
from chalicelib.engine.pull_status import TaskStatus
from chalicelib.errors import Conflict, NotFound, ValidationError
from tests.contract.conftest import T0

ALICE = Actor(kind="human", ref="alice")
AGENT = Actor(kind="agent_session", ref="s1")


def make(title="t", tenant="acme", **fields):
    return agent_tasks.create(tenant, actor=ALICE, now=T0, title=title, **fields)


def test_a_task_is_saved_under_its_revision_and_read_back_whole(store):
    task = make("write docs", priority="high", metadata={"k": [1, 2]}, network_channel="gpu")
    stored = store.agent_tasks.get_task("acme", task.task_id)
    assert stored == task and stored.revision == 1 and stored.identifier == "T-1"
    saved = store.agent_tasks.save_task(stored.changed(title="new"), expected_revision=1)
    assert (saved.title, saved.revision) == ("new", 2)
    with pytest.raises(Conflict):
        store.agent_tasks.save_task(stored.changed(title="lost"), expected_revision=1)
    assert store.agent_tasks.get_task("acme", task.task_id).title == "new"
    with pytest.raises(NotFound):
        store.agent_tasks.get_task("globex", task.task_id)


def test_children_and_dependents_are_read_backwards_and_deleted_with_the_task(store):
    parent = make("parent")
    child = make("child", parent_task_id=parent.task_id)
    blocker = make("blocker")
    agent_tasks.add_dependency("acme", child.task_id, blocker.task_id, actor=ALICE, now=T0)
    assert store.agent_tasks.children("acme", parent.task_id) == [child.task_id]
    assert store.agent_tasks.dependents("acme", blocker.task_id) == [child.task_id]
    assert store.agent_tasks.children("globex", parent.task_id) == []
    store.agent_tasks.delete_task("acme", child.task_id)
    assert store.agent_tasks.children("acme", parent.task_id) == []
    assert store.agent_tasks.dependents("acme", blocker.task_id) == []
    with pytest.raises(NotFound):
        store.agent_tasks.delete_task("acme", child.task_id)


def test_lists_page_in_creation_order_within_the_tenant(store):
    ids = [make(f"t{n}").task_id for n in range(5)]
    make("other", tenant="globex")
    first, after = store.agent_tasks.list_tasks("acme", after=None, limit=3)
    rest, end = store.agent_tasks.list_tasks("acme", after=after, limit=3)
    assert [t.task_id for t in first + rest] == sorted(ids) and end is None


def test_a_chain_runs_in_dependency_order_and_the_timeline_counts_up(store):
    first = agent_runs.create("acme", actor=ALICE, now=T0, title="first").task
    second = agent_runs.create("acme", actor=ALICE, now=T0, title="second", draft=True).task
    agent_tasks.add_dependency("acme", second.task_id, first.task_id, actor=ALICE, now=T0)
    started = agent_runs.publish("acme", second.task_id, actor=ALICE, now=T0)
    assert started.task.status is TaskStatus.BLOCKED and started.run is not None and started.run.parked
    claim = agent_runs.claim_next("acme", "s1", actor=AGENT, now=T0)
    assert claim is not None and claim.claim.run.task_id == first.task_id
    assert claim.task.status is TaskStatus.IN_PROGRESS
    assert agent_runs.claim_next("acme", "s2", actor=AGENT, now=T0) is None  # the second is parked
    agent_runs.complete("acme", "s1", claim.claim.run.run_id, actor=AGENT, now=T0, result={"ok": True})
    assert agent_tasks.get("acme", first.task_id).status is TaskStatus.COMPLETED
    assert agent_tasks.get("acme", second.task_id).status is TaskStatus.READY
    nxt = agent_runs.claim_next("acme", "s2", actor=AGENT, now=T0)
    assert nxt is not None and nxt.claim.run.task_id == second.task_id
    page = agent_timeline.timeline("acme", first.task_id)
    assert [e.sequence for e in page.events] == list(range(1, len(page.events) + 1))
    types = [e.type for e in page.events]
    assert types.index("run.claimed") < types.index("run.completed") < len(types)
    assert agent_runs.get_run("acme", claim.claim.run.run_id)[0].result == {"ok": True}


def test_cycles_limits_and_missing_tasks_are_refused_without_writing(store):
    a, b, c = make("a"), make("b"), make("c")
    agent_tasks.add_dependency("acme", b.task_id, a.task_id, actor=ALICE, now=T0)
    agent_tasks.add_dependency("acme", c.task_id, b.task_id, actor=ALICE, now=T0)
    before = agent_tasks.get("acme", a.task_id)
    with pytest.raises(ValidationError) as cycle:
        agent_tasks.add_dependency("acme", a.task_id, c.task_id, actor=ALICE, now=T0)
    assert cycle.value.location == "body.depends_on_task_id"
    with pytest.raises(ValidationError):
        agent_tasks.add_dependency("acme", a.task_id, a.task_id, actor=ALICE, now=T0)
    with pytest.raises(ValidationError):
        agent_tasks.add_dependency("acme", a.task_id, "tsk_missing", actor=ALICE, now=T0)
    assert agent_tasks.get("acme", a.task_id) == before
    with pytest.raises(ValidationError) as attempts:
        make("x", max_attempts=11)
    assert attempts.value.location == "body.max_attempts"


def test_an_expired_lease_is_requeued_and_its_holder_refused(store):
    task = agent_runs.create("acme", actor=ALICE, now=T0, title="slow").task
    claim = agent_runs.claim_next("acme", "s1", actor=AGENT, now=T0, lease_seconds=30)
    assert claim is not None
    later = T0 + timedelta(seconds=31)
    assert agent_runs.requeue_expired(later) == 1
    assert agent_tasks.get("acme", task.task_id).status is TaskStatus.READY
    with pytest.raises(Conflict):
        agent_runs.heartbeat("acme", "s1", claim.claim.run.run_id, actor=AGENT, now=later)
    types = [e.type for e in agent_timeline.timeline("acme", task.task_id).events]
    assert "run.lease_expired" in types


def test_racing_enqueues_of_one_task_write_one_run(racing_store):
    import sys

    from tests.racing import race

    task = agent_tasks.create("acme", actor=ALICE, now=T0, title="once")
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        def enqueue():
            try:
                return agent_runs.enqueue("acme", task.task_id, actor=ALICE, now=T0).run_id
            except Conflict:
                return None

        won = [run_id for run_id in race(enqueue, threads=6) if run_id is not None]
    finally:
        sys.setswitchinterval(previous)
    assert won == [f"{task.task_id}-r01"]
    assert [r.run_id for r in agent_tasks.runs_of("acme", task.task_id)] == won

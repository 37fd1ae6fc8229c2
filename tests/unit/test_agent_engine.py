"""Agent tasks in the engine on the in-memory twin, with an injected clock: status derivation
as runs and dependencies move, the cascade down a chain, attempts, approval, cancel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib import backends
from chalicelib.engine import agent_runs, agent_tasks, backend
from chalicelib.engine.agent_model import Actor
from chalicelib.engine.pull_status import TaskStatus
from chalicelib.errors import Conflict, ValidationError

T0 = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)
ALICE = Actor(kind="human", ref="alice")
BOT = Actor(kind="agent_session", ref="s1")


@pytest.fixture(autouse=True)
def twin():
    with backend.using(backends.memory()) as chosen:
        yield chosen


def status(task_id: str) -> TaskStatus:
    return agent_tasks.get("acme", task_id).status


def chain(n: int) -> list[str]:
    ids = [agent_runs.create("acme", actor=ALICE, now=T0, title=f"step {i}").task.task_id for i in range(n)]
    for before, after in zip(ids, ids[1:], strict=False):
        agent_tasks.add_dependency("acme", after, before, actor=ALICE, now=T0)
    return ids


def work(session: str, now: datetime) -> str:
    got = agent_runs.claim_next("acme", session, actor=BOT, now=now)
    assert got is not None
    agent_runs.complete("acme", session, got.claim.run.run_id, actor=BOT, now=now)
    return got.claim.run.task_id


def test_a_chain_unblocks_one_step_at_a_time_and_only_ready_runs_are_claimable(twin):
    a, b, c = chain(3)
    assert [status(t) for t in (a, b, c)] == [TaskStatus.READY, TaskStatus.BLOCKED, TaskStatus.BLOCKED]
    assert [work("s1", T0 + timedelta(seconds=n)) for n in range(3)] == [a, b, c]
    assert [status(t) for t in (a, b, c)] == [TaskStatus.COMPLETED] * 3
    assert agent_runs.claim_next("acme", "s1", actor=BOT, now=T0 + timedelta(minutes=1)) is None


def test_in_progress_lasts_while_the_lease_lives_and_the_sweep_sets_it_back(twin):
    task = agent_runs.create("acme", actor=ALICE, now=T0, title="t").task.task_id
    agent_runs.claim_next("acme", "s1", actor=BOT, now=T0, lease_seconds=60)
    assert status(task) is TaskStatus.IN_PROGRESS
    assert agent_runs.requeue_expired(T0 + timedelta(seconds=59)) == 0 and status(task) is TaskStatus.IN_PROGRESS
    assert agent_runs.requeue_expired(T0 + timedelta(seconds=60)) == 1 and status(task) is TaskStatus.READY


def test_a_failure_leaves_the_task_runnable_until_attempts_run_out_and_its_dependents_stay_blocked(twin):
    a, b = chain(2)
    agent_tasks.update("acme", a, actor=ALICE, now=T0, fields={"max_attempts": 2})
    for attempt in (1, 2):
        if attempt == 2:
            assert agent_runs.enqueue("acme", a, actor=ALICE, now=T0).retry_attempt == 1
        got = agent_runs.claim_next("acme", "s1", actor=BOT, now=T0)
        assert got is not None and got.claim.run.task_id == a
        agent_runs.fail("acme", "s1", got.claim.run.run_id, actor=BOT, now=T0, error="no")
    assert status(a) is TaskStatus.FAILED and status(b) is TaskStatus.BLOCKED
    with pytest.raises(Conflict):
        agent_runs.enqueue("acme", a, actor=ALICE, now=T0)
    with pytest.raises(ValidationError):  # fewer attempts than were made
        agent_tasks.update("acme", a, actor=ALICE, now=T0, fields={"max_attempts": 1})


def test_approval_gates_the_first_run(twin):
    started = agent_runs.create("acme", actor=ALICE, now=T0, title="gated", approval_policy="manual")
    assert started.run is None and started.task.status is TaskStatus.BLOCKED
    approved = agent_runs.approve("acme", started.task.task_id, actor=ALICE, now=T0)
    assert approved.run is not None and approved.task.status is TaskStatus.READY


def test_cancel_reaches_the_whole_subtree_and_frees_the_holder(twin):
    root = agent_runs.create("acme", actor=ALICE, now=T0, title="root").task.task_id
    child = agent_runs.create("acme", actor=ALICE, now=T0, title="c", parent_task_id=root).task.task_id
    leaf = agent_runs.create("acme", actor=ALICE, now=T0, title="l", parent_task_id=child).task.task_id
    agent_runs.claim_next("acme", "s1", actor=BOT, now=T0)
    agent_tasks.cancel("acme", root, actor=ALICE, now=T0)
    assert {status(t) for t in (root, child, leaf)} == {TaskStatus.CANCELED}
    assert agent_runs.session_run("acme", "s1") is None
    assert all(r.is_terminal for t in (root, child, leaf) for r in agent_tasks.runs_of("acme", t))
    with pytest.raises(Conflict):
        agent_runs.enqueue("acme", root, actor=ALICE, now=T0)


def test_a_reader_waits_for_a_missing_sequence_number_then_passes_it_by():
    from chalicelib.engine import agent_timeline
    from chalicelib.store.memory import MemoryState, memory_backend

    state = MemoryState()
    with backend.using(memory_backend(state)):
        task = agent_tasks.create("acme", actor=ALICE, now=T0, title="t")
        for n in range(3):
            agent_timeline.record(task, "note", actor=ALICE, now=T0, payload={"n": n})
        stream = state.events[("acme", task.task_id)]
        state.events[("acme", task.task_id)] = [e for e in stream if e[0] != 3]  # number 3 not written yet
        soon = agent_timeline.timeline("acme", task.task_id, now=T0 + timedelta(seconds=1))
        assert [e.sequence for e in soon.events] == [1, 2] and soon.next_after == 2
        later = agent_timeline.timeline("acme", task.task_id, now=T0 + timedelta(seconds=6))
        assert [e.sequence for e in later.events] == [1, 2, 4]
        assert [e.sequence for e in agent_timeline.timeline("acme", task.task_id).events] == [1, 2, 4]

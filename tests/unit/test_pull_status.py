"""A pull-mode task's status from its state, runs and dependencies, at an injected instant, and
the cascade of a change to its dependents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib.engine.model import EndReason, Run, RunStatus, TriggeredBy
from chalicelib.engine.pull_status import TaskState, TaskStatus, cascade, derive_status

T0 = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)
DONE, READY, BLOCKED = TaskStatus.COMPLETED, TaskStatus.READY, TaskStatus.BLOCKED


def run(n: int, status: RunStatus, *, reason: EndReason | None = None, lease_until: datetime | None = None) -> Run:
    return Run(tenant="acme", task_id="t", run_id=f"{n:013d}-r", status=status, triggered_by=TriggeredBy.API,
               created_at=T0, end_reason=reason, lease_until=lease_until)


PUBLISHED = TaskState()


def status(state=PUBLISHED, runs=(), deps=(), now=T0) -> TaskStatus:
    return derive_status(state, runs, deps, now=now)


def test_canceled_and_draft_come_before_anything_else():
    held = [run(1, RunStatus.CLAIMED, lease_until=T0 + timedelta(minutes=5))]
    assert status(TaskState(canceled=True), held) is TaskStatus.CANCELED
    assert status(TaskState(published=False), held) is TaskStatus.DRAFT


def test_a_published_task_is_ready_until_a_dependency_or_an_approval_blocks_it():
    assert status() is READY
    assert status(deps=[DONE, DONE]) is READY
    assert status(deps=[DONE, TaskStatus.IN_PROGRESS]) is BLOCKED
    assert status(deps=[TaskStatus.FAILED]) is BLOCKED
    assert status(TaskState(approval_required=True)) is BLOCKED
    assert status(TaskState(approval_required=True, approved=True)) is READY


def test_a_held_run_is_in_progress_only_until_its_lease_runs_out():
    held = [run(1, RunStatus.RUNNING, lease_until=T0 + timedelta(minutes=5))]
    assert status(runs=held, now=T0 + timedelta(minutes=4, seconds=59)) is TaskStatus.IN_PROGRESS
    assert status(runs=held, now=T0 + timedelta(minutes=5)) is READY
    assert status(runs=[run(1, RunStatus.QUEUED)]) is READY


def test_the_latest_run_decides_completed_and_failed_counts_attempts():
    failed = run(1, RunStatus.ENDED, reason=EndReason.FAILED)
    assert status(runs=[failed, run(2, RunStatus.ENDED, reason=EndReason.SUCCESS)]) is DONE
    assert status(TaskState(max_attempts=2), [failed]) is READY
    assert status(TaskState(max_attempts=2), [failed], deps=[TaskStatus.READY]) is BLOCKED
    second = run(2, RunStatus.ENDED, reason=EndReason.FAILED)
    assert status(TaskState(max_attempts=2), [second, failed]) is TaskStatus.FAILED


def test_a_change_cascades_down_the_chain_and_stops_where_nothing_moves():
    # a -> b -> c (b and c depend on the task before them); d depends on a and on x (not done).
    deps = {"b": ["a"], "c": ["b"], "d": ["a", "x"]}
    dependents = {"a": ["b", "d"], "b": ["c"]}
    statuses = {"a": DONE, "b": BLOCKED, "c": BLOCKED, "d": BLOCKED, "x": READY}

    def status_of(task_id, current):
        return derive_status(TaskState(), [], [current[d] for d in deps[task_id]], now=T0)

    assert cascade("a", statuses, dependents=dependents, status_of=status_of) == {"b": READY}
    statuses.update(b=DONE)
    assert cascade("b", statuses, dependents=dependents, status_of=status_of) == {"c": READY}
    # a reopened (e.g. its completion undone): a ready dependent goes back to blocked, a settled one stays.
    statuses.update(a=READY, b=READY, c=DONE)
    assert cascade("a", statuses, dependents=dependents, status_of=status_of) == {"b": BLOCKED}

"""How the worker handles one run message, on the in-memory twin with an injected clock: the
wait for a run a little early, a run stopped before it started, a deleted task, and the
step-by-step start when the one-request start does not go through."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.engine import backend, executors, runs, tasks, worker
from chalicelib.engine.executors import ExecutionContext, ExecutionResult, Outcome
from chalicelib.engine.model import EndReason, Overlap, RunStatus, TaskSpec, TriggeredBy
from chalicelib.engine.tasks import TASK_DELETED
from tests.functional.engine_harness import make_twin_harness

T0 = datetime(2026, 1, 5, 12, 0, 0, tzinfo=UTC)
S = timedelta(seconds=1)


@pytest.fixture
def h(twin, monkeypatch):
    return make_twin_harness(monkeypatch, twin, T0)


class Seeing:
    """A python executor that records the run as stored while it executes."""

    def __init__(self) -> None:
        self.seen = []

    def execute(self, config: dict, context: ExecutionContext) -> ExecutionResult:
        self.seen.extend(runs.list_tenant_runs("acme"))
        return ExecutionResult(outcome=Outcome.SUCCESS, exit_code=0)


@pytest.fixture
def seeing(monkeypatch):
    executor = Seeing()
    monkeypatch.setitem(executors.EXECUTORS, "python", executor)
    return executor


def define(name: str = "job", **kw) -> None:
    tasks.save_task(tenant="acme", task_id=name, face="test", name=name, document=None, now=T0, enabled=True,
                    spec=TaskSpec(executor="python", executor_config={"callable": "os:getcwd"}, **kw))


def trigger(name: str = "job", *, nominal_at: datetime | None = None):
    return runs.trigger_run(tasks.get_task("acme", name), triggered_by=TriggeredBy.API, now=T0, nominal_at=nominal_at)


@pytest.mark.parametrize(("early", "waited"), [
    (timedelta(0), timedelta(0)),
    (S, S),
    (worker.MAX_EARLY, worker.MAX_EARLY),
    (worker.MAX_EARLY + timedelta(microseconds=1), timedelta(0)),
    (-S, timedelta(0)),
])
def test_a_run_up_to_two_seconds_early_waits_for_its_nominal_time(h, seeing, early, waited):
    define()
    run = trigger(nominal_at=T0 + early)
    h.deliver()
    ended = runs.get_run("acme", "job", run.run_id)
    assert (ended.end_reason, ended.started_at) == (EndReason.SUCCESS, T0 + waited)
    assert h.clock() == T0 + waited


def test_a_run_stopped_before_it_started_ends_stopped_without_executing(h, seeing):
    define()
    run = trigger()
    backend.current().runs.request_stop("acme", "job", run.run_id)
    h.clock.advance(3)
    h.deliver()
    ended = runs.get_run("acme", "job", run.run_id)
    assert (ended.end_reason, ended.detail, ended.started_at) == (EndReason.STOPPED, "stopped before it started", None)
    assert ended.ended_at == T0 + 3 * S
    assert seeing.seen == []


def test_a_run_whose_task_was_deleted_ends_stopped_saying_so(h, seeing, twin):
    define()
    run = trigger()
    h.clock.advance(4)
    tasks.delete_task("acme", "job", now=h.clock())
    h.deliver()
    ended = runs.get_run("acme", "job", run.run_id)
    assert (ended.end_reason, ended.detail, ended.ended_at) == (EndReason.STOPPED, TASK_DELETED, T0 + 4 * S)
    assert seeing.seen == []


def test_when_the_one_request_start_fails_the_worker_takes_the_slot_and_starts_the_run_itself(
        h, seeing, twin, monkeypatch):
    define()
    run = trigger()
    monkeypatch.setattr(twin.slots, "start_with_slot", lambda *a, **kw: None)
    h.clock.advance(7)
    h.deliver()
    [during] = seeing.seen
    assert (during.run_id, during.status, during.worker_id) == (run.run_id, RunStatus.RUNNING, worker.worker_id())
    assert (during.started_at, during.lease_until) == (T0 + 7 * S, T0 + 7 * S + worker.LEASE)
    assert runs.get_run("acme", "job", run.run_id).end_reason is EndReason.SUCCESS
    assert twin.slots.occupancy("acme", "job").active == frozenset()


def test_a_run_that_moved_on_after_its_slot_was_taken_gives_the_slot_back(h, seeing, twin, monkeypatch):
    define()
    run = trigger()
    monkeypatch.setattr(twin.slots, "start_with_slot", lambda *a, **kw: None)
    monkeypatch.setattr(twin.runs, "start_run", lambda *a, **kw: None)
    h.deliver()
    assert twin.slots.occupancy("acme", "job").active == frozenset()
    assert runs.get_run("acme", "job", run.run_id).status is RunStatus.PENDING
    assert seeing.seen == []


def test_a_skipped_run_at_the_concurrency_limit_ends_skipped_saying_why(h, seeing, twin):
    define(parallelism=1, on_overlap=Overlap.SKIP)
    busy = trigger()
    assert twin.slots.acquire_slot("acme", "job", busy.run_id, 1)
    run = trigger()
    h.sent = [m for m in h.sent if m.run_id == run.run_id]
    h.clock.advance(2)
    h.deliver()
    ended = runs.get_run("acme", "job", run.run_id)
    assert (ended.end_reason, ended.detail, ended.ended_at) == (
        EndReason.SKIPPED, "the task was at its concurrency limit", T0 + 2 * S)


def test_a_run_beyond_a_full_wait_queue_ends_queue_full_naming_the_limit(h, seeing, twin):
    define(parallelism=1, on_overlap=Overlap.QUEUE, queue_max=1)
    busy = trigger()
    assert twin.slots.acquire_slot("acme", "job", busy.run_id, 1)
    waiting, late = trigger(), trigger()
    h.sent = [m for m in h.sent if m.run_id != busy.run_id]
    h.deliver()
    assert runs.get_run("acme", "job", waiting.run_id).status is RunStatus.PENDING
    ended = runs.get_run("acme", "job", late.run_id)
    assert (ended.end_reason, ended.detail) == (EndReason.QUEUE_FULL, "the wait queue already holds 1 runs")
    assert list(twin.slots.occupancy("acme", "job").waiting) == [waiting.run_id]

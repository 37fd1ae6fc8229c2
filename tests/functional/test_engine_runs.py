"""The engine's policies over the in-memory twin: dispatch, execution, overlap, retries, chains,
crashes, retention (the store's side of each is pinned over both stores in tests/contract)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.engine import backend, maintenance, runs, services, tasks
from chalicelib.engine.model import (
    Backoff,
    CatchUpPolicy,
    DisabledReason,
    EndReason,
    LogOnFull,
    Overlap,
    RunStatus,
    Subscription,
    TaskSpec,
    TriggeredBy,
    TriggerSpec,
)
from chalicelib.errors import Conflict, NotFound
from tests.functional.engine_harness import make_twin_harness

T0 = datetime(2026, 1, 5, 12, 0, 0, tzinfo=UTC)


def sh(script: str, **kw) -> TaskSpec:
    return TaskSpec(executor="command", executor_config={"args": ["/bin/sh", "-c", script]}, **kw)


def define(name: str, spec: TaskSpec, *, tenant: str = "acme", now: datetime = T0, enabled: bool = True):
    return tasks.save_task(tenant=tenant, task_id=name, face="test", name=name, spec=spec, enabled=enabled,
                           document=None, now=now)


def all_runs(task_id: str, tenant: str = "acme"):
    return list(runs.runs_of(tenant, task_id))


@pytest.fixture
def h(twin, monkeypatch):
    return make_twin_harness(monkeypatch, twin, T0)


def test_a_due_cron_tick_creates_one_run_that_starts_on_its_second(h):
    define("every-minute", sh("true", trigger=TriggerSpec(expression="* * * * *")))
    h.clock.advance(30)  # 12:00:30; the 12:01:00 tick is within the look-ahead window
    summary = h.tick()
    assert summary["fired"] == 1
    (run,) = all_runs("every-minute")
    assert run.status is RunStatus.PENDING
    assert run.triggered_by is TriggeredBy.CRON
    assert run.nominal_at == T0 + timedelta(minutes=1)
    assert h.sent[0].delay_seconds == pytest.approx(30)


def test_a_message_sent_with_the_delay_rounded_down_waits_for_the_nominal_second(h):
    define("every-ten", sh("true", trigger=TriggerSpec(expression="*/10 * * * * *")))
    h.clock.advance(0.6)  # 12:00:00.6; the next tick is 12:00:10, 9.4 s away
    h.tick()
    first = h.sent[0]
    assert first.delay_seconds == 9  # SQS takes whole seconds: rounded down, never late
    h.clock.advance(9)  # the message arrives 0.4 s before the nominal second
    h.sent[:] = [first]
    h.deliver()
    run = runs.get_run("acme", "every-ten", first.run_id)
    assert run.started_at == run.nominal_at == T0 + timedelta(seconds=10)


def test_ticking_twice_never_creates_a_second_run_for_a_tick(h):
    define("every-minute", sh("true", trigger=TriggerSpec(expression="* * * * *")))
    h.clock.advance(30)
    h.tick()
    h.tick()
    assert len(all_runs("every-minute")) == 1


def test_a_run_executes_and_records_success_and_its_log(h):
    define("hello", sh("echo hello; echo oops >&2"))
    task = tasks.get_task("acme", "hello")
    run = runs.trigger_run(task, triggered_by=TriggeredBy.API, now=h.clock())
    h.deliver()
    ended = runs.get_run("acme", "hello", run.run_id)
    assert ended.end_reason is EndReason.SUCCESS
    assert ended.exit_code == 0
    from chalicelib.engine import logs

    text = logs.raw(ended)
    assert "hello" in text and "oops" in text


def test_a_failing_run_records_its_exit_code(h):
    define("boom", sh("exit 3"))
    run = runs.trigger_run(tasks.get_task("acme", "boom"), triggered_by=TriggeredBy.API, now=h.clock())
    h.deliver()
    ended = runs.get_run("acme", "boom", run.run_id)
    assert (ended.end_reason, ended.exit_code) == (EndReason.FAILED, 3)


def test_a_duplicate_message_for_a_finished_run_is_dropped(h):
    define("once", sh("echo x"))
    run = runs.trigger_run(tasks.get_task("acme", "once"), triggered_by=TriggeredBy.API, now=h.clock())
    h.deliver()
    h.send("acme", "once", run.run_id, delay_seconds=0)
    h.deliver()
    (only,) = all_runs("once")
    assert only.end_reason is EndReason.SUCCESS


@pytest.mark.parametrize(
    ("backoff", "waits"),
    [(Backoff.CONSTANT, [10, 10, 10]), (Backoff.LINEAR, [10, 20, 30]), (Backoff.EXPONENTIAL, [10, 20, 40])],
)
def test_retries_follow_the_backoff_as_new_linked_runs(h, backoff, waits):
    define("flaky", sh("exit 1", retry_attempts=3, retry_delay=10, retry_backoff=backoff))
    first = runs.trigger_run(tasks.get_task("acme", "flaky"), triggered_by=TriggeredBy.API, now=h.clock())
    h.deliver()
    assert [m.delay_seconds for m in h.delivered[1:]] == waits
    history = sorted(all_runs("flaky"), key=lambda r: r.retry_attempt)
    assert [r.retry_attempt for r in history] == [0, 1, 2, 3]
    assert all(r.retry_of_run_id == first.run_id for r in history[1:])
    assert all(r.end_reason is EndReason.FAILED for r in history)


def test_retry_waits_are_capped_at_five_minutes(h):
    define("slow-retry", sh("exit 1", retry_attempts=2, retry_delay=400))
    runs.trigger_run(tasks.get_task("acme", "slow-retry"), triggered_by=TriggeredBy.API, now=h.clock())
    h.deliver()
    assert [m.delay_seconds for m in h.delivered[1:]] == [300, 300]


def test_a_successful_run_is_never_retried(h):
    define("fine", sh("true", retry_attempts=3))
    runs.trigger_run(tasks.get_task("acme", "fine"), triggered_by=TriggeredBy.API, now=h.clock())
    h.deliver()
    assert len(all_runs("fine")) == 1


def test_a_timeout_ends_the_run_timeout(h):
    define("sleepy", sh("sleep 5", timeout=0.5))
    run = runs.trigger_run(tasks.get_task("acme", "sleepy"), triggered_by=TriggeredBy.API, now=h.clock())
    h.deliver()
    assert runs.get_run("acme", "sleepy", run.run_id).end_reason is EndReason.TIMEOUT


def test_log_overflow_with_kill_task_ends_the_run_log_overflow(h):
    define("chatty", sh("while true; do echo aaaaaaaaaaaaaaaaaaaa; done", log_max_size=2000,
                        log_on_full=LogOnFull.KILL_TASK, timeout=10))
    run = runs.trigger_run(tasks.get_task("acme", "chatty"), triggered_by=TriggeredBy.API, now=h.clock())
    h.deliver()
    assert runs.get_run("acme", "chatty", run.run_id).end_reason is EndReason.LOG_OVERFLOW


def _hold_slot(task_id: str, run_id: str = "0000000000000-holder"):
    from chalicelib.engine import backend

    assert backend.current().slots.acquire_slot("acme", task_id, run_id, 1)


def test_overlap_skip_records_a_skipped_run(h):
    define("single", sh("true", on_overlap=Overlap.SKIP))
    _hold_slot("single")
    run = runs.trigger_run(tasks.get_task("acme", "single"), triggered_by=TriggeredBy.API, now=h.clock())
    h.deliver()
    ended = runs.get_run("acme", "single", run.run_id)
    assert (ended.end_reason, ended.exit_code) == (EndReason.SKIPPED, -1)


def test_overlap_queue_waits_fifo_and_refuses_past_queue_max(h):
    from chalicelib.engine import backend

    define("queued", sh("true", on_overlap=Overlap.QUEUE, queue_max=2))
    _hold_slot("queued")
    task = tasks.get_task("acme", "queued")
    made = [runs.trigger_run(task, triggered_by=TriggeredBy.API, now=h.clock()) for _ in range(3)]
    h.deliver()
    states = [runs.get_run("acme", "queued", r.run_id) for r in made]
    assert [s.status for s in states[:2]] == [RunStatus.PENDING, RunStatus.PENDING]
    assert states[2].end_reason is EndReason.QUEUE_FULL
    # The holder finishes: the waiting runs start in order.
    backend.current().slots.release_slot("acme", "queued", "0000000000000-holder")
    head = backend.current().slots.pop_waiting("acme", "queued")
    assert head == made[0].run_id
    h.send("acme", "queued", head)
    h.deliver()
    assert [runs.get_run("acme", "queued", r.run_id).end_reason for r in made[:2]] == [EndReason.SUCCESS] * 2


def test_overlap_terminate_asks_the_oldest_active_run_to_stop(h):
    define("latest-wins", sh("true", on_overlap=Overlap.TERMINATE))
    task = tasks.get_task("acme", "latest-wins")
    old = runs.trigger_run(task, triggered_by=TriggeredBy.API, now=h.clock())
    h.sent.clear()
    _hold_slot("latest-wins", old.run_id)
    new = runs.trigger_run(task, triggered_by=TriggeredBy.API, now=h.clock())
    h.deliver()
    assert backend.current().runs.get_run("acme", "latest-wins", old.run_id).stop_requested
    assert runs.get_run("acme", "latest-wins", new.run_id).status is RunStatus.PENDING


def test_a_parent_success_starts_the_child_subscribed_to_success_only(h):
    define("parent", sh("true"))
    define("on-success", sh("true", subscriptions=(Subscription(parent_task_id="parent",
                                                                  outcomes=frozenset({"succeeded"})),)))
    define("on-failure", sh("true", subscriptions=(Subscription(parent_task_id="parent",
                                                                  outcomes=frozenset({"failed"})),)))
    runs.trigger_run(tasks.get_task("acme", "parent"), triggered_by=TriggeredBy.API, now=h.clock())
    h.deliver()
    (child,) = all_runs("on-success")
    assert child.triggered_by is TriggeredBy.EVENT
    assert child.source == "parent"
    assert child.end_reason is EndReason.SUCCESS
    assert all_runs("on-failure") == []


def test_subscriptions_follow_the_childs_spec_and_a_stale_edge_starts_nothing(h, twin_state):
    define("parent", sh("true"))
    define("child", sh("true", subscriptions=(Subscription(parent_task_id="parent"),)))
    assert [child for child, _ in backend.current().subscriptions.subscribers("acme", "parent")] == ["child"]
    # replaced without the subscription: its edge goes
    tasks.save_task(tenant="acme", task_id="child", face="test", name="child", spec=sh("true"), enabled=True,
                    document=None, now=T0, expected_revision=1)
    assert list(backend.current().subscriptions.subscribers("acme", "parent")) == []
    # an edge left behind (a crash between the task write and the edge write) starts nothing
    twin_state.subscriptions[("acme", "parent", "child")] = None
    runs.trigger_run(tasks.get_task("acme", "parent"), triggered_by=TriggeredBy.API, now=h.clock())
    h.deliver()
    assert all_runs("child") == []
    define("orphan", sh("true", subscriptions=(Subscription(parent_task_id="parent"),)))
    tasks.delete_task("acme", "orphan", now=h.clock())
    assert [child for child, _ in backend.current().subscriptions.subscribers("acme", "parent")] == ["child"]


def test_a_worker_that_dies_leaves_a_run_that_ends_crashed_and_is_retried(h):
    define("fragile", sh("true", retry_attempts=1))
    run = runs.trigger_run(tasks.get_task("acme", "fragile"), triggered_by=TriggeredBy.API, now=h.clock())
    h.sent.clear()
    started = backend.current().runs.start_run("acme", "fragile", run.run_id, worker_id="dead-worker",
                                               now=h.clock(), lease_until=h.clock() + timedelta(seconds=60))
    assert started is not None
    h.clock.advance(61)
    assert maintenance.sweep_expired_leases(h.clock()) == 1
    crashed = runs.get_run("acme", "fragile", run.run_id)
    assert (crashed.end_reason, crashed.exit_code) == (EndReason.CRASHED, -2)
    h.deliver()
    retry = next(r for r in all_runs("fragile") if r.retry_attempt == 1)
    assert retry.end_reason is EndReason.SUCCESS


def test_stopping_a_pending_run_ends_it_stopped(h):
    define("later", sh("true"))
    run = runs.trigger_run(tasks.get_task("acme", "later"), triggered_by=TriggeredBy.API, now=h.clock())
    stopped = runs.stop_run("acme", "later", run.run_id, now=h.clock())
    assert stopped.end_reason is EndReason.STOPPED
    h.deliver()
    assert runs.get_run("acme", "later", run.run_id).end_reason is EndReason.STOPPED
    with pytest.raises(Conflict):
        runs.stop_run("acme", "later", run.run_id, now=h.clock())


def test_consecutive_failures_disable_the_task(h):
    define("doomed", sh("exit 1", disable_after_failures=2))
    for _ in range(2):
        runs.trigger_run(tasks.get_task("acme", "doomed"), triggered_by=TriggeredBy.API, now=h.clock())
        h.deliver()
    task = tasks.get_task("acme", "doomed")
    assert not task.enabled
    assert task.disabled_code is DisabledReason.CONSECUTIVE_FAILURES


def test_keep_runs_deletes_the_oldest_ended_runs(h):
    define("kept", sh("true", keep_runs=2))
    for _ in range(4):
        runs.trigger_run(tasks.get_task("acme", "kept"), triggered_by=TriggeredBy.API, now=h.clock())
        h.clock.advance(1)
        h.deliver()
    assert len(all_runs("kept")) == 2


def test_downtime_is_recorded_as_one_missed_run_and_caught_up_per_policy(h):
    define("hourly", sh("true", trigger=TriggerSpec(expression="0 * * * *"), catch_up=CatchUpPolicy.ALL))
    h.clock.advance(3 * 3600 + 600)  # 15:10: the 13:00, 14:00 and 15:00 ticks were missed
    h.tick()
    history = all_runs("hourly")
    missed = [r for r in history if r.end_reason is EndReason.MISSED]
    assert len(missed) == 1
    caught_up = sorted(r.nominal_at for r in history if r.end_reason is not EndReason.MISSED)
    assert caught_up == [T0 + timedelta(hours=n) for n in (1, 2, 3)]
    assert tasks.get_task("acme", "hourly").next_fire_at == T0 + timedelta(hours=4)


def test_a_service_keeps_its_instances_alive(h):
    define("svc", sh("exit 0", kind="service", instances=2, restart_delay=1))
    h.tick()
    live = [r for r in all_runs("svc") if r.status is RunStatus.PENDING]
    assert sorted(r.instance_index for r in live) == [0, 1]
    assert all(r.triggered_by is TriggeredBy.SERVICE for r in live)
    h.deliver(rounds=1)
    # Each instance exited and was restarted as a new pending run.
    restarted = [r for r in all_runs("svc") if r.status is RunStatus.PENDING]
    assert sorted(r.instance_index for r in restarted) == [0, 1]


def test_a_service_instance_that_keeps_failing_ends_start_failed_and_stays_down(h):
    define("crashy", sh("exit 1", kind="service", instances=1, restart_delay=0))
    h.tick()
    h.deliver(rounds=10)
    history = all_runs("crashy")
    # The clock stands still, so run ids share their time prefix: look for the outcome, not the order.
    assert [r.end_reason for r in history].count(EndReason.START_FAILED) == 1
    assert len(history) == 6  # five quick failures, then the start_failed record
    assert not [r for r in history if r.status is not RunStatus.ENDED]
    h.clock.advance(120)
    h.tick()
    assert not [r for r in all_runs("crashy") if r.status is not RunStatus.ENDED]
    assert services.start_missing(tasks.get_task("acme", "crashy"), now=h.clock(), key="restart",
                                  include_down=True) == 1


def test_a_python_callable_runs(h):
    define("py", TaskSpec(executor="python", executor_config={"callable": "os:getcwd"}))
    run = runs.trigger_run(tasks.get_task("acme", "py"), triggered_by=TriggeredBy.API, now=h.clock())
    h.deliver()
    assert runs.get_run("acme", "py", run.run_id).end_reason is EndReason.SUCCESS


def test_an_unconfigured_function_fails_the_run_with_a_log_line_saying_so(h, monkeypatch):
    monkeypatch.delenv("TASKLANE_FUNCTIONS", raising=False)
    define("reload", TaskSpec(executor="function", executor_config={"ref_name": "app.reload", "arguments": {}}))
    run = runs.trigger_run(tasks.get_task("acme", "reload"), triggered_by=TriggeredBy.API, now=h.clock())
    h.deliver()
    ended = runs.get_run("acme", "reload", run.run_id)
    assert ended.end_reason is EndReason.FAILED
    from chalicelib.engine import logs

    assert "app.reload" in logs.raw(ended) and "not configured" in logs.raw(ended)


def test_deleting_a_task_cancels_its_pending_runs(h):
    define("doomed-task", sh("true"))
    run = runs.trigger_run(tasks.get_task("acme", "doomed-task"), triggered_by=TriggeredBy.API, now=h.clock())
    tasks.delete_task("acme", "doomed-task", now=h.clock())
    assert runs.get_run("acme", "doomed-task", run.run_id).end_reason is EndReason.STOPPED
    with pytest.raises(NotFound):
        tasks.get_task("acme", "doomed-task")


def test_another_tenant_cannot_read_list_change_or_delete_a_task_or_its_runs(h):
    define("secret-job", sh("true"))
    run = runs.trigger_run(tasks.get_task("acme", "secret-job"), triggered_by=TriggeredBy.API, now=h.clock())
    with pytest.raises(NotFound):
        tasks.get_task("globex", "secret-job")
    assert list(tasks.list_tasks("globex")) == []
    with pytest.raises(NotFound):
        runs.get_run("globex", "secret-job", run.run_id)
    with pytest.raises(NotFound):
        runs.find_run("globex", run.run_id)
    assert list(runs.list_tenant_runs("globex")) == []
    with pytest.raises(NotFound):
        runs.stop_run("globex", "secret-job", run.run_id, now=h.clock())
    with pytest.raises(NotFound):
        tasks.delete_task("globex", "secret-job", now=h.clock())
    with pytest.raises(NotFound):
        tasks.save_task(tenant="globex", task_id="secret-job", face="test", name="x", spec=sh("true"),
                        enabled=True, document=None, now=h.clock(), expected_revision=1)
    assert tasks.get_task("acme", "secret-job").name == "secret-job"



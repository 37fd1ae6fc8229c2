"""What a run's end sets off and the run operations a face calls, on the in-memory twin with an
injected clock: service instance restarts (which, when, with what delay and count), the
consecutive-failure count and the task it disables, stopping, deleting, the newest run, and a
never-executed record written at most once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.engine import backend, runs, tasks
from chalicelib.engine.model import (
    EXIT_NEVER_EXECUTED,
    Backoff,
    DisabledReason,
    EndReason,
    Restart,
    Run,
    RunStatus,
    TaskSpec,
    TriggeredBy,
)
from chalicelib.errors import Conflict, NotFound
from tests.functional.engine_harness import make_twin_harness

T0 = datetime(2026, 1, 5, 12, 0, 0, tzinfo=UTC)
S = timedelta(seconds=1)


@pytest.fixture
def h(twin, monkeypatch):
    return make_twin_harness(monkeypatch, twin, T0)


def define(name: str, *, enabled: bool = True, **kw) -> None:
    tasks.save_task(tenant="acme", task_id=name, face="test", name=name,
                    spec=TaskSpec(executor="command", executor_config={"args": ["true"]}, **kw), enabled=enabled,
                    document=None, now=T0)


def service(name: str = "svc", *, enabled: bool = True, **kw) -> None:
    kw.setdefault("instances", 2)
    kw.setdefault("restart_delay", 3)
    define(name, enabled=enabled, kind="service", **kw)


def end(h, task_id: str, *, reason: EndReason, lasted: timedelta | None, index: int | None = 0,
        extra: dict | None = None, stop: bool = False, later: timedelta = 30 * S,
        triggered_by: TriggeredBy = TriggeredBy.SERVICE) -> Run:
    """A run of `task_id` that started at T0 (unless `lasted` is None), ended `lasted` later with
    `reason`; what its end sets off runs `later` than that (a slow finisher). The messages sent
    before the end are dropped, so `h.sent` holds what the end sent."""
    run = runs.trigger_run(tasks.get_task("acme", task_id), triggered_by=triggered_by, now=T0, source="daemon",
                           instance_index=index, extra=extra)
    store = backend.current().runs
    if lasted is None:
        ended_at = T0 + 5 * S
        ended = store.finish_run("acme", task_id, run.run_id, reason=reason, exit_code=-2, now=ended_at,
                                 expected_status=RunStatus.PENDING)
    else:
        ended_at = T0 + lasted
        assert store.start_run("acme", task_id, run.run_id, worker_id="w", now=T0, lease_until=T0 + 3600 * S)
        if stop:
            store.request_stop("acme", task_id, run.run_id)
        ended = store.finish_run("acme", task_id, run.run_id, reason=reason,
                                 exit_code=0 if reason is EndReason.SUCCESS else 1, now=ended_at,
                                 expected_status=RunStatus.RUNNING)
    assert ended is not None
    h.sent.clear()
    runs.after_finish(ended, now=ended_at + later)
    return ended


def followers(task_id: str, ended: Run) -> list[Run]:
    return [r for r in runs.runs_of("acme", task_id) if r.run_id != ended.run_id]


# -- service instances ----------------------------------------------------------------------------


def test_an_instance_that_ran_and_exited_is_restarted_in_its_slot_after_the_restart_delay(h):
    service(restart_delay=3)
    ended = end(h, "svc", reason=EndReason.SUCCESS, lasted=60 * S, index=1, extra={"keep": "me"})
    [restart] = followers("svc", ended)
    assert restart.run_id == runs.derived_run_id(ended.ended_at, f"restart|{ended.run_id}")
    assert (restart.status, restart.triggered_by, restart.instance_index) == (RunStatus.PENDING,
                                                                              TriggeredBy.SERVICE, 1)
    assert (restart.source, restart.extra) == ("daemon", {"keep": "me", "start_failures": 0})
    assert [(m.run_id, m.delay_seconds) for m in h.sent] == [(restart.run_id, 3)]


def test_a_failure_within_ten_seconds_of_starting_counts_as_a_failed_start_and_backs_off(h):
    service(restart_delay=2, restart_backoff=Backoff.EXPONENTIAL)
    ended = end(h, "svc", reason=EndReason.FAILED, lasted=9 * S, extra={"start_failures": 2})
    [restart] = followers("svc", ended)
    assert restart.extra == {"start_failures": 3}
    assert [m.delay_seconds for m in h.sent] == [2 * 2**3]


def test_a_failure_after_exactly_ten_seconds_is_not_a_failed_start(h):
    service(restart_delay=2, restart_backoff=Backoff.EXPONENTIAL)
    ended = end(h, "svc", reason=EndReason.FAILED, lasted=10 * S, extra={"start_failures": 2})
    [restart] = followers("svc", ended)
    assert restart.extra == {"start_failures": 0}
    assert [m.delay_seconds for m in h.sent] == [2]


def test_a_long_failure_or_a_quick_success_resets_the_failed_start_count(h):
    service(restart_delay=1)
    long_failure = end(h, "svc", reason=EndReason.FAILED, lasted=60 * S, extra={"start_failures": 3})
    assert [r.extra["start_failures"] for r in followers("svc", long_failure)] == [0]
    service("quick", restart_delay=1)
    quick_success = end(h, "quick", reason=EndReason.SUCCESS, lasted=2 * S, extra={"start_failures": 3})
    assert [r.extra["start_failures"] for r in followers("quick", quick_success)] == [0]


def test_an_instance_that_crashed_before_starting_counts_as_a_failed_start(h):
    service(restart_delay=1)
    ended = end(h, "svc", reason=EndReason.CRASHED, lasted=None, extra={"start_failures": 1})
    assert [r.extra["start_failures"] for r in followers("svc", ended)] == [2]


def test_the_fifth_failed_start_records_start_failed_and_restarts_nothing(h):
    service(restart_delay=1)
    ended = end(h, "svc", reason=EndReason.FAILED, lasted=1 * S, extra={"start_failures": 4})
    [record] = followers("svc", ended)
    assert record.run_id == runs.derived_run_id(ended.ended_at, f"start_failed|{ended.run_id}")
    assert (record.status, record.end_reason, record.exit_code) == (RunStatus.ENDED, EndReason.START_FAILED,
                                                                    EXIT_NEVER_EXECUTED)
    assert (record.triggered_by, record.instance_index) == (TriggeredBy.SERVICE, 0)
    assert record.detail == "instance 0 failed to start 5 times; restart the service"
    assert h.sent == []


def test_the_fourth_failed_start_is_still_restarted(h):
    service(restart_delay=1)
    ended = end(h, "svc", reason=EndReason.FAILED, lasted=1 * S, extra={"start_failures": 3})
    assert [(r.status, r.extra["start_failures"]) for r in followers("svc", ended)] == [(RunStatus.PENDING, 4)]


@pytest.mark.parametrize(("why", "kw", "run_kw"), [
    ("task disabled", {"enabled": False}, {}),
    ("stop requested", {}, {"stop": True}),
    ("slot beyond the instances", {"instances": 2}, {"index": 2}),
    ("not an instance", {}, {"index": None}),
    ("restart never", {"restart": Restart.NEVER}, {}),
    ("on failure, after a success", {"restart": Restart.ON_FAILURE}, {}),
])
def test_an_instance_is_not_restarted_when(h, why, kw, run_kw):
    service(**kw)
    ended = end(h, "svc", reason=EndReason.SUCCESS, lasted=60 * S, **run_kw)
    assert followers("svc", ended) == [], why
    assert h.sent == []


def test_the_last_instance_slot_and_an_on_failure_instance_that_failed_are_restarted(h):
    service(instances=2, restart=Restart.ON_FAILURE)
    ended = end(h, "svc", reason=EndReason.FAILED, lasted=60 * S, index=1)
    assert [r.instance_index for r in followers("svc", ended)] == [1]


def test_a_start_failed_record_is_not_restarted(h):
    service()
    ended = end(h, "svc", reason=EndReason.START_FAILED, lasted=None)
    assert followers("svc", ended) == []


# -- consecutive failures ---------------------------------------------------------------------------


def test_a_task_is_disabled_when_its_consecutive_failures_reach_the_limit(h):
    define("flaky", disable_after_failures=2)
    end(h, "flaky", reason=EndReason.FAILED, lasted=S, index=None, triggered_by=TriggeredBy.API)
    assert tasks.get_task("acme", "flaky").enabled is True
    last = end(h, "flaky", reason=EndReason.FAILED, lasted=S, index=None, triggered_by=TriggeredBy.API)
    task = tasks.get_task("acme", "flaky")
    assert (task.enabled, task.disabled_code, task.consecutive_failures) == (
        False, DisabledReason.CONSECUTIVE_FAILURES, 2)
    assert task.updated_at == last.ended_at + 30 * S


def test_a_success_resets_the_count_so_failures_must_be_consecutive(h):
    define("flaky", disable_after_failures=2)
    end(h, "flaky", reason=EndReason.FAILED, lasted=S, index=None, triggered_by=TriggeredBy.API)
    end(h, "flaky", reason=EndReason.SUCCESS, lasted=S, index=None, triggered_by=TriggeredBy.API)
    task = tasks.get_task("acme", "flaky")
    assert (task.enabled, task.consecutive_failures) == (True, 0)
    end(h, "flaky", reason=EndReason.FAILED, lasted=S, index=None, triggered_by=TriggeredBy.API)
    assert tasks.get_task("acme", "flaky").enabled is True


def test_without_a_limit_failures_are_counted_but_never_disable_the_task(h):
    define("flaky")
    for _ in range(3):
        end(h, "flaky", reason=EndReason.FAILED, lasted=S, index=None, triggered_by=TriggeredBy.API)
    task = tasks.get_task("acme", "flaky")
    assert (task.enabled, task.consecutive_failures) == (True, 3)


# -- stop, delete, newest ---------------------------------------------------------------------------


def test_stopping_a_pending_run_ends_it_stopped_by_request_without_executing(h):
    define("job")
    run = runs.trigger_run(tasks.get_task("acme", "job"), triggered_by=TriggeredBy.API, now=T0)
    stopped = runs.stop_run("acme", "job", run.run_id, now=T0 + S)
    assert (stopped.status, stopped.end_reason, stopped.exit_code) == (RunStatus.ENDED, EndReason.STOPPED,
                                                                       EXIT_NEVER_EXECUTED)
    assert (stopped.detail, stopped.ended_at) == ("stopped by request", T0 + S)
    assert runs.get_run("acme", "job", run.run_id) == stopped


def test_stopping_a_running_run_flags_it_for_its_worker_and_leaves_it_running(h):
    define("job")
    run = runs.trigger_run(tasks.get_task("acme", "job"), triggered_by=TriggeredBy.API, now=T0)
    backend.current().runs.start_run("acme", "job", run.run_id, worker_id="w", now=T0, lease_until=T0 + 60 * S)
    told = runs.stop_run("acme", "job", run.run_id, now=T0 + S)
    assert (told.status, told.stop_requested, told.end_reason) == (RunStatus.RUNNING, True, None)
    assert runs.get_run("acme", "job", run.run_id).stop_requested is True


def test_stopping_a_run_that_started_between_the_read_and_the_end_flags_it_instead(h, twin, monkeypatch):
    define("job")
    run = runs.trigger_run(tasks.get_task("acme", "job"), triggered_by=TriggeredBy.API, now=T0)
    finish = twin.runs.finish_run

    def started_first(*args, **kwargs):
        twin.runs.start_run("acme", "job", run.run_id, worker_id="w", now=T0, lease_until=T0 + 60 * S)
        return finish(*args, **kwargs)

    monkeypatch.setattr(twin.runs, "finish_run", started_first)
    told = runs.stop_run("acme", "job", run.run_id, now=T0 + S)
    assert (told.status, told.stop_requested) == (RunStatus.RUNNING, True)


def test_stopping_an_ended_run_is_a_conflict_and_no_such_run_is_not_found(h):
    define("job")
    run = runs.trigger_run(tasks.get_task("acme", "job"), triggered_by=TriggeredBy.API, now=T0)
    runs.stop_run("acme", "job", run.run_id, now=T0)
    with pytest.raises(Conflict) as refused:
        runs.stop_run("acme", "job", run.run_id, now=T0 + S)
    assert refused.value.message == f"run {run.run_id} has already ended"
    assert runs.get_run("acme", "job", run.run_id).stop_requested is False
    with pytest.raises(NotFound):
        runs.stop_run("acme", "job", "nope", now=T0)


def test_deleting_an_ended_run_removes_it_and_its_log(h, twin, monkeypatch):
    define("job")
    run = runs.trigger_run(tasks.get_task("acme", "job"), triggered_by=TriggeredBy.API, now=T0)
    keep = runs.trigger_run(tasks.get_task("acme", "job"), triggered_by=TriggeredBy.API, now=T0 + S)
    runs.stop_run("acme", "job", run.run_id, now=T0)
    deleted_logs: list[str] = []
    monkeypatch.setattr(twin.logs, "delete_log", deleted_logs.append)
    runs.delete_run("acme", "job", run.run_id)
    with pytest.raises(NotFound):
        runs.get_run("acme", "job", run.run_id)
    assert deleted_logs == [twin.logs.log_key("acme", "job", run.run_id)]
    assert [r.run_id for r in runs.runs_of("acme", "job")] == [keep.run_id]


def test_deleting_a_run_in_flight_is_refused_naming_its_status_and_deletes_nothing(h, twin, monkeypatch):
    define("job")
    run = runs.trigger_run(tasks.get_task("acme", "job"), triggered_by=TriggeredBy.API, now=T0)
    deleted_logs: list[str] = []
    monkeypatch.setattr(twin.logs, "delete_log", deleted_logs.append)
    with pytest.raises(Conflict) as refused:
        runs.delete_run("acme", "job", run.run_id)
    assert refused.value.message == f"run {run.run_id} is pending; stop it before deleting it"
    assert runs.get_run("acme", "job", run.run_id).status is RunStatus.PENDING
    assert deleted_logs == []
    with pytest.raises(NotFound):
        runs.delete_run("acme", "job", "nope")
    with pytest.raises(NotFound):
        runs.delete_run("other", "job", run.run_id)


def test_the_last_run_is_the_newest_and_none_before_any(h):
    define("job")
    define("other")
    assert runs.last_run("acme", "job") is None
    runs.trigger_run(tasks.get_task("acme", "job"), triggered_by=TriggeredBy.API, now=T0)
    newest = runs.trigger_run(tasks.get_task("acme", "job"), triggered_by=TriggeredBy.API, now=T0 + S)
    runs.trigger_run(tasks.get_task("acme", "other"), triggered_by=TriggeredBy.API, now=T0 + 2 * S)
    assert runs.last_run("acme", "job") == newest
    assert runs.last_run("globex", "job") is None


# -- never executed -----------------------------------------------------------------------------------


def test_a_never_executed_run_is_recorded_once_with_its_nominal_time_and_detail(h):
    define("job")
    task = tasks.get_task("acme", "job")
    first = runs.record_never_executed(task, reason=EndReason.MISSED, now=T0 + S, triggered_by=TriggeredBy.CRON,
                                       run_id="r1", nominal_at=T0, detail="the dispatcher was late")
    assert (first.status, first.end_reason, first.exit_code) == (RunStatus.ENDED, EndReason.MISSED,
                                                                 EXIT_NEVER_EXECUTED)
    assert (first.nominal_at, first.detail, first.triggered_by) == (T0, "the dispatcher was late",
                                                                    TriggeredBy.CRON)
    again = runs.record_never_executed(task, reason=EndReason.DST_SKIPPED, now=T0 + 2 * S,
                                       triggered_by=TriggeredBy.CRON, run_id="r1", detail="other")
    assert again == runs.get_run("acme", "job", "r1") == first
    assert [r.run_id for r in runs.runs_of("acme", "job")] == ["r1"]


# -- retries ----------------------------------------------------------------------------------------------


def test_a_failed_run_is_retried_once_per_attempt_keeping_what_it_was_asked(h):
    define("job", retry_attempts=2, retry_delay=4, retry_backoff=Backoff.LINEAR)
    tasks_run = runs.trigger_run(tasks.get_task("acme", "job"), triggered_by=TriggeredBy.CRON, now=T0,
                                 source="schedule", params={"p": 1}, nominal_at=T0, extra={"e": 2})
    store = backend.current().runs
    store.start_run("acme", "job", tasks_run.run_id, worker_id="w", now=T0, lease_until=T0 + 60 * S)
    first = store.finish_run("acme", "job", tasks_run.run_id, reason=EndReason.FAILED, exit_code=1, now=T0 + S,
                             expected_status=RunStatus.RUNNING)
    h.sent.clear()
    runs.after_finish(first, now=T0 + 9 * S)
    [retry] = followers("job", first)
    assert retry.run_id == runs.derived_run_id(T0 + S, f"retry|{first.run_id}")
    assert (retry.retry_attempt, retry.retry_of_run_id, retry.triggered_by) == (1, first.run_id, TriggeredBy.CRON)
    assert (retry.source, retry.params, retry.nominal_at, retry.extra) == ("schedule", {"p": 1}, T0, {"e": 2})
    assert [(m.run_id, m.delay_seconds) for m in h.sent] == [(retry.run_id, 4)]
    store.start_run("acme", "job", retry.run_id, worker_id="w", now=T0 + 20 * S, lease_until=T0 + 80 * S)
    second = store.finish_run("acme", "job", retry.run_id, reason=EndReason.TIMEOUT, exit_code=1, now=T0 + 21 * S,
                              expected_status=RunStatus.RUNNING)
    h.sent.clear()
    runs.after_finish(second, now=T0 + 21 * S)
    [last] = [r for r in runs.runs_of("acme", "job") if r.retry_attempt == 2]
    assert (last.retry_of_run_id, [m.delay_seconds for m in h.sent]) == (first.run_id, [8])  # the root run
    store.start_run("acme", "job", last.run_id, worker_id="w", now=T0 + 30 * S, lease_until=T0 + 90 * S)
    third = store.finish_run("acme", "job", last.run_id, reason=EndReason.FAILED, exit_code=1, now=T0 + 31 * S,
                             expected_status=RunStatus.RUNNING)
    h.sent.clear()
    runs.after_finish(third, now=T0 + 31 * S)
    assert h.sent == [] and len(list(runs.runs_of("acme", "job"))) == 3  # attempts used up


@pytest.mark.parametrize("reason", [EndReason.STOPPED, EndReason.SUCCESS, EndReason.START_FAILED])
def test_a_run_that_was_stopped_succeeded_or_never_started_is_not_retried(h, reason):
    define("job", retry_attempts=3)
    ended = end(h, "job", reason=reason, lasted=S, index=None, triggered_by=TriggeredBy.API)
    assert followers("job", ended) == [] and h.sent == []


# -- chains -------------------------------------------------------------------------------------------------


def test_a_finished_run_starts_the_children_subscribed_to_its_outcome(h):
    from chalicelib.engine.model import Subscription
    define("parent")
    define("on-fail", subscriptions=(Subscription(parent_task_id="parent", outcomes=frozenset({"failed"})),))
    define("on-any", subscriptions=(Subscription(parent_task_id="parent"),))
    define("off", enabled=False, subscriptions=(Subscription(parent_task_id="parent"),))
    ended = end(h, "parent", reason=EndReason.SUCCESS, lasted=S, index=None, triggered_by=TriggeredBy.API)
    assert list(runs.runs_of("acme", "on-fail")) == [] and list(runs.runs_of("acme", "off")) == []
    [child] = runs.runs_of("acme", "on-any")
    assert child.run_id == runs.derived_run_id(ended.ended_at, f"chain|on-any|{ended.run_id}")
    assert (child.triggered_by, child.source) == (TriggeredBy.EVENT, "parent")
    assert child.extra == {"parent_task_id": "parent", "parent_run_id": ended.run_id, "parent_outcome": "succeeded"}
    failed = end(h, "parent", reason=EndReason.FAILED, lasted=S, index=None, triggered_by=TriggeredBy.API)
    [on_fail] = runs.runs_of("acme", "on-fail")
    assert on_fail.extra["parent_outcome"] == "failed" and on_fail.extra["parent_run_id"] == failed.run_id
    stopped = end(h, "parent", reason=EndReason.STOPPED, lasted=S, index=None, triggered_by=TriggeredBy.API)
    assert stopped.run_id not in {r.extra.get("parent_run_id") for r in runs.runs_of("acme", "on-any")}


# -- retention ------------------------------------------------------------------------------------------


def test_retention_keeps_the_newest_ended_runs_and_deletes_the_rest_with_their_logs(h, twin, monkeypatch):
    define("job", keep_runs=2)
    deleted_logs: list[str] = []
    monkeypatch.setattr(twin.logs, "delete_log", deleted_logs.append)
    ended = [end(h, "job", reason=EndReason.SUCCESS, lasted=S, index=None, triggered_by=TriggeredBy.API)
             for _ in range(3)]
    pending = runs.trigger_run(tasks.get_task("acme", "job"), triggered_by=TriggeredBy.API, now=T0)
    kept = {r.run_id for r in runs.runs_of("acme", "job")}
    assert len(kept) == 3 and pending.run_id in kept  # two ended runs and the pending one
    assert len(deleted_logs) == 1
    assert runs.apply_retention(tasks.get_task("acme", "job"), now=T0) == 0
    assert {r.run_id for r in ended} & kept == kept - {pending.run_id}


def test_retention_by_age_deletes_runs_that_ended_before_the_cutoff_only(h):
    define("job", keep_for=3600)
    old = end(h, "job", reason=EndReason.SUCCESS, lasted=S, index=None, triggered_by=TriggeredBy.API)
    task = tasks.get_task("acme", "job")
    assert runs.apply_retention(task, now=old.ended_at + timedelta(seconds=3600)) == 0  # exactly the age: kept
    assert runs.apply_retention(task, now=old.ended_at + timedelta(seconds=3601)) == 1
    assert list(runs.runs_of("acme", "job")) == []

"""One of each in the engine: the schedule a face reads, the catch-up policy, a new run."""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.engine import model, schedule
from chalicelib.engine.model import (
    EXIT_NEVER_EXECUTED,
    CatchUpPolicy,
    EndReason,
    RunStatus,
    Task,
    TaskSpec,
    TriggeredBy,
    new_run,
)
from chalicelib.engine.schedule import ScheduleKind, parse_schedule, plan_catch_up, schedule_of
from chalicelib.faces.scheduling.workflow import validate_task_document

T0 = datetime(2026, 1, 5, 12, 0, 0, tzinfo=UTC)
TASK = Task(tenant="acme", task_id="t1", face="test", name="t1", enabled=True, spec=TaskSpec(), document=None,
            next_fire_at=None, last_fire_at=None, created_at=T0, updated_at=T0)


def scheduled(schedule_body: object) -> schedule.Schedule:
    body = {
        "name": "Nightly reload",
        "specVersion": "1.16.0",
        "start": {"schedule": schedule_body},
        "states": [{"name": "Reload", "type": "operation",
                    "actions": [{"functionRef": {"refName": "app.reload"}}], "end": True}],
    }
    found = validate_task_document(body).schedule
    assert found is not None
    return found


def test_the_scheduling_face_reads_a_start_schedule_into_the_engine_s_schedule():
    document_schedule = scheduled({"cron": "@every 90s", "timezone": "Europe/Paris"})
    assert type(document_schedule) is schedule.Schedule
    assert document_schedule == parse_schedule("@every 90s", timezone="Europe/Paris")
    assert document_schedule.kind is ScheduleKind.EVERY


def test_a_schedule_s_kind_is_read_from_its_expression_before_it_is_checked():
    assert schedule_of("R/2025-01-01T00:00:00Z/PT1H").kind is ScheduleKind.INTERVAL
    assert schedule_of("RRULE:FREQ=DAILY").kind is ScheduleKind.RRULE
    assert schedule_of(" 0 2 * * * ").expression == " 0 2 * * * "  # kept as written; parse_schedule trims
    assert schedule_of("every blue moon").kind is ScheduleKind.CRON  # parse_schedule refuses it later


def test_the_catch_up_policy_a_task_holds_is_the_one_a_plan_takes():
    assert not hasattr(schedule, "CatchUp")
    hourly = parse_schedule("0 * * * *")
    plan = plan_catch_up(hourly, last_fire=T0, now=T0.replace(hour=15), policy=TaskSpec().catch_up)
    assert TaskSpec().catch_up is CatchUpPolicy.LATEST
    assert [at.hour for at in plan.to_run] == [15]


def test_a_new_run_is_pending_with_what_its_cause_gave_it():
    run = new_run(TASK, run_id="r1", triggered_by=TriggeredBy.API, now=T0, source="manual", params={"a": 1},
                  retry_attempt=1, retry_of_run_id="r0", extra={"k": "v"})
    assert (run.tenant, run.task_id, run.run_id, run.status) == ("acme", "t1", "r1", RunStatus.PENDING)
    assert (run.created_at, run.source, run.params, run.retry_attempt, run.retry_of_run_id, run.extra) == (
        T0, "manual", {"a": 1}, 1, "r0", {"k": "v"})
    assert run.end_reason is None and run.exit_code is None and run.ended_at is None


def test_a_run_that_never_executes_is_ended_at_its_creation_with_exit_code_minus_one():
    run = new_run(TASK, run_id="r2", triggered_by=TriggeredBy.CRON, now=T0, nominal_at=T0,
                  never_executed=EndReason.DST_SKIPPED, detail="repeated wall-clock time")
    assert (run.status, run.end_reason, run.exit_code) == (RunStatus.ENDED, EndReason.DST_SKIPPED, EXIT_NEVER_EXECUTED)
    assert run.ended_at == run.created_at == T0 and run.detail == "repeated wall-clock time"
    assert not hasattr(model.EndReason, "DAEMON_STOPPED")

"""Instances: create (cycle 1 with its events), read, cancel, pause, resume, cancel tasks, and
the next cycle once a main event is processed.

Every change is a conditional write at the revision read (a lost race is a `Conflict` for a
caller, a skip for the worker). A new instance's events and their triggers are written before
the instance itself; a new cycle's instance change comes first (the conditional write that makes
advancing idempotent), then its events and triggers.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from chalicelib.engine.execution import arming, jtd, records
from chalicelib.engine.execution.calendar import MissingBaseDate, first_main_date, next_main_date, plan_cycle, shift
from chalicelib.engine.execution.definition import ExecutionSettings, ExecutionTaskTrigger, ExecutionTimeDelta
from chalicelib.engine.execution.strategies import require_secret, resolve
from chalicelib.engine.execution.values import (
    FINISHED,
    Event,
    EventCancelReason,
    EventStatus,
    Instance,
    InstanceCancelReason,
    InstanceStatus,
    NextEvent,
    StoredStrategy,
)
from chalicelib.errors import Conflict, ValidationError

#: Events a cancel, pause or cancel-tasks may stop: not running, not finished.
STOPPABLE = frozenset({EventStatus.ONHOLD, EventStatus.PENDING, EventStatus.QUEUED, EventStatus.PAUSED})


def zone_of(settings: ExecutionSettings) -> ZoneInfo:
    return ZoneInfo(settings.config.timezone if settings.config and settings.config.timezone else "UTC")


def _manual(settings: ExecutionSettings, trigger: ExecutionTaskTrigger | None = None) -> bool:
    return bool((settings.config and settings.config.manual_trigger) or (trigger and trigger.manual_trigger))


def _new_event(instance: Instance, *, task: str, date: datetime, main: bool, now: datetime, on_hold: bool,
               after_cancellation: bool = False) -> Event:
    sid = str(uuid.uuid4())
    return Event(
        sid=sid, instance_sid=instance.sid, strategy_sid=instance.strategy_sid,
        status=EventStatus.ONHOLD if on_hold else EventStatus.PENDING, main=main, task=task, date=date,
        created_cycle=instance.cycle, exec_strategy_version=instance.strategy_version, created_at=now,
        updated_at=now, after_cancellation=after_cancellation or None,
        scheduled_at=None if on_hold else now, schedule_delta=None if on_hold else (date - now).total_seconds(),
        job_id=None if on_hold else arming.trigger_id(sid))


def _delayed(delta: ExecutionTimeDelta | None, now: datetime, zone: ZoneInfo,
             attributes: Mapping[str, Any]) -> datetime:
    return shift(now, delta, zone, attributes=attributes) if delta is not None else now


def _store(tenant: str, events: list[Event]) -> list[Event]:
    return [records.save_event(tenant, event) for event in events]


def _arm_all(tenant: str, events: list[Event], *, now: datetime) -> None:
    for event in events:
        if event.status is EventStatus.PENDING:
            arming.arm(tenant, event.instance_sid, event.sid, at=event.date, now=now)


def _check_attribute_dates(settings: ExecutionSettings, attributes: Mapping[str, Any]) -> None:
    """Every `from` the schedule names must be a date-time among the attributes."""
    deltas: list[ExecutionTimeDelta | None] = [settings.schedule.initial_delay]
    for calendar in settings.schedule.calendars:
        deltas.append(calendar.schedule_after)
        deltas += [item.schedule_before for item in calendar.leading_up_tasks or ()]
    deltas += [item.delay_by for item in (settings.on_create_tasks or []) + (settings.on_cancel_tasks or [])]
    for delta in deltas:
        if delta is not None and delta.from_ is not None:
            try:
                shift(datetime.now(UTC), delta, ZoneInfo("UTC"), attributes=attributes)
            except MissingBaseDate as exc:
                raise ValidationError(str(exc), location=f"attributes.{exc.attribute}") from None


def create_instance(tenant: str, *, strategy_id: str, secret_header: str | None, now: datetime,
                    start_date: datetime | None = None, attributes: dict[str, Any] | None = None,
                    description: str | None = None, strategy_version: int | None = None
                    ) -> tuple[Instance, list[Event], StoredStrategy]:
    """Create an instance on the strategy's latest version (or `strategy_version`): cycle 1's
    main event, its leading-up events still ahead of `now` and the on-create events."""
    strategy = resolve(tenant, strategy_id, strategy_version)
    require_secret(strategy, secret_header)
    settings = strategy.settings
    attributes = dict(attributes or {})
    if settings.config is not None and settings.config.instance_validation is not None:
        try:
            jtd.validate(settings.config.instance_validation, attributes, "attributes")
        except jtd.SchemaProblem as problem:
            raise ValidationError(str(problem), location=problem.path) from None
    _check_attribute_dates(settings, attributes)
    zone = zone_of(settings)
    start = (start_date or now).astimezone(UTC)
    main_date = first_main_date(settings.schedule, start, zone, attributes)
    plan = plan_cycle(settings.schedule, 1, main_date, zone, attributes)
    assert plan is not None  # validation guarantees a calendar for cycle 1
    instance = Instance(
        sid=str(uuid.uuid4()), strategy_id=strategy_id, strategy_sid=strategy.sid, strategy_version=strategy.version,
        status=InstanceStatus.ACTIVE, cycle=1, start_date=start, execution_date=main_date,
        execution_day=main_date.astimezone(zone).day, created_at=now, updated_at=now, description=description,
        attributes=attributes)
    events = _cycle_events(instance, settings, plan.calendar.task or "", main_date, plan.leading_up, now=now)
    for trigger in settings.on_create_tasks or ():
        events.append(_new_event(instance, task=trigger.task, date=_delayed(trigger.delay_by, now, zone, attributes),
                                 main=False, now=now, on_hold=_manual(settings, trigger)))
    main = events[0]
    instance = msgspec.structs.replace(instance, next_event=NextEvent(sid=main.sid, date=main.date))
    # Events, their triggers, then the instance: a crash before the last write leaves events of
    # an instance nobody can see, and a trigger that fires before the instance exists waits for
    # it (`due.due_event`), so no event of a created instance is left without a trigger.
    saved = _store(tenant, events)
    _arm_all(tenant, saved, now=now)
    instance = records.save_instance(tenant, instance)
    return instance, saved, strategy


def _cycle_events(instance: Instance, settings: ExecutionSettings, task: str, main_date: datetime,
                  leading_up: tuple[tuple[str, datetime], ...], *, now: datetime) -> list[Event]:
    """The main event first, then the leading-up events whose date is still ahead."""
    on_hold = _manual(settings)
    events = [_new_event(instance, task=task, date=main_date, main=True, now=now, on_hold=on_hold)]
    events += [_new_event(instance, task=name, date=date, main=False, now=now, on_hold=on_hold)
               for name, date in leading_up if date >= now]
    return events


def get_instance(tenant: str, sid: str, *, secret_header: str | None) -> tuple[Instance, StoredStrategy]:
    """The instance and the strategy version it is pinned to; 401 without its secret."""
    instance = records.get_instance(tenant, sid)
    strategy = records.get_strategy(tenant, instance.strategy_sid, instance.strategy_version)
    require_secret(strategy, secret_header)
    return instance, strategy


def pending_events(tenant: str, sid: str, *, secret_header: str | None) -> tuple[Instance, list[Event]]:
    """Every event of the instance that has not finished (ONHOLD included), by date."""
    instance, _ = get_instance(tenant, sid, secret_header=secret_header)
    return instance, [e for e in records.list_events(tenant, sid) if e.status not in FINISHED]


def _stop_events(tenant: str, events: list[Event], *, status: EventStatus, now: datetime,
                 reason: EventCancelReason | None = None) -> list[Event]:
    """Move stoppable events to `status` and take their triggers away; the ones moved."""
    moved = []
    for event in events:
        if event.status not in STOPPABLE:
            continue
        saved = records.try_save_event(tenant, msgspec.structs.replace(
            event, status=status, cancel_reason=reason or event.cancel_reason, updated_at=now,
            finished_at=now if status is EventStatus.CANCELED else event.finished_at))
        if saved is None:
            continue
        arming.disarm(tenant, event.sid, now=now)
        moved.append(saved)
    return moved


def cancel_instance(tenant: str, instance: Instance, *, reason: InstanceCancelReason, now: datetime
                    ) -> tuple[Instance, list[Event]]:
    """Cancel an active or paused instance: its waiting events are CANCELED (`CANCEL_INSTANCE`),
    its `onCancelTasks` events are created (they run after the cancellation); answers the
    instance and those new events. The worker calls this too (`MAX_ATTEMPTS`)."""
    if instance.status is InstanceStatus.CANCELED:
        raise Conflict(f"execution instance {instance.sid} is already canceled")
    strategy = records.get_strategy(tenant, instance.strategy_sid, instance.strategy_version)
    canceled = records.save_instance(tenant, msgspec.structs.replace(
        instance, status=InstanceStatus.CANCELED, cancel_reason=reason, end_date=now, next_event=None,
        updated_at=now))
    _stop_events(tenant, records.list_events(tenant, instance.sid), status=EventStatus.CANCELED, now=now,
                 reason=EventCancelReason.CANCEL_INSTANCE)
    settings = strategy.settings
    zone = zone_of(settings)
    created = [_new_event(canceled, task=trigger.task, main=False, now=now, after_cancellation=True,
                          date=_delayed(trigger.delay_by, now, zone, canceled.attributes),
                          on_hold=_manual(settings, trigger))
               for trigger in settings.on_cancel_tasks or ()]
    saved = _store(tenant, created)
    _arm_all(tenant, saved, now=now)
    return canceled, saved


def pause_instance(tenant: str, instance: Instance, *, now: datetime) -> Instance:
    """ACTIVE -> PAUSED: waiting events become PAUSED and their triggers are taken away."""
    if instance.status is not InstanceStatus.ACTIVE:
        raise Conflict(f"execution instance {instance.sid} is {instance.status.value}, not ACTIVE")
    paused = records.save_instance(tenant, msgspec.structs.replace(instance, status=InstanceStatus.PAUSED,
                                                                   updated_at=now))
    waiting = [e for e in records.list_events(tenant, instance.sid)
               if e.status in (EventStatus.PENDING, EventStatus.QUEUED)]
    _stop_events(tenant, waiting, status=EventStatus.PAUSED, now=now)
    return paused


def resume_instance(tenant: str, instance: Instance, *, now: datetime) -> Instance:
    """PAUSED -> ACTIVE: PAUSED events are PENDING again, armed for their date (now if past)."""
    if instance.status is not InstanceStatus.PAUSED:
        raise Conflict(f"execution instance {instance.sid} is {instance.status.value}, not PAUSED")
    resumed = records.save_instance(tenant, msgspec.structs.replace(instance, status=InstanceStatus.ACTIVE,
                                                                    updated_at=now))
    for event in records.list_events(tenant, instance.sid):
        if event.status is not EventStatus.PAUSED:
            continue
        saved = records.try_save_event(tenant, msgspec.structs.replace(
            event, status=EventStatus.PENDING, updated_at=now, scheduled_at=now,
            schedule_delta=(event.date - now).total_seconds(), job_id=arming.trigger_id(event.sid)))
        if saved is not None:
            arming.arm(tenant, instance.sid, event.sid, at=event.date, now=now)
    return resumed


def cancel_tasks(tenant: str, instance: Instance, tasks: list[str], *, now: datetime) -> list[Event]:
    """Cancel the instance's waiting events of the named tasks (`INSTANCE_CANCEL_TASK_REQUESTED`)."""
    chosen = [e for e in records.list_events(tenant, instance.sid) if e.task in tasks]
    return _stop_events(tenant, chosen, status=EventStatus.CANCELED, now=now,
                        reason=EventCancelReason.INSTANCE_CANCEL_TASK_REQUESTED)


def cancel_event(tenant: str, event_sid: str, *, now: datetime) -> Event:
    """Cancel one waiting event (`POST /execution-event/{sid}/cancel`); `Conflict` when it is
    running or finished."""
    event = records.find_event(tenant, event_sid)
    moved = _stop_events(tenant, [event], status=EventStatus.CANCELED, now=now)
    if not moved:
        raise Conflict(f"execution event {event_sid} is {event.status.value} and cannot be canceled")
    return moved[0]


def advance_cycle(tenant: str, main_event: Event, *, now: datetime) -> Instance | None:
    """After the main event of the instance's current cycle is processed: create the next
    cycle's main event and leading-up events and move the instance on (cycle + 1,
    `executionDate`, `nextEvent`); with no calendar for the next cycle the instance keeps its
    cycle, gets `endDate` and no `nextEvent`. Idempotent: None when the instance is not ACTIVE or
    has moved past that cycle already (or another writer moved it)."""
    instance = records.get_instance(tenant, main_event.instance_sid)
    if instance.status is not InstanceStatus.ACTIVE or instance.cycle != main_event.created_cycle \
            or not main_event.main:
        return None
    strategy = records.get_strategy(tenant, instance.strategy_sid, instance.strategy_version)
    settings = strategy.settings
    zone = zone_of(settings)
    following = instance.cycle + 1
    date = next_main_date(settings.schedule, following, instance.execution_date, zone,
                          anchor_day=instance.execution_day, attributes=instance.attributes)
    plan = plan_cycle(settings.schedule, following, date, zone, instance.attributes) if date else None
    if plan is None:
        try:
            return records.save_instance(tenant, msgspec.structs.replace(
                instance, end_date=instance.execution_date, next_event=None, updated_at=now))
        except Conflict:
            return None
    moved = msgspec.structs.replace(instance, cycle=following, execution_date=plan.main_date, updated_at=now)
    events = _cycle_events(moved, settings, plan.calendar.task or "", plan.main_date, plan.leading_up, now=now)
    moved = msgspec.structs.replace(moved, next_event=NextEvent(sid=events[0].sid, date=events[0].date))
    try:
        moved = records.save_instance(tenant, moved)
    except Conflict:
        return None
    saved = _store(tenant, events)
    _arm_all(tenant, saved, now=now)
    return moved

"""Cycle dates: pure functions of a strategy's schedule, a date and a time zone.

A time delta moves a date by `amount` `unit`s in the strategy's zone: `months` and `years` keep
the wall-clock time and land on the anchor day (the instance's `executionDay`) or, in a shorter
month, on that month's last day (a monthly cycle from 31 January runs 28 February, 31 March,
30 April, ...: the anchor never drifts to the 28th); `days` keep the wall-clock time across DST;
`hours` and `minutes` are elapsed time. `resetTo` then pins month, day (clamped to the month),
hour (24 is midnight ending the day) and minute on the wall clock. Nothing here reads the clock.
"""

from __future__ import annotations

import calendar as month_lengths
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.engine.execution.definition import (
    ExecutionCalendar,
    ExecutionResetTo,
    ExecutionSchedule,
    ExecutionTimeDelta,
    calendar_for_cycle,
)
from chalicelib.engine.instants import InstantError, parse_instant


class MissingBaseDate(ValueError):
    """A delta's `from` names an attribute that holds no date-time."""

    def __init__(self, attribute: str) -> None:
        super().__init__(f"attribute {attribute!r} must hold an ISO 8601 date-time with an offset")
        self.attribute = attribute


def _add_months(local: datetime, months: int, anchor_day: int | None) -> datetime:
    index = local.year * 12 + (local.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    day = min(anchor_day or local.day, month_lengths.monthrange(year, month)[1])
    return local.replace(year=year, month=month, day=day)


def _wall(local: datetime, zone: ZoneInfo) -> datetime:
    """A wall-clock time in `zone` as an aware UTC instant (the earlier reading of a repeated
    time; a time in a spring-forward gap moves forward by the gap)."""
    naive = local.replace(tzinfo=None)
    return naive.replace(tzinfo=zone).astimezone(UTC)


def reset(instant: datetime, reset_to: ExecutionResetTo, zone: ZoneInfo) -> datetime:
    """`instant` with the wall-clock fields `reset_to` names set (in `zone`)."""
    local = instant.astimezone(zone).replace(tzinfo=None)
    if reset_to.month is not None:
        local = local.replace(day=min(local.day, month_lengths.monthrange(local.year, reset_to.month)[1]),
                              month=reset_to.month)
    if reset_to.day is not None:
        local = local.replace(day=min(reset_to.day, month_lengths.monthrange(local.year, local.month)[1]))
    if reset_to.hour is not None:
        local = local.replace(hour=0) + timedelta(days=1) if reset_to.hour == 24 else local.replace(hour=reset_to.hour)
    if reset_to.minute is not None:
        local = local.replace(minute=reset_to.minute)
    if reset_to.hour is not None or reset_to.minute is not None:
        local = local.replace(second=0, microsecond=0)
    return _wall(local, zone)


def base_date(delta: ExecutionTimeDelta, default: datetime, attributes: Mapping[str, Any]) -> datetime:
    """The date a delta counts from: the instance attribute its `from` names, else `default`."""
    if delta.from_ is None:
        return default
    raw = attributes.get(delta.from_)
    if not isinstance(raw, str):
        raise MissingBaseDate(delta.from_)
    try:
        return parse_instant(raw, what=delta.from_)
    except InstantError:
        raise MissingBaseDate(delta.from_) from None


def shift(base: datetime, delta: ExecutionTimeDelta, zone: ZoneInfo, *, before: bool = False,
          anchor_day: int | None = None, attributes: Mapping[str, Any] | None = None) -> datetime:
    """`base` moved by `delta` (backwards with `before`), then `resetTo` applied; see the module
    docstring. `anchor_day` is the day monthly and yearly steps land on (clamped)."""
    start = base_date(delta, base, attributes or {})
    if delta.from_ is not None:
        anchor_day = None
    sign = -1 if before else 1
    local = start.astimezone(zone)
    if delta.unit in ("months", "years"):
        months = delta.amount * (12 if delta.unit == "years" else 1) * sign
        moved = _wall(_add_months(local, months, anchor_day), zone)
    elif delta.unit == "days":
        moved = _wall(local + timedelta(days=delta.amount * sign), zone)
    else:
        minutes = delta.amount * (60 if delta.unit == "hours" else 1) * sign
        moved = start.astimezone(UTC) + timedelta(minutes=minutes)
    return reset(moved, delta.reset_to, zone) if delta.reset_to is not None else moved


def first_main_date(schedule: ExecutionSchedule, start: datetime, zone: ZoneInfo,
                    attributes: Mapping[str, Any]) -> datetime:
    """Cycle 1's main date: the start date shifted by `initialDelay` (the start date without one)."""
    if schedule.initial_delay is None:
        return start.astimezone(UTC)
    return shift(start, schedule.initial_delay, zone, attributes=attributes)


@dataclass(frozen=True, kw_only=True)
class CyclePlan:
    """One cycle's main date and what runs in it."""

    cycle: int
    calendar: ExecutionCalendar
    main_date: datetime
    #: (task, date) of each leading-up task, in the calendar's order.
    leading_up: tuple[tuple[str, datetime], ...]


def plan_cycle(schedule: ExecutionSchedule, cycle: int, main_date: datetime, zone: ZoneInfo,
               attributes: Mapping[str, Any]) -> CyclePlan | None:
    """The plan of `cycle` whose main date is `main_date`; None when no calendar places it."""
    chosen = calendar_for_cycle(schedule, cycle)
    if chosen is None:
        return None
    leading = tuple(
        (item.task, shift(main_date, item.schedule_before, zone, before=True, attributes=attributes)
         if item.schedule_before is not None else main_date)
        for item in chosen.leading_up_tasks or ())
    return CyclePlan(cycle=cycle, calendar=chosen, main_date=main_date, leading_up=leading)


def next_main_date(schedule: ExecutionSchedule, next_cycle: int, previous_main: datetime, zone: ZoneInfo, *,
                   anchor_day: int, attributes: Mapping[str, Any]) -> datetime | None:
    """Cycle `next_cycle`'s main date: the previous main date shifted by the `scheduleAfter` of
    the calendar that places it (None when none does)."""
    chosen = calendar_for_cycle(schedule, next_cycle)
    if chosen is None:
        return None
    return shift(previous_main, chosen.schedule_after, zone, anchor_day=anchor_day, attributes=attributes)

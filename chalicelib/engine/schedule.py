"""Schedules: validate a trigger expression, compute when it fires, plan catch-up after downtime.

The forms a trigger expression can take (`ScheduleKind`):

- cron: five fields, or six with a leading seconds field, or an alias such as ``@daily``;
- ``@every <duration>``: a fixed period (`1h30m`, `45s`, `1d`), from the schedule's start or
  aligned to the Unix epoch;
- an ISO 8601 repeating interval, ``R/2026-01-01T00:00:00Z/PT1H`` or ``R5/.../P1D``;
- an RFC 5545 RRULE (``FREQ=DAILY;BYHOUR=9``, optionally after a ``DTSTART`` line);
- a single ISO 8601 instant with an offset or ``Z``: fires once.

Cron and RRULE are read on the wall clock of the schedule's IANA zone, with the DST rule of
`schedule_dst`. All instants in and out are aware; fires come out in UTC. Nothing here reads
the clock: callers pass `after` and `now`.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Protocol
from zoneinfo import ZoneInfo

from chalicelib.engine import schedule_iso
from chalicelib.engine.instants import parse_instant, zone_named
from chalicelib.engine.model import CatchUpPolicy
from chalicelib.engine.schedule_cron import parse_cron
from chalicelib.engine.schedule_dst import (
    TICK,
    ExpressionError,
    Fire,
    WallClockRule,
    first_instant,
    next_zoned_fire,
)
from chalicelib.engine.schedule_iso import EPOCH, MIN_INTERVAL, IsoDuration, Repetition
from chalicelib.engine.schedule_rrule import parse_rrule
from chalicelib.errors import ValidationError
from chalicelib.timefmt import require_aware

__all__ = [
    "MIN_INTERVAL",
    "CatchUpPlan",
    "Fire",
    "Schedule",
    "ScheduleKind",
    "iter_fires",
    "next_fire",
    "parse_duration",
    "parse_schedule",
    "plan_catch_up",
    "preview",
    "schedule_of",
]

class ScheduleKind(StrEnum):
    """Which form a trigger expression takes."""

    #: Five or six cron fields, or an alias such as `@hourly`.
    CRON = "cron"
    #: `@every <duration>`.
    EVERY = "every"
    #: An ISO 8601 repeating interval, `R/<start>/<duration>`.
    INTERVAL = "interval"
    #: An RFC 5545 recurrence rule.
    RRULE = "rrule"
    #: A single ISO 8601 instant.
    ONCE = "once"


@dataclass(frozen=True, kw_only=True)
class Schedule:
    """A validated trigger: an expression, the zone it is read in, and optional bounds."""

    kind: ScheduleKind
    #: The expression as written (surrounding whitespace removed).
    expression: str
    #: IANA zone whose wall clock cron and RRULE expressions are read on.
    timezone: str = "UTC"
    #: No fire before this instant (inclusive); anchors `@every`.
    start: datetime | None = None
    #: No fire after this instant (inclusive).
    end: datetime | None = None


def schedule_of(
    expression: str, *, timezone: str = "UTC", start: datetime | None = None, end: datetime | None = None
) -> Schedule:
    """The schedule an expression names, its kind read from its form, not checked yet: a face
    that validates a document's shape first and leaves the expression to `parse_schedule`."""
    return Schedule(kind=_kind_of(expression.strip()), expression=expression, timezone=timezone, start=start, end=end)


@dataclass(frozen=True, kw_only=True)
class CatchUpPlan:
    """The missed nominal times of one gap, and which of them to run now."""

    #: The nominal times in the gap, oldest first; at most `cap` of them, the newest.
    missed: list[datetime]
    #: The nominal times to run now under the policy, oldest first.
    to_run: list[datetime]


def parse_schedule(
    expression: str,
    *,
    timezone: str = "UTC",
    start: datetime | None = None,
    end: datetime | None = None,
    field: str = "cron",
    timezone_field: str = "timezone",
    end_field: str | None = None,
) -> Schedule:
    """Validate a trigger expression and its zone and bounds.

    Raises `ValidationError` located at `field` (the expression), `timezone_field` or
    `end_field` (default: the sibling of `field` named `end`). Naive bounds raise ValueError.
    """
    zone_named(timezone, field=timezone_field)
    start = require_aware(start, "start").astimezone(UTC) if start is not None else None
    end = require_aware(end, "end").astimezone(UTC) if end is not None else None
    if start is not None and end is not None and start > end:
        location = end_field or _sibling(field, "end")
        raise ValidationError("end is before start", location=location, value=end.isoformat())
    if not isinstance(expression, str):
        raise ValidationError("schedule expression must be a string", location=field, value=expression)
    text = expression.strip()
    if not text:
        raise ValidationError("schedule expression is empty", location=field, value=expression)
    schedule = Schedule(kind=_kind_of(text), expression=text, timezone=timezone, start=start, end=end)
    try:
        _compile(schedule)
    except ExpressionError as exc:
        raise ValidationError(str(exc), location=field, value=expression) from None
    except ArithmeticError:  # a library's overflow on a value we did not bound ourselves
        message = "schedule expression has a value out of range; dates must fall in years 1 to 9999"
        raise ValidationError(message, location=field, value=expression) from None
    return schedule


def next_fire(schedule: Schedule, after: datetime) -> Fire | None:
    """The first fire strictly after the aware instant `after`; None once the schedule has ended.

    A fire with `dst_skipped` is the second pass of a repeated wall time: record it, do not run it.
    """
    require_aware(after, "after")
    if schedule.start is not None and after < schedule.start:
        after = schedule.start - TICK
    try:
        fire = _compile(schedule).next_after(after)
    except OverflowError:  # the next fire would lie past the end of the calendar (year 9999)
        return None
    if fire is None or (schedule.end is not None and fire.at > schedule.end):
        return None
    return fire


def iter_fires(schedule: Schedule, after: datetime) -> Iterator[Fire]:
    """Every fire strictly after `after`, in order (endless for most schedules)."""
    fire = next_fire(schedule, after)
    while fire is not None:
        yield fire
        fire = next_fire(schedule, fire.at)


def plan_catch_up(
    schedule: Schedule, *, last_fire: datetime, now: datetime, policy: CatchUpPolicy, cap: int = 100
) -> CatchUpPlan:
    """Plan a gap: the nominal times strictly after `last_fire` and at or before `now`.

    `missed` keeps the newest `cap` of them; `dst_skipped` repeats are not part of a gap.
    Under `ALL` the same capped list is run, oldest first.
    """
    require_aware(last_fire, "last_fire")
    require_aware(now, "now")
    if cap < 1:
        raise ValueError("cap must be at least 1")
    missed = _newest_fires(schedule, after=last_fire, until=now, limit=cap)
    to_run = {CatchUpPolicy.SKIP: [], CatchUpPolicy.LATEST: missed[-1:],
              CatchUpPolicy.ALL: list(missed)}[CatchUpPolicy(policy)]
    return CatchUpPlan(missed=missed, to_run=to_run)


def parse_duration(text: str, *, field: str = "duration") -> timedelta:
    """A Go-style duration (`1h30m`, `2s`, `500ms`, also `1d`, `1w`); ValidationError at `field`."""
    try:
        return schedule_iso.parse_duration(text)
    except ExpressionError as exc:
        raise ValidationError(str(exc), location=field, value=text) from None


def preview(
    expression: str,
    *,
    timezone: str = "UTC",
    after: datetime,
    count: int,
    field: str = "cron",
    timezone_field: str = "timezone",
) -> list[str]:
    """The next `count` fires as lines: ISO 8601 in the schedule's zone, `dst_skipped` marked.

    A line reads `2026-11-01T01:30:00-05:00 dst_skipped` for a repeat that is recorded but not run.
    """
    schedule = parse_schedule(expression, timezone=timezone, field=field, timezone_field=timezone_field)
    zone = ZoneInfo(schedule.timezone)
    lines = []
    for fire in itertools.islice(iter_fires(schedule, after), count):
        line = fire.at.astimezone(zone).isoformat()
        lines.append(f"{line} dst_skipped" if fire.dst_skipped else line)
    return lines


# -- compiling an expression into a trigger ---------------------------------------------------


class _Trigger(Protocol):
    def next_after(self, after: datetime) -> Fire | None: ...


@dataclass(frozen=True)
class _WallClockTrigger:
    rule: WallClockRule
    zone: ZoneInfo

    def next_after(self, after: datetime) -> Fire | None:
        return next_zoned_fire(self.rule, self.zone, after)


@dataclass(frozen=True)
class _RepetitionTrigger:
    repetition: Repetition
    zone: ZoneInfo

    def next_after(self, after: datetime) -> Fire | None:
        at = self.repetition.next_after(after, self.zone)
        return Fire(at=at) if at is not None else None


@dataclass(frozen=True)
class _OnceTrigger:
    at: datetime

    def next_after(self, after: datetime) -> Fire | None:
        return Fire(at=self.at) if self.at > after else None


@functools.lru_cache(maxsize=512)
def _compile(schedule: Schedule) -> _Trigger:
    """The trigger of a schedule; raises ExpressionError for an expression it cannot use."""
    zone = ZoneInfo(schedule.timezone)
    text = schedule.expression
    # RRULEs and intervals without a start of their own count from midnight, 1 January 1970, on
    # the zone's wall clock; `@every` is elapsed time and aligns to the Unix epoch itself.
    local_epoch = schedule.start or first_instant(datetime(1970, 1, 1), zone)  # noqa: DTZ001 - a wall time
    if schedule.kind is ScheduleKind.CRON:
        return _WallClockTrigger(parse_cron(text), zone)
    if schedule.kind is ScheduleKind.RRULE:
        return _WallClockTrigger(parse_rrule(text, zone=zone, default_start=local_epoch), zone)
    if schedule.kind is ScheduleKind.EVERY:
        return _RepetitionTrigger(_every(text, anchor=schedule.start or EPOCH), zone)
    if schedule.kind is ScheduleKind.INTERVAL:
        return _RepetitionTrigger(schedule_iso.parse_repeating_interval(text, default_anchor=local_epoch), zone)
    return _OnceTrigger(parse_instant(text))


def _every(text: str, *, anchor: datetime) -> Repetition:
    duration_text = text[len("@every") :].strip()
    if not duration_text:
        raise ExpressionError("@every needs a duration, such as @every 1h30m")
    period = schedule_iso.parse_duration(duration_text)
    if period < MIN_INTERVAL:
        raise ExpressionError(f"@every {duration_text} is too short; fires can be at most once a second")
    return Repetition(anchor, IsoDuration(elapsed=period))


def _kind_of(text: str) -> ScheduleKind:
    upper = text.upper()
    if upper.startswith(("RRULE:", "FREQ=", "DTSTART")):
        return ScheduleKind.RRULE
    if re.match(r"R\d*/", upper):
        return ScheduleKind.INTERVAL
    if re.match(r"@EVERY(\s|$)", upper):
        return ScheduleKind.EVERY
    if re.match(r"\d{4}-?\d{2}-?\d{2}(T|$)", upper):
        return ScheduleKind.ONCE
    return ScheduleKind.CRON


def _sibling(field: str, name: str) -> str:
    """`body.cron` -> `body.end`: a field next to `field`."""
    parent, dot, _ = field.rpartition(".")
    return f"{parent}{dot}{name}"


# -- catch-up ---------------------------------------------------------------------------------


def _newest_fires(schedule: Schedule, *, after: datetime, until: datetime, limit: int) -> list[datetime]:
    """The newest `limit` fires in (after, until], oldest first, dst-skipped repeats left out.

    The look-back window doubles until it holds `limit` fires or reaches `after`, so a long gap
    of a frequent schedule costs about `limit` steps, not one per missed time.
    """
    span = timedelta(seconds=1)
    while True:
        since = max(after, until - span)
        fires = [fire.at for fire in _fires_between(schedule, since, until) if not fire.dst_skipped]
        if len(fires) >= limit or since == after:
            return fires[-limit:]
        span *= 2


def _fires_between(schedule: Schedule, after: datetime, until: datetime) -> Iterator[Fire]:
    return itertools.takewhile(lambda fire: fire.at <= until, iter_fires(schedule, after))

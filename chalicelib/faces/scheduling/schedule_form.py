"""`start.schedule` of a task document, read into the engine's `Schedule` (seed 000).

A schedule object holds exactly one of ``cron``, ``interval`` and ``recurrence``; a string
schedule is an ISO 8601 repeating interval. Naive ``startDateTime``/``endDateTime``/
``validUntil`` are read in the schedule's ``timezone``. The cron expression itself is passed
through: the engine parses it when the task is saved.
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from chalicelib.engine.instants import instant_field, zone_named
from chalicelib.engine.schedule import Schedule, schedule_of
from chalicelib.errors import ValidationError
from chalicelib.faces.request_models import filled, refuse
from chalicelib.faces.scheduling.requests import SchedulingCron, SchedulingScheduleObject, SchedulingStart

_DURATION = re.compile(r"P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?", re.IGNORECASE)
_REPEAT = re.compile(r"R\d*", re.IGNORECASE)
_UTC = ZoneInfo("UTC")


def parse_start(start: SchedulingStart | None, state_names: set[str | None] | None) -> Schedule | None:
    """The schedule of a `start` (None without one); `start.stateName` must name a state."""
    if start is None:
        return None
    name = start.stateName
    if name is not None and state_names is not None and name not in state_names:
        refuse("start.stateName", f"names no state of this task ('{name}')", name)
    if start.schedule is None:
        refuse("start.schedule", "is required")
    return parse_schedule(start.schedule, "start.schedule")


def parse_schedule(value: SchedulingScheduleObject | str, path: str) -> Schedule:
    """One schedule, string or object, located at `path`."""
    if isinstance(value, str):
        return schedule_of(_interval(value, path))
    forms = [key for key in ("cron", "interval", "recurrence") if getattr(value, key) is not None]
    if len(forms) != 1:
        refuse(path, "must hold exactly one of cron, interval, recurrence", sorted(forms) or None)
    zone = _zone(value.timezone, f"{path}.timezone") if value.timezone is not None else _UTC
    start = _instant(value.startDateTime, f"{path}.startDateTime", zone)
    end = _instant(value.endDateTime, f"{path}.endDateTime", zone)
    if start and end and end <= start:
        refuse(f"{path}.endDateTime", "must be after startDateTime", value.endDateTime)
    if value.interval is not None:
        expression = _interval(value.interval, f"{path}.interval")
    elif value.recurrence is not None:
        expression = _recurrence(value.recurrence, f"{path}.recurrence")
    else:
        expression, valid_until = _cron(value.cron, f"{path}.cron", zone)
        end = min(end, valid_until) if end and valid_until else end or valid_until
    return schedule_of(expression, timezone=value.timezone or "UTC", start=start, end=end)


def _zone(name: str, path: str) -> ZoneInfo:
    try:
        return zone_named(name, field=path)
    except ValidationError:
        refuse(path, "must be an IANA time zone name such as UTC or Europe/Stockholm", name)


def _instant(text: str | None, path: str, zone: ZoneInfo) -> datetime | None:
    return instant_field(text, field=path, naive_zone=zone) if text is not None else None


def _interval(text: str, path: str) -> str:
    parts = text.split("/")
    if len(parts) not in (2, 3) or not _REPEAT.fullmatch(parts[0]):
        refuse(path, "must be an ISO 8601 repeating interval such as R/2025-01-01T00:00:00Z/PT1H", text)
    rest = parts[1:]
    durations = [part for part in rest if _DURATION.fullmatch(part)]
    if len(durations) != 1:
        refuse(path, "must hold exactly one ISO 8601 duration such as PT1H", text)
    for part in rest:
        if part not in durations:
            instant_field(part, field=path, naive_zone=_UTC)
    return text


def _recurrence(text: str, path: str) -> str:
    rule = text.strip()
    if rule[:6].upper() == "RRULE:":
        rule = rule[6:]
    if not rule.upper().startswith("FREQ="):
        refuse(path, "must be an RRULE such as RRULE:FREQ=DAILY;INTERVAL=1 (starting RRULE: or FREQ=)", text)
    return "RRULE:" + rule


def _cron(value: SchedulingCron | str | None, path: str, zone: ZoneInfo) -> tuple[str, datetime | None]:
    if value is None:
        refuse(path, "is required")
    if isinstance(value, str):
        return filled(value, path), None
    expression = filled(value.expression, f"{path}.expression")
    return expression, _instant(value.validUntil, f"{path}.validUntil", zone)

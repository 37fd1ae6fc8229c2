"""RFC 5545 recurrence rules (dateutil.rrule) read on the wall clock of the schedule's zone.

Accepted: `FREQ=...`, `RRULE:FREQ=...`, or a block of a `DTSTART` line and an `RRULE` line.
DTSTART may be floating (read in the schedule's zone), UTC (`Z`) or carry a `TZID`; without one
the rule starts at `default_start` (the schedule's start, or else midnight, 1 January 1970, on
the zone's wall clock: so `FREQ=WEEKLY` alone fires on Thursdays at midnight). A `UNTIL` in UTC is converted to the
zone's wall clock. The rule produces wall times; `schedule_dst` turns them into instants, so a
rule is *fixed* (a cron job naming its minutes and hours) when it names its hours (`FREQ` of a
day or longer, or `BYHOUR`) and its minutes (`FREQ` of an hour or longer, or `BYMINUTE`);
otherwise it is a wildcard rule, like a cron job whose minute or hour field starts with `*`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr

from chalicelib.engine.instants import zone_named
from chalicelib.engine.schedule_dst import ExpressionError, first_instant
from chalicelib.engine.schedule_iso import MAX_DIGITS
from chalicelib.errors import ValidationError

#: Frequencies whose periods are a fixed stretch of wall-clock time, in seconds per period.
_FIXED_PERIODS = {"SECONDLY": 1, "MINUTELY": 60, "HOURLY": 3600, "DAILY": 86_400, "WEEKLY": 604_800}
#: Frequencies whose occurrences keep DTSTART's hour unless BYHOUR says otherwise.
_NAMED_HOURS = {"YEARLY", "MONTHLY", "WEEKLY", "DAILY"}
#: Frequencies whose occurrences keep DTSTART's minute unless BYMINUTE says otherwise.
_NAMED_MINUTES = _NAMED_HOURS | {"HOURLY"}
#: A leap year late in the calendar: dateutil stops searching at year 9999, so a rule that can
#: never match is found out within about 30 years instead of 8,000.
_PROBE_YEAR = 9968
_TOO_MANY_DIGITS = re.compile(rf"\d{{{MAX_DIGITS + 1},}}")
_DTSTART = re.compile(r"DTSTART((?:;[A-Z-]+=[^;:]+)*):(\d{8})(?:T(\d{6})(Z?))?", re.IGNORECASE)


@dataclass(frozen=True)
class RecurrenceRule:
    """A validated RRULE over naive wall-clock time."""

    rule: rrule
    #: DTSTART on the wall clock: where the rule's periods are counted from.
    start: datetime
    #: Whether the rule names its minutes and hours (see the module docstring): a time in a gap
    #: is caught up after it, a repeated wall time runs on its first pass only.
    fixed: bool
    #: Wall-clock length of one period when the rule may be fast-forwarded by whole periods
    #: (fixed-length frequency, no COUNT); None otherwise.
    period: timedelta | None

    def next_wall(self, wall: datetime) -> datetime | None:
        """The first occurrence strictly after naive `wall`, or None when the rule has ended."""
        return self._from_near(wall).after(wall.replace(microsecond=0), inc=False)

    def _from_near(self, wall: datetime) -> rrule:
        """The same rule restarted a whole number of periods later, just before `wall`.

        dateutil walks from DTSTART; restarting a DAILY rule from 1970 on every call would
        walk 20,000 days. Shifting DTSTART by whole periods keeps every occurrence after it.
        """
        if self.period is None or wall - self.start < 2 * self.period:
            return self.rule
        periods = (wall - self.start) // self.period - 1
        return self.rule.replace(dtstart=self.start + periods * self.period)


def parse_rrule(text: str, *, zone: tzinfo, default_start: datetime) -> RecurrenceRule:
    """Validate an RRULE (optionally with a DTSTART line); raises ExpressionError."""
    dtstart_line, rule_line = _split_lines(text)
    dtstart = _dtstart(dtstart_line, zone) if dtstart_line else _wall(default_start, zone)
    parts = _rule_parts(rule_line)
    if "UNTIL" in parts and parts["UNTIL"].upper().endswith("Z"):
        try:
            until = datetime.strptime(parts["UNTIL"].upper(), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        except ValueError:
            raise ExpressionError(f"RRULE is not valid: UNTIL {parts['UNTIL']!r} is not a date-time") from None
        parts["UNTIL"] = _wall(until, zone).strftime("%Y%m%dT%H%M%S")
    try:
        rule = rrulestr(";".join(f"{key}={value}" for key, value in parts.items()), dtstart=dtstart)
    except (ValueError, TypeError, OverflowError) as exc:
        raise ExpressionError(f"RRULE is not valid: {exc}") from None
    if not isinstance(rule, rrule):  # dateutil returns a set only for several lines; this is one
        raise ExpressionError("RRULE is not valid: one rule expected")
    freq = parts["FREQ"].upper()
    fixed_period = _FIXED_PERIODS.get(freq)
    period = None
    if fixed_period and "COUNT" not in parts:
        period = timedelta(seconds=fixed_period) * int(parts.get("INTERVAL", 1))
    _check_fires(rule, dtstart)
    fixed = (freq in _NAMED_HOURS or "BYHOUR" in parts) and (freq in _NAMED_MINUTES or "BYMINUTE" in parts)
    return RecurrenceRule(rule, dtstart, fixed=fixed, period=period)


def _split_lines(text: str) -> tuple[str | None, str]:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    dtstarts = [line for line in lines if line.upper().startswith("DTSTART")]
    rules = [line for line in lines if line.upper().startswith(("RRULE:", "FREQ="))]
    others = [line.split(":")[0].split(";")[0] for line in lines if line not in dtstarts and line not in rules]
    if others:
        raise ExpressionError(f"only DTSTART and RRULE lines are supported; found {', '.join(others)}")
    if len(rules) != 1 or len(dtstarts) > 1:
        raise ExpressionError("expected one RRULE line (such as RRULE:FREQ=DAILY;BYHOUR=9) and at most one DTSTART")
    return (dtstarts[0] if dtstarts else None), rules[0]


def _rule_parts(line: str) -> dict[str, str]:
    body = line[6:] if line.upper().startswith("RRULE:") else line
    parts: dict[str, str] = {}
    for item in body.split(";"):
        key, equals, value = item.partition("=")
        if not equals or not key or not value:
            raise ExpressionError(f"RRULE part {item!r} is not NAME=VALUE")
        if key.upper() == "DTSTART":
            raise ExpressionError("put DTSTART on its own line before the RRULE line")
        parts[key.upper()] = value
    if "FREQ" not in parts:
        raise ExpressionError("RRULE needs FREQ, such as FREQ=DAILY")
    for key, value in parts.items():
        if _TOO_MANY_DIGITS.search(value):
            raise ExpressionError(f"RRULE part {key}={value[:20]}: a number is out of range")
    interval = parts.get("INTERVAL", "1")
    if not interval.isdigit() or int(interval) < 1:
        raise ExpressionError(f"RRULE part INTERVAL={interval}: must be a whole number of at least 1")
    return parts


def _dtstart(line: str, zone: tzinfo) -> datetime:
    match = _DTSTART.fullmatch(line)
    if match is None:
        raise ExpressionError(f"{line!r} is not a DTSTART such as DTSTART:20260101T090000Z")
    params, day, time, utc = match.groups()
    wall = datetime.strptime(day + (time or "000000"), "%Y%m%d%H%M%S")  # noqa: DTZ007 - a wall-clock reading
    tzid = dict(param.split("=", 1) for param in params.split(";")[1:]).get("TZID") if params else None
    if utc:
        return _wall(wall.replace(tzinfo=UTC), zone)
    if tzid:
        return _wall(first_instant(wall, _zone(tzid)), zone)
    return wall


def _zone(name: str) -> ZoneInfo:
    try:
        return zone_named(name, field="DTSTART")
    except ValidationError:
        raise ExpressionError(f"DTSTART names an unknown time zone {name!r}") from None


def _wall(instant: datetime, zone: tzinfo) -> datetime:
    try:
        return instant.astimezone(zone).replace(tzinfo=None, fold=0)
    except OverflowError:
        raise ExpressionError(f"{instant.isoformat()} is out of range in this zone (years 1 to 9999)") from None


def _check_fires(rule: rrule, start: datetime) -> None:
    probe_start = start.replace(year=_PROBE_YEAR)
    probe = rule.replace(dtstart=probe_start, count=None, until=None)
    if probe.after(probe_start, inc=True) is None:
        raise ExpressionError("RRULE can never fire: no date matches all of its BY parts")
    if rule.after(start, inc=True) is None:
        raise ExpressionError("RRULE never fires: its COUNT or UNTIL ends it before its first occurrence")

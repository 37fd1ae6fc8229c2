"""Instants, durations and repeating intervals: ISO 8601 forms and the Go-style `@every` duration.

A repeating interval fires at the start of each of its intervals. The calendar part of an ISO
duration (years, months, weeks, days) is added on the wall clock of the schedule's zone, so
`P1D` keeps the local time of day across a DST change; the clock part (hours, minutes,
seconds) is elapsed time, so `PT24H` does not.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal

from dateutil.relativedelta import relativedelta

from chalicelib.engine.instants import parse_instant
from chalicelib.engine.schedule_dst import ExpressionError, first_instant

#: Where `@every` without a start is aligned: the Unix epoch.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: The shortest step of any schedule: the finest resolution of a cron expression or an RRULE,
#: so no form of expression (`@every 500ms`, `PT0.001S`) fires more often than they can.
MIN_INTERVAL = timedelta(seconds=1)
#: Numbers in an expression longer than this are out of every range (and slow to convert).
MAX_DIGITS = 9

_GO_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h|d|w)")
_GO_UNITS_US = {
    "ns": Decimal("0.001"),
    "us": Decimal(1),
    "µs": Decimal(1),
    "μs": Decimal(1),
    "ms": Decimal(1_000),
    "s": Decimal(1_000_000),
    "m": Decimal(60_000_000),
    "h": Decimal(3_600_000_000),
    "d": Decimal(86_400_000_000),
    "w": Decimal(604_800_000_000),
}
_ISO_DURATION = re.compile(
    r"P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:[.,]\d+)?)S)?)?",
    re.IGNORECASE,
)
_REPEAT = re.compile(r"R(\d*)", re.IGNORECASE)


@dataclass(frozen=True)
class IsoDuration:
    """An ISO 8601 duration split into its calendar part and its elapsed-time part."""

    years: int = 0
    months: int = 0
    #: Weeks are counted here as seven days.
    days: int = 0
    elapsed: timedelta = timedelta(0)

    @property
    def has_calendar_part(self) -> bool:
        """Whether adding it depends on the calendar and the zone."""
        return bool(self.years or self.months or self.days)

    def approximate(self) -> timedelta:
        """Its mean length, for estimating how many steps fit in a span."""
        days = self.years * 365.2425 + self.months * 30.436875 + self.days
        return timedelta(days=days) + self.elapsed


@dataclass(frozen=True)
class Repetition:
    """Instants `anchor + k * step` for whole k from `first` to `last` (None: no bound)."""

    anchor: datetime
    step: IsoDuration
    first: int | None = None
    last: int | None = None

    def __post_init__(self) -> None:
        # However the repetition was built (or stored, before this check), it never fires
        # faster than the minimum.
        if not self.step.has_calendar_part and self.step.elapsed < MIN_INTERVAL:
            raise ExpressionError(
                f"a step of {self.step.elapsed.total_seconds():g} s is too short; fires can be at most once a second"
            )

    def next_after(self, after: datetime, zone: tzinfo) -> datetime | None:
        """The first instant of the repetition strictly after `after`, or None."""
        try:
            index = self._first_index_after(after, zone)
            if self.first is not None:
                index = max(index, self.first)
            if self.last is not None and index > self.last:
                return None
            return self.at(index, zone)
        except (OverflowError, ValueError):  # past the calendar's end (year 9999)
            return None

    def at(self, index: int, zone: tzinfo) -> datetime:
        """The `index`-th instant (UTC); the anchor is number 0."""
        step = self.step
        if index == 0 or not step.has_calendar_part:
            return self.anchor + step.elapsed * index
        wall = self.anchor.astimezone(zone).replace(tzinfo=None, fold=0)
        shift = relativedelta(years=step.years * index, months=step.months * index, days=step.days * index)
        return first_instant(wall + shift, zone) + step.elapsed * index

    def _first_index_after(self, after: datetime, zone: tzinfo) -> int:
        index = math.floor((after - self.anchor) / self.step.approximate())
        while (self.first is None or index > self.first) and self.at(index - 1, zone) > after:
            index -= 1
        while self.at(index, zone) <= after:
            index += 1
        return index


def parse_iso_duration(text: str) -> IsoDuration:
    """An ISO 8601 duration such as `PT1H`, `P1D` or `P1Y2M10DT2H30M`; it must not be zero."""
    match = _ISO_DURATION.fullmatch(text)
    if match is None:
        raise ExpressionError(f"{text!r} is not an ISO 8601 duration such as PT1H, P1D or P1W")
    too_long = ExpressionError(f"duration {text!r} is too long; a schedule's step must fit in the calendar")
    if any(len((part or "").partition(".")[0].partition(",")[0]) > MAX_DIGITS for part in match.groups()):
        raise too_long
    years, months, weeks, days, hours, minutes = (int(part or 0) for part in match.groups()[:6])
    seconds = Decimal((match.group(7) or "0").replace(",", "."))
    try:
        elapsed = timedelta(hours=hours, minutes=minutes, seconds=float(seconds))
        duration = IsoDuration(years=years, months=months, days=weeks * 7 + days, elapsed=elapsed)
        duration.approximate()
    except OverflowError:
        raise too_long from None
    if not duration.has_calendar_part and elapsed <= timedelta(0):
        raise ExpressionError(f"duration {text!r} is zero; a schedule needs a positive step")
    return duration


def parse_repeating_interval(text: str, *, default_anchor: datetime) -> Repetition:
    """`R[n]/<start>/<duration>`, `R[n]/<duration>/<end>` or `R[n]/<duration>`.

    Without a start or end the repetition is anchored at `default_anchor`. `R` repeats without
    end; `Rn` fires n times.
    """
    parts = text.split("/")
    repeat = _REPEAT.fullmatch(parts[0])
    if repeat is None or len(parts) not in (2, 3):
        example = "R/2026-01-01T00:00:00Z/PT1H or R5/2026-01-01T00:00:00Z/P1D"
        raise ExpressionError(f"{text!r} is not an ISO 8601 repeating interval such as {example}")
    if len(repeat.group(1)) > MAX_DIGITS:
        raise ExpressionError(f"{parts[0]!r} repeats too many times; write R alone to repeat without end")
    count = int(repeat.group(1)) if repeat.group(1) else None
    if count == 0:
        raise ExpressionError(f"{text!r} repeats zero times and would never fire")
    if len(parts) == 2:
        last = count - 1 if count else None
        return Repetition(default_anchor, parse_iso_duration(parts[1]), 0 if count else None, last)
    if parts[1][:1].upper() == "P":  # <duration>/<end>: the intervals end at `end`
        end = parse_instant(parts[2], what="interval end")
        return Repetition(end, parse_iso_duration(parts[1]), -count if count else None, -1)
    if parts[2][:1].upper() != "P":
        raise ExpressionError(f"{text!r} needs a duration, such as R/2026-01-01T00:00:00Z/PT1H")
    start = parse_instant(parts[1], what="interval start")
    return Repetition(start, parse_iso_duration(parts[2]), 0, count - 1 if count else None)


def parse_duration(text: str) -> timedelta:
    """A Go-style duration (`1h30m`, `2s`, `500ms`) with `d` and `w` for days and weeks.

    Raises ExpressionError for text that is not a positive duration.
    """
    compact = text.strip()
    if not compact or re.fullmatch(f"(?:{_GO_PART.pattern})+", compact) is None:
        raise ExpressionError(f"{text!r} is not a duration; write it like 1h30m, 45s, 500ms, 1d or 1w")
    micros = sum(Decimal(number) * _GO_UNITS_US[unit] for number, unit in _GO_PART.findall(compact))
    try:
        duration = timedelta(microseconds=int(micros))
    except OverflowError:
        raise ExpressionError(f"duration {text!r} is too long; the longest is {timedelta.max.days} days") from None
    if duration <= timedelta(0):
        raise ExpressionError(f"duration {text!r} must be longer than zero")
    return duration

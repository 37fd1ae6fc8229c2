"""The DST rule: from wall-clock times in a schedule's zone to UTC instants.

Cron and RRULE schedules are rules over the wall clock of the schedule's zone; this module turns
such a rule into fire instants with one rule for every face (DESIGN.md section 4):

- a rule is a *wildcard* rule when its minute or its hour field starts with `*` (`*`, `*/n`), as
  Vixie cron decides; otherwise it is *fixed* (it names the minutes and hours it runs at);
- a wall time in a spring-forward gap does not exist: a fixed rule fires once, at the first
  instant after the gap; a wildcard rule is not caught up, it fires at its next wall time that
  exists;
- a wall time in a fall-back fold exists twice: the first pass fires; the second pass fires too
  for a wildcard rule, and is otherwise returned as ``dst_skipped``: recorded by the engine,
  never executed.

Fire instants strictly increase and every local time they stand for exists.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Protocol

#: The smallest step of time; `next_wall(t - TICK)` asks for the first wall time at or after `t`.
TICK = timedelta(microseconds=1)
#: A search that meets this many gaps in a row gives up (a zone has one or two a year).
_MAX_GAPS = 8


@dataclass(frozen=True, kw_only=True)
class Fire:
    """One nominal fire time of a schedule."""

    #: The instant, aware, in UTC.
    at: datetime
    #: The second pass of a repeated (fall-back) wall time of a fixed rule: the engine records it
    #: as a run ended ``dst_skipped`` and does not execute it.
    dst_skipped: bool = False


class ExpressionError(ValueError):
    """A schedule expression that cannot be used; the message is written for a human."""


class WallClockRule(Protocol):
    """A recurrence over naive wall-clock time (what a cron expression or an RRULE describes)."""

    @property
    def fixed(self) -> bool:
        """True when the rule names both its minutes and its hours (no `*` leads either field): a
        time in a gap is caught up after it, a repeated time runs on its first pass only."""
        ...

    def next_wall(self, wall: datetime) -> datetime | None:
        """The first matching naive wall time strictly after naive `wall`, or None if none."""
        ...


def next_zoned_fire(rule: WallClockRule, zone: tzinfo, after: datetime) -> Fire | None:
    """The first fire of `rule`, read in `zone`, strictly after the aware instant `after`."""
    local = after.astimezone(zone)
    starts = [_naive(local)]
    if _in_first_pass(local):
        # The second pass of this fold lies ahead in time but behind in wall-clock reading.
        starts.append(_naive(_transition(after, after + _fold_size(local), zone).astimezone(zone)) - TICK)
    fires: list[Fire] = []
    for start in starts:
        fires.extend(fire for fire in _fires_from(rule, zone, start) if fire.at > after)
    return min(fires, key=lambda fire: fire.at, default=None)


def _fires_from(rule: WallClockRule, zone: tzinfo, start: datetime) -> list[Fire]:
    """The fires of the first wall time after naive `start` that stands for any.

    Only a wildcard rule's time in a gap stands for none: the search goes on from the gap's
    end. A zone's gaps are months apart, so this loops once or twice; a rule whose every time
    falls in a gap is given up on after `_MAX_GAPS` of them (it never fires).
    """
    for _ in range(_MAX_GAPS):
        wall = rule.next_wall(start)
        if wall is None:
            return []
        fires = resolve_wall(wall, zone, fixed=rule.fixed)
        if fires:
            return fires
        start = _naive(_gap_end(wall, zone).astimezone(zone)) - TICK
    return []


def resolve_wall(wall: datetime, zone: tzinfo, *, fixed: bool) -> list[Fire]:
    """The fires that the naive wall time `wall` of a rule stands for in `zone`, oldest first.

    One fire for an ordinary time. For a time in a gap, the first instant after the gap when
    the rule is `fixed`, else none. Both passes for a repeated time, the second one
    ``dst_skipped`` when the rule is `fixed`.
    """
    first, second = wall.replace(tzinfo=zone, fold=0), wall.replace(tzinfo=zone, fold=1)
    early, late = _offset(first), _offset(second)
    if early == late:
        return [Fire(at=first.astimezone(UTC))]
    if early < late:
        return [Fire(at=_gap_end(wall, zone))] if fixed else []
    return [Fire(at=first.astimezone(UTC)), Fire(at=second.astimezone(UTC), dst_skipped=fixed)]


def first_instant(wall: datetime, zone: tzinfo) -> datetime:
    """The instant (UTC) of a naive wall time: its first pass, or the end of the gap it is in."""
    return resolve_wall(wall, zone, fixed=True)[0].at


def _gap_end(wall: datetime, zone: tzinfo) -> datetime:
    """The first instant (UTC) after the gap that the naive wall time `wall` falls in."""
    # fold=0 reads a time in a gap with the offset from before the jump, fold=1 with the one after.
    first, second = wall.replace(tzinfo=zone, fold=0), wall.replace(tzinfo=zone, fold=1)
    return _transition(second.astimezone(UTC), first.astimezone(UTC), zone)


def _naive(local: datetime) -> datetime:
    return local.replace(tzinfo=None, fold=0)


def _in_first_pass(local: datetime) -> bool:
    """Whether `local` reads a wall time that the clock will show again after falling back."""
    return local.fold == 0 and _offset(local) > _offset(local.replace(fold=1))


def _fold_size(local: datetime) -> timedelta:
    return _offset(local) - _offset(local.replace(fold=1))


def _offset(local: datetime) -> timedelta:
    """The UTC offset of an aware time (a zone always has one; a naive time is a caller's bug)."""
    offset = local.utcoffset()
    if offset is None:
        raise ValueError(f"{local!r} is naive: it has no UTC offset")
    return offset


def _transition(before: datetime, after: datetime, zone: tzinfo) -> datetime:
    """The first whole second in (before, after] that already has the UTC offset of `after`.

    Offsets change on whole seconds in the tz database, and only once in the short spans this
    is asked about (one gap or one fold), so a bisection over seconds finds the change.
    """
    target = after.astimezone(zone).utcoffset()
    low, high = math.floor(before.timestamp()), math.ceil(after.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, UTC).astimezone(zone).utcoffset() == target:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)

"""Cron expressions: validation with messages for humans, matching on the wall clock by croniter.

Five fields (minute hour day-of-month month day-of-week), or six with a leading seconds field;
the aliases ``@hourly`` to ``@yearly``; names for months (JAN) and weekdays (MON); `?`; `L` for
the last day of the month and `n#k` for the k-th weekday n of the month. croniter matches naive
wall times; the DST rule that turns them into instants is `schedule_dst`'s.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime

from croniter import CroniterBadDateError, CroniterError, croniter

from chalicelib.engine.schedule_dst import ExpressionError
from chalicelib.engine.schedule_iso import MAX_DIGITS

ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

#: Far enough back that a search from here finds a first fire for every satisfiable expression.
_PROBE_FROM = datetime(2000, 1, 1)  # noqa: DTZ001 - a wall-clock reading, zone-free on purpose


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    #: Names of the values from `low` upwards (JAN=1, SUN=0).
    names: tuple[str, ...] = ()


_SECOND = _Field("second", 0, 59)
_MINUTE = _Field("minute", 0, 59)
_HOUR = _Field("hour", 0, 23)
_DAY = _Field("day-of-month", 1, 31)
_MONTH = _Field("month", 1, 12, tuple(name.upper() for name in calendar.month_abbr[1:]))
_WEEKDAY = _Field("day-of-week", 0, 7, ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))

_LAYOUT_5 = (_MINUTE, _HOUR, _DAY, _MONTH, _WEEKDAY)
_LAYOUT_6 = (_SECOND, *_LAYOUT_5)
#: Stands for `L` (the last day of the month) in a set of days.
_LAST_DAY = 99


@dataclass(frozen=True)
class CronRule:
    """A validated cron expression, matched against naive wall-clock time."""

    #: The five or six fields, aliases expanded.
    fields: str
    #: Whether the first of six fields is seconds.
    seconds: bool
    #: A fixed job (neither the minute nor the hour field starts with `*`), not a wildcard job:
    #: the DST rule of `schedule_dst` catches up its times in a gap and runs repeated ones once.
    fixed: bool

    def next_wall(self, wall: datetime) -> datetime | None:
        """The first matching wall time strictly after naive `wall` (None past croniter's horizon)."""
        try:
            matches = croniter(
                self.fields, wall.replace(microsecond=0), ret_type=datetime, second_at_beginning=self.seconds
            )
            return matches.get_next()
        except (CroniterBadDateError, OverflowError):
            return None


def parse_cron(text: str) -> CronRule:
    """Validate a cron expression or alias; raises ExpressionError saying what is wrong."""
    fields = _expand_alias(text).split()
    if len(fields) not in (5, 6):
        raise ExpressionError(f"cron expression has {len(fields)} fields; expected 5 or 6 (with seconds)")
    layout = _LAYOUT_6 if len(fields) == 6 else _LAYOUT_5
    values = {spec: _field_values(token, spec) for token, spec in zip(fields, layout, strict=True)}
    tokens = dict(zip(layout, fields, strict=True))
    _check_day_exists(values[_DAY], values[_MONTH], weekday_token=tokens[_WEEKDAY])
    fixed = not (tokens[_MINUTE].startswith("*") or tokens[_HOUR].startswith("*"))
    rule = CronRule(" ".join(fields), seconds=len(fields) == 6, fixed=fixed)
    _check_fires(rule)
    return rule


def _expand_alias(text: str) -> str:
    if not text.startswith("@"):
        return text
    try:
        return ALIASES[text.lower()]
    except KeyError:
        known = ", ".join(sorted(ALIASES))
        raise ExpressionError(f"unknown cron alias {text!r}; use one of {known} or @every <duration>") from None


def _field_values(token: str, spec: _Field) -> set[int]:
    values: set[int] = set()
    for item in token.split(","):
        if not item:
            raise ExpressionError(f"{spec.name} field {token!r} has an empty list item")
        values |= _item_values(item, spec)
    return values


def _item_values(item: str, spec: _Field) -> set[int]:
    if spec is _DAY and item.upper() == "L":
        return {_LAST_DAY}
    if spec is _WEEKDAY and "#" in item:
        return _nth_weekday(item)
    base, slash, step_text = item.partition("/")
    step = _step(step_text, spec) if slash else 1
    if base in ("*", "?"):
        if base == "?" and spec not in (_DAY, _WEEKDAY):
            raise ExpressionError(f"{spec.name} field: '?' is only allowed for day-of-month and day-of-week")
        return set(range(spec.low, spec.high + 1, step))
    low_text, dash, high_text = base.partition("-")
    low = _value(low_text, spec)
    high = _value(high_text, spec) if dash else (spec.high if slash else low)
    if low > high:
        raise ExpressionError(f"{spec.name} field: range {base} runs backwards; write the smaller value first")
    return set(range(low, high + 1, step))


def _step(text: str, spec: _Field) -> int:
    if text.isdigit() and len(text) > MAX_DIGITS:
        raise ExpressionError(f"{spec.name} field: step {text[:MAX_DIGITS]}... is out of range")
    if not text.isdigit() or int(text) == 0:
        raise ExpressionError(f"{spec.name} field: step {text!r} must be a whole number of at least 1")
    return int(text)


def _value(text: str, spec: _Field) -> int:
    if text.isdigit():
        if len(text) > MAX_DIGITS:
            raise ExpressionError(f"{spec.name} field: {text[:MAX_DIGITS]}... is out of range {spec.low}-{spec.high}")
        value = int(text)
        if not spec.low <= value <= spec.high:
            raise ExpressionError(f"{spec.name} field: {value} is out of range {spec.low}-{spec.high}")
        return value
    if text.upper() in spec.names:
        return spec.low + spec.names.index(text.upper())
    hint = f" or a name such as {spec.names[1]}" if spec.names else ""
    raise ExpressionError(f"{spec.name} field: {text!r} is not a number{hint}")


def _nth_weekday(item: str) -> set[int]:
    day_text, _, nth_text = item.partition("#")
    day = _value(day_text, _WEEKDAY)
    if not nth_text.isdigit() or not 1 <= int(nth_text) <= 5:
        raise ExpressionError(f"day-of-week field: {item!r} needs an occurrence from 1 to 5 after '#'")
    return {day % 7}


def _check_day_exists(days: set[int], months: set[int], *, weekday_token: str) -> None:
    """Reject a day of the month that none of the months has (`* * 30 2 *`).

    When the day-of-week field is restricted too, cron fires on either match, so any day goes.
    """
    if weekday_token not in ("*", "?") or _LAST_DAY in days:
        return
    first_day = min(days)
    if first_day <= max(calendar.monthrange(2000, month)[1] for month in months):  # 2000: February has 29
        return
    names = [calendar.month_name[month] for month in sorted(months)]
    subject = names[0] + " has" if len(names) == 1 else ", ".join(names[:-1]) + f" and {names[-1]} have"
    raise ExpressionError(f"cron expression can never fire: {subject} no day {first_day}")


def _check_fires(rule: CronRule) -> None:
    try:
        croniter(rule.fields, _PROBE_FROM, ret_type=datetime, second_at_beginning=rule.seconds).get_next()
    except CroniterBadDateError:
        raise ExpressionError("cron expression can never fire (no matching date within 50 years)") from None
    except CroniterError as exc:
        raise ExpressionError(f"cron expression is not valid: {exc}") from None

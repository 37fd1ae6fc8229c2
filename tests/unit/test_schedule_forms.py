"""The non-cron forms of a schedule: @every, ISO 8601 repeating intervals, RRULE, a single instant."""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from chalicelib.engine.schedule import (
    Fire,
    ScheduleKind,
    iter_fires,
    next_fire,
    parse_duration,
    parse_schedule,
)
from chalicelib.errors import ValidationError


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def fires(expression: str, after: str, count: int, *, timezone: str = "UTC", **bounds) -> list[str]:
    schedule = parse_schedule(expression, timezone=timezone, **bounds)
    zone = ZoneInfo(timezone)
    return [
        fire.at.astimezone(zone).isoformat() + (" dst_skipped" if fire.dst_skipped else "")
        for fire in itertools.islice(iter_fires(schedule, at(after)), count)
    ]


def refused(expression: str, **kwargs) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        parse_schedule(expression, field="body.cron", **kwargs)
    assert caught.value.location == "body.cron"
    return caught.value


@pytest.mark.parametrize(
    ("expression", "kind"),
    [
        ("*/5 * * * *", ScheduleKind.CRON),
        ("@hourly", ScheduleKind.CRON),
        ("@every 1h", ScheduleKind.EVERY),
        ("R/2026-01-01T00:00:00Z/PT1H", ScheduleKind.INTERVAL),
        ("R5/2026-01-01T00:00:00Z/P1D", ScheduleKind.INTERVAL),
        ("RRULE:FREQ=DAILY;BYHOUR=9", ScheduleKind.RRULE),
        ("FREQ=DAILY", ScheduleKind.RRULE),
        ("DTSTART:20260101T090000Z\nRRULE:FREQ=DAILY", ScheduleKind.RRULE),
        ("2026-05-01T10:00:00Z", ScheduleKind.ONCE),
    ],
)
def test_the_kind_follows_from_the_expression(expression, kind):
    assert parse_schedule(expression).kind is kind


# -- durations ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("2s", timedelta(seconds=2)),
        ("500ms", timedelta(milliseconds=500)),
        ("250us", timedelta(microseconds=250)),
        ("1d", timedelta(days=1)),
        ("1w", timedelta(weeks=1)),
        ("1.5h", timedelta(minutes=90)),
        ("1h0m0s", timedelta(hours=1)),
        ("2d12h", timedelta(days=2, hours=12)),
    ],
)
def test_parse_duration(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "1x", "h", "10", "-1h", "0s", "1h 30m", "1H"])
def test_parse_duration_refuses_what_is_not_a_positive_duration(text):
    with pytest.raises(ValidationError) as caught:
        parse_duration(text, field="body.every")
    assert caught.value.location == "body.every"


# -- @every ---------------------------------------------------------------------------------------


def test_every_is_aligned_to_the_unix_epoch_without_a_start():
    assert fires("@every 1h30m", "2026-01-01T00:10:00Z", 3) == [
        "2026-01-01T01:30:00+00:00",
        "2026-01-01T03:00:00+00:00",
        "2026-01-01T04:30:00+00:00",
    ]
    # 2026-01-01T00:00Z is 29,453,760 minutes after the epoch, a multiple of 7.
    assert fires("@every 7m", "2025-12-31T23:59:00Z", 2) == ["2026-01-01T00:00:00+00:00", "2026-01-01T00:07:00+00:00"]


def test_every_counts_from_the_start():
    assert fires("@every 45m", "2025-12-01T00:00:00Z", 3, start=at("2026-01-01T00:10:00Z")) == [
        "2026-01-01T00:10:00+00:00",
        "2026-01-01T00:55:00+00:00",
        "2026-01-01T01:40:00+00:00",
    ]


def test_every_is_elapsed_time_across_dst():
    assert fires("@every 1h", "2026-11-01T04:30:00Z", 4, timezone="America/New_York") == [
        "2026-11-01T01:00:00-04:00",
        "2026-11-01T01:00:00-05:00",
        "2026-11-01T02:00:00-05:00",
        "2026-11-01T03:00:00-05:00",
    ]
    assert fires("@every 1h", "2026-03-08T05:30:00Z", 3, timezone="America/New_York") == [
        "2026-03-08T01:00:00-05:00",
        "2026-03-08T03:00:00-04:00",
        "2026-03-08T04:00:00-04:00",
    ]


def test_every_seconds_respects_end():
    schedule = parse_schedule("@every 2s", start=at("2026-01-01T00:00:00Z"), end=at("2026-01-01T00:00:05Z"))
    assert [fire.at.second for fire in iter_fires(schedule, at("2025-01-01T00:00:00Z"))] == [0, 2, 4]


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("@every", "@every needs a duration, such as @every 1h30m"),
        ("@every 1x", "'1x' is not a duration; write it like 1h30m, 45s, 500ms, 1d or 1w"),
        ("@every 500ms", "@every 500ms is too short; fires can be at most once a second"),
        ("@every 0s", "duration '0s' must be longer than zero"),
    ],
)
def test_every_validation(expression, message):
    assert refused(expression).message == message


# -- ISO 8601 repeating intervals ----------------------------------------------------------------


def test_interval_starts_at_its_start():
    assert fires("R/2026-01-01T00:00:00Z/PT1H", "2025-06-01T00:00:00Z", 3) == [
        "2026-01-01T00:00:00+00:00",
        "2026-01-01T01:00:00+00:00",
        "2026-01-01T02:00:00+00:00",
    ]
    assert fires("R/2026-01-01T00:00:00Z/PT1H", "2026-03-01T10:30:00Z", 1) == ["2026-03-01T11:00:00+00:00"]


def test_interval_with_a_count_fires_that_many_times():
    schedule = parse_schedule("R3/2026-01-01T00:00:00+01:00/PT20M")
    assert [fire.at for fire in iter_fires(schedule, at("2025-01-01T00:00:00Z"))] == [
        at("2025-12-31T23:00:00Z"),
        at("2025-12-31T23:20:00Z"),
        at("2025-12-31T23:40:00Z"),
    ]


def test_interval_that_ends_at_an_instant():
    assert fires("R/PT1H/2026-01-01T12:00:00Z", "2026-01-01T09:30:00Z", 5) == [
        "2026-01-01T10:00:00+00:00",
        "2026-01-01T11:00:00+00:00",
    ]
    assert fires("R2/PT1H/2026-01-01T12:00:00Z", "2025-01-01T00:00:00Z", 5) == [
        "2026-01-01T10:00:00+00:00",
        "2026-01-01T11:00:00+00:00",
    ]


def test_interval_without_any_start_counts_from_local_midnight_in_1970():
    assert fires("R/P1D", "2026-07-01T12:00:00Z", 1, timezone="Europe/London") == ["2026-07-02T00:00:00+01:00"]
    assert fires("R/PT1H", "2026-07-01T12:10:00Z", 1, timezone="Asia/Kolkata") == ["2026-07-01T18:00:00+05:30"]


def test_interval_without_a_start_uses_the_schedules_start():
    assert fires("R/P1D", "2026-01-01T00:00:00Z", 2, start=at("2026-02-01T09:00:00Z")) == [
        "2026-02-01T09:00:00+00:00",
        "2026-02-02T09:00:00+00:00",
    ]


def test_interval_months_do_not_drift():
    assert fires("R/2026-01-31T09:00:00Z/P1M", "2026-01-01T00:00:00Z", 4) == [
        "2026-01-31T09:00:00+00:00",
        "2026-02-28T09:00:00+00:00",
        "2026-03-31T09:00:00+00:00",
        "2026-04-30T09:00:00+00:00",
    ]


def test_interval_days_are_calendar_days_and_hours_are_elapsed_time():
    assert fires("R/2026-03-07T02:30:00-05:00/P1D", "2026-03-06T00:00:00Z", 3, timezone="America/New_York") == [
        "2026-03-07T02:30:00-05:00",
        "2026-03-08T03:00:00-04:00",
        "2026-03-09T02:30:00-04:00",
    ]
    assert fires("R/2026-03-07T02:30:00-05:00/PT24H", "2026-03-06T00:00:00Z", 3, timezone="America/New_York") == [
        "2026-03-07T02:30:00-05:00",
        "2026-03-08T03:30:00-04:00",
        "2026-03-09T03:30:00-04:00",
    ]


def test_interval_day_landing_in_a_fold_takes_the_first_pass():
    assert fires("R/2026-10-31T01:30:00-04:00/P1D", "2026-10-30T00:00:00Z", 3, timezone="America/New_York") == [
        "2026-10-31T01:30:00-04:00",
        "2026-11-01T01:30:00-04:00",
        "2026-11-02T01:30:00-05:00",
    ]


def test_interval_weeks_in_lord_howe_keep_the_wall_time():
    assert fires("R/2026-09-27T02:15:00+10:30/P1W", "2026-09-01T00:00:00Z", 3, timezone="Australia/Lord_Howe") == [
        "2026-09-27T02:15:00+10:30",
        "2026-10-04T02:30:00+11:00",
        "2026-10-11T02:15:00+11:00",
    ]


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("R0/2026-01-01T00:00:00Z/PT1H", "'R0/2026-01-01T00:00:00Z/PT1H' repeats zero times and would never fire"),
        ("R/2026-01-01T00:00:00/PT1H", "interval start '2026-01-01T00:00:00' needs a UTC offset or Z"),
        ("R/2026-13-01T00:00:00Z/PT1H", "interval start '2026-13-01T00:00:00Z' is not an ISO 8601 date-time"),
        ("R/2026-01-01T00:00:00Z/PT0S", "duration 'PT0S' is zero; a schedule needs a positive step"),
        ("R/2026-01-01T00:00:00Z/P", "'P' is not an ISO 8601 duration such as PT1H, P1D or P1W"),
        ("R/2026-01-01T00:00:00Z/PT", "'PT' is not an ISO 8601 duration"),
        ("R/2026-01-01T00:00:00Z/1H", "'R/2026-01-01T00:00:00Z/1H' needs a duration, such as"),
        ("R/2026-01-01T00:00:00Z/2026-02-01T00:00:00Z", "'R/2026-01-01T00:00:00Z/2026-02-01T00:00:00Z' needs a"),
        ("R/2026-01-01T00:00:00Z", "'2026-01-01T00:00:00Z' is not an ISO 8601 duration"),
        ("R/a/b/c", "'R/a/b/c' is not an ISO 8601 repeating interval such as R/2026-01-01T00:00:00Z/PT1H"),
    ],
)
def test_interval_validation(expression, message):
    assert refused(expression).message.startswith(message)


# -- RRULE ---------------------------------------------------------------------------------------


def test_rrule_without_dtstart_starts_on_the_zones_wall_clock_at_the_epoch():
    assert fires("RRULE:FREQ=DAILY;BYHOUR=9", "2026-03-28T00:00:00Z", 3, timezone="Europe/London") == [
        "2026-03-28T09:00:00+00:00",
        "2026-03-29T09:00:00+01:00",
        "2026-03-30T09:00:00+01:00",
    ]
    assert fires("FREQ=WEEKLY", "2026-01-01T00:00:00Z", 2) == ["2026-01-08T00:00:00+00:00", "2026-01-15T00:00:00+00:00"]
    # London kept +01:00 all through 1970; the rule still starts at midnight on the wall clock.
    assert fires("FREQ=DAILY", "2026-07-01T00:00:00Z", 1, timezone="Europe/London") == ["2026-07-02T00:00:00+01:00"]
    assert fires("FREQ=DAILY", "2026-07-01T00:00:00Z", 1, timezone="Asia/Kolkata") == ["2026-07-02T00:00:00+05:30"]


def test_rrule_uses_the_schedules_start_when_it_has_no_dtstart():
    assert fires("FREQ=WEEKLY;INTERVAL=2", "2026-01-01T00:00:00Z", 2, start=at("2026-01-05T08:00:00Z")) == [
        "2026-01-05T08:00:00+00:00",
        "2026-01-19T08:00:00+00:00",
    ]


def test_rrule_dtstart_forms():
    assert fires("DTSTART:20260101T090000Z\nRRULE:FREQ=WEEKLY;COUNT=3", "2025-01-01T00:00:00Z", 5) == [
        "2026-01-01T09:00:00+00:00",
        "2026-01-08T09:00:00+00:00",
        "2026-01-15T09:00:00+00:00",
    ]
    floating = "DTSTART:20260601T090000\nRRULE:FREQ=DAILY"
    assert fires(floating, "2026-01-01T00:00:00Z", 1, timezone="Europe/Paris") == ["2026-06-01T09:00:00+02:00"]
    tzid = "DTSTART;TZID=America/New_York:20260601T090000\nRRULE:FREQ=DAILY"
    assert fires(tzid, "2026-01-01T00:00:00Z", 1, timezone="Europe/Paris") == ["2026-06-01T15:00:00+02:00"]


def test_rrule_until_in_utc_is_an_instant():
    rule = "DTSTART:20260101T090000\nRRULE:FREQ=DAILY;UNTIL=20260103T080000Z"
    assert fires(rule, "2025-12-01T00:00:00Z", 5, timezone="Europe/Paris") == [
        "2026-01-01T09:00:00+01:00",
        "2026-01-02T09:00:00+01:00",
        "2026-01-03T09:00:00+01:00",
    ]


def test_rrule_follows_the_dst_rule():
    ny = "America/New_York"
    assert fires("FREQ=DAILY;BYHOUR=1;BYMINUTE=30", "2026-10-31T12:00:00Z", 3, timezone=ny) == [
        "2026-11-01T01:30:00-04:00",
        "2026-11-01T01:30:00-05:00 dst_skipped",
        "2026-11-02T01:30:00-05:00",
    ]
    assert fires("FREQ=DAILY;BYHOUR=2;BYMINUTE=30", "2026-03-07T12:00:00Z", 2, timezone=ny) == [
        "2026-03-08T03:00:00-04:00",
        "2026-03-09T02:30:00-04:00",
    ]
    assert fires("FREQ=HOURLY", "2026-04-04T14:30:00Z", 3, timezone="Australia/Sydney") == [
        "2026-04-05T02:00:00+11:00",
        "2026-04-05T02:00:00+10:00",
        "2026-04-05T03:00:00+10:00",
    ]
    assert fires("FREQ=MINUTELY;INTERVAL=15", "2026-04-04T14:20:00Z", 5, timezone="Australia/Lord_Howe") == [
        "2026-04-05T01:30:00+11:00",
        "2026-04-05T01:45:00+11:00",
        "2026-04-05T01:30:00+10:30",
        "2026-04-05T01:45:00+10:30",
        "2026-04-05T02:00:00+10:30",
    ]


def test_rrule_is_a_wildcard_job_unless_it_names_its_minutes_and_hours():
    ny = "America/New_York"
    # MINUTELY varies the minute as `*/20 1 * * *` does: both passes of the repeated hour fire.
    assert fires("FREQ=MINUTELY;INTERVAL=20;BYHOUR=1", "2026-11-01T04:59:00Z", 7, timezone=ny) == [
        "2026-11-01T01:00:00-04:00",
        "2026-11-01T01:20:00-04:00",
        "2026-11-01T01:40:00-04:00",
        "2026-11-01T01:00:00-05:00",
        "2026-11-01T01:20:00-05:00",
        "2026-11-01T01:40:00-05:00",
        "2026-11-02T01:00:00-05:00",
    ]
    # HOURLY varies the hour as `0 * * * *` does: 02:00 does not exist and is not caught up.
    assert fires("FREQ=HOURLY", "2026-03-08T05:30:00Z", 3, timezone=ny) == [
        "2026-03-08T01:00:00-05:00",
        "2026-03-08T03:00:00-04:00",
        "2026-03-08T04:00:00-04:00",
    ]
    assert fires("FREQ=HOURLY;BYMINUTE=30", "2026-03-08T05:45:00Z", 2, timezone=ny) == [
        "2026-03-08T01:30:00-05:00",
        "2026-03-08T03:30:00-04:00",
    ]
    # HOURLY with BYHOUR keeps DTSTART's minute: it names both, like `0 2 * * *`.
    assert fires("FREQ=HOURLY;BYHOUR=2", "2026-03-07T12:00:00Z", 2, timezone=ny) == [
        "2026-03-08T03:00:00-04:00",
        "2026-03-09T02:00:00-04:00",
    ]


def test_rrule_next_fire_is_fast_decades_after_dtstart():
    schedule = parse_schedule("FREQ=MINUTELY;INTERVAL=7")
    began = time.perf_counter()
    fire = next_fire(schedule, at("2026-01-01T00:00:00Z"))
    assert time.perf_counter() - began < 0.5
    assert fire == Fire(at=at("2026-01-01T00:07:00Z"))  # the same grid as @every 7m


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("RRULE:FREQ=FOO", "RRULE is not valid: invalid 'FREQ': FOO"),
        ("RRULE:BYHOUR=9", "RRULE needs FREQ, such as FREQ=DAILY"),
        ("FREQ=DAILY;BYHOUR=25", "RRULE is not valid: hour must be in 0..23"),
        ("FREQ=DAILY;NOPE", "RRULE part 'NOPE' is not NAME=VALUE"),
        ("FREQ=DAILY;FOO=1", "RRULE is not valid: unknown parameter 'FOO'"),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "RRULE can never fire: no date matches all of its BY parts"),
        ("FREQ=MINUTELY;BYMONTH=4;BYMONTHDAY=31", "RRULE can never fire: no date matches all of its BY parts"),
        ("DTSTART:2026\nRRULE:FREQ=DAILY", "'DTSTART:2026' is not a DTSTART such as DTSTART:20260101T090000Z"),
        ("DTSTART;TZID=Mars/Olympus:20260101T090000\nRRULE:FREQ=DAILY", "DTSTART names an unknown time zone"),
        ("RRULE:FREQ=DAILY\nEXDATE:20260102T000000Z", "only DTSTART and RRULE lines are supported; found EXDATE"),
        ("RRULE:FREQ=DAILY\nRRULE:FREQ=HOURLY", "expected one RRULE line"),
        (
            "DTSTART:20260101T000000Z\nRRULE:FREQ=DAILY;UNTIL=20250101T000000Z",
            "RRULE never fires: its COUNT or UNTIL ends it before its first occurrence",
        ),
    ],
)
def test_rrule_validation(expression, message):
    began = time.perf_counter()
    assert refused(expression).message.startswith(message)
    assert time.perf_counter() - began < 2


# -- a single instant ---------------------------------------------------------------------------


def test_once_fires_once():
    schedule = parse_schedule("2026-05-01T10:00:00+02:00", timezone="Europe/Paris")
    assert next_fire(schedule, at("2026-01-01T00:00:00Z")) == Fire(at=datetime(2026, 5, 1, 8, tzinfo=UTC))
    assert next_fire(schedule, at("2026-05-01T08:00:00Z")) is None
    assert fires("2026-05-01T08:00:00Z", "2026-01-01T00:00:00Z", 5) == ["2026-05-01T08:00:00+00:00"]


def test_once_outside_the_bounds_never_fires():
    schedule = parse_schedule("2026-05-01T08:00:00Z", end=at("2026-04-01T00:00:00Z"))
    assert next_fire(schedule, at("2026-01-01T00:00:00Z")) is None


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("2026-05-01T10:00:00", "instant '2026-05-01T10:00:00' needs a UTC offset or Z"),
        ("2026-05-01", "instant '2026-05-01' needs a UTC offset or Z"),
        ("2026-13-01T00:00:00Z", "instant '2026-13-01T00:00:00Z' is not an ISO 8601 date-time"),
    ],
)
def test_once_validation(expression, message):
    assert refused(expression).message.startswith(message)


# -- one minimum interval for every form --------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("R/2026-01-01T00:00:00Z/PT0.001S", "a step of 0.001 s is too short; fires can be at most once a second"),
        ("R/2026-01-01T00:00:00Z/PT0,999S", "a step of 0.999 s is too short"),
        ("R5/PT0.5S/2026-01-01T00:00:00Z", "a step of 0.5 s is too short"),
        ("R/PT0.5S", "a step of 0.5 s is too short"),
        ("R/2026-01-01T00:00:00Z/P0DT0.001S", "a step of 0.001 s is too short"),
        ("@every 999ms", "@every 999ms is too short; fires can be at most once a second"),
        ("@every 0.5s", "@every 0.5s is too short"),
    ],
)
def test_no_schedule_form_fires_more_than_once_a_second(expression, message):
    assert refused(expression).message.startswith(message)


def test_the_minimum_itself_is_allowed_in_every_form():
    after = "2026-01-01T00:00:00Z"
    expected = ["2026-01-01T00:00:01+00:00", "2026-01-01T00:00:02+00:00"]
    for expression in ("* * * * * *", "@every 1s", "R/2026-01-01T00:00:00Z/PT1S", "FREQ=SECONDLY"):
        assert fires(expression, after, 2) == expected, expression
    assert fires("R/2026-01-01T00:00:00Z/PT1.5S", after, 2) == ["2026-01-01T00:00:01.500000+00:00",
                                                                 "2026-01-01T00:00:03+00:00"]


def test_a_repetition_under_the_minimum_cannot_be_built_however_it_is_reached():
    from chalicelib.engine.schedule_dst import ExpressionError
    from chalicelib.engine.schedule_iso import EPOCH, IsoDuration, Repetition

    with pytest.raises(ExpressionError, match="too short"):
        Repetition(EPOCH, IsoDuration(elapsed=timedelta(milliseconds=1)))
    assert Repetition(EPOCH, IsoDuration(days=1, elapsed=timedelta(milliseconds=1))).step.days == 1


# -- values out of range are refused, never an OverflowError --------------------------------------


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("@every 99999999999h", "duration '99999999999h' is too long; the longest is 999999999 days"),
        ("@every 99999999999999999999w", "duration '99999999999999999999w' is too long"),
        ("R/2026-01-01T00:00:00Z/PT99999999999H", "duration 'PT99999999999H' is too long"),
        ("R/PT99999999999H", "duration 'PT99999999999H' is too long"),
        ("R/2026-01-01T00:00:00Z/P99999999999Y", "duration 'P99999999999Y' is too long"),
        ("R/2026-01-01T00:00:00Z/P" + "9" * 5000 + "D", "duration 'P999999999"),
        ("R99999999999999999999/2026-01-01T00:00:00Z/PT1H", "'R99999999999999999999' repeats too many times"),
        ("R/0001-01-01T00:00:00+14:00/PT1H", "interval start '0001-01-01T00:00:00+14:00' is out of range"),
        ("0001-01-01T00:00:00+01:00", "instant '0001-01-01T00:00:00+01:00' is out of range"),
        ("9999-12-31T23:59:59-01:00", "instant '9999-12-31T23:59:59-01:00' is out of range"),
        ("FREQ=SECONDLY;INTERVAL=99999999999999", "RRULE part INTERVAL=99999999999999: a number is out of range"),
        ("FREQ=DAILY;COUNT=99999999999999999999", "RRULE part COUNT=99999999999999999999: a number is out of range"),
        ("FREQ=DAILY;BYHOUR=99999999999", "RRULE part BYHOUR=99999999999: a number is out of range"),
        ("FREQ=SECONDLY;INTERVAL=0", "RRULE part INTERVAL=0: must be a whole number of at least 1"),
        ("FREQ=DAILY;INTERVAL=-1", "RRULE part INTERVAL=-1: must be a whole number of at least 1"),
        ("*/99999999999999999999 * * * *", "minute field: step 999999999... is out of range"),
        ("1" * 5000 + " * * * *", "minute field: 111111111... is out of range 0-59"),
    ],
)
def test_values_out_of_range_are_refused_naming_the_field(expression, message):
    assert refused(expression).message.startswith(message)


@pytest.mark.parametrize(
    ("expression", "timezone"),
    [
        ("DTSTART:00010101T000000Z\nRRULE:FREQ=DAILY", "Etc/GMT+12"),
        ("DTSTART:99991231T235959Z\nRRULE:FREQ=DAILY", "Pacific/Kiritimati"),
        ("FREQ=DAILY;UNTIL=99991231T235959Z", "Pacific/Kiritimati"),
    ],
)
def test_an_rrule_date_out_of_range_in_the_zone_is_refused(expression, timezone):
    assert "is out of range" in refused(expression, timezone=timezone).message


@pytest.mark.parametrize(
    "expression", ["*/30 * * * *", "FREQ=SECONDLY", "@every 1h", "R/2026-01-01T00:00:00Z/PT1H", "FREQ=YEARLY"]
)
def test_asking_at_the_end_of_the_calendar_answers_none(expression):
    schedule = parse_schedule(expression, timezone="Pacific/Kiritimati")
    assert next_fire(schedule, at("9999-12-31T23:59:00+00:00")) is None

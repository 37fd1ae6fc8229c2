"""Cron schedules and the DST rule (DESIGN.md section 4), checked with full ISO strings.

Transitions used below, as the tz database has them for 2026:

- America/New_York: gap 2026-03-08 02:00-03:00; fold 2026-11-01 01:00-02:00 (-04:00 then -05:00)
- Europe/London: gap 2026-03-29 01:00-02:00; fold 2026-10-25 01:00-02:00 (+01:00 then +00:00)
- Australia/Sydney: fold 2026-04-05 02:00-03:00 (+11:00 then +10:00); gap 2026-10-04 02:00-03:00
- Australia/Lord_Howe: fold 2026-04-05 01:30-02:00 (+11:00 then +10:30); gap 2026-10-04 02:00-02:30
- Europe/Berlin: gap 2026-03-29 02:00-03:00; fold 2026-10-25 02:00-03:00 (+02:00 then +01:00)

A *wildcard job* has a minute or hour field that starts with `*`; every other job is *fixed*.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter

from chalicelib.engine.schedule import Fire, Schedule, ScheduleKind, iter_fires, next_fire, parse_schedule
from chalicelib.errors import ValidationError


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def fires(expression: str, after: str, count: int, *, timezone: str = "UTC", **bounds) -> list[str]:
    """The next `count` fires as ISO strings in the schedule's zone, repeats marked."""
    schedule = parse_schedule(expression, timezone=timezone, **bounds)
    zone = ZoneInfo(timezone)
    return [
        fire.at.astimezone(zone).isoformat() + (" dst_skipped" if fire.dst_skipped else "")
        for fire in itertools.islice(iter_fires(schedule, at(after)), count)
    ]


def test_zone_transitions_used_in_these_tests_are_the_tz_databases():
    def offset(zone: str, utc: str) -> str:
        return at(utc).astimezone(ZoneInfo(zone)).isoformat()

    assert offset("America/New_York", "2026-03-08T06:59:59Z") == "2026-03-08T01:59:59-05:00"
    assert offset("America/New_York", "2026-03-08T07:00:00Z") == "2026-03-08T03:00:00-04:00"
    assert offset("America/New_York", "2026-11-01T06:00:00Z") == "2026-11-01T01:00:00-05:00"
    assert offset("Europe/London", "2026-03-29T01:00:00Z") == "2026-03-29T02:00:00+01:00"
    assert offset("Europe/London", "2026-10-25T01:00:00Z") == "2026-10-25T01:00:00+00:00"
    assert offset("Australia/Sydney", "2026-04-04T16:00:00Z") == "2026-04-05T02:00:00+10:00"
    assert offset("Australia/Sydney", "2026-10-03T16:00:00Z") == "2026-10-04T03:00:00+11:00"
    assert offset("Australia/Lord_Howe", "2026-04-04T15:00:00Z") == "2026-04-05T01:30:00+10:30"
    assert offset("Australia/Lord_Howe", "2026-10-03T15:30:00Z") == "2026-10-04T02:30:00+11:00"
    assert offset("Europe/Berlin", "2026-03-29T01:00:00Z") == "2026-03-29T03:00:00+02:00"
    assert offset("Europe/Berlin", "2026-10-25T01:00:00Z") == "2026-10-25T02:00:00+01:00"


# -- plain cron ---------------------------------------------------------------------------------


def test_next_fire_is_strictly_after_and_in_utc():
    schedule = parse_schedule("*/15 * * * *")
    assert next_fire(schedule, at("2026-01-01T10:07:00Z")) == Fire(at=datetime(2026, 1, 1, 10, 15, tzinfo=UTC))
    assert next_fire(schedule, at("2026-01-01T10:15:00Z")).at == at("2026-01-01T10:30:00Z")
    assert next_fire(schedule, at("2026-01-01T10:14:59.999999Z")).at == at("2026-01-01T10:15:00Z")
    assert next_fire(schedule, at("2026-01-01T11:15:00+01:00")).at == at("2026-01-01T10:30:00Z")
    assert next_fire(schedule, at("2026-01-01T10:07:00Z")).at.tzinfo is UTC


def test_naive_after_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        next_fire(parse_schedule("* * * * *"), datetime(2026, 1, 1))  # noqa: DTZ001


def test_parse_schedule_returns_the_trigger_as_data():
    schedule = parse_schedule("  0 9 * * MON-FRI ", timezone="Europe/London")
    assert schedule == Schedule(kind=ScheduleKind.CRON, expression="0 9 * * MON-FRI", timezone="Europe/London")


def test_cron_is_read_on_the_zones_wall_clock():
    assert fires("0 9 * * MON-FRI", "2026-01-02T12:00:00Z", 3, timezone="Europe/London") == [
        "2026-01-05T09:00:00+00:00",
        "2026-01-06T09:00:00+00:00",
        "2026-01-07T09:00:00+00:00",
    ]
    assert fires("0 9 * * *", "2026-07-01T00:00:00Z", 1, timezone="Europe/London") == ["2026-07-01T09:00:00+01:00"]


@pytest.mark.parametrize(
    ("alias", "first"),
    [
        ("@hourly", "2026-05-10T13:00:00+00:00"),
        ("@daily", "2026-05-11T00:00:00+00:00"),
        ("@midnight", "2026-05-11T00:00:00+00:00"),
        ("@weekly", "2026-05-17T00:00:00+00:00"),
        ("@monthly", "2026-06-01T00:00:00+00:00"),
        ("@yearly", "2027-01-01T00:00:00+00:00"),
        ("@annually", "2027-01-01T00:00:00+00:00"),
        ("@DAILY", "2026-05-11T00:00:00+00:00"),
    ],
)
def test_aliases(alias, first):
    assert fires(alias, "2026-05-10T12:30:00Z", 1) == [first]


def test_extensions_last_day_and_nth_weekday():
    assert fires("0 0 L * *", "2026-01-15T00:00:00Z", 2) == ["2026-01-31T00:00:00+00:00", "2026-02-28T00:00:00+00:00"]
    assert fires("0 0 * * 1#1", "2026-01-01T00:00:00Z", 2) == ["2026-01-05T00:00:00+00:00", "2026-02-02T00:00:00+00:00"]
    assert fires("0 0 29 2 *", "2026-01-01T00:00:00Z", 1) == ["2028-02-29T00:00:00+00:00"]


def test_day_of_month_and_day_of_week_both_restricted_means_either():
    assert fires("0 0 30 2 1", "2026-02-01T00:00:00Z", 2) == ["2026-02-02T00:00:00+00:00", "2026-02-09T00:00:00+00:00"]


def test_a_leading_seconds_field():
    assert fires("*/20 * * * * *", "2026-01-01T00:00:00Z", 4) == [
        "2026-01-01T00:00:20+00:00",
        "2026-01-01T00:00:40+00:00",
        "2026-01-01T00:01:00+00:00",
        "2026-01-01T00:01:20+00:00",
    ]
    assert fires("15 30 9 * * *", "2026-01-01T00:00:00Z", 1) == ["2026-01-01T09:30:15+00:00"]


# -- spring forward: a wall time that does not exist fires once, at the end of the gap -------------


@pytest.mark.parametrize(
    ("zone", "expression", "after", "expected"),
    [
        (
            "America/New_York",
            "30 2 * * *",
            "2026-03-07T00:00:00Z",
            ["2026-03-07T02:30:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"],
        ),
        (
            "Europe/London",
            "30 1 * * *",
            "2026-03-28T00:00:00Z",
            ["2026-03-28T01:30:00+00:00", "2026-03-29T02:00:00+01:00", "2026-03-30T01:30:00+01:00"],
        ),
        (
            "Australia/Sydney",
            "30 2 * * *",
            "2026-10-02T12:00:00Z",
            ["2026-10-03T02:30:00+10:00", "2026-10-04T03:00:00+11:00", "2026-10-05T02:30:00+11:00"],
        ),
        (
            "Australia/Lord_Howe",
            "15 2 * * *",
            "2026-10-02T12:00:00Z",
            ["2026-10-03T02:15:00+10:30", "2026-10-04T02:30:00+11:00", "2026-10-05T02:15:00+11:00"],
        ),
    ],
)
def test_fixed_time_in_the_gap_fires_at_the_first_instant_after_it(zone, expression, after, expected):
    assert fires(expression, after, 3, timezone=zone) == expected


def test_the_gap_example_from_the_design_is_seven_utc():
    schedule = parse_schedule("30 2 * * *", timezone="America/New_York")
    assert next_fire(schedule, at("2026-03-08T05:00:00Z")) == Fire(at=at("2026-03-08T07:00:00+00:00"))


def test_several_times_of_a_fixed_job_in_the_gap_fire_only_once():
    assert fires("0,15,30,45 2 * * *", "2026-03-08T06:00:00Z", 3, timezone="America/New_York") == [
        "2026-03-08T03:00:00-04:00",
        "2026-03-09T02:00:00-04:00",
        "2026-03-09T02:15:00-04:00",
    ]


def test_a_time_just_outside_the_gap_is_unaffected():
    assert fires("59 1 * * *", "2026-03-08T00:00:00Z", 1, timezone="America/New_York") == ["2026-03-08T01:59:00-05:00"]
    assert fires("0 3 * * *", "2026-03-08T00:00:00Z", 1, timezone="America/New_York") == ["2026-03-08T03:00:00-04:00"]


def test_wildcard_hour_across_the_gap_fires_at_its_next_existing_time():
    assert fires("*/15 * * * *", "2026-03-08T06:30:00Z", 4, timezone="America/New_York") == [
        "2026-03-08T01:45:00-05:00",
        "2026-03-08T03:00:00-04:00",
        "2026-03-08T03:15:00-04:00",
        "2026-03-08T03:30:00-04:00",
    ]


@pytest.mark.parametrize(
    ("zone", "expression", "after", "expected"),
    [
        # A `*` hour: 02:30 does not exist and is not caught up at 03:00.
        (
            "America/New_York",
            "30 * * * *",
            "2026-03-08T06:00:00Z",
            ["2026-03-08T01:30:00-05:00", "2026-03-08T03:30:00-04:00", "2026-03-08T04:30:00-04:00"],
        ),
        # A `*/n` minute with a fixed hour is a wildcard job too: nothing for 02:xx that day.
        (
            "America/New_York",
            "*/15 2 * * *",
            "2026-03-08T06:00:00Z",
            ["2026-03-09T02:00:00-04:00", "2026-03-09T02:15:00-04:00", "2026-03-09T02:30:00-04:00"],
        ),
        # Lord Howe's gap is half an hour (02:00-02:30): 02:40 exists and fires, 02:00 and 02:20 do not.
        (
            "Australia/Lord_Howe",
            "*/20 2 * * *",
            "2026-10-03T12:00:00Z",
            ["2026-10-04T02:40:00+11:00", "2026-10-05T02:00:00+11:00", "2026-10-05T02:20:00+11:00"],
        ),
        (
            "Australia/Lord_Howe",
            "15 * * * *",
            "2026-10-03T14:00:00Z",
            ["2026-10-04T01:15:00+10:30", "2026-10-04T03:15:00+11:00", "2026-10-04T04:15:00+11:00"],
        ),
        # With a seconds field in front, the minute and hour fields still decide: a `*` minute.
        (
            "America/New_York",
            "0 * 2 * * *",
            "2026-03-08T06:00:00Z",
            ["2026-03-09T02:00:00-04:00", "2026-03-09T02:01:00-04:00", "2026-03-09T02:02:00-04:00"],
        ),
    ],
)
def test_wildcard_job_in_the_gap_is_not_caught_up(zone, expression, after, expected):
    assert fires(expression, after, 3, timezone=zone) == expected


def test_a_seconds_wildcard_with_fixed_minute_and_hour_is_a_fixed_job():
    assert fires("* 30 2 * * *", "2026-03-08T06:00:00Z", 2, timezone="America/New_York") == [
        "2026-03-08T03:00:00-04:00",
        "2026-03-09T02:30:00-04:00",
    ]


def test_lord_howe_half_hour_gap_with_a_wildcard_hour():
    assert fires("*/10 * * * *", "2026-10-03T15:05:00Z", 4, timezone="Australia/Lord_Howe") == [
        "2026-10-04T01:40:00+10:30",
        "2026-10-04T01:50:00+10:30",
        "2026-10-04T02:30:00+11:00",
        "2026-10-04T02:40:00+11:00",
    ]


def test_seconds_field_in_the_gap():
    assert fires("10 30 2 * * *", "2026-03-08T00:00:00Z", 2, timezone="America/New_York") == [
        "2026-03-08T03:00:00-04:00",
        "2026-03-09T02:30:10-04:00",
    ]


# -- fall back: fixed hours run on the first pass, the repeat is dst_skipped -----------------------


@pytest.mark.parametrize(
    ("zone", "expression", "after", "expected"),
    [
        (
            "America/New_York",
            "30 1 * * *",
            "2026-10-31T12:00:00Z",
            ["2026-11-01T01:30:00-04:00", "2026-11-01T01:30:00-05:00 dst_skipped", "2026-11-02T01:30:00-05:00"],
        ),
        (
            "Europe/London",
            "30 1 * * *",
            "2026-10-24T12:00:00Z",
            ["2026-10-25T01:30:00+01:00", "2026-10-25T01:30:00+00:00 dst_skipped", "2026-10-26T01:30:00+00:00"],
        ),
        (
            "Australia/Sydney",
            "30 2 * * *",
            "2026-04-04T00:00:00Z",
            ["2026-04-05T02:30:00+11:00", "2026-04-05T02:30:00+10:00 dst_skipped", "2026-04-06T02:30:00+10:00"],
        ),
        (
            "Australia/Lord_Howe",
            "45 1 * * *",
            "2026-04-04T00:00:00Z",
            ["2026-04-05T01:45:00+11:00", "2026-04-05T01:45:00+10:30 dst_skipped", "2026-04-06T01:45:00+10:30"],
        ),
    ],
)
def test_fixed_hour_in_the_fold_fires_on_the_first_pass_only(zone, expression, after, expected):
    assert fires(expression, after, 3, timezone=zone) == expected


def test_fixed_hour_lists_and_ranges_count_as_fixed():
    assert fires("30 1,13 * * *", "2026-11-01T05:00:00Z", 3, timezone="America/New_York") == [
        "2026-11-01T01:30:00-04:00",
        "2026-11-01T01:30:00-05:00 dst_skipped",
        "2026-11-01T13:30:00-05:00",
    ]
    assert fires("0 0-2 * * *", "2026-11-01T04:30:00Z", 4, timezone="America/New_York") == [
        "2026-11-01T01:00:00-04:00",
        "2026-11-01T01:00:00-05:00 dst_skipped",
        "2026-11-01T02:00:00-05:00",
        "2026-11-02T00:00:00-05:00",
    ]


def test_lord_howe_fold_is_half_an_hour():
    # 01:15 is before the repeated half hour (01:30-02:00) and happens once.
    assert fires("15 1 * * *", "2026-04-04T00:00:00Z", 2, timezone="Australia/Lord_Howe") == [
        "2026-04-05T01:15:00+11:00",
        "2026-04-06T01:15:00+10:30",
    ]


def test_seconds_field_in_the_fold():
    assert fires("5 30 1 * * *", "2026-11-01T05:00:00Z", 3, timezone="America/New_York") == [
        "2026-11-01T01:30:05-04:00",
        "2026-11-01T01:30:05-05:00 dst_skipped",
        "2026-11-02T01:30:05-05:00",
    ]


def test_minute_wildcard_with_a_fixed_hour_fires_in_both_passes():
    lines = fires("*/20 1 * * *", "2026-11-01T04:59:00Z", 7, timezone="America/New_York")
    assert lines == [
        "2026-11-01T01:00:00-04:00",
        "2026-11-01T01:20:00-04:00",
        "2026-11-01T01:40:00-04:00",
        "2026-11-01T01:00:00-05:00",
        "2026-11-01T01:20:00-05:00",
        "2026-11-01T01:40:00-05:00",
        "2026-11-02T01:00:00-05:00",
    ]


# -- fall back: a wildcard job (minute or hour field starts with `*`) fires in both passes ----------


@pytest.mark.parametrize(
    ("zone", "expression", "after", "expected"),
    [
        (
            "America/New_York",
            "*/30 * * * *",
            "2026-11-01T04:45:00Z",
            [
                "2026-11-01T01:00:00-04:00",
                "2026-11-01T01:30:00-04:00",
                "2026-11-01T01:00:00-05:00",
                "2026-11-01T01:30:00-05:00",
                "2026-11-01T02:00:00-05:00",
            ],
        ),
        (
            "Europe/London",
            "30 */1 * * *",
            "2026-10-24T23:45:00Z",
            ["2026-10-25T01:30:00+01:00", "2026-10-25T01:30:00+00:00", "2026-10-25T02:30:00+00:00"],
        ),
        (
            "Australia/Sydney",
            "0 * * * *",
            "2026-04-04T14:30:00Z",
            [
                "2026-04-05T02:00:00+11:00",
                "2026-04-05T02:00:00+10:00",
                "2026-04-05T03:00:00+10:00",
            ],
        ),
        (
            "Australia/Lord_Howe",
            "*/10 * * * *",
            "2026-04-04T14:25:00Z",
            [
                "2026-04-05T01:30:00+11:00",
                "2026-04-05T01:40:00+11:00",
                "2026-04-05T01:50:00+11:00",
                "2026-04-05T01:30:00+10:30",
                "2026-04-05T01:40:00+10:30",
                "2026-04-05T01:50:00+10:30",
                "2026-04-05T02:00:00+10:30",
            ],
        ),
    ],
)
def test_wildcard_job_in_the_fold_fires_in_both_passes(zone, expression, after, expected):
    assert fires(expression, after, len(expected), timezone=zone) == expected


def test_seconds_field_with_wildcard_hour_in_the_fold():
    assert fires("0 0 * * * *", "2026-11-01T04:30:00Z", 3, timezone="America/New_York") == [
        "2026-11-01T01:00:00-04:00",
        "2026-11-01T01:00:00-05:00",
        "2026-11-01T02:00:00-05:00",
    ]


def test_asking_from_inside_the_first_pass_finds_the_second_pass():
    wildcard = parse_schedule("*/20 * * * *", timezone="America/New_York")
    assert next_fire(wildcard, at("2026-11-01T01:50:00-04:00")) == Fire(at=at("2026-11-01T01:00:00-05:00"))
    fixed = parse_schedule("30 1 * * *", timezone="America/New_York")
    assert next_fire(fixed, at("2026-11-01T01:45:00-04:00")) == Fire(
        at=at("2026-11-01T01:30:00-05:00"), dst_skipped=True
    )


def test_asking_from_inside_the_second_pass():
    fixed = parse_schedule("30 1 * * *", timezone="America/New_York")
    assert next_fire(fixed, at("2026-11-01T01:10:00-05:00")) == Fire(
        at=at("2026-11-01T01:30:00-05:00"), dst_skipped=True
    )
    assert next_fire(fixed, at("2026-11-01T01:30:00-05:00")).at == at("2026-11-02T01:30:00-05:00")


def test_dispatcher_lookup_of_a_due_repeat_finds_it_dst_skipped():
    schedule = parse_schedule("30 1 * * *", timezone="America/New_York")
    due = at("2026-11-01T06:30:00Z")
    fire = next_fire(schedule, due - timedelta(microseconds=1))
    assert fire == Fire(at=due, dst_skipped=True)


# -- the table of issue 10 (the rule as Vixie cron and cronsim apply it) --------------------------------


@pytest.mark.parametrize(
    ("expression", "zone", "after", "expected"),
    [
        (
            "15 * * * *",
            "Europe/Berlin",
            "2026-03-29T00:30:00+01:00",
            ["2026-03-29T01:15:00+01:00", "2026-03-29T03:15:00+02:00", "2026-03-29T04:15:00+02:00"],
        ),
        (
            "* 2 * * *",
            "Europe/Berlin",
            "2026-03-28T12:00:00+01:00",
            ["2026-03-30T02:00:00+02:00", "2026-03-30T02:01:00+02:00"],
        ),
        (
            "*/20 1-2 * * *",
            "America/New_York",
            "2026-11-01T00:50:00-04:00",
            [
                "2026-11-01T01:00:00-04:00",
                "2026-11-01T01:20:00-04:00",
                "2026-11-01T01:40:00-04:00",
                "2026-11-01T01:00:00-05:00",
                "2026-11-01T01:20:00-05:00",
                "2026-11-01T01:40:00-05:00",
                "2026-11-01T02:00:00-05:00",
            ],
        ),
        (
            "30 2 * * *",
            "Europe/Berlin",
            "2026-03-28T12:00:00+01:00",
            ["2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00"],
        ),
        (
            "20 1 * * *",
            "America/New_York",
            "2026-10-31T12:00:00-04:00",
            ["2026-11-01T01:20:00-04:00", "2026-11-01T01:20:00-05:00 dst_skipped", "2026-11-02T01:20:00-05:00"],
        ),
    ],
)
def test_the_rows_of_the_dst_table(expression, zone, after, expected):
    assert fires(expression, after, len(expected), timezone=zone) == expected


# -- the rule against a brute-force reading of the clock ---------------------------------------------

_WINDOWS = {
    "America/New_York": ["2026-03-08T03:00:00Z", "2026-11-01T03:00:00Z"],
    "Europe/London": ["2026-03-28T22:00:00Z", "2026-10-24T22:00:00Z"],
    "Australia/Sydney": ["2026-04-04T12:00:00Z", "2026-10-03T12:00:00Z"],
    "Australia/Lord_Howe": ["2026-04-04T12:00:00Z", "2026-10-03T12:00:00Z"],
    "Europe/Berlin": ["2026-03-28T20:00:00Z", "2026-10-24T20:00:00Z"],
}


def brute_force_fires(expression: str, zone: ZoneInfo, start: datetime, end: datetime) -> list[Fire]:
    """Read the clock once a minute and apply the DST rule literally: a wall time the clock
    jumped over fires when the clock lands, for a fixed job only; a wall time the clock shows
    again fires again, `dst_skipped` for a fixed job."""
    fixed = not any(field.startswith("*") for field in expression.split()[:2])
    wall = start.astimezone(zone).replace(tzinfo=None) - timedelta(hours=3)
    matches, finder = set(), croniter(expression, wall, ret_type=datetime)
    while wall < end.astimezone(zone).replace(tzinfo=None) + timedelta(hours=3):
        wall = finder.get_next()
        matches.add(wall)
    result: list[Fire] = []
    instant = start
    while instant < end:
        previous, instant = instant, instant + timedelta(minutes=1)
        local = instant.astimezone(zone)
        shown, before = local.replace(tzinfo=None), previous.astimezone(zone).replace(tzinfo=None)
        skipped = {before + timedelta(minutes=m) for m in range(1, int((shown - before).total_seconds() // 60))}
        repeat = local.fold == 1 and local.utcoffset() != local.replace(fold=0).utcoffset()
        if shown in matches or (fixed and skipped & matches):
            result.append(Fire(at=instant, dst_skipped=repeat and fixed and shown in matches))
    return result


@pytest.mark.parametrize("zone_name", sorted(_WINDOWS))
@pytest.mark.parametrize(
    "expression",
    [
        "30 2 * * *",
        "45 1 * * *",
        "0 2 * * *",
        "*/15 * * * *",
        "0,30 * * * *",
        "* 1 * * *",
        "*/7 1-3 * * *",
        "5 */2 * * *",
        "15 * * * *",
        "* 2 * * *",
        "*/20 1-2 * * *",
        "20 1 * * *",
        "15 2 * * *",
        "*/20 2 * * *",
        "0,20,40 1,2 * * *",
    ],
)
def test_fires_match_a_brute_force_reading_of_the_clock(zone_name, expression):
    zone = ZoneInfo(zone_name)
    schedule = parse_schedule(expression, timezone=zone_name)
    for window in _WINDOWS[zone_name]:
        start = at(window)
        end = start + timedelta(hours=12)
        expected = brute_force_fires(expression, zone, start, end)
        actual = list(itertools.takewhile(lambda fire, end=end: fire.at <= end, iter_fires(schedule, start)))
        assert actual == expected
        instants = [fire.at for fire in actual]
        assert instants == sorted(set(instants)), "fire times strictly increase"
        for instant in instants:
            local = instant.astimezone(zone)
            assert local.replace(tzinfo=None).replace(tzinfo=zone, fold=local.fold) == local, "local time exists"


# -- bounds -----------------------------------------------------------------------------------------


def test_start_is_inclusive_and_end_is_inclusive():
    schedule = parse_schedule("0 * * * *", start=at("2026-01-01T05:00:00Z"), end=at("2026-01-01T07:00:00Z"))
    assert [fire.at for fire in iter_fires(schedule, at("2026-01-01T00:00:00Z"))] == [
        at("2026-01-01T05:00:00Z"),
        at("2026-01-01T06:00:00Z"),
        at("2026-01-01T07:00:00Z"),
    ]
    assert next_fire(schedule, at("2026-01-01T07:00:00Z")) is None


def test_bounds_are_kept_in_utc_and_may_be_equal():
    schedule = parse_schedule("0 * * * *", start=at("2026-01-01T06:00:00+01:00"), end=at("2026-01-01T05:00:00Z"))
    assert schedule.start == schedule.end == datetime(2026, 1, 1, 5, tzinfo=UTC)
    assert [fire.at for fire in iter_fires(schedule, at("2026-01-01T00:00:00Z"))] == [at("2026-01-01T05:00:00Z")]


def test_naive_bounds_are_refused():
    with pytest.raises(ValueError, match="start must be timezone-aware"):
        parse_schedule("* * * * *", start=datetime(2026, 1, 1))  # noqa: DTZ001


# -- validation -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("* * * *", "cron expression has 4 fields; expected 5 or 6 (with seconds)"),
        ("0 0 * * 1 2026 x", "cron expression has 7 fields; expected 5 or 6 (with seconds)"),
        ("every blue moon", "cron expression has 3 fields; expected 5 or 6 (with seconds)"),
        ("60 * * * *", "minute field: 60 is out of range 0-59"),
        ("0 24 * * *", "hour field: 24 is out of range 0-23"),
        ("0 0 0 * *", "day-of-month field: 0 is out of range 1-31"),
        ("0 0 * 13 *", "month field: 13 is out of range 1-12"),
        ("0 0 * * 8", "day-of-week field: 8 is out of range 0-7"),
        ("60 * * * * *", "second field: 60 is out of range 0-59"),
        ("5-2 * * * *", "minute field: range 5-2 runs backwards; write the smaller value first"),
        ("0 0 * * FRI-MON", "day-of-week field: range FRI-MON runs backwards; write the smaller value first"),
        ("*/0 * * * *", "minute field: step '0' must be a whole number of at least 1"),
        ("*/x * * * *", "minute field: step 'x' must be a whole number of at least 1"),
        ("1,,2 * * * *", "minute field '1,,2' has an empty list item"),
        ("0 0 * FOO *", "month field: 'FOO' is not a number or a name such as FEB"),
        ("H * * * *", "minute field: 'H' is not a number"),
        ("? * * * *", "minute field: '?' is only allowed for day-of-month and day-of-week"),
        ("0 0 * * 1#6", "day-of-week field: '1#6' needs an occurrence from 1 to 5 after '#'"),
        ("* * 30 2 *", "cron expression can never fire: February has no day 30"),
        ("0 0 31 4 *", "cron expression can never fire: April has no day 31"),
        ("0 0 31 4,6,9 ?", "cron expression can never fire: April, June and September have no day 31"),
        ("@reboot", "unknown cron alias '@reboot'; use one of @annually, @daily, @hourly, @midnight, @monthly,"),
    ],
)
def test_invalid_cron_names_the_field_and_says_why(expression, message):
    with pytest.raises(ValidationError) as caught:
        parse_schedule(expression, field="body.cron")
    assert caught.value.location == "body.cron"
    assert caught.value.message.startswith(message)
    assert caught.value.problems[0].value == expression


@pytest.mark.parametrize("expression", ["", "   ", None])
def test_an_empty_expression_is_refused(expression):
    with pytest.raises(ValidationError) as caught:
        parse_schedule(expression, field="body.cron")
    assert caught.value.location == "body.cron"


@pytest.mark.parametrize("zone", ["Mars/Olympus", "utc", "", "../etc/passwd", "/etc/localtime"])
def test_an_unknown_zone_is_located_at_the_timezone_field(zone):
    with pytest.raises(ValidationError) as caught:
        parse_schedule("0 9 * * *", timezone=zone, field="body.cron", timezone_field="body.timezone")
    assert caught.value.location == "body.timezone"
    assert caught.value.message == f"unknown time zone {zone!r}; use an IANA name such as UTC or Europe/Stockholm"


def test_start_after_end_is_located_at_the_end_field():
    with pytest.raises(ValidationError) as caught:
        parse_schedule("0 9 * * *", start=at("2026-02-01T00:00:00Z"), end=at("2026-01-01T00:00:00Z"), field="body.cron")
    assert (caught.value.location, caught.value.message) == ("body.end", "end is before start")
    with pytest.raises(ValidationError) as caught:
        parse_schedule(
            "0 9 * * *", start=at("2026-02-01T00:00:00Z"), end=at("2026-01-01T00:00:00Z"), end_field="query.until"
        )
    assert caught.value.location == "query.until"

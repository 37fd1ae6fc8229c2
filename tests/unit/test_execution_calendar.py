"""Cycle dates: time deltas, resetTo, month ends, calendars by cycle, leading-up dates."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import msgspec
import pytest

from chalicelib.engine.execution.calendar import (
    MissingBaseDate,
    first_main_date,
    next_main_date,
    plan_cycle,
    shift,
)
from chalicelib.engine.execution.definition import ExecutionSchedule, ExecutionTimeDelta

UTC_ZONE = ZoneInfo("UTC")


def delta(**fields) -> ExecutionTimeDelta:
    return msgspec.convert(fields, ExecutionTimeDelta)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def schedule(**fields) -> ExecutionSchedule:
    return msgspec.convert(fields, ExecutionSchedule)


@pytest.mark.parametrize(("unit", "amount", "expected"), [
    ("minutes", 90, "2027-01-31T10:30:00+00:00"),
    ("hours", 25, "2027-02-01T10:00:00+00:00"),
    ("days", 1, "2027-02-01T09:00:00+00:00"),
    ("months", 1, "2027-02-28T09:00:00+00:00"),
    ("months", 13, "2028-02-29T09:00:00+00:00"),
    ("years", 1, "2028-01-31T09:00:00+00:00"),
])
def test_each_unit_moves_the_date(unit, amount, expected):
    assert shift(at("2027-01-31T09:00:00Z"), delta(unit=unit, amount=amount), UTC_ZONE).isoformat() == expected


def test_a_monthly_cycle_from_the_31st_lands_on_each_months_last_day_and_returns_to_the_31st():
    dates, current = [], at("2027-01-31T09:00:00Z")
    for _ in range(4):
        current = shift(current, delta(unit="months", amount=1), UTC_ZONE, anchor_day=31)
        dates.append(current.isoformat()[:10])
    assert dates == ["2027-02-28", "2027-03-31", "2027-04-30", "2027-05-31"]


def test_without_an_anchor_a_month_end_drifts_as_plain_arithmetic_would():
    feb = shift(at("2027-01-31T09:00:00Z"), delta(unit="months", amount=1), UTC_ZONE)
    assert shift(feb, delta(unit="months", amount=1), UTC_ZONE).isoformat()[:10] == "2027-03-28"


def test_a_year_from_the_29th_of_february_is_the_28th():
    assert shift(at("2028-02-29T00:00:00Z"), delta(unit="years", amount=1), UTC_ZONE).isoformat()[:10] == "2029-02-28"


def test_days_keep_the_wall_clock_across_a_dst_change_and_hours_do_not():
    berlin = ZoneInfo("Europe/Berlin")
    before = at("2027-03-27T09:00:00+01:00")
    assert shift(before, delta(unit="days", amount=1), berlin).isoformat() == "2027-03-28T07:00:00+00:00"
    assert shift(before, delta(unit="hours", amount=24), berlin).isoformat() == "2027-03-28T08:00:00+00:00"


def test_schedule_before_moves_back():
    main = at("2027-03-31T09:00:00Z")
    assert shift(main, delta(unit="days", amount=3), UTC_ZONE, before=True).isoformat()[:10] == "2027-03-28"
    assert shift(main, delta(unit="months", amount=1), UTC_ZONE, before=True).isoformat()[:10] == "2027-02-28"


def test_reset_to_pins_wall_clock_fields_in_the_zone():
    paris = ZoneInfo("Europe/Paris")
    moved = shift(at("2027-01-15T13:45:00Z"), delta(unit="months", amount=1, resetTo={"day": 31, "hour": 6,
                                                                                       "minute": 0}), paris)
    assert moved.astimezone(paris).isoformat() == "2027-02-28T06:00:00+01:00"
    midnight = shift(at("2027-01-15T13:45:00Z"), delta(unit="days", amount=0, resetTo={"hour": 24}), UTC_ZONE)
    assert midnight.isoformat() == "2027-01-16T00:45:00+00:00"  # the minute is kept unless reset too
    month = shift(at("2027-01-31T09:00:00Z"), delta(unit="days", amount=0, resetTo={"month": 4}), UTC_ZONE)
    assert month.isoformat()[:10] == "2027-04-30"


def test_from_counts_from_an_instance_attribute():
    moved = shift(at("2027-01-01T00:00:00Z"), delta(unit="days", amount=2, **{"from": "trialEnd"}), UTC_ZONE,
                  attributes={"trialEnd": "2027-05-10T12:00:00+02:00"})
    assert moved.isoformat() == "2027-05-12T10:00:00+00:00"
    with pytest.raises(MissingBaseDate) as missing:
        shift(at("2027-01-01T00:00:00Z"), delta(unit="days", amount=2, **{"from": "trialEnd"}), UTC_ZONE,
              attributes={"trialEnd": "tomorrow"})
    assert missing.value.attribute == "trialEnd"


def test_initial_delay_places_the_first_main_date():
    plain = schedule(calendars=[{"key": "m", "scheduleAfter": {"unit": "months", "amount": 1}, "task": "t"}])
    assert first_main_date(plain, at("2027-01-31T09:00:00Z"), UTC_ZONE, {}).isoformat()[:10] == "2027-01-31"
    delayed = schedule(initialDelay={"unit": "days", "amount": 14},
                       calendars=[{"key": "m", "scheduleAfter": {"unit": "months", "amount": 1}, "task": "t"}])
    assert first_main_date(delayed, at("2027-01-31T09:00:00Z"), UTC_ZONE, {}).isoformat()[:10] == "2027-02-14"


def test_run_on_cycle_picks_the_calendar_and_the_others_place_the_rest():
    both = schedule(calendars=[
        {"key": "monthly", "scheduleAfter": {"unit": "months", "amount": 1}, "task": "charge",
         "leadingUpTasks": [{"task": "remind", "scheduleBefore": {"unit": "days", "amount": 3}}]},
        {"key": "trial", "runOnCycle": 2, "scheduleAfter": {"unit": "days", "amount": 14}, "task": "convert"},
    ])
    first = at("2027-01-01T09:00:00Z")
    second = next_main_date(both, 2, first, UTC_ZONE, anchor_day=1, attributes={})
    assert second is not None and second.isoformat()[:10] == "2027-01-15"
    plan2 = plan_cycle(both, 2, second, UTC_ZONE, {})
    assert plan2 is not None and plan2.calendar.task == "convert" and plan2.leading_up == ()
    third = next_main_date(both, 3, second, UTC_ZONE, anchor_day=1, attributes={})
    assert third is not None and third.isoformat()[:10] == "2027-02-01"
    plan3 = plan_cycle(both, 3, third, UTC_ZONE, {})
    assert plan3 is not None and [(t, d.isoformat()[:10]) for t, d in plan3.leading_up] == [("remind", "2027-01-29")]


def test_no_calendar_for_a_cycle_means_no_next_date():
    once = schedule(calendars=[{"key": "m", "runOnCycle": 1, "scheduleAfter": {"unit": "days", "amount": 1},
                                "task": "t"}])
    assert next_main_date(once, 2, at("2027-01-01T00:00:00Z"), UTC_ZONE, anchor_day=1, attributes={}) is None

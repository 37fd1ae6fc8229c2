"""Catch-up after downtime: which nominal times were missed, and which to run now."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest

from chalicelib.engine.model import CatchUpPolicy as CatchUp
from chalicelib.engine.schedule import CatchUpPlan, parse_schedule, plan_catch_up


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


HOURLY = parse_schedule("0 * * * *")


def test_the_gap_is_after_last_fire_up_to_and_including_now():
    plan = plan_catch_up(HOURLY, last_fire=at("2026-01-01T01:00:00Z"), now=at("2026-01-01T04:00:00Z"), policy="latest")
    assert plan.missed == [at("2026-01-01T02:00:00Z"), at("2026-01-01T03:00:00Z"), at("2026-01-01T04:00:00Z")]


@pytest.mark.parametrize(
    ("policy", "to_run"),
    [
        (CatchUp.SKIP, []),
        (CatchUp.LATEST, ["2026-01-01T05:00:00+00:00"]),
        (CatchUp.ALL, [f"2026-01-01T0{hour}:00:00+00:00" for hour in range(1, 6)]),
    ],
)
def test_policies(policy, to_run):
    plan = plan_catch_up(HOURLY, last_fire=at("2026-01-01T00:30:00Z"), now=at("2026-01-01T05:10:00Z"), policy=policy)
    assert [instant.isoformat() for instant in plan.missed] == [
        f"2026-01-01T0{hour}:00:00+00:00" for hour in range(1, 6)
    ]
    assert [instant.isoformat() for instant in plan.to_run] == to_run


def test_no_gap_plans_nothing():
    now = at("2026-01-01T05:10:00Z")
    assert plan_catch_up(HOURLY, last_fire=now, now=now, policy=CatchUp.ALL) == CatchUpPlan(missed=[], to_run=[])
    assert plan_catch_up(HOURLY, last_fire=at("2026-01-01T05:01:00Z"), now=now, policy=CatchUp.LATEST).missed == []


def test_the_cap_keeps_the_newest_in_order():
    every_minute = parse_schedule("* * * * *")
    now = at("2026-01-04T00:00:00Z")
    plan = plan_catch_up(every_minute, last_fire=at("2026-01-01T00:00:00Z"), now=now, policy=CatchUp.ALL, cap=100)
    assert len(plan.missed) == 100
    assert plan.missed[0] == now - timedelta(minutes=99)
    assert plan.missed[-1] == now
    assert plan.missed == sorted(plan.missed)
    assert plan.to_run == plan.missed


def test_a_long_gap_of_a_frequent_schedule_is_cheap():
    every_second = parse_schedule("* * * * * *")
    began = time.perf_counter()
    plan = plan_catch_up(
        every_second, last_fire=at("2025-01-01T00:00:00Z"), now=at("2026-01-01T00:00:00Z"), policy=CatchUp.LATEST
    )
    assert time.perf_counter() - began < 2
    assert len(plan.missed) == 100
    assert plan.to_run == [at("2026-01-01T00:00:00Z")]


def test_the_dispatchers_view_of_an_overdue_tick_includes_it():
    due = at("2026-01-01T02:00:00Z")
    plan = plan_catch_up(
        HOURLY, last_fire=due - timedelta(microseconds=1), now=at("2026-01-01T03:30:00Z"), policy=CatchUp.ALL
    )
    assert plan.missed == [due, at("2026-01-01T03:00:00Z")]


def test_dst_skipped_repeats_are_not_part_of_the_gap():
    fixed = parse_schedule("30 1 * * *", timezone="America/New_York")
    plan = plan_catch_up(
        fixed, last_fire=at("2026-10-31T12:00:00Z"), now=at("2026-11-02T12:00:00Z"), policy=CatchUp.ALL
    )
    assert [instant.isoformat() for instant in plan.missed] == [
        "2026-11-01T05:30:00+00:00",  # 01:30-04:00; the 01:30-05:00 repeat is left out
        "2026-11-02T06:30:00+00:00",
    ]


def test_wildcard_job_repeats_are_part_of_the_gap():
    wildcard = parse_schedule("30 * * * *", timezone="America/New_York")
    plan = plan_catch_up(
        wildcard, last_fire=at("2026-11-01T05:00:00Z"), now=at("2026-11-01T07:00:00Z"), policy=CatchUp.ALL
    )
    assert plan.missed == [at("2026-11-01T05:30:00Z"), at("2026-11-01T06:30:00Z")]


def test_across_spring_forward_a_fixed_job_is_caught_up_and_a_wildcard_job_is_not():
    window = {"last_fire": at("2026-03-08T05:00:00Z"), "now": at("2026-03-08T08:00:00Z"), "policy": CatchUp.ALL}
    fixed = parse_schedule("30 2 * * *", timezone="America/New_York")
    assert plan_catch_up(fixed, **window).missed == [at("2026-03-08T07:00:00Z")]  # 03:00-04:00
    wildcard = parse_schedule("30 * * * *", timezone="America/New_York")
    assert plan_catch_up(wildcard, **window).missed == [
        at("2026-03-08T05:30:00Z"),  # 00:30-05:00
        at("2026-03-08T06:30:00Z"),  # 01:30-05:00; 02:30 never existed
        at("2026-03-08T07:30:00Z"),  # 03:30-04:00
    ]


def test_the_schedules_end_bounds_the_gap():
    bounded = parse_schedule("0 * * * *", end=at("2026-01-01T02:00:00Z"))
    plan = plan_catch_up(
        bounded, last_fire=at("2026-01-01T00:00:00Z"), now=at("2026-01-02T00:00:00Z"), policy=CatchUp.LATEST
    )
    assert plan.missed == [at("2026-01-01T01:00:00Z"), at("2026-01-01T02:00:00Z")]
    assert plan.to_run == [at("2026-01-01T02:00:00Z")]


def test_a_missed_single_instant():
    once = parse_schedule("2026-01-01T12:00:00Z")
    plan = plan_catch_up(once, last_fire=at("2026-01-01T00:00:00Z"), now=at("2026-02-01T00:00:00Z"), policy="latest")
    assert plan.to_run == [at("2026-01-01T12:00:00Z")]


def test_every_and_intervals_catch_up_too():
    every = parse_schedule("@every 10m", start=at("2026-01-01T00:00:00Z"))
    plan = plan_catch_up(every, last_fire=at("2026-01-01T00:00:00Z"), now=at("2026-01-01T00:35:00Z"), policy="all")
    assert plan.missed == [at("2026-01-01T00:10:00Z"), at("2026-01-01T00:20:00Z"), at("2026-01-01T00:30:00Z")]


def test_bad_arguments():
    with pytest.raises(ValueError, match="cap"):
        plan_catch_up(HOURLY, last_fire=at("2026-01-01T00:00:00Z"), now=at("2026-01-02T00:00:00Z"), policy="all", cap=0)
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        plan_catch_up(HOURLY, last_fire=at("2026-01-01T00:00:00Z"), now=datetime(2026, 1, 2), policy="all")  # noqa: DTZ001
    with pytest.raises(ValueError):
        plan_catch_up(HOURLY, last_fire=at("2026-01-01T00:00:00Z"), now=at("2026-01-02T00:00:00Z"), policy="never")

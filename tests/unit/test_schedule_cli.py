"""`tasklane schedule next`: the fires of an expression, one ISO line each."""

from __future__ import annotations

from datetime import datetime

import pytest

from chalicelib.cli import build_parser, main, schedule_cmd
from chalicelib.engine.schedule import preview


def run(argv: list[str], **kwargs) -> int:
    args = build_parser().parse_args(["schedule", "next", *argv])
    return schedule_cmd.run(args, **kwargs)


def test_prints_fires_in_the_zone_and_marks_repeats(capsys):
    code = run(["30 1 * * *", "--tz", "America/New_York", "--after", "2026-10-31T12:00:00Z", "--count", "3"])
    out = capsys.readouterr()
    assert code == 0
    assert out.out.splitlines() == [
        "2026-11-01T01:30:00-04:00",
        "2026-11-01T01:30:00-05:00 dst_skipped",
        "2026-11-02T01:30:00-05:00",
    ]
    assert out.err == ""


def test_a_wildcard_job_is_not_caught_up_after_the_spring_forward_gap(capsys):
    assert run(["15 * * * *", "--tz", "Europe/Berlin", "--after", "2026-03-29T00:30:00+01:00", "--count", "3"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "2026-03-29T01:15:00+01:00",
        "2026-03-29T03:15:00+02:00",
        "2026-03-29T04:15:00+02:00",
    ]


def test_defaults_are_five_fires_in_utc_after_now(capsys):
    assert run(["@hourly"], clock=lambda: datetime.fromisoformat("2026-01-01T10:20:00+00:00")) == 0
    assert capsys.readouterr().out.splitlines() == [f"2026-01-01T{hour}:00:00+00:00" for hour in range(11, 16)]


def test_after_may_carry_any_offset(capsys):
    assert run(["0 12 * * *", "--after", "2026-01-01T13:00:00+02:00", "--count", "1"]) == 0
    assert capsys.readouterr().out == "2026-01-01T12:00:00+00:00\n"


def test_an_ended_schedule_prints_what_is_left(capsys):
    assert run(["2026-05-01T10:00:00+02:00", "--tz", "Europe/Paris", "--after", "2026-01-01T00:00:00Z"]) == 0
    assert capsys.readouterr().out == "2026-05-01T10:00:00+02:00\n"


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["30 1 * *"], "error: expression: cron expression has 4 fields; expected 5 or 6 (with seconds)\n"),
        (
            ["0 9 * * *", "--tz", "Mars/Olympus"],
            "error: --tz: unknown time zone 'Mars/Olympus'; use an IANA name such as UTC or Europe/Stockholm\n",
        ),
        (
            ["0 9 * * *", "--after", "2026-01-01T00:00:00"],
            "error: --after: must be an ISO 8601 instant with an offset or Z, such as 2026-11-01T00:00:00Z\n",
        ),
        (["0 9 * * *", "--after", "tomorrow"], "error: --after: must be an ISO 8601 instant with an offset or Z"),
        (["0 9 * * *", "--count", "0"], "error: --count: must be from 1 to 1000\n"),
    ],
)
def test_invalid_input_prints_the_location_and_exits_2(capsys, argv, error):
    assert run([*argv, "--after", "2026-01-01T00:00:00Z"] if "--after" not in argv else argv) == 2
    out = capsys.readouterr()
    assert out.out == ""
    assert out.err.startswith(error)


def test_through_the_tasklane_entry_point(capsys):
    assert main(["schedule", "next", "*/20 * * * * *", "--after", "2026-01-01T00:00:00Z", "--count", "2"]) == 0
    assert capsys.readouterr().out.splitlines() == ["2026-01-01T00:00:20+00:00", "2026-01-01T00:00:40+00:00"]


def test_preview_is_what_the_command_prints():
    after = datetime.fromisoformat("2026-04-04T00:00:00+00:00")
    assert preview("45 1 * * *", timezone="Australia/Lord_Howe", after=after, count=2) == [
        "2026-04-05T01:45:00+11:00",
        "2026-04-05T01:45:00+10:30 dst_skipped",
    ]

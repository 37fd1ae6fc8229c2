"""One reader of instants and one check of zones, for every face and the schedules."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from chalicelib.engine.instants import InstantError, instant_field, parse_instant, zone_named
from chalicelib.errors import ValidationError


def test_an_instant_is_read_into_utc_keeping_its_offset():
    assert parse_instant("2026-03-29T03:00:00+02:00").isoformat() == "2026-03-29T01:00:00+00:00"
    assert parse_instant("2026-03-29T01:00:00Z").isoformat() == "2026-03-29T01:00:00+00:00"


def test_naive_text_is_read_in_the_zone_given_and_refused_without_one():
    stockholm = ZoneInfo("Europe/Stockholm")
    assert parse_instant("2025-07-01T08:00:00", naive_zone=stockholm).isoformat() == "2025-07-01T06:00:00+00:00"
    with pytest.raises(InstantError, match="since '2025-07-01T08:00:00' needs a UTC offset or Z"):
        parse_instant("2025-07-01T08:00:00", what="since")


@pytest.mark.parametrize(("text", "why"), [("soon", "is not an ISO 8601 date-time"),
                                           ("0001-01-01T00:00:00+01:00", "is out of range")])
def test_a_request_field_that_is_not_an_instant_is_refused_at_its_location(text, why):
    with pytest.raises(ValidationError) as caught:
        instant_field(text, field="query.since")
    assert caught.value.location == "query.since" and why in caught.value.message


@pytest.mark.parametrize("name", ["Mars/Olympus", "", "../etc/passwd"])
def test_an_unknown_zone_is_refused_at_its_field(name):
    with pytest.raises(ValidationError) as caught:
        zone_named(name, field="body.timezone")
    assert caught.value.location == "body.timezone"
    assert caught.value.message.startswith(f"unknown time zone {name!r}")


def test_the_daemon_run_list_reads_since_with_the_one_reader():
    from chalicelib.faces.daemon.requests import DaemonRunListQuery
    from chalicelib.faces.daemon.runs_view import parse_run_query

    query = parse_run_query(DaemonRunListQuery(since="2026-01-01T01:00:00+01:00"))
    assert query.since.isoformat() == "2026-01-01T00:00:00+00:00"
    with pytest.raises(ValidationError) as caught:
        parse_run_query(DaemonRunListQuery(until="2026-01-01T01:00:00"))
    assert caught.value.location == "query.until" and "needs a UTC offset or Z" in caught.value.message

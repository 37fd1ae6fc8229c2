"""Instants and time zones as every face and the schedules take them: one reader of each.

`parse_instant` reads ISO 8601 date-time text into an aware UTC datetime (naive text only where
the caller names the zone to read it in); `zone_named` turns an IANA name into a zone. Both
refuse with a message written for a human, naming the field, and never let an `OverflowError`
or a `ZoneInfoNotFoundError` escape.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chalicelib.engine.schedule_dst import ExpressionError
from chalicelib.errors import ValidationError


class InstantError(ExpressionError):
    """Text that is not an instant; the message names what was read (`interval start '...'`)."""


def parse_instant(text: str, *, what: str = "instant", naive_zone: tzinfo | None = None) -> datetime:
    """An ISO 8601 date-time as an aware UTC datetime. Naive text is read in `naive_zone` when
    one is given and refused otherwise; `InstantError` says why, naming `what`."""
    try:
        value = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise InstantError(f"{what} {text!r} is not an ISO 8601 date-time such as 2026-01-01T09:00:00Z") from None
    if value.tzinfo is None or value.utcoffset() is None:
        if naive_zone is None:
            raise InstantError(f"{what} {text!r} needs a UTC offset or Z, such as 2026-01-01T09:00:00+01:00")
        value = value.replace(tzinfo=naive_zone)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise InstantError(f"{what} {text!r} is out of range: in UTC it falls outside years 1 to 9999") from None


def instant_field(text: str, *, field: str, naive_zone: tzinfo | None = None) -> datetime:
    """`parse_instant` for a request field: `ValidationError` located at `field`."""
    try:
        return parse_instant(text, what=field, naive_zone=naive_zone)
    except InstantError as exc:
        raise ValidationError(str(exc), location=field, value=text) from None


def zone_named(name: str, *, field: str = "timezone") -> ZoneInfo:
    """The IANA zone `name`; `ValidationError` located at `field` when there is none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        message = f"unknown time zone {name!r}; use an IANA name such as UTC or Europe/Stockholm"
        raise ValidationError(message, location=field, value=name) from None

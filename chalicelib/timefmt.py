"""Time as data: aware UTC instants and their fixed-width text form.

Instants are stored as `YYYY-MM-DDTHH:MM:SS.ffffffZ` so that text order is time order (the
due-trigger and run indexes sort on it). Naive datetimes are refused everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """The current instant, aware, in UTC."""
    return datetime.now(UTC)


def require_aware(value: datetime, name: str = "datetime") -> datetime:
    """Return `value` if it carries a zone; raise ValueError for a naive datetime."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value


def to_iso(value: datetime) -> str:
    """Fixed-width UTC text of an aware instant (sorts as time)."""
    return require_aware(value).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_iso(text: str) -> datetime:
    """Parse an ISO 8601 instant with a zone (Z or offset) into an aware UTC datetime."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    return require_aware(value, text).astimezone(UTC)


def to_api(value: datetime | None) -> str | None:
    """RFC 3339 text for API responses, millisecond precision, `Z` suffix."""
    if value is None:
        return None
    return require_aware(value).astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

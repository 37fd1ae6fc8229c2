"""Durations and sizes as RunWisp writes them.

The API speaks nanoseconds; files (and, for convenience, request bodies) may use strings such
as `"2s"`, `"1h30m"`, `"7d"`. Sizes are bytes or strings such as `"500mb"`, `"1.5KiB"`.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from chalicelib.engine.schedule import parse_duration
from chalicelib.errors import ValidationError

NANOS_PER_SECOND = 1_000_000_000

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")
_SIZE_UNITS = {
    "": 1, "b": 1,
    "k": 1000, "kb": 1000, "kib": 1024,
    "m": 1000**2, "mb": 1000**2, "mib": 1024**2,
    "g": 1000**3, "gb": 1000**3, "gib": 1024**3,
}


def seconds_from(value: Any, *, location: str) -> float:
    """A duration as seconds: an integer is nanoseconds (the API's unit), a string is `1h30m`."""
    if isinstance(value, bool):
        raise ValidationError("a duration is a number of nanoseconds or a string like 1h30m",
                              location=location, value=value)
    if isinstance(value, int):
        if value <= 0:
            raise ValidationError("a duration must be longer than zero", location=location, value=value)
        return value / NANOS_PER_SECOND
    if isinstance(value, str):
        return parse_duration(value, field=location).total_seconds()
    raise ValidationError("a duration is a number of nanoseconds or a string like 1h30m", location=location,
                          value=value)


def nanos(seconds: float | None) -> int | None:
    """Seconds as integer nanoseconds (None stays None)."""
    return None if seconds is None else round(seconds * NANOS_PER_SECOND)


def bytes_from(value: Any, *, location: str) -> int:
    """A size in bytes: an integer, or a string like `500mb`, `64KiB`, `1g`."""
    if isinstance(value, bool):
        raise ValidationError("a size is a number of bytes or a string like 500mb", location=location, value=value)
    if isinstance(value, int):
        if value <= 0:
            raise ValidationError("a size must be at least one byte", location=location, value=value)
        return value
    if isinstance(value, str):
        match = _SIZE.match(value)
        unit = match.group(2).lower() if match else None
        if match and unit in _SIZE_UNITS:
            try:
                size = int(Decimal(match.group(1)) * _SIZE_UNITS[unit])
            except InvalidOperation:
                size = 0
            if size > 0:
                return size
    raise ValidationError("a size is a number of bytes or a string like 500mb, 64kib or 1gb", location=location,
                          value=value)

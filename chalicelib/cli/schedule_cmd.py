"""`tasklane schedule next`: print when an expression fires, as the engine would fire it.

    tasklane schedule next '30 1 * * *' --tz America/New_York --after 2026-10-31T12:00:00Z --count 3
    2026-11-01T01:30:00-04:00
    2026-11-01T01:30:00-05:00 dst_skipped
    2026-11-02T01:30:00-05:00

A line ending in `dst_skipped` is a repeated wall time that is recorded as a run but not executed.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime

from chalicelib.engine.instants import InstantError, parse_instant
from chalicelib.engine.schedule import preview
from chalicelib.errors import ValidationError
from chalicelib.timefmt import Clock, utcnow

#: The most fires one preview prints.
MAX_COUNT = 1000


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register `schedule next` on the `tasklane` command line."""
    schedule = subparsers.add_parser("schedule", help="inspect schedule expressions")
    commands = schedule.add_subparsers(dest="schedule_command", required=True)
    upcoming = commands.add_parser("next", help="print the next fire times of an expression")
    upcoming.add_argument("expression", metavar="EXPR", help="cron, @every, R/<start>/<period>, RRULE or an instant")
    upcoming.add_argument("--tz", default="UTC", help="IANA zone the expression is read in (default UTC)")
    upcoming.add_argument("--after", help="ISO 8601 instant with offset or Z (default: now)")
    upcoming.add_argument("--count", type=int, default=5, help=f"how many fires to print, 1-{MAX_COUNT} (default 5)")
    upcoming.set_defaults(run=run)


def run(args: argparse.Namespace, *, clock: Clock = utcnow) -> int:
    """Print the next fires of `args.expression`, one per line; 2 and a message for bad input."""
    try:
        lines = preview(
            args.expression,
            timezone=args.tz,
            after=_after(args.after) if args.after else clock(),
            count=_count(args.count),
            field="expression",
            timezone_field="--tz",
        )
    except ValidationError as exc:
        print(f"error: {exc.location}: {exc.message}", file=sys.stderr)
        return 2
    for line in lines:
        print(line)
    return 0


def _after(text: str) -> datetime:
    try:
        return parse_instant(text)
    except InstantError:
        message = "must be an ISO 8601 instant with an offset or Z, such as 2026-11-01T00:00:00Z"
        raise ValidationError(message, location="--after", value=text) from None


def _count(count: int) -> int:
    if not 1 <= count <= MAX_COUNT:
        raise ValidationError(f"must be from 1 to {MAX_COUNT}", location="--count", value=count)
    return count

"""The page's rate tiers, per user: tier 1 for reads, tier 2 for writes and starts.

The limits are the settings `TASKLANE_RATE_TIER1` / `TASKLANE_RATE_TIER2` (requests per user
per minute; 0 turns a tier off). Counting happens in the engine (a fixed one-minute window in
DynamoDB), so every Lambda instance sees the same count.
"""

from __future__ import annotations

from enum import StrEnum

from chalicelib import settings
from chalicelib.engine import rate_limits
from chalicelib.errors import TooManyRequests
from chalicelib.faces.http import Call
from chalicelib.timefmt import Clock, utcnow

#: Where the limiter reads the time (tests pin it so a window cannot roll over mid-test).
clock: Clock = utcnow


class Tier(StrEnum):
    """A rate tier of the page."""

    #: Reads: 1,000 requests a minute by default.
    READ = "tier1"
    #: Writes and starts: 100 requests a minute by default.
    WRITE = "tier2"


def limit_of(tier: Tier) -> int:
    """Requests per minute allowed in `tier` (0: unlimited)."""
    current = settings.current()
    return current.rate_tier1 if tier is Tier.READ else current.rate_tier2


def enforce(call: Call, tier: Tier) -> None:
    """Count this request; `TooManyRequests` with `retry_after` when over the tier's limit."""
    limit = limit_of(tier)
    if limit <= 0:
        return
    decision = rate_limits.count_request(call.principal.tenant, call.principal.user_id, tier.value,
                                         limit=limit, now=clock())
    if not decision.allowed:
        raise TooManyRequests(f"rate limit of {limit} requests per minute exceeded ({tier.value})",
                              retry_after=decision.retry_after)

"""Per-user fixed-window rate limiting, counted in the store so it holds across instances."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from chalicelib.engine import backend


@dataclass(frozen=True, kw_only=True)
class RateDecision:
    """The outcome of counting one request against a limit."""

    #: Whether the request is within the limit.
    allowed: bool
    #: Requests counted in the current window, this one included.
    count: int
    #: Seconds until the current window ends (what `Retry-After` should say).
    retry_after: int


def count_request(
    tenant: str, user: str, tier: str, *, limit: int, now: datetime, window_seconds: int = 60
) -> RateDecision:
    """Count one request of `user` in `tier`; `limit` requests per window are allowed
    (`limit <= 0` turns the limit off and counts nothing)."""
    epoch = int(now.timestamp())
    window_start = epoch - epoch % window_seconds
    retry_after = max(1, window_start + window_seconds - epoch)
    if limit <= 0:
        return RateDecision(allowed=True, count=0, retry_after=retry_after)
    count = backend.current().rate_limits.count_hit(tenant, user, tier, window_start,
                                                    expires_at=window_start + 2 * window_seconds)
    return RateDecision(allowed=count <= limit, count=count, retry_after=retry_after)

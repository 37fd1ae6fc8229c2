"""Fixed-window request counters for rate limits, shared by every Lambda instance.

A window lives at (pk = tenant, sk = "rate#<user>#<tier>#<window start>") in the tasks table;
each request adds one with an atomic `UpdateItem ADD`, so concurrent instances never lose a
count. `expires_at` (the table's TTL attribute) lets DynamoDB remove old windows by itself.
"""

from __future__ import annotations

from chalicelib.store.models import RecordItem

RATE_PREFIX = "rate#"


def count_hit(tenant: str, user: str, tier: str, window_start: int, *, expires_at: int) -> int:
    """Add one request to the window and return the window's count after it (atomic ADD)."""
    updated = RecordItem(tenant, f"{RATE_PREFIX}{user}#{tier}#{window_start}").update(
        actions=[RecordItem.counter.add(1), RecordItem.expires_at.set(expires_at)]
    )
    return int(updated["Attributes"]["counter"]["N"])


class DynamoRateCounter:
    """`RateCounter` over the tasks table."""

    def count_hit(self, tenant: str, user: str, tier: str, window_start: int, *, expires_at: int) -> int:
        return count_hit(tenant, user, tier, window_start, expires_at=expires_at)

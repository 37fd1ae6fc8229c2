"""Conditional writes: a failed condition means another writer won a race, an expected outcome.

Every write that can race (claim, start, finish, tick, slot, name) goes through `conditional`,
so the check for DynamoDB's "condition failed" codes is written once.
"""

from __future__ import annotations

from collections.abc import Callable

from pynamodb.exceptions import PynamoDBException

#: What DynamoDB answers when a write's condition (or a transaction's) did not hold.
_LOST_RACE = frozenset({"ConditionalCheckFailedException", "TransactionCanceledException"})


def conditional(write: Callable[[], object]) -> bool:
    """Run one conditional write; True if it happened, False if its condition did not hold.
    Any other failure propagates."""
    try:
        write()
    except PynamoDBException as exc:
        if getattr(exc, "cause_response_code", None) in _LOST_RACE:
            return False
        raise
    return True

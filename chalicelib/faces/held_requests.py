"""Caps on requests held open: daemon `wait=true` runs and log streams, per tenant and in all.

A held request keeps a thread (locally) or an instance (deployed) busy for up to
`TASKLANE_MAX_HOLD_SECONDS`, so one tenant opening many could starve every other. Beyond
`TASKLANE_HELD_PER_TENANT` held at once by a tenant, or `TASKLANE_HELD_TOTAL` in all, a new one
is refused with `TooManyRequests`; `Retry-After` is the time until the first of the holds that
block it ends. The total is counted in this process (the local runtime is one process; deployed,
an API Lambda instance serves one request at a time and the function's reserved concurrency
bounds the total). The per-tenant cap is counted here too, and in leased slots in the store
(`engine.held_slots`), so it holds across every deployed instance.

`poll_until` is the one long-poll loop of the faces: it reads again until what it reads is done
or the hold ends.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from chalicelib import settings
from chalicelib.engine import held_slots
from chalicelib.errors import TooManyRequests
from chalicelib.timefmt import Clock, utcnow

T = TypeVar("T")


class HeldRequests:
    """Counts the requests held open now; thread-safe."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        #: token -> (tenant, when the hold ends at the latest, by `clock`).
        self._holders: dict[int, tuple[str, float]] = {}
        self._tokens = itertools.count(1)

    @contextmanager
    def hold(self, tenant: str, *, seconds: float, per_tenant: int, total: int) -> Iterator[None]:
        """Hold one slot of `tenant` for the block (`TooManyRequests` when none is free; a cap
        of 0 or less is no cap)."""
        token = self._acquire(tenant, seconds, per_tenant, total)
        try:
            yield
        finally:
            with self._lock:
                self._holders.pop(token, None)

    def held(self, tenant: str | None = None) -> int:
        """How many requests are held now, of `tenant` or in all."""
        with self._lock:
            return sum(1 for owner, _ in self._holders.values() if tenant is None or owner == tenant)

    def _acquire(self, tenant: str, seconds: float, per_tenant: int, total: int) -> int:
        with self._lock:
            now = self._clock()
            mine = [ends for owner, ends in self._holders.values() if owner == tenant]
            if 0 < per_tenant <= len(mine):
                raise TooManyRequests(f"{per_tenant} held requests (wait=true, log streams) are open for this "
                                      "tenant; wait for one to end", retry_after=_until_first(mine, now))
            if 0 < total <= len(self._holders):
                raise TooManyRequests(f"{total} held requests are open on this service; wait for one to end",
                                      retry_after=_until_first([e for _, e in self._holders.values()], now))
            token = next(self._tokens)
            self._holders[token] = (tenant, now + max(0.0, seconds))
            return token


def _until_first(ends: list[float], now: float) -> int:
    """Whole seconds until the earliest of `ends`, at least 1."""
    return max(1, math.ceil(min(ends) - now))


_held = HeldRequests()


def held_requests() -> HeldRequests:
    """The process's counter (one per process, shared by every face)."""
    return _held


#: Where the shared slots read the time (tests pin it).
clock: Clock = utcnow


@contextmanager
def hold(tenant: str, *, seconds: float) -> Iterator[None]:
    """Hold a slot of `tenant` under the configured caps for a request held up to `seconds`:
    this process's count first (no store call when it is full), then the tenant's shared slots."""
    current = settings.current()
    per_tenant = current.held_per_tenant
    with _held.hold(tenant, seconds=seconds, per_tenant=per_tenant, total=current.held_total):
        if per_tenant <= 0:
            yield
            return
        slot = held_slots.take_slot(tenant, cap=per_tenant, seconds=seconds, now=clock())
        if slot.slot is None:
            raise TooManyRequests(f"{per_tenant} held requests (wait=true, log streams) are open for this "
                                  "tenant; wait for one to end", retry_after=slot.retry_after)
        try:
            yield
        finally:
            held_slots.give_slot(slot)


def poll_until(first: T, read: Callable[[], T], done: Callable[[T], bool], *, seconds: float, poll: float,
               monotonic: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> T:
    """Read again every `poll` seconds until `done(value)` or `seconds` pass, starting from
    `first`; the last value read. Never sleeps past the end of the hold."""
    deadline = monotonic() + max(0.0, seconds)
    value = first
    while not done(value):
        left = deadline - monotonic()
        if left <= 0:
            break
        sleep(min(poll, left))
        value = read()
    return value

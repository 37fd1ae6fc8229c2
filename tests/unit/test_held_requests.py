"""The held-request caps under real threads released together (an injected clock for Retry-After)."""

from __future__ import annotations

import threading

import pytest

from chalicelib.errors import TooManyRequests
from chalicelib.faces.held_requests import HeldRequests, poll_until


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def race(held: HeldRequests, tenants: list[str], *, per_tenant: int, total: int, seconds: float = 20.0):
    """Every thread asks for a slot at once and keeps it until the race is judged; returns the
    tenants that got one and the refusals."""
    start, judged, decided = threading.Barrier(len(tenants)), threading.Event(), threading.Semaphore(0)
    admitted: list[str] = []
    refused: list[TooManyRequests] = []
    lock = threading.Lock()

    def ask(tenant: str) -> None:
        start.wait()
        try:
            with held.hold(tenant, seconds=seconds, per_tenant=per_tenant, total=total):
                with lock:
                    admitted.append(tenant)
                decided.release()
                judged.wait(timeout=10)
        except TooManyRequests as exc:
            with lock:
                refused.append(exc)
            decided.release()

    threads = [threading.Thread(target=ask, args=(tenant,)) for tenant in tenants]
    for thread in threads:
        thread.start()
    for _ in tenants:  # every thread has either got a slot or been refused
        assert decided.acquire(timeout=10)
    counts = {tenant: held.held(tenant) for tenant in set(tenants)}
    judged.set()
    for thread in threads:
        thread.join()
    return admitted, refused, counts


def test_racing_requests_of_one_tenant_get_exactly_the_per_tenant_cap():
    held = HeldRequests(clock=Clock())
    admitted, refused, counts = race(held, ["acme"] * 20, per_tenant=8, total=64)
    assert len(admitted) == 8 and len(refused) == 12 and counts == {"acme": 8}
    assert all(exc.retry_after == 20 for exc in refused)  # the first hold ends 20 s from now
    assert held.held() == 0  # every slot is given back


def test_the_total_cap_holds_across_tenants_and_one_tenant_cannot_take_anothers_slots():
    held = HeldRequests(clock=Clock())
    admitted, refused, _ = race(held, ["acme"] * 12 + ["beta"] * 12, per_tenant=8, total=10)
    assert len(admitted) == 10 and len(refused) == 14
    assert admitted.count("acme") <= 8 and admitted.count("beta") <= 8


def test_retry_after_counts_down_to_the_first_hold_that_ends():
    clock = Clock()
    held = HeldRequests(clock=clock)
    with held.hold("acme", seconds=25, per_tenant=1, total=0):
        clock.now += 17.5
        with pytest.raises(TooManyRequests) as refused:
            with held.hold("acme", seconds=25, per_tenant=1, total=0):
                pass
    assert refused.value.retry_after == 8
    with held.hold("acme", seconds=25, per_tenant=1, total=0):  # the slot came back
        assert held.held("acme") == 1


def test_a_cap_of_zero_is_no_cap():
    held = HeldRequests(clock=Clock())
    admitted, refused, _ = race(held, ["acme"] * 12, per_tenant=0, total=0)
    assert len(admitted) == 12 and refused == []


# -- the one long-poll loop --------------------------------------------------------------------


class FakeTime:
    """A monotonic clock that moves only when the loop sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_a_poll_reads_again_until_what_it_reads_is_done():
    time_ = FakeTime()
    values = iter([1, 2, 3, 4])
    result = poll_until(0, lambda: next(values), lambda value: value >= 3, seconds=10, poll=0.5,
                        monotonic=time_.monotonic, sleep=time_.sleep)
    assert result == 3 and time_.slept == [0.5, 0.5, 0.5]


def test_a_poll_ends_with_the_hold_and_never_sleeps_past_it():
    time_ = FakeTime()
    reads = []
    result = poll_until("pending", lambda: reads.append(1) or "pending", lambda value: value == "ended", seconds=1.2,
                        poll=0.5, monotonic=time_.monotonic, sleep=time_.sleep)
    assert result == "pending" and time_.slept == [0.5, 0.5, pytest.approx(0.2)] and len(reads) == 3


def test_a_value_already_done_is_answered_without_waiting():
    time_ = FakeTime()
    assert poll_until("ended", lambda: "never read", lambda value: value == "ended", seconds=5, poll=0.5,
                      monotonic=time_.monotonic, sleep=time_.sleep) == "ended"
    assert time_.slept == []

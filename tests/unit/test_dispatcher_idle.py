"""The local dispatcher ticker holds off while nothing is due, and a trigger written wakes it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.engine import due_signal
from chalicelib.runtime.event_sources import Ticker
from tests.waiting import wait_until


class Summaries:
    """A dispatcher handler that records its calls and answers the summary it is given."""

    def __init__(self, due: int) -> None:
        self.due = due
        self.calls = 0

    def __call__(self, event, context):
        self.calls += 1
        return {"due": self.due, "fired": 0, "missed": 0, "dst_skipped": 0}


@pytest.fixture
def started():
    tickers: list[Ticker] = []

    def start(handler, **kwargs) -> Ticker:
        ticker = Ticker(handler, interval=0.01, region="us-east-1", **kwargs)
        tickers.append(ticker)
        ticker.start()
        return ticker

    yield start
    for ticker in tickers:
        ticker.stopping.set()
        ticker.join(timeout=5)


def test_a_pass_that_found_nothing_due_is_not_repeated_until_the_idle_interval(started):
    handler = Summaries(due=0)
    ticker = started(handler, idle_interval=3600)
    wait_until(lambda: ticker.wakes >= 30)  # thirty intervals went by
    assert handler.calls == 1


def test_a_poke_brings_a_pass_at_the_next_interval(started):
    handler = Summaries(due=0)
    ticker = started(handler, idle_interval=3600)
    wait_until(lambda: handler.calls == 1)
    ticker.poke()
    wait_until(lambda: handler.calls == 2, timeout=5)
    wakes = ticker.wakes
    wait_until(lambda: ticker.wakes >= wakes + 20)
    assert handler.calls == 2  # one pass per poke, then idle again


def test_while_something_is_due_every_interval_passes(started):
    handler = Summaries(due=1)
    ticker = started(handler, idle_interval=3600)
    wait_until(lambda: handler.calls >= 10, timeout=5)
    assert ticker.ticks >= 10


def test_the_idle_interval_still_brings_a_pass(started):
    handler = Summaries(due=0)
    started(handler, idle_interval=0.05)
    wait_until(lambda: handler.calls >= 3, timeout=5)
    assert handler.calls >= 3


def test_without_an_idle_interval_every_interval_passes_even_when_nothing_is_due(started):
    handler = Summaries(due=0)
    started(handler)
    wait_until(lambda: handler.calls >= 10, timeout=5)
    assert handler.calls >= 10


def test_a_failing_pass_is_not_taken_for_an_idle_one(started):
    calls = []

    def failing(event, context):
        calls.append(1)
        raise RuntimeError("backend down")

    started(failing, idle_interval=3600)
    wait_until(lambda: len(calls) >= 5, timeout=5)
    assert len(calls) >= 5


def test_the_due_signal_tells_its_listeners_of_a_fire_time_and_not_of_none():
    heard: list[datetime] = []
    at = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    due_signal.subscribe(heard.append)
    try:
        due_signal.note(None)
        due_signal.note(at)
    finally:
        due_signal.unsubscribe(heard.append)
    due_signal.note(at)
    assert heard == [at]

"""The run slots that bound how many messages the local pollers hold, with real threads."""

from __future__ import annotations

import threading

import pytest

from chalicelib.runtime.event_sources import RunSlots


def test_take_gets_at_most_what_is_free():
    slots = RunSlots(3)
    assert slots.take(10, timeout=0) == 3
    assert slots.take(1, timeout=0) == 0
    slots.give_back(2)
    assert slots.take(1, timeout=0) == 1
    assert slots.in_flight == 2


def test_a_poller_waiting_for_a_slot_gets_the_one_given_back():
    slots = RunSlots(1)
    assert slots.take(10, timeout=0) == 1
    got: list[int] = []
    waiting = threading.Thread(target=lambda: got.append(slots.take(10, timeout=20)))
    waiting.start()
    slots.give_back(1)
    waiting.join(10)
    assert got == [1] and slots.in_flight == 1


def test_wait_idle_returns_once_every_slot_is_back():
    slots = RunSlots(2)
    slots.take(2, timeout=0)
    assert slots.wait_idle(0) is False
    threading.Thread(target=slots.give_back, args=(2,)).start()
    assert slots.wait_idle(10) is True


def test_a_bound_below_one_is_refused():
    with pytest.raises(ValueError):
        RunSlots(0)

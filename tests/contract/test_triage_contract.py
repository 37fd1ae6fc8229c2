"""Inbox triage over both stores: flags set one at a time and kept, per actor and per tenant."""

from __future__ import annotations

import threading
from datetime import timedelta

from tests.contract.conftest import T0
from tests.racing import race


def test_a_mark_sets_only_the_flags_given_and_keeps_the_others(store):
    first = store.triage.mark_triage("acme", "human", "alice", "t1", now=T0, last_seen_activity_at=T0, read=True)
    assert (first.task_id, first.actor_kind, first.actor_ref) == ("t1", "human", "alice")
    assert (first.read, first.dismissed, first.archived) == (True, False, False)
    assert (first.last_seen_activity_at, first.updated_at) == (T0, T0)
    later = T0 + timedelta(minutes=1)
    second = store.triage.mark_triage("acme", "human", "alice", "t1", now=later, last_seen_activity_at=None,
                                      archived=True)
    assert (second.read, second.dismissed, second.archived) == (True, False, True)
    assert (second.last_seen_activity_at, second.updated_at) == (T0, later)
    unread = store.triage.mark_triage("acme", "human", "alice", "t1", now=later, last_seen_activity_at=later,
                                      read=False)
    assert (unread.read, unread.archived, unread.last_seen_activity_at) == (False, True, later)
    assert list(store.triage.triage_of_actor("acme", "human", "alice")) == [unread]


def test_records_are_per_actor_and_per_tenant(store):
    store.triage.mark_triage("acme", "human", "alice", "t1", now=T0, last_seen_activity_at=T0, read=True)
    store.triage.mark_triage("acme", "human", "alice", "t2", now=T0, last_seen_activity_at=T0, dismissed=True)
    store.triage.mark_triage("acme", "agent_session", "alice", "t1", now=T0, last_seen_activity_at=T0, archived=True)
    store.triage.mark_triage("acme", "human", "bob", "t1", now=T0, last_seen_activity_at=T0, read=True)
    store.triage.mark_triage("globex", "human", "alice", "t3", now=T0, last_seen_activity_at=T0, read=True)
    # A reference holding the key separator is another actor, not a prefix of one.
    store.triage.mark_triage("acme", "human", "alice#t", "t9", now=T0, last_seen_activity_at=T0, read=True)
    mine = {(r.task_id, r.read, r.dismissed, r.archived)
            for r in store.triage.triage_of_actor("acme", "human", "alice")}
    assert mine == {("t1", True, False, False), ("t2", False, True, False)}
    assert [r.task_id for r in store.triage.triage_of_actor("acme", "agent_session", "alice")] == ["t1"]
    assert [r.task_id for r in store.triage.triage_of_actor("globex", "human", "alice")] == ["t3"]
    assert list(store.triage.triage_of_actor("globex", "human", "bob")) == []


def test_two_marks_racing_on_one_record_both_hold(racing_store):
    flags = iter(["read", "dismissed", "archived"])
    lock = threading.Lock()

    def mark() -> None:
        with lock:
            flag = next(flags)
        racing_store.triage.mark_triage("acme", "human", "alice", "t1", now=T0, last_seen_activity_at=T0,
                                        **{flag: True})

    race(mark, 3)
    (record,) = racing_store.triage.triage_of_actor("acme", "human", "alice")
    assert (record.read, record.dismissed, record.archived) == (True, True, True)

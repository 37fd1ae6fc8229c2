"""Task definitions, their pagination, chain edges, unique names and the failure counter."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from chalicelib.engine.model import DisabledReason, Subscription
from chalicelib.errors import Conflict, NotFound
from tests.contract.conftest import T0, put
from tests.racing import race


def test_a_task_is_created_once_and_replaced_only_at_its_revision(store):
    created = put(store, "t1")
    assert (created.revision, created.created_at, created.document) == (1, T0, {"name": "t1"})
    with pytest.raises(Conflict):
        put(store, "t1")
    replaced = put(store, "t1", now=T0 + timedelta(minutes=1), expected_revision=1)
    assert (replaced.revision, replaced.created_at, replaced.updated_at) == (2, T0, T0 + timedelta(minutes=1))
    with pytest.raises(Conflict):
        put(store, "t1", expected_revision=1)
    assert store.tasks.get_task("acme", "t1").revision == 2


def test_another_tenants_task_is_not_found_and_a_deleted_task_is_gone(store):
    put(store, "t1")
    with pytest.raises(NotFound):
        store.tasks.get_task("other", "t1")
    store.tasks.delete_task("acme", "t1", subscriptions=())
    with pytest.raises(NotFound):
        store.tasks.get_task("acme", "t1")
    with pytest.raises(NotFound):
        store.tasks.delete_task("acme", "t1", subscriptions=())
    with pytest.raises(NotFound):
        put(store, "t1", expected_revision=1)


def test_tasks_are_read_many_at_once_by_tenant_and_id_and_missing_ones_left_out(store):
    for n in range(120):  # more than one BatchGetItem request holds
        put(store, f"t{n:03d}")
    put(store, "mine", tenant="other")
    keys = [("acme", f"t{n:03d}") for n in range(120)] + [("acme", "gone"), ("acme", "mine"), ("other", "mine"),
                                                          ("acme", "t000")]
    read = store.tasks.get_tasks(keys)
    assert sorted(read) == sorted([("acme", f"t{n:03d}") for n in range(120)] + [("other", "mine")])
    assert read[("acme", "t007")] == store.tasks.get_task("acme", "t007")
    assert read[("other", "mine")].tenant == "other"
    assert store.tasks.get_tasks([]) == {}


def test_lists_are_in_id_order_and_filter_by_face(store):
    for task_id, face in (("b", "daemon"), ("a", "test"), ("c", "test")):
        put(store, task_id, face=face)
    put(store, "z", tenant="other")
    assert [t.task_id for t in store.tasks.list_tasks("acme")] == ["a", "b", "c"]
    assert [t.task_id for t in store.tasks.list_tasks("acme", face="test")] == ["a", "c"]


def test_tasks_by_update_resume_behind_a_position_in_both_directions(store):
    for n in range(7):
        put(store, f"t{n}", now=T0 + timedelta(seconds=n))
    put(store, "elsewhere", face="daemon")
    ascending = list(store.tasks.tasks_by_update("acme", "test", descending=False, first_chunk=2))
    assert [t.task_id for t, _ in ascending] == [f"t{n}" for n in range(7)]
    resumed = store.tasks.tasks_by_update("acme", "test", descending=False, after=ascending[2][1], first_chunk=2)
    assert [t.task_id for t, _ in resumed] == ["t3", "t4", "t5", "t6"]
    descending = list(store.tasks.tasks_by_update("acme", "test", descending=True, first_chunk=3))
    assert [t.task_id for t, _ in descending] == [f"t{n}" for n in reversed(range(7))]
    resumed = store.tasks.tasks_by_update("acme", "test", descending=True, after=descending[4][1])
    assert [t.task_id for t, _ in resumed] == ["t1", "t0"]
    # a change moves the task to the end
    put(store, "t0", now=T0 + timedelta(minutes=5), expected_revision=1)
    assert [t.task_id for t, _ in store.tasks.tasks_by_update("acme", "test", descending=True)][:2] == ["t0", "t6"]


def test_listings_by_update_are_the_tasks_by_update_without_their_engine_state(store):
    from chalicelib.engine.model import DisabledReason, listing_of

    for n in range(5):
        put(store, f"t{n}", now=T0 + timedelta(seconds=n), enabled=n != 2)
    store.tasks.disable("acme", "t4", code=DisabledReason.CONSECUTIVE_FAILURES, now=T0 + timedelta(seconds=9))
    put(store, "elsewhere", face="daemon")
    for descending in (True, False):
        whole = list(store.tasks.tasks_by_update("acme", "test", descending=descending, first_chunk=2))
        listed = list(store.tasks.listings_by_update("acme", "test", descending=descending, first_chunk=2))
        assert [(listing_of(task), position) for task, position in whole] == listed
    newest = listed[-1]
    assert (newest[0].task_id, newest[0].enabled, newest[0].disabled_code, newest[0].document) == (
        "t4", False, DisabledReason.CONSECUTIVE_FAILURES, {"name": "t4"})
    resumed = store.tasks.listings_by_update("acme", "test", descending=False, after=listed[1][1])
    assert [listing.task_id for listing, _ in resumed] == ["t2", "t3", "t4"]


def test_chain_edges_follow_the_childs_spec_and_go_with_either_end(store):
    put(store, "parent")
    put(store, "child", subscriptions=(Subscription(parent_task_id="parent", outcomes=frozenset({"failed"})),))
    put(store, "other", subscriptions=(Subscription(parent_task_id="parent"),))
    assert list(store.subscriptions.subscribers("acme", "parent")) == [("child", frozenset({"failed"})),
                                                                       ("other", None)]
    assert store.subscriptions.has_subscription("acme", "parent", "child")
    put(store, "child", expected_revision=1)
    assert [c for c, _ in store.subscriptions.subscribers("acme", "parent")] == ["other"]
    assert list(store.subscriptions.subscriptions_of_tenant("acme")) == [("parent", "other", None)]
    store.tasks.delete_task("acme", "parent", subscriptions=())
    assert list(store.subscriptions.subscriptions_of_tenant("acme")) == []


def test_a_unique_name_has_one_holder_however_many_race_for_it(racing_store):
    ids = itertools.count()
    won = race(lambda: racing_store.names.claim("acme", "nightly", f"t{next(ids)}"), threads=6)
    assert won.count(True) == 1


def test_a_name_is_released_only_by_its_holder(store):
    assert store.names.claim("acme", "nightly", "t1")
    assert store.names.claim("acme", "nightly", "t1")  # its own name again
    assert not store.names.claim("acme", "nightly", "t2")
    assert store.names.claim("other", "nightly", "t2")  # names are per tenant
    store.names.release("acme", "nightly", "t2")
    assert not store.names.claim("acme", "nightly", "t2")
    store.names.release("acme", "nightly", "t1")
    assert store.names.claim("acme", "nightly", "t2")


def test_consecutive_failures_count_up_reset_and_survive_a_replace(store):
    put(store, "t1")
    assert [store.failures.record_outcome("acme", "t1", failed=True) for _ in range(3)] == [1, 2, 3]
    put(store, "t1", expected_revision=1)
    assert store.tasks.get_task("acme", "t1").consecutive_failures == 3
    assert store.failures.record_outcome("acme", "t1", failed=False) == 0
    assert store.failures.record_outcome("acme", "gone", failed=True) == 0


def test_disabling_stops_the_trigger_and_says_why(store):
    put(store, "t1", next_fire_at=T0 + timedelta(minutes=1))
    store.tasks.disable("acme", "t1", code=DisabledReason.CONSECUTIVE_FAILURES, now=T0 + timedelta(seconds=1))
    task = store.tasks.get_task("acme", "t1")
    assert (task.enabled, task.disabled_code, task.next_fire_at, task.revision) == (
        False, DisabledReason.CONSECUTIVE_FAILURES, None, 2)
    assert not any(True for shard in range(4) for _ in store.triggers.due_keys(str(shard), T0 + timedelta(hours=1)))
    store.tasks.disable("acme", "gone", code=DisabledReason.REQUESTED, now=T0)  # nothing to disable: no error


def test_a_task_says_whether_a_task_may_subscribe_to_it(store):
    """A finish skips the subscriber lookup when the task says none subscribes: it must say
    so only when that is true, whichever is written first, and keep saying yes across replaces."""
    put(store, "lonely")
    assert store.tasks.get_task("acme", "lonely").may_have_subscribers is False
    put(store, "parent")
    assert store.tasks.get_task("acme", "parent").may_have_subscribers is False
    put(store, "child", subscriptions=(Subscription(parent_task_id="parent"),))
    assert store.tasks.get_task("acme", "parent").may_have_subscribers is True
    assert store.tasks.get_task("acme", "child").may_have_subscribers is False
    store.slots.acquire_slot("acme", "parent", "r1", 1)
    assert store.slots.release_slot("acme", "parent", "r1").may_have_subscribers is True  # what a finish reads
    replaced = put(store, "parent", expected_revision=1)
    assert replaced.may_have_subscribers is True
    assert store.tasks.get_task("acme", "parent").may_have_subscribers is True
    # a child written before its parent exists
    put(store, "early-child", subscriptions=(Subscription(parent_task_id="late-parent"),))
    assert put(store, "late-parent").may_have_subscribers is True
    assert store.tasks.get_task("acme", "late-parent").may_have_subscribers is True
    assert store.tasks.get_task("acme", "lonely").may_have_subscribers is False


def test_a_replace_keeps_a_mark_written_between_its_read_and_its_write(dynamo_store, monkeypatch):
    """The mark is written without a revision: a replace that read the task before a child
    subscribed must not put back the old "no subscribers" (DynamoDB store: a read, then a write)."""
    store = dynamo_store
    put(store, "parent")
    from chalicelib.store import tasks as task_store

    real_get, calls = task_store.get_item, []

    def read_then_a_child_subscribes(tenant, task_id):
        item = real_get(tenant, task_id)
        if not calls:
            calls.append(task_id)
            put(store, "child", subscriptions=(Subscription(parent_task_id="parent"),))
        return item

    monkeypatch.setattr(task_store, "get_item", read_then_a_child_subscribes)
    assert put(store, "parent", expected_revision=1).may_have_subscribers is True
    assert calls == ["parent"]
    assert store.tasks.get_task("acme", "parent").may_have_subscribers is True

"""The due index and the claim of a tick: one winner however many dispatchers race."""

from __future__ import annotations

from datetime import timedelta

from tests.contract.conftest import SHARDS, T0, pending, put
from tests.racing import race


def due(store, horizon):
    return sorted(key for shard in range(SHARDS) for key in store.triggers.due_keys(str(shard), horizon))


def test_only_enabled_tasks_whose_next_fire_is_within_the_horizon_are_due(store):
    put(store, "soon", next_fire_at=T0 + timedelta(seconds=30))
    put(store, "edge", next_fire_at=T0 + timedelta(seconds=60))
    put(store, "later", next_fire_at=T0 + timedelta(minutes=5))
    put(store, "off", next_fire_at=T0, enabled=False)
    put(store, "manual")
    assert due(store, T0 + timedelta(seconds=60)) == [("acme", "edge"), ("acme", "soon")]


def test_a_tick_is_advanced_only_from_the_expected_fire(store):
    fire = T0 + timedelta(seconds=10)
    put(store, "t1", next_fire_at=fire)
    assert not store.triggers.advance_trigger("acme", "t1", expected=T0, next_fire_at=fire, last_fire_at=T0)
    assert store.triggers.advance_trigger("acme", "t1", expected=fire, next_fire_at=fire + timedelta(seconds=10),
                                          last_fire_at=fire)
    task = store.tasks.get_task("acme", "t1")
    assert (task.next_fire_at, task.last_fire_at) == (fire + timedelta(seconds=10), fire)
    assert store.triggers.advance_trigger("acme", "t1", expected=fire + timedelta(seconds=10), next_fire_at=None,
                                          last_fire_at=fire + timedelta(seconds=10))
    assert due(store, T0 + timedelta(days=1)) == []
    assert not store.triggers.advance_trigger("acme", "gone", expected=fire, next_fire_at=None, last_fire_at=fire)


def test_racing_claims_of_one_tick_have_one_winner_and_one_run(racing_store):
    fire = T0 + timedelta(seconds=10)
    for n in range(3):
        put(racing_store, f"c{n}", next_fire_at=fire)
    for n in range(3):
        won = race(lambda n=n: racing_store.triggers.claim_tick_with_run(
            "acme", f"c{n}", expected=fire, next_fire_at=fire + timedelta(seconds=10),
            run=pending(f"c{n}", f"r{n}", nominal_at=fire)), threads=4)
        assert won.count(True) == 1
        assert [r.run_id for r in racing_store.runs.list_runs("acme", f"c{n}")] == [f"r{n}"]
        assert racing_store.tasks.get_task("acme", f"c{n}").last_fire_at == fire


def test_a_claim_whose_run_exists_changes_nothing(store):
    fire = T0 + timedelta(seconds=10)
    put(store, "t1", next_fire_at=fire)
    store.runs.create_run(pending("t1", "r1"))
    assert not store.triggers.claim_tick_with_run("acme", "t1", expected=fire, next_fire_at=fire + timedelta(1),
                                                  run=pending("t1", "r1", nominal_at=fire))
    assert store.tasks.get_task("acme", "t1").next_fire_at == fire
    assert store.runs.get_run("acme", "t1", "r1").nominal_at is None

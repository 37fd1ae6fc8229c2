"""The execution documents and data keys: revisions, key order, tenants apart, racing writers."""

from __future__ import annotations

import pytest

from tests.racing import race


def test_a_record_is_created_once_and_changed_only_at_the_revision_read(store):
    records = store.execution
    assert records.put_record("acme", "instance", "i1", {"a": 1}, expected_revision=0) == 1
    assert records.put_record("acme", "instance", "i1", {"a": 9}, expected_revision=0) is None
    assert records.get_record("acme", "instance", "i1") == ({"a": 1}, 1)
    assert records.put_record("acme", "instance", "i1", {"a": 2}, expected_revision=1) == 2
    assert records.put_record("acme", "instance", "i1", {"a": 3}, expected_revision=1) is None
    assert records.get_record("acme", "instance", "i1") == ({"a": 2}, 2)
    assert records.put_record("acme", "instance", "missing", {"a": 1}, expected_revision=4) is None
    assert records.get_record("acme", "instance", "missing") is None


def test_records_list_in_key_order_by_prefix_and_never_across_tenants_or_kinds(store):
    records = store.execution
    for key in ["s2#0000000001", "s1#0000000002", "s1#0000000001", "s10#0000000001"]:
        records.put_record("acme", "strategy", key, {"k": key}, expected_revision=0)
    records.put_record("globex", "strategy", "s1#0000000003", {}, expected_revision=0)
    records.put_record("acme", "other", "s1#0000000004", {}, expected_revision=0)
    assert [k for k, _, _ in records.list_records("acme", "strategy", prefix="s1#")] == [
        "s1#0000000001", "s1#0000000002"]
    assert [k for k, _, _ in records.list_records("acme", "strategy")] == [
        "s1#0000000001", "s1#0000000002", "s10#0000000001", "s2#0000000001"]
    assert records.get_record("globex", "strategy", "s1#0000000001") is None
    records.delete_record("acme", "strategy", "s2#0000000001")
    records.delete_record("acme", "strategy", "never-was")
    assert records.get_record("acme", "strategy", "s2#0000000001") is None


def test_of_racing_writers_at_one_revision_exactly_one_wins(racing_store):
    racing_store.execution.put_record("acme", "event#i1", "e1", {"status": "PENDING"}, expected_revision=0)
    outcomes = race(lambda: racing_store.execution.put_record("acme", "event#i1", "e1", {"status": "EXECUTING"},
                                                              expected_revision=1), threads=6)
    assert sorted(outcomes, key=str) == [2] + [None] * 5


def test_a_data_key_unwraps_only_with_its_context(store, tmp_path, monkeypatch):
    monkeypatch.setenv("TASKLANE_EXECUTION_KEY_FILE", str(tmp_path / "k"))
    keys = store.execution_keys
    plain, wrapped = keys.new_data_key({"tenant": "acme", "strategy": "s1"})
    assert len(plain) == 32 and plain.hex() not in wrapped
    assert keys.unwrap_data_key(wrapped, {"tenant": "acme", "strategy": "s1"}) == plain
    with pytest.raises(Exception):  # noqa: B017 - the other tenant's context does not open it
        keys.unwrap_data_key(wrapped, {"tenant": "globex", "strategy": "s1"})

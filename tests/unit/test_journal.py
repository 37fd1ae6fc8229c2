"""The data directory's snapshot and journal (chalicelib/runtime/journal.py): replay order, a torn
last record, compaction and its crash points, refusals."""

from __future__ import annotations

import json

import pytest

from chalicelib.runtime.journal import FORMAT, DataDirError, Journal, encode


def opened(directory, **kwargs) -> tuple[Journal, dict]:
    journal = Journal(directory, lock_wait_seconds=0.2, **kwargs)
    return journal, journal.open()


def crash(journal: Journal) -> None:
    """Leave the directory as a killed process would: nothing folded, the lock dropped."""
    journal._stopping.set()
    journal.wait_for_compaction()
    journal._release_lock()


def journals(directory) -> list[str]:
    return sorted(p.name for p in directory.glob("journal-*.jsonl"))


def test_records_replay_in_the_order_they_were_appended(tmp_path):
    journal, state = opened(tmp_path)
    assert state == {}
    journal.append("a", {"v": 1})
    journal.append("b", {"v": 2})
    journal.append("a", None)
    journal.append("a", {"v": 3})
    journal.append("c", {"v": 4})
    journal.append("c", None)
    crash(journal)
    journal, state = opened(tmp_path)
    assert state == {"a": {"v": 3}, "b": {"v": 2}}
    journal.close()


def test_a_torn_last_record_is_dropped_and_the_directory_stays_usable(tmp_path):
    journal, _ = opened(tmp_path)
    journal.append("kept", {"v": 1})
    crash(journal)
    [name] = journals(tmp_path)
    with open(tmp_path / name, "ab") as handle:
        handle.write(encode("torn", {"v": 2})[:-7])  # the process died mid-append
    journal, state = opened(tmp_path)
    assert state == {"kept": {"v": 1}}
    journal.append("after", {"v": 3})
    crash(journal)
    journal, state = opened(tmp_path)  # the torn bytes were cut off: no damage mid-directory now
    assert state == {"kept": {"v": 1}, "after": {"v": 3}}
    journal.close()


def test_a_damaged_record_before_the_last_is_refused(tmp_path):
    journal, _ = opened(tmp_path)
    for n in range(3):
        journal.append(f"k{n}", {"v": n})
    crash(journal)
    [name] = journals(tmp_path)
    path = tmp_path / name
    data = bytearray(path.read_bytes())
    data[12] ^= 0x01  # a flipped bit in the first record
    path.write_bytes(bytes(data))
    with pytest.raises(DataDirError, match="damaged"):
        opened(tmp_path)


def test_compaction_folds_the_journal_into_a_snapshot_in_the_background(tmp_path):
    journal, _ = opened(tmp_path, compact_bytes=2_000)
    for n in range(200):
        journal.append(f"k{n % 20}", {"v": n})
        if n % 3 == 0:
            journal.append(f"k{(n + 1) % 20}", None)
    journal.wait_for_compaction()
    generation = json.loads((tmp_path / "meta.json").read_text())["generation"]
    assert generation > 1 and (tmp_path / f"snapshot-{generation:08d}.jsonl").exists()
    assert len(journals(tmp_path)) == 1  # only the one written to since
    expected: dict = {}
    for n in range(200):
        expected[f"k{n % 20}"] = {"v": n}
        if n % 3 == 0:
            expected.pop(f"k{(n + 1) % 20}", None)
    crash(journal)
    journal, state = opened(tmp_path)
    assert state == expected
    journal.close()
    assert journals(tmp_path) == [] and len(list(tmp_path.glob("snapshot-*"))) == 1
    journal, state = opened(tmp_path)
    assert state == expected
    journal.close()


def test_a_compaction_cut_short_before_it_moved_the_generation_loads_the_same(tmp_path):
    journal, _ = opened(tmp_path)
    journal.append("a", {"v": 1})
    journal.append("b", {"v": 2})
    crash(journal)
    journal, _ = opened(tmp_path)  # opening folds the crashed journal in the background
    journal.wait_for_compaction()
    journal.append("a", {"v": 9})
    crash(journal)
    # A half-written snapshot of a later generation that meta.json does not name is ignored.
    (tmp_path / "snapshot-00000099.jsonl").write_bytes(encode("a", {"v": "stale"})[:-3])
    journal, state = opened(tmp_path)
    assert state == {"a": {"v": 9}, "b": {"v": 2}}
    journal.close()


def test_a_directory_of_another_format_is_refused_and_left_untouched(tmp_path):
    (tmp_path / "meta.json").write_text(json.dumps({"format": FORMAT + 1, "generation": 3}))
    (tmp_path / "snapshot-00000003.jsonl").write_bytes(encode("a", {"v": 1}))
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(DataDirError) as refused:
        opened(tmp_path)
    message = str(refused.value)
    assert f"format {FORMAT + 1}" in message and "nothing was loaded" in message
    assert "rm -rf" in message and "--ephemeral" in message
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name != "lock"} == before


def test_data_files_without_meta_are_refused(tmp_path):
    (tmp_path / "journal-00000001.jsonl").write_bytes(encode("a", {"v": 1}))
    with pytest.raises(DataDirError, match="no meta.json"):
        opened(tmp_path)


def test_a_directory_in_use_is_refused(tmp_path):
    journal, _ = opened(tmp_path)
    try:
        with pytest.raises(DataDirError, match="in use"):
            opened(tmp_path)
    finally:
        journal.close()
    opened(tmp_path)[0].close()


def test_an_append_is_in_the_file_before_it_returns(tmp_path):
    journal, _ = opened(tmp_path, sync_seconds=3600)
    journal.append("a", {"v": 1})
    [name] = journals(tmp_path)
    assert (tmp_path / name).read_bytes() == encode("a", {"v": 1})  # a killed process loses nothing
    journal.close()


def test_a_temporary_file_left_by_a_writer_that_died_is_removed(tmp_path):
    journal, _ = opened(tmp_path)
    journal.append("a", {"v": 1})
    journal.close()
    (tmp_path / "snapshot-00000009.jsonl.tmp").write_bytes(b"half")
    journal, state = opened(tmp_path)
    assert state == {"a": {"v": 1}} and not list(tmp_path.glob("*.tmp"))
    journal.close()

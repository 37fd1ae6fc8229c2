"""One contract for both log chunk stores (memory and S3 on moto): chunks are found by the lines
they hold, the head says what the log holds, dropped chunks and deleted logs are gone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.engine.log_pages import read_log
from chalicelib.engine.run_log import ChunkRef, LogOnFull, RunLogWriter

KEY = "acme/daemon:t/run-1"


@pytest.fixture
def store(store):
    """The log chunk store of each backend (the contract's `store` fixture)."""
    return store.logs


def clock() -> datetime:
    return datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def write(store, count: int, *, chunk_lines: int = 10, max_size: int | None = None, key: str = KEY):
    writer = RunLogWriter(store, key, max_size=max_size, on_full=LogOnFull.DROP_OLD, clock=clock,
                          chunk_lines=chunk_lines)
    for i in range(1, count + 1):
        writer.write("stdout", f"line {i}")
    return writer.close()


def test_chunks_are_found_by_the_lines_they_hold(store):
    write(store, 400)  # 40 chunks: more than one listing page of the S3 store
    refs = list(store.chunks_from(KEY, 1))
    assert refs == [ChunkRef(first=f, last=f + 9) for f in range(1, 400, 10)]
    assert next(store.chunks_from(KEY, 255)) == ChunkRef(first=251, last=260)
    assert next(store.chunks_from(KEY, 260)) == ChunkRef(first=251, last=260)
    assert next(store.chunks_from(KEY, 261)) == ChunkRef(first=261, last=270)
    assert list(store.chunks_from(KEY, 401)) == []
    assert [line.text for line in store.get_chunk(KEY, ChunkRef(first=251, last=260))][:2] == ["line 251", "line 252"]
    assert [line.n for line in store.get_chunk(KEY, ChunkRef(first=251, last=260), 258)] == [258, 259, 260]


def test_the_head_says_what_the_log_holds(store):
    summary = write(store, 25)
    head = store.get_head(KEY)
    assert (head.first_available, head.total_lines, head.truncated) == (1, 25, False)
    assert summary.total_lines == 25 and head.bytes_stored == summary.bytes_stored
    assert store.get_head("acme/daemon:t/never-ran") is None


def test_dropping_old_lines_drops_whole_chunks_and_moves_the_first_line(store):
    write(store, 100, max_size=300)
    head = store.get_head(KEY)
    assert head.truncated and head.first_available > 1 and head.total_lines == 100
    page = read_log(store, KEY, from_line=1, limit=1)
    assert page.lines[0].n == head.first_available and page.truncated
    assert store.get_chunk(KEY, ChunkRef(first=1, last=10)) == []


def test_deleting_a_log_removes_its_chunks_and_head_and_nothing_else(store):
    write(store, 30)
    write(store, 5, key="acme/daemon:t/run-10")
    store.delete_log(KEY)
    assert store.get_head(KEY) is None and list(store.chunks_from(KEY, 1)) == []
    assert store.get_head("acme/daemon:t/run-10").total_lines == 5


def test_a_runs_log_key_starts_with_its_tenant_and_task(store):
    assert store.log_key("acme", "daemon:t", "run-1") == KEY

"""Line and page caps of run logs, on the in-memory chunk store (no AWS)."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from chalicelib.engine.command_process import _pump
from chalicelib.engine.log_pages import read_log
from chalicelib.engine.run_log import CHUNK_BYTES, MAX_LINE_BYTES, LogOnFull, RunLogWriter, cap_line
from chalicelib.store.memory import MemoryLogChunkStore

KEY = "acme/t/run"


def clock() -> datetime:
    return datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def writer(store, **kw) -> RunLogWriter:
    return RunLogWriter(store, KEY, max_size=kw.pop("max_size", None), on_full=LogOnFull.DROP_OLD, clock=clock, **kw)


class Sink:
    kill_requested = False

    def __init__(self) -> None:
        self.writes: list[tuple[str, int | None]] = []

    def write(self, stream: str, text: str, *, size: int | None = None) -> None:
        self.writes.append((text, size))


def test_a_line_within_the_cap_is_kept_whole():
    assert cap_line("x" * MAX_LINE_BYTES) == "x" * MAX_LINE_BYTES


def test_a_longer_line_keeps_the_cap_and_names_its_full_size():
    assert cap_line("x" * 100_000) == "x" * MAX_LINE_BYTES + f" [line cut: 100000 bytes, first {MAX_LINE_BYTES} kept]"
    assert cap_line("short", size=1_048_576).endswith("[line cut: 1048576 bytes, first 65536 kept]")


def test_a_cut_never_splits_a_character():
    kept = cap_line("é" * 40_000).split(" [line cut")[0]
    assert kept == "é" * (MAX_LINE_BYTES // 2)


def test_the_command_reader_keeps_at_most_the_cap_of_a_megabyte_line_and_counts_the_rest():
    sink = Sink()
    _pump(io.BytesIO(b"x" * 1_048_576 + b"\nafter\nno newline"), "stdout", sink)
    (wide, wide_size), *rest = sink.writes
    assert len(wide) <= MAX_LINE_BYTES + 1 and wide_size == 1_048_576
    assert rest == [("after", 5), ("no newline", 10)]


def test_chunks_are_stored_by_size_as_well_as_by_line_count():
    store = MemoryLogChunkStore()
    log = writer(store)
    for _ in range(40):
        log.write("stdout", "y" * 60_000)
    log.close()
    chunks = list(store.chunks_from(KEY, 1))
    assert len(chunks) == 8  # the fifth 60 KB line passes 256 KB; 500 lines would make one chunk
    assert all(sum(line.size for line in store.get_chunk(KEY, c)) <= CHUNK_BYTES + 60_001 for c in chunks)


def test_a_page_stops_at_the_byte_budget_and_names_the_next_line():
    store = MemoryLogChunkStore()
    log = writer(store, chunk_lines=7)
    for i in range(1, 101):
        log.write("stdout", f"{i:04d}")  # 5 bytes a line with its newline
    log.close()
    page = read_log(store, KEY, from_line=10, limit=1000, max_bytes=50)
    assert [line.n for line in page.lines] == list(range(10, 20)) and page.cut and page.next_from == 20
    one = read_log(store, KEY, from_line=10, limit=1000, max_bytes=1)
    assert [line.n for line in one.lines] == [10] and one.next_from == 11  # one line always fits


def test_a_page_says_nothing_follows_at_the_end_of_the_log():
    store = MemoryLogChunkStore()
    log = writer(store, chunk_lines=7)
    for i in range(1, 101):
        log.write("stdout", str(i))
    log.close()
    assert read_log(store, KEY, from_line=-3, limit=3).next_from is None
    assert [line.n for line in read_log(store, KEY, from_line=-3, limit=2).lines] == [98, 99]
    assert read_log(store, KEY, from_line=-3, limit=2).next_from == 100
    beyond = read_log(store, KEY, from_line=500, limit=10)
    assert beyond.lines == [] and beyond.total_lines == 100 and beyond.next_from is None


class CountingStore(MemoryLogChunkStore):
    """The in-memory chunk store, counting the heads written."""

    def __init__(self) -> None:
        super().__init__()
        self.heads = 0

    def put_head(self, log_key, head) -> None:
        self.heads += 1
        super().put_head(log_key, head)


def test_a_run_that_wrote_nothing_stores_no_head_and_reads_as_an_empty_log():
    store = CountingStore()
    summary = writer(store).close()
    page = read_log(store, KEY, from_line=1, limit=10)
    assert (store.heads, store.get_head(KEY)) == (0, None)
    assert (summary.total_lines, page.lines, page.total_lines, page.first_available, page.truncated) == (
        0, [], 0, 1, False)


def test_closing_after_a_flush_does_not_write_the_same_head_again():
    store = CountingStore()
    log = writer(store)
    log.write("stdout", "one")
    log.flush()
    assert store.heads == 1
    log.close()
    assert store.heads == 1
    assert [line.text for line in read_log(store, KEY, from_line=1, limit=10).lines] == ["one"]


def test_a_line_left_pending_at_close_is_stored_with_its_head():
    store = CountingStore()
    log = writer(store)
    log.write("stdout", "last words")
    log.close()
    assert store.heads == 1
    assert read_log(store, KEY, from_line=1, limit=10).total_lines == 1

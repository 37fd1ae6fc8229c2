"""A data directory of keyed records: a snapshot plus an append-only journal, compacted.

The embedded backend's state (DynamoDB items, S3 objects) is a map from a key to a value. Every
change is appended to the journal as one line, `<crc32> [key, value]` (value None: deleted),
written to the operating system before the change is acknowledged (so a killed process loses
nothing) and fsynced at most every `sync_seconds` (so a machine that loses power loses at most
that much). One write costs one append, whatever the directory holds.

Files, for generation g (named in `meta.json` with the format number):

- `snapshot-g.jsonl`: every live record at the start of generation g (absent for g = 0);
- `journal-g.jsonl`, `journal-(g+1).jsonl`, ...: the changes since, in order.

Compaction folds `snapshot-g` and the closed journals into `snapshot-T` in a background thread
(new writes go to `journal-T` meanwhile), then moves `meta.json` to T and deletes what it
replaced; a crash at any point leaves a directory that loads to the same state. It runs when the
journal grows past `compact_bytes`, when a directory is opened with journals to fold, and, in the
foreground, at a clean close, so a cleanly stopped directory opens from its snapshot alone.

A torn last line (the process died mid-append) is dropped; any other damage, or a directory of
another format, is refused with `DataDirError` and nothing is loaded.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

#: The data format this code reads and writes. Bump it when the meaning of a record changes.
FORMAT = 1
#: Journal size past which it is folded into a new snapshot.
DEFAULT_COMPACT_BYTES = 64 * 1024 * 1024
META = "meta.json"
LOCK = "lock"

Value = dict[str, Any] | None


class DataDirError(Exception):
    """The data directory cannot be used as it is; the message says what to do."""


def encode(key: str, value: Value) -> bytes:
    """One journal line."""
    body = json.dumps([key, value], separators=(",", ":")).encode("utf-8")
    return b"%08x " % zlib.crc32(body) + body + b"\n"


def decode(line: bytes) -> tuple[str, Value] | None:
    """The record of one complete line (newline included), or None if it is damaged."""
    if len(line) < 10 or not line.endswith(b"\n") or line[8:9] != b" ":
        return None
    body = line[9:-1]
    try:
        if int(line[:8], 16) != zlib.crc32(body):
            return None
        key, value = json.loads(body)
    except ValueError:
        return None
    return str(key), value


def _records(path: Path, *, torn_tail_allowed: bool) -> Iterator[tuple[int, str, Value]]:
    """(offset after the record, key, value) for every record; a damaged last line is dropped if
    `torn_tail_allowed`, any other damage is a DataDirError."""
    with open(path, "rb") as handle:
        data = handle.read()
    offset = 0
    while offset < len(data):
        end = data.find(b"\n", offset)
        line = data[offset:] if end < 0 else data[offset:end + 1]
        record = decode(line)
        if record is None:
            if torn_tail_allowed and (end < 0 or end + 1 == len(data)):
                return
            raise DataDirError(f"{path} is damaged at byte {offset}; move the data directory away to start afresh"
                               " (its other files are left as they are)")
        offset += len(line)
        yield offset, record[0], record[1]


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomically(path: Path, chunks: Iterator[bytes]) -> None:
    temporary = path.with_name(path.name + ".tmp")
    with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as handle:
        for chunk in chunks:
            handle.write(chunk)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    _fsync_dir(path.parent)


class Journal:
    """One open data directory (held under an exclusive lock until `close`)."""

    def __init__(self, directory: Path, *, compact_bytes: int = DEFAULT_COMPACT_BYTES, sync_seconds: float = 1.0,
                 lock_wait_seconds: float = 15.0) -> None:
        self.directory = Path(directory)
        self.compact_bytes = compact_bytes
        self.sync_seconds = sync_seconds
        self.lock_wait_seconds = lock_wait_seconds
        self._lock = threading.Lock()
        self._lock_fd: int | None = None
        self._fd: int | None = None
        self._current = 0  # generation of the journal appended to
        self._size = 0
        self._dirty = False
        self._compactor: threading.Thread | None = None
        self._compaction_error: BaseException | None = None
        self._stopping = threading.Event()
        self._syncer: threading.Thread | None = None

    # -- paths -------------------------------------------------------------------------------

    def snapshot_path(self, generation: int) -> Path:
        return self.directory / f"snapshot-{generation:08d}.jsonl"

    def journal_path(self, generation: int) -> Path:
        return self.directory / f"journal-{generation:08d}.jsonl"

    def _generations(self, prefix: str) -> list[int]:
        found = []
        for path in self.directory.glob(f"{prefix}-*.jsonl"):
            stem = path.stem.split("-", 1)[1]
            if stem.isdigit():
                found.append(int(stem))
        return sorted(found)

    # -- open --------------------------------------------------------------------------------

    def open(self) -> dict[str, dict[str, Any]]:
        """Lock the directory, load it and start a new journal; returns every live record."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self._take_lock()
        try:
            generation = self._read_meta()
            state = self._load(generation)
        except BaseException:
            self._release_lock()
            raise
        for leftover in self.directory.glob("*.tmp"):
            leftover.unlink()  # a snapshot or meta.json whose writer died before its rename
        last = max([generation, *self._generations("journal")])
        self._current = last + 1
        self._open_current()
        if any(g < self._current for g in self._generations("journal")):
            self._start_compaction(generation, self._current)  # a crash left journals to fold
        self._syncer = threading.Thread(target=self._sync_loop, name="journal-sync", daemon=True)
        self._syncer.start()
        return state

    def _take_lock(self) -> None:
        fd = os.open(self.directory / LOCK, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + self.lock_wait_seconds
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise DataDirError(f"{self.directory} is in use by another tasklane (it holds"
                                       f" {self.directory / LOCK}); stop it, or give this one another --data-dir"
                                       ) from None
                time.sleep(0.1)
        self._lock_fd = fd

    def _release_lock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the descriptor drops the flock
            self._lock_fd = None

    def _read_meta(self) -> int:
        path = self.directory / META
        if not path.exists():
            leftovers = self._generations("snapshot") + self._generations("journal")
            if leftovers:
                raise DataDirError(f"{self.directory} holds data files but no {META}; it was not written by"
                                   " tasklane or is damaged: move it away to start afresh")
            _write_atomically(path, iter([json.dumps({"format": FORMAT, "generation": 0}).encode()]))
            return 0
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
            written, generation = meta["format"], int(meta["generation"])
        except (ValueError, KeyError, TypeError):
            raise DataDirError(f"{path} is damaged; move {self.directory} away to start afresh") from None
        if written != FORMAT:
            raise DataDirError(
                f"{self.directory} holds data format {written!r}, and this tasklane reads format {FORMAT} only;"
                f" nothing was loaded. Start the tasklane version that wrote it, or start afresh: move it away"
                f" (or `rm -rf {self.directory}`), or pass another --data-dir, or --ephemeral"
            )
        return generation

    def _load(self, generation: int) -> dict[str, dict[str, Any]]:
        state: dict[str, dict[str, Any]] = {}
        snapshot = self.snapshot_path(generation)
        if generation > 0 and not snapshot.exists():
            raise DataDirError(f"{snapshot} is missing; {self.directory} cannot be loaded: move it away to"
                               " start afresh")
        if snapshot.exists():
            for _, key, value in _records(snapshot, torn_tail_allowed=False):
                if value is not None:
                    state[key] = value
        journals = [g for g in self._generations("journal") if g >= generation]
        for index, journal_generation in enumerate(journals):
            path = self.journal_path(journal_generation)
            last = index == len(journals) - 1
            good = 0
            for offset, key, value in _records(path, torn_tail_allowed=last):
                good = offset
                if value is None:
                    state.pop(key, None)
                else:
                    state[key] = value
            if last and good < path.stat().st_size:
                os.truncate(path, good)  # drop the torn tail, so the file never has one mid-directory
        return state

    # -- writes ------------------------------------------------------------------------------

    def _open_current(self) -> None:
        self._fd = os.open(self.journal_path(self._current), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._size = os.fstat(self._fd).st_size
        _fsync_dir(self.directory)

    def append(self, key: str, value: Value) -> None:
        """Record that `key` now holds `value` (None: deleted). In the OS on return, fsynced
        within `sync_seconds`."""
        line = encode(key, value)
        with self._lock:
            if self._fd is None:
                raise RuntimeError("the journal is closed")
            os.write(self._fd, line)
            self._size += len(line)
            self._dirty = True
            if self._size >= self.compact_bytes and (self._compactor is None or not self._compactor.is_alive()):
                self._rotate_locked()

    def _rotate_locked(self) -> None:
        """Close the current journal (fsynced) and fold everything before it in the background."""
        assert self._fd is not None
        os.fsync(self._fd)
        os.close(self._fd)
        self._current += 1
        self._open_current()
        self._start_compaction(self._meta_generation(), self._current)

    def _meta_generation(self) -> int:
        return int(json.loads((self.directory / META).read_text(encoding="utf-8"))["generation"])

    def _sync_loop(self) -> None:
        while not self._stopping.wait(self.sync_seconds):
            self.sync()

    def sync(self) -> None:
        """fsync what was appended (the sync thread does it every `sync_seconds`)."""
        with self._lock:
            if self._fd is not None and self._dirty:
                os.fsync(self._fd)
                self._dirty = False

    # -- compaction --------------------------------------------------------------------------

    def _start_compaction(self, base: int, target: int) -> None:
        self._compactor = threading.Thread(target=self._compact_guarded, args=(base, target),
                                           name="journal-compact", daemon=True)
        self._compactor.start()

    def _compact_guarded(self, base: int, target: int) -> None:
        try:
            self.compact(base, target)
        except BaseException as exc:  # kept for close(); the journal stays valid without it
            self._compaction_error = exc

    def compact(self, base: int, target: int) -> None:
        """Fold `snapshot-base` and journals base..target-1 into `snapshot-target`, then make
        `target` the directory's generation and delete what it replaced."""
        state = self._fold(base, target)
        _write_atomically(self.snapshot_path(target), (encode(key, value) for key, value in state.items()))
        _write_atomically(self.directory / META, iter([json.dumps({"format": FORMAT, "generation": target}).encode()]))
        for generation in self._generations("journal"):
            if generation < target:
                self.journal_path(generation).unlink(missing_ok=True)
        for generation in self._generations("snapshot"):
            if generation != target:
                self.snapshot_path(generation).unlink(missing_ok=True)

    def _fold(self, base: int, target: int) -> dict[str, dict[str, Any]]:
        state: dict[str, dict[str, Any]] = {}
        if self.snapshot_path(base).exists():
            for _, key, value in _records(self.snapshot_path(base), torn_tail_allowed=False):
                if value is not None:
                    state[key] = value
        for generation in self._generations("journal"):
            if base <= generation < target:
                for _, key, value in _records(self.journal_path(generation), torn_tail_allowed=False):
                    if value is None:
                        state.pop(key, None)
                    else:
                        state[key] = value
        return state

    def wait_for_compaction(self, timeout: float | None = None) -> None:
        """Wait for a background compaction (tests and close)."""
        if self._compactor is not None:
            self._compactor.join(timeout)

    # -- close -------------------------------------------------------------------------------

    def close(self) -> None:
        """Fold everything into one snapshot and release the directory (a clean stop)."""
        self._stopping.set()
        if self._syncer is not None:
            self._syncer.join()
        self.wait_for_compaction()
        with self._lock:
            if self._fd is None:
                return
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = None
            self.compact(self._meta_generation(), self._current + 1)
        self._release_lock()

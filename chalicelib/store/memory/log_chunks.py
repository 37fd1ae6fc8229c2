"""Run-log chunks in memory, keyed as the S3 store keys them."""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterator

from chalicelib.engine.log_values import ChunkRef, LogHead, LogLine


class MemoryLogChunkStore:
    """`LogChunkStore` in memory, thread-safe."""

    def __init__(self) -> None:
        self._chunks: dict[str, dict[int, tuple[ChunkRef, list[LogLine]]]] = {}
        self._heads: dict[str, LogHead] = {}
        self._lock = threading.Lock()

    def log_key(self, tenant: str, task_id: str, run_id: str) -> str:
        return f"{tenant}/{task_id}/{run_id}"

    def put_chunk(self, log_key: str, chunk: ChunkRef, lines: list[LogLine]) -> None:
        with self._lock:
            self._chunks.setdefault(log_key, {})[chunk.last] = (chunk, list(lines))

    def get_chunk(self, log_key: str, chunk: ChunkRef, from_line: int = 0) -> list[LogLine]:
        with self._lock:
            stored = self._chunks.get(log_key, {}).get(chunk.last)
            return [line for line in stored[1] if line.n >= from_line] if stored else []

    def chunks_from(self, log_key: str, line: int) -> Iterator[ChunkRef]:
        with self._lock:
            by_last = self._chunks.get(log_key, {})
            lasts = sorted(by_last)
            refs = [by_last[last][0] for last in lasts[bisect.bisect_left(lasts, line):]]
        return iter(refs)

    def delete_chunk(self, log_key: str, chunk: ChunkRef) -> None:
        with self._lock:
            self._chunks.get(log_key, {}).pop(chunk.last, None)

    def put_head(self, log_key: str, head: LogHead) -> None:
        with self._lock:
            self._heads[log_key] = head

    def get_head(self, log_key: str) -> LogHead | None:
        with self._lock:
            return self._heads.get(log_key)

    def delete_log(self, log_key: str) -> None:
        with self._lock:
            self._chunks.pop(log_key, None)
            self._heads.pop(log_key, None)

"""Run-log chunks in S3, one JSON object per line.

A chunk's key names the lines it holds, last line first: `<prefix><log key>/<last>-<first>.jsonl`
with both numbers zero-padded to 12 digits, so keys sort by last line and one `ListObjectsV2`
with `StartAfter` finds the chunk holding any line without reading the ones before it. The
log's head (`head.json`, rewritten with each chunk) says what the whole log holds.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

from chalicelib import settings
from chalicelib.engine.log_values import ChunkRef, LogHead, LogLine
from chalicelib.store.clients import aws_client
from chalicelib.timefmt import from_iso, to_iso

_WIDTH = 12
_HEAD = "head.json"
#: Keys asked for per listing request: a page of lines rarely spans more chunks.
_LIST_PAGE = 16


class S3LogChunkStore:
    """The deployed `LogChunkStore`: keys start with the log key, which starts with the tenant."""

    def __init__(self, client: Any, bucket: str, prefix: str = "logs/", *, region: str | None = None,
                 endpoint_url: str | None = None) -> None:
        self._client, self._bucket, self._prefix = client, bucket, prefix
        self._region, self._endpoint = region, endpoint_url
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, current: settings.Settings) -> S3LogChunkStore:
        """The store of the configured log bucket; its S3 client is built on first use."""
        return cls(None, current.log_bucket, region=current.region, endpoint_url=current.endpoint_url)

    @property
    def _s3(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = aws_client("s3", region=self._region, endpoint_url=self._endpoint)
            return self._client

    def log_key(self, tenant: str, task_id: str, run_id: str) -> str:
        """`<tenant>/<task id>/<run id>`: a run's objects sit under its task's, its tenant's."""
        return f"{tenant}/{task_id}/{run_id}"

    def _dir(self, log_key: str) -> str:
        return f"{self._prefix}{log_key}/"

    def _key(self, log_key: str, chunk: ChunkRef) -> str:
        return f"{self._dir(log_key)}{chunk.last:0{_WIDTH}d}-{chunk.first:0{_WIDTH}d}.jsonl"

    def put_chunk(self, log_key: str, chunk: ChunkRef, lines: list[LogLine]) -> None:
        body = "".join(
            json.dumps({"n": line.n, "ts": to_iso(line.ts), "stream": line.stream, "text": line.text}) + "\n"
            for line in lines
        )
        self._s3.put_object(Bucket=self._bucket, Key=self._key(log_key, chunk), Body=body.encode("utf-8"),
                            ContentType="application/x-ndjson")

    def get_chunk(self, log_key: str, chunk: ChunkRef, from_line: int = 0) -> list[LogLine]:
        try:
            body = self._s3.get_object(Bucket=self._bucket, Key=self._key(log_key, chunk))["Body"].read()
        except self._s3.exceptions.NoSuchKey:
            return []
        rows = [raw for raw in body.decode("utf-8").split("\n") if raw]
        # A chunk's lines are consecutive, so the lines before `from_line` are skipped unparsed
        # (checked on the first line kept; anything unexpected parses the whole chunk).
        skip = min(max(0, from_line - chunk.first), len(rows))
        lines = [_line(raw) for raw in rows[skip:]]
        if skip and (not lines or lines[0].n != from_line):
            lines = [_line(raw) for raw in rows]
        return lines

    def chunks_from(self, log_key: str, line: int) -> Iterator[ChunkRef]:
        directory = self._dir(log_key)
        # "<line - 1>." sorts after every key of a chunk ending at line - 1 ('-' < '.') and
        # before every key of a chunk ending at `line` or later.
        after = f"{directory}{max(0, line - 1):0{_WIDTH}d}."
        while True:
            page = self._s3.list_objects_v2(Bucket=self._bucket, Prefix=directory, StartAfter=after,
                                            MaxKeys=_LIST_PAGE)
            contents = page.get("Contents", [])
            for obj in contents:
                chunk = _parse(obj["Key"][len(directory):])
                if chunk is not None:
                    yield chunk
            if not page.get("IsTruncated") or not contents:
                return
            after = contents[-1]["Key"]

    def delete_chunk(self, log_key: str, chunk: ChunkRef) -> None:
        self._s3.delete_object(Bucket=self._bucket, Key=self._key(log_key, chunk))

    def put_head(self, log_key: str, head: LogHead) -> None:
        body = json.dumps({"first_available": head.first_available, "total_lines": head.total_lines,
                           "truncated": head.truncated, "bytes_stored": head.bytes_stored,
                           "first_chunk": _span(head.first_chunk), "last_chunk": _span(head.last_chunk)})
        self._s3.put_object(Bucket=self._bucket, Key=self._dir(log_key) + _HEAD, Body=body.encode("utf-8"),
                            ContentType="application/json")

    def get_head(self, log_key: str) -> LogHead | None:
        try:
            body = self._s3.get_object(Bucket=self._bucket, Key=self._dir(log_key) + _HEAD)["Body"].read()
        except self._s3.exceptions.NoSuchKey:
            return None
        data = json.loads(body)
        return LogHead(first_available=int(data["first_available"]), total_lines=int(data["total_lines"]),
                       truncated=bool(data["truncated"]), bytes_stored=int(data["bytes_stored"]),
                       first_chunk=_chunk(data.get("first_chunk")), last_chunk=_chunk(data.get("last_chunk")))

    def delete_log(self, log_key: str) -> None:
        """Every object under the log's prefix, chunks and head, a thousand per request."""
        paginator = self._s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self._bucket, Prefix=self._dir(log_key)):
            keys = [{"Key": obj["Key"]} for obj in page.get("Contents", [])]
            if keys:
                self._s3.delete_objects(Bucket=self._bucket, Delete={"Objects": keys, "Quiet": True})


def _parse(name: str) -> ChunkRef | None:
    """The chunk a key names, or None for the head and anything else."""
    stem, _, ext = name.partition(".")
    last, _, first = stem.partition("-")
    if ext != "jsonl" or not (last.isdigit() and first.isdigit()):
        return None
    return ChunkRef(first=int(first), last=int(last))


def _line(raw: str) -> LogLine:
    d = json.loads(raw)
    return LogLine(n=d["n"], ts=from_iso(d["ts"]), stream=d["stream"], text=d["text"])


def _span(chunk: ChunkRef | None) -> list[int] | None:
    return None if chunk is None else [chunk.first, chunk.last]


def _chunk(span: list[int] | None) -> ChunkRef | None:
    return None if not span else ChunkRef(first=int(span[0]), last=int(span[1]))

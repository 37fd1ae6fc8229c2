"""Run-log chunks in S3: `<prefix><log key>/<index>.jsonl`, one JSON object per line."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.engine.run_log import LogLine
from chalicelib.timefmt import from_iso, to_iso


class S3LogChunkStore:
    """The deployed `LogChunkStore`: keys start with the log key, which starts with the tenant."""

    def __init__(self, client: Any, bucket: str, prefix: str = "logs/") -> None:
        self._s3, self._bucket, self._prefix = client, bucket, prefix

    def _key(self, log_key: str, index: int) -> str:
        return f"{self._prefix}{log_key}/{index:08d}.jsonl"

    def put_chunk(self, log_key: str, index: int, lines: list[LogLine]) -> None:
        body = "".join(
            json.dumps({"n": line.n, "ts": to_iso(line.ts), "stream": line.stream, "text": line.text}) + "\n"
            for line in lines
        )
        self._s3.put_object(Bucket=self._bucket, Key=self._key(log_key, index), Body=body.encode("utf-8"),
                            ContentType="application/x-ndjson")

    def get_chunk(self, log_key: str, index: int) -> list[LogLine]:
        try:
            body = self._s3.get_object(Bucket=self._bucket, Key=self._key(log_key, index))["Body"].read()
        except self._s3.exceptions.NoSuchKey:
            return []
        return [
            LogLine(n=d["n"], ts=from_iso(d["ts"]), stream=d["stream"], text=d["text"])
            for d in (json.loads(raw) for raw in body.decode("utf-8").splitlines() if raw)
        ]

    def list_chunks(self, log_key: str) -> list[int]:
        prefix = f"{self._prefix}{log_key}/"
        indexes: list[int] = []
        for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=self._bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                name = obj["Key"][len(prefix):]
                if name.endswith(".jsonl") and name[:-6].isdigit():
                    indexes.append(int(name[:-6]))
        return sorted(indexes)

    def delete_chunk(self, log_key: str, index: int) -> None:
        self._s3.delete_object(Bucket=self._bucket, Key=self._key(log_key, index))

    def delete_log(self, log_key: str) -> None:
        for index in self.list_chunks(log_key):
            self.delete_chunk(log_key, index)

"""Where a configuration file (the daemon face's `runwisp.toml`) is read from: a local path, or
`s3://bucket/key` (deployed, or the local runtime's embedded bucket) through the store."""

from __future__ import annotations

from pathlib import Path

from chalicelib.engine import backend
from chalicelib.engine.ports import ObjectUnreadable
from chalicelib.errors import BadRequest

S3_SCHEME = "s3://"


def is_s3(source: str) -> bool:
    """Whether `source` names an S3 object rather than a path."""
    return source.startswith(S3_SCHEME)


def read_source(source: str) -> str:
    """The file's text from a path or `s3://bucket/key`; `BadRequest` if it cannot be read."""
    if is_s3(source):
        bucket, _, key = source[len(S3_SCHEME):].partition("/")
        try:
            return backend.current().objects.read_text(bucket, key)
        except ObjectUnreadable as exc:
            raise BadRequest(f"cannot read the configuration from {source}: {exc}") from None
    try:
        return Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise BadRequest(f"cannot read the configuration file {source}: {exc.strerror}") from None

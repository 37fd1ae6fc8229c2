"""Whole objects in S3, read through the configured region and endpoint.

The one S3 client of the current settings lives here (created on first use, reused by warm
Lambdas, made again when the settings change), so under the local runtime an `s3://` name
reaches the embedded backend, as deployed it reaches AWS.
"""

from __future__ import annotations

import threading
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import settings
from chalicelib.engine.ports import ObjectUnreadable
from chalicelib.store.clients import aws_client

_lock = threading.Lock()
_cached: tuple[settings.Settings, Any] | None = None


def s3_client() -> Any:
    """The S3 client for the current settings' region and endpoint."""
    global _cached
    current = settings.current()
    with _lock:
        if _cached is None or _cached[0] is not current:
            client = aws_client("s3", region=current.region, endpoint_url=current.endpoint_url)
            _cached = (current, client)
        return _cached[1]


def read_text(bucket: str, key: str) -> str:
    """An object's content as UTF-8 text; `ObjectUnreadable` if it cannot be read."""
    try:
        body: bytes = s3_client().get_object(Bucket=bucket, Key=key)["Body"].read()
    except (BotoCoreError, ClientError) as exc:
        raise ObjectUnreadable(str(exc)) from None
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ObjectUnreadable(f"not UTF-8 text: {exc}") from None


class S3ObjectReader:
    """`ObjectReader` over S3 at the configured endpoint."""

    def read_text(self, bucket: str, key: str) -> str:
        return read_text(bucket, key)

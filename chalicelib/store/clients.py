"""boto3 clients for the store's S3, SQS and KMS calls, sized for the runs in flight.

A client's connection pool is botocore's (10 by default); a request that finds it empty opens a
connection of its own and drops it after, so a local runtime with 32 runs in flight would open
and close a connection per request. Every client the store builds keeps `CLIENT_POOL` open.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

from chalicelib.store.models import CLIENT_POOL

_CONFIG = Config(max_pool_connections=CLIENT_POOL)


def aws_client(service: str, *, region: str | None, endpoint_url: str | None) -> Any:
    """A new boto3 client of `service` (its own session: boto3's default one is not thread-safe)."""
    return boto3.session.Session().client(service, region_name=region, endpoint_url=endpoint_url, config=_CONFIG)

"""Strategies: validated whole, secrets sealed, stored as immutable versions.

A strategy is identified by its sid (and its name, unique in the tenant); each `POST` stores one
version. The first version needs no `Strategy-Secret` (it sets the secret); a new version of an
existing name is a call about that strategy, so it needs the current (latest) version's secret,
and its own `secret` becomes the secret of the new version. A version is never changed: instances
pin the version they were created on.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import datetime

from chalicelib import settings
from chalicelib.engine.execution import records
from chalicelib.engine.execution.definition import ExecutionStrategyBody
from chalicelib.engine.execution.secrets import hash_secret, new_salt, seal_settings, secret_matches
from chalicelib.engine.execution.validation import check_strategy
from chalicelib.engine.execution.values import StoredStrategy
from chalicelib.errors import Conflict, NotFound, Unauthenticated

#: The one answer to a missing or wrong Strategy-Secret: it says nothing about which.
SECRET_REFUSED = "Strategy-Secret is missing or does not match"


def environment() -> str:
    """The environment whose base URLs and authorization apply: `TASKLANE_EXECUTION_ENVIRONMENT`,
    else the stage name (`local` in the local runtime)."""
    return os.environ.get("TASKLANE_EXECUTION_ENVIRONMENT") or settings.current().stage


def require_secret(strategy: StoredStrategy, header: str | None) -> None:
    """`Unauthenticated` unless the header presents the strategy version's secret."""
    if not secret_matches(strategy, header):
        raise Unauthenticated(SECRET_REFUSED)


def create_strategy(tenant: str, body: ExecutionStrategyBody, *, secret_header: str | None,
                    now: datetime) -> StoredStrategy:
    """Validate, seal and store a strategy version (see the module docstring); nothing is
    written on a refusal."""
    check_strategy(body, environment=environment())
    sid = records.strategy_sid_for_name(tenant, body.name)
    latest = records.latest_strategy(tenant, sid) if sid is not None else None
    if latest is not None:
        require_secret(latest, secret_header)
        if body.version <= latest.version:
            raise Conflict(f"version {body.version} of strategy {body.name!r} cannot be added: "
                           f"the latest is {latest.version}; send a higher version")
    sid = sid or str(uuid.uuid4())
    safe, sealed_auth, sealed_settings, wrapped = seal_settings(tenant, sid, body.version, body.settings)
    salt = new_salt()
    strategy = StoredStrategy(
        sid=sid, name=body.name, version=body.version, settings=safe, secret_hash=hash_secret(body.secret, salt),
        secret_salt=salt, created_at=latest.created_at if latest else now, updated_at=now,
        description=body.description, sealed_authorization=sealed_auth, sealed_settings=sealed_settings,
        wrapped_key=wrapped)
    if latest is None and not records.claim_strategy_name(tenant, body.name, sid):
        raise Conflict(f"strategy {body.name!r} was created concurrently; send it again as a new version")
    created = records.create_strategy_version(tenant, strategy)
    if created is None:
        raise Conflict(f"version {body.version} of strategy {body.name!r} was created concurrently")
    return created


def resolve(tenant: str, strategy_id: str, version: int | None = None) -> StoredStrategy:
    """A strategy by sid or name: the given version, else the latest; `NotFound` otherwise."""
    sid = strategy_id if records.latest_strategy(tenant, strategy_id) is not None else \
        records.strategy_sid_for_name(tenant, strategy_id)
    if sid is None:
        raise NotFound(f"execution strategy {strategy_id} not found")
    if version is not None:
        return records.get_strategy(tenant, sid, version)
    latest = records.latest_strategy(tenant, sid)
    if latest is None:
        raise NotFound(f"execution strategy {strategy_id} not found")
    return latest


def any_secret_matches(tenant: str, header: str | None) -> bool:
    """Whether the header presents the secret of any strategy of the tenant (its latest version):
    what tenant-wide calls (`/queue`) accept."""
    found = False
    strategies: Iterator[StoredStrategy] = records.latest_strategies(tenant)
    for strategy in strategies:
        found = secret_matches(strategy, header) or found
    return found

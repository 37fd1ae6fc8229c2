"""One contract, two stores: every test here runs over the in-memory twin and over DynamoDB/S3
on moto (in process; threads race against a moto server, as in test_dispatch_races)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib import backends
from chalicelib.engine import backend as engine_backend
from chalicelib.engine.backend import Backend
from chalicelib.engine.model import Run, RunStatus, TaskSpec, TriggeredBy
from tests.functional.conftest import aws, moto_server, server_aws  # noqa: F401 - fixtures

T0 = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)
SHARDS = 4


@pytest.fixture(params=["memory", "dynamodb"])
def store(request) -> Backend:
    """The ports of one implementation, installed as the engine's backend."""
    if request.param == "dynamodb":
        request.getfixturevalue("aws")
        chosen = backends.deployed()
    else:
        chosen = backends.memory()
    with engine_backend.using(chosen):
        yield chosen


@pytest.fixture
def dynamo_store(aws) -> Backend:  # noqa: F811 - the fixture imported above
    """The DynamoDB store alone, for interleavings inside its own read-then-write: the twin reads
    and writes under one lock, so it has no window between them to test."""
    chosen = backends.deployed()
    with engine_backend.using(chosen):
        yield chosen


@pytest.fixture(params=["memory", "dynamodb"])
def racing_store(request) -> Backend:
    """As `store`, with DynamoDB behind a real moto server so threads race over HTTP."""
    if request.param == "dynamodb":
        request.getfixturevalue("server_aws")
        chosen = backends.deployed()
    else:
        chosen = backends.memory()
    with engine_backend.using(chosen):
        yield chosen


def spec(**overrides) -> TaskSpec:
    return TaskSpec(executor="command", executor_config={"args": ["true"]}, **overrides)


def put(store: Backend, task_id: str, *, tenant: str = "acme", face: str = "test", now: datetime = T0,
        next_fire_at: datetime | None = None, expected_revision: int | None = None, enabled: bool = True,
        **spec_fields):
    return store.tasks.put_task(tenant=tenant, task_id=task_id, face=face, name=task_id, enabled=enabled,
                                spec=spec(**spec_fields), document={"name": task_id}, next_fire_at=next_fire_at,
                                due_shards=SHARDS, now=now, expected_revision=expected_revision)


def pending(task_id: str, run_id: str, *, tenant: str = "acme", created_at: datetime = T0, **fields) -> Run:
    return Run(tenant=tenant, task_id=task_id, run_id=run_id, status=RunStatus.PENDING,
               triggered_by=TriggeredBy.API, created_at=created_at, **fields)

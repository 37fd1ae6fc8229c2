"""Functional tests: the app through chalice.test.Client against moto.

`aws` gives an in-process moto backend with every resource from template.yaml created;
`moto_server` gives a real moto server on loopback for tests that race threads against it;
`twin` installs the in-memory twin of the store instead (the engine's policy tests).
"""

from __future__ import annotations

import os

import pytest
from moto import mock_aws

from chalicelib import handlers, settings
from chalicelib.engine import backend
from chalicelib.runtime import moto_indexes, moto_isolation
from chalicelib.runtime.resources import create_resources
from chalicelib.store.memory import MemoryState, memory_backend


def _bind(env: dict[str, str], endpoint: str | None) -> settings.Settings:
    os.environ.update(env)
    if endpoint:
        os.environ["TASKLANE_AWS_ENDPOINT"] = endpoint
    else:
        os.environ.pop("TASKLANE_AWS_ENDPOINT", None)
    settings.reset()
    return handlers.ensure_bound()


@pytest.fixture
def aws():
    """An in-process moto backend with the template's resources; yields the settings."""
    moto_isolation.install()  # the same DynamoDB behaviour as the local runtime's backend:
    moto_indexes.install()  # its isolation and its indexed queries
    with mock_aws():
        created = create_resources(stage="test", region="us-east-1", endpoint_url=None)
        yield _bind(created.env, None)
    os.environ.pop("TASKLANE_AWS_ENDPOINT", None)
    settings.reset()


@pytest.fixture(scope="session")
def moto_server():
    """A real moto server on 127.0.0.1 (for threads racing over HTTP); yields its URL."""
    from chalicelib.runtime.local import EmbeddedBackend

    backend = EmbeddedBackend(0, in_process=True)
    url = backend.start()
    yield url
    backend.stop()


@pytest.fixture
def server_aws(moto_server):
    """The template's resources on the moto server, under a fresh stage name per test."""
    import uuid

    stage = "t" + uuid.uuid4().hex[:8]
    os.environ["TASKLANE_STAGE"] = stage
    created = create_resources(stage=stage, region="us-east-1", endpoint_url=moto_server)
    yield _bind(created.env, moto_server)
    os.environ.pop("TASKLANE_AWS_ENDPOINT", None)
    os.environ["TASKLANE_STAGE"] = "test"
    settings.reset()


@pytest.fixture
def client(aws):
    """chalice.test.Client over the app, backed by `aws`."""
    from chalice.test import Client

    import app as app_module

    with Client(app_module.app) as test_client:
        yield test_client


@pytest.fixture
def twin_state():
    """The tables of the in-memory twin (for a test that leaves a record behind by hand)."""
    return MemoryState()


@pytest.fixture
def twin(twin_state):
    """The in-memory twin of the store installed as the engine's backend; yields its ports."""
    with backend.using(memory_backend(twin_state)) as ports:
        yield ports


@pytest.fixture
def twin_client(twin):
    """chalice.test.Client over the app, backed by the in-memory twin."""
    from chalice.test import Client

    import app as app_module

    with Client(app_module.app) as test_client:
        yield test_client


@pytest.fixture(autouse=True)
def execution_key_file(tmp_path, monkeypatch):
    """The execution face's local key file (the local runtime sets one the same way)."""
    monkeypatch.setenv("TASKLANE_EXECUTION_KEY_FILE", str(tmp_path / "execution.key"))

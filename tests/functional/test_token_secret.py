"""Deployed, the token secret is read from Secrets Manager by name, once per cold start."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from chalicelib import settings
from chalicelib.errors import TasklaneError

NAME = "tasklane/dev/jwt-secret"


@pytest.fixture
def deployed_env(monkeypatch):
    """The environment the template gives a function: the secret's name, not the secret."""
    monkeypatch.delenv("TASKLANE_JWT_SECRET", raising=False)
    monkeypatch.delenv("TASKLANE_CURSOR_SECRET", raising=False)
    monkeypatch.delenv("TASKLANE_AWS_ENDPOINT", raising=False)
    monkeypatch.setenv("TASKLANE_JWT_SECRET_NAME", NAME)
    settings.reset()
    with mock_aws():
        yield boto3.client("secretsmanager", region_name="us-east-1")
    settings.reset()


def test_the_secret_named_by_the_environment_signs_tokens_and_cursors(deployed_env):
    deployed_env.create_secret(Name=NAME, SecretString="from-secrets-manager\n")
    current = settings.current()
    assert current.jwt_secret == "from-secrets-manager"
    assert current.cursor_secret == "from-secrets-manager"


def test_the_secret_is_read_once_per_process(deployed_env):
    deployed_env.create_secret(Name=NAME, SecretString="first")
    assert settings.current().jwt_secret == "first"
    deployed_env.put_secret_value(SecretId=NAME, SecretString="rotated")
    assert settings.current().jwt_secret == "first"  # cached: no second read in this process
    settings.reset()  # a new cold start
    assert settings.current().jwt_secret == "rotated"


def test_a_missing_secret_fails_naming_it_and_is_tried_again_next_time(deployed_env):
    with pytest.raises(TasklaneError, match="tasklane/dev/jwt-secret.*ResourceNotFoundException"):
        settings.current()
    deployed_env.create_secret(Name=NAME, SecretString="late")
    assert settings.current().jwt_secret == "late"


def test_the_repr_of_the_settings_never_shows_the_secret(deployed_env):
    deployed_env.create_secret(Name=NAME, SecretString="do-not-print-me")
    assert "do-not-print-me" not in repr(settings.current())


def test_locally_the_environment_secret_is_used_and_nothing_is_read(monkeypatch):
    monkeypatch.setenv("TASKLANE_JWT_SECRET", "local-secret")
    monkeypatch.delenv("TASKLANE_JWT_SECRET_NAME", raising=False)
    settings.reset()
    with mock_aws():  # no secret exists: a read would fail
        assert settings.current().jwt_secret == "local-secret"
    settings.reset()

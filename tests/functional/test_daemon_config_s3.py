"""An `s3://` daemon configuration is read through the configured endpoint (the moto server here,
as under the local runtime), never from real AWS."""

from __future__ import annotations

import json
import os

import boto3
import pytest

from chalicelib.cli import daemon_config_source
from chalicelib.engine.config_source import read_source
from chalicelib.errors import BadRequest
from chalicelib.identity import mint_token
from tests.conftest import TEST_SECRET

CONFIG = """
[tasks.backup]
run = "echo backup"
cron = "0 3 * * *"
"""


def put_object(settings, key: str, text: str) -> str:
    s3 = boto3.session.Session().client("s3", region_name=settings.region, endpoint_url=settings.endpoint_url)
    s3.put_object(Bucket=settings.log_bucket, Key=key, Body=text.encode())
    return f"s3://{settings.log_bucket}/{key}"


def test_an_s3_config_is_read_from_the_configured_endpoint(server_aws):
    source = put_object(server_aws, "config/runwisp.toml", CONFIG)
    assert read_source(source) == CONFIG


def test_a_missing_s3_config_is_a_bad_request_naming_the_source(server_aws):
    source = f"s3://{server_aws.log_bucket}/config/missing.toml"
    with pytest.raises(BadRequest) as caught:
        read_source(source)
    assert caught.value.message.startswith(f"cannot read the configuration from {source}: ")
    assert "NoSuchKey" in caught.value.message


def test_reload_applies_an_s3_config_from_the_local_bucket(server_aws, monkeypatch):
    from chalice.test import Client

    import app as app_module

    monkeypatch.setenv("TASKLANE_DAEMON_CONFIG", put_object(server_aws, "runwisp.toml", CONFIG))
    monkeypatch.setenv("TASKLANE_DAEMON_TENANT", "acme")
    token = mint_token(TEST_SECRET, tenant="acme", user="ops", admin=True)
    with Client(app_module.app) as client:
        answer = client.http.post("/daemon/api/reload", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.body
    assert json.loads(answer.body) == {"added": ["backup"], "removed": [], "changed": []}


def test_daemon_config_keeps_an_s3_name_and_makes_a_path_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert daemon_config_source("s3://bucket/runwisp.toml") == "s3://bucket/runwisp.toml"
    assert daemon_config_source("runwisp.toml") == os.path.join(str(tmp_path), "runwisp.toml")

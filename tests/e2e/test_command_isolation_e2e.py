"""`tasklane local` over real HTTP: a command sees nothing of the service's, and
`--command-tenants` narrows who may run commands."""

from __future__ import annotations

import os

import pytest

from chalicelib.identity import mint_token
from tests.e2e.conftest import start_runtime, stop_runtime
from tests.functional.test_command_isolation import WALK

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def runtime():
    """Its own runtime, stopped with the module (the session one would idle on through the
    other modules' timing tests); tenant `dev` may run commands, `globex` may not."""
    started = start_runtime("--command-tenants", "dev, initech")
    yield started
    stop_runtime(started)


def test_a_command_cannot_read_the_services_secret_its_endpoint_or_its_aws_keys(runtime):
    put = runtime.request("PUT", "/daemon/api/tasks/probe", json={"run": WALK})
    assert put.status_code in (200, 201), put.text
    run = runtime.post("/daemon/api/tasks/probe/run?wait=true&wait_timeout=30").json()
    log = runtime.get(f"/daemon/api/tasks/probe/runs/{run['id']}/log/raw").text
    assert run["end_reason"] == "success", log
    assert "TASKLANE_RUN_ID=" in log and "PATH=/usr/local/sbin" in log
    assert runtime.secret not in log
    assert runtime.backend not in log and "AWS_" not in log and "TASKLANE_JWT_SECRET" not in log
    if os.geteuid() == 0:
        assert "user=nobody" in log


def test_command_tenants_narrows_who_may_define_commands(runtime):
    token = mint_token(runtime.secret, tenant="globex", user="ops", admin=True)
    response = runtime.request("PUT", "/daemon/api/tasks/t", json={"run": "true"},
                               headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403
    assert response.headers["Content-Type"] == "application/problem+json"
    assert "may not run commands" in response.json()["detail"]

"""`chalice local --stage local` answers its edges as `tasklane local` does, over real HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from chalicelib.identity import mint_token
from tests.e2e.conftest import ROOT, free_port
from tests.e2e.edges import (
    assert_head_answers_carry_no_body,
    assert_missing_token_is_the_deployed_401,
    assert_unknown_methods_are_405_in_the_face_shape,
    assert_unknown_paths_are_404_json,
)
from tests.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def chalice_local():
    """`chalice local --stage local` on a free port; yields (url, token)."""
    port = free_port()
    secret = "e2e-chalice-secret-" + os.urandom(16).hex()
    env = {**os.environ, "TASKLANE_JWT_SECRET": secret, "PYTHONUNBUFFERED": "1", "TASKLANE_EPHEMERAL": "1"}
    env.pop("TASKLANE_AWS_ENDPOINT", None)
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "chalice"), "local", "--stage", "local", "--no-autoreload",
         "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"chalice local exited with {process.returncode}")
        try:
            return requests.get(url + "/health", timeout=5).status_code == 200
        except requests.ConnectionError:
            return False

    try:
        wait_until(healthy, timeout=60, interval=0.5)
        yield url, mint_token(secret, tenant="dev", user="e2e")
    finally:
        process.send_signal(2)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_a_path_no_face_serves_is_a_404_under_chalice_local(chalice_local):
    url, token = chalice_local
    assert_unknown_paths_are_404_json(url, token)


def test_a_known_path_without_an_authorization_header_is_the_deployed_401_under_chalice_local(chalice_local):
    url, _ = chalice_local
    assert_missing_token_is_the_deployed_401(url)


def test_a_method_the_server_does_not_know_is_a_405_under_chalice_local(chalice_local):
    url, token = chalice_local
    assert_unknown_methods_are_405_in_the_face_shape(url)
    assert requests.get(url + "/whoami", headers={"Authorization": f"Bearer {token}"}, timeout=30).status_code == 200


def test_a_head_answer_carries_no_body_under_chalice_local(chalice_local):
    url, _ = chalice_local
    assert_head_answers_carry_no_body(url)

"""Shared fixtures: a fixed token secret, fake AWS credentials, and token minting."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chalicelib import settings
from chalicelib.identity import mint_token

TEST_SECRET = "test-secret-for-tasklane-tests-only"

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "TASKLANE_JWT_SECRET": TEST_SECRET,
        "TASKLANE_STAGE": "test",
        "TASKLANE_HEARTBEAT_SECONDS": "0.5",  # stops are noticed quickly, so tests stay short
        "TASKLANE_COMMAND_TENANTS": "*",  # as `tasklane local`; tests of the boundary narrow it
    }
)
settings.reset()

#: The fixtures that put the engine on the in-memory twin (tests/functional/conftest.py).
TWIN_FIXTURES = frozenset({"twin", "twin_state", "twin_client"})
UNIT_TESTS = Path(__file__).resolve().parent / "unit"


def pytest_collection_modifyitems(config, items):
    """Mark `fast` what `make mutation` runs: tests/unit and every test over the in-memory twin."""
    for item in items:
        if item.path.is_relative_to(UNIT_TESTS) or TWIN_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.fast)


@pytest.fixture
def token():
    """Mint a token: token(tenant="acme", user="alice", admin=False, **kw)."""

    def _mint(tenant: str = "acme", user: str = "alice", admin: bool = False, **kwargs) -> str:
        return mint_token(TEST_SECRET, tenant=tenant, user=user, admin=admin, **kwargs)

    return _mint


@pytest.fixture
def auth(token):
    """Authorization headers for a user: auth(tenant=..., user=..., admin=...)."""

    def _headers(**kwargs) -> dict[str, str]:
        return {"Authorization": f"Bearer {token(**kwargs)}"}

    return _headers

from __future__ import annotations

import time

import jwt
import pytest

from chalicelib.errors import Unauthenticated, ValidationError
from chalicelib.identity import bearer_token, mint_token, verify_token

SECRET = "unit-secret-unit-secret-unit-secret-42"


def test_a_minted_token_verifies_to_its_principal():
    token = mint_token(SECRET, tenant="acme", user="alice", admin=True, actor_kind="agent", session="s1")
    principal = verify_token(SECRET, token)
    assert principal.user_id == "alice"
    assert principal.tenant == "acme"
    assert principal.is_admin
    assert principal.actor_kind == "agent"
    assert principal.session == "s1"


def test_a_token_without_admin_role_is_not_admin():
    assert not verify_token(SECRET, mint_token(SECRET, tenant="acme", user="bob")).is_admin


def test_an_expired_token_is_refused():
    token = mint_token(SECRET, tenant="acme", user="alice", ttl_seconds=10, now=time.time() - 3600)
    with pytest.raises(Unauthenticated, match="expired"):
        verify_token(SECRET, token)


def test_a_token_signed_with_another_secret_is_refused():
    token = mint_token("another-secret-another-secret-another-1", tenant="acme", user="alice")
    with pytest.raises(Unauthenticated, match="invalid token"):
        verify_token(SECRET, token)


def test_an_unsigned_token_is_refused():
    token = jwt.encode({"sub": "a", "tenant": "acme", "exp": time.time() + 60}, key=None, algorithm="none")
    with pytest.raises(Unauthenticated):
        verify_token(SECRET, token)


def test_a_token_without_tenant_is_refused():
    token = jwt.encode({"sub": "a", "exp": time.time() + 60}, SECRET, algorithm="HS256")
    with pytest.raises(Unauthenticated):
        verify_token(SECRET, token)


@pytest.mark.parametrize("tenant", ["a#b", "", "_system", "x" * 65, "a b"])
def test_a_tenant_that_could_break_key_design_is_refused(tenant):
    with pytest.raises(ValidationError):
        mint_token(SECRET, tenant=tenant, user="alice")
    forged = jwt.encode({"sub": "a", "tenant": tenant, "exp": time.time() + 60}, SECRET, algorithm="HS256")
    with pytest.raises(Unauthenticated):
        verify_token(SECRET, forged)


@pytest.mark.parametrize("header", [None, "", "Basic abc", "Bearer", "Bearer   "])
def test_a_missing_or_malformed_authorization_header_is_refused(header):
    with pytest.raises(Unauthenticated):
        bearer_token(header)


def test_bearer_scheme_is_case_insensitive():
    assert bearer_token("bearer abc.def") == "abc.def"

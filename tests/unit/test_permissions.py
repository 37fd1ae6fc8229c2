"""Roles: what each grants, the refusal it raises, and `tasklane token` minting them."""

from __future__ import annotations

import pytest

from chalicelib.cli import main
from chalicelib.identity import Principal, verify_token
from chalicelib.permissions import Role, RoleRequired, granted_roles, require_role

SECRET = "unit-secret-unit-secret-unit-secret-42"


def principal(*roles: str) -> Principal:
    return Principal(user_id="u", tenant="acme", roles=roles)


def test_admin_implies_operator_and_operator_implies_nothing_more():
    assert granted_roles(principal("admin")) == {Role.ADMIN, Role.OPERATOR}
    assert granted_roles(principal("operator")) == {Role.OPERATOR}
    assert granted_roles(principal()) == frozenset()


def test_unknown_role_names_grant_nothing():
    assert granted_roles(principal("Admin", "root", "operator ")) == frozenset()


def test_a_refusal_names_the_role_needed_and_the_roles_held():
    with pytest.raises(RoleRequired) as refused:
        require_role(principal("viewer"), Role.OPERATOR)
    assert refused.value.status == 403 and refused.value.required_role is Role.OPERATOR
    assert "'operator' role (or 'admin')" in refused.value.message and "viewer" in refused.value.message
    with pytest.raises(RoleRequired, match="the token grants: operator"):
        require_role(principal("operator"), Role.ADMIN)
    require_role(principal("admin"), Role.OPERATOR)


@pytest.mark.parametrize(("flags", "roles"), [
    (["--role", "operator"], ("operator",)),
    (["--admin"], ("admin",)),
    (["--role", "admin", "--role", "operator"], ("admin", "operator")),
    (["--admin", "--role", "admin"], ("admin",)),
    ([], ()),
])
def test_the_token_command_mints_the_roles_asked_for(capsys, flags, roles):
    assert main(["token", "--tenant", "acme", "--user", "ops", "--secret", SECRET, *flags]) == 0
    assert verify_token(SECRET, capsys.readouterr().out.strip()).roles == roles


def test_the_token_command_refuses_an_unknown_role(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["token", "--tenant", "acme", "--user", "ops", "--secret", SECRET, "--role", "superuser"])
    assert exited.value.code == 2 and "invalid choice: 'superuser'" in capsys.readouterr().err

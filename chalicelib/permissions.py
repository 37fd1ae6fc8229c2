"""Roles a token grants, what each implies, and the one check a route's declaration runs.

Roles come from the token's `roles` claim. A route declares the role it needs once (faces/http.py
`Face.route(..., role=...)`); the face wrapper checks it before the route function runs, so a
refused request reads and writes nothing. A route without a role is open to every user of the
tenant (on the daemon face: reading).
"""

from __future__ import annotations

from enum import StrEnum

from chalicelib.errors import Forbidden
from chalicelib.identity import Principal


class Role(StrEnum):
    """A role the `roles` claim can grant."""

    #: Tenant admin: defines tasks (create, replace, delete, reload the file), and everything an
    #: operator may do.
    ADMIN = "admin"
    #: Runs tasks, stops runs, stops and restarts services, deletes run history.
    OPERATOR = "operator"


#: The roles each role grants, itself included.
IMPLIES: dict[Role, frozenset[Role]] = {
    Role.ADMIN: frozenset({Role.ADMIN, Role.OPERATOR}),
    Role.OPERATOR: frozenset({Role.OPERATOR}),
}

_NAMES = frozenset(role.value for role in Role)


class RoleRequired(Forbidden):
    """The caller's token does not grant the role the route needs (403 naming the role)."""

    def __init__(self, role: Role, granted: tuple[str, ...]) -> None:
        held = ", ".join(granted) if granted else "none"
        needs = f"the '{role}' role" + (" (or 'admin')" if role is not Role.ADMIN else "")
        super().__init__(f"this request needs {needs}; the token grants: {held}")
        #: The role the route declared.
        self.required_role = role


def granted_roles(principal: Principal) -> frozenset[Role]:
    """Every role the principal holds, implied ones included; unknown claim values grant nothing."""
    held = {Role(name) for name in principal.roles if name in _NAMES}
    return frozenset().union(*(IMPLIES[role] for role in held)) if held else frozenset()


def require_role(principal: Principal, role: Role) -> None:
    """`RoleRequired` unless the principal holds `role` (directly or through another role)."""
    if role not in granted_roles(principal):
        raise RoleRequired(role, principal.roles)

"""Who may run commands: the operator allows it per tenant.

A `command` task runs code its tenant wrote, so running commands is the operator's to allow:
`TASKLANE_COMMAND_TENANTS` names the tenants (a comma list, or `*` for every tenant). Unset, no
tenant may; `tasklane local` sets `*` unless told otherwise (its user is the operator). Both
defining a command task and executing a command run check it.
"""

from __future__ import annotations

from chalicelib import settings
from chalicelib.errors import Forbidden

SETTING = "TASKLANE_COMMAND_TENANTS"


def allowed_tenants(raw: str) -> frozenset[str] | None:
    """The tenants a setting names; None means every tenant."""
    names = frozenset(part.strip() for part in raw.split(",") if part.strip())
    return None if "*" in names else names


def commands_allowed(tenant: str) -> bool:
    """Whether `tenant` may define and run commands."""
    allowed = allowed_tenants(settings.current().command_tenants)
    return allowed is None or tenant in allowed


def refusal(tenant: str) -> str:
    """Why `tenant` may not run commands, for the caller."""
    return (f"tenant {tenant!r} may not run commands: the operator has not allowed it ({SETTING} names the "
            "tenants whose commands this deployment runs)")


def require_commands_allowed(tenant: str) -> None:
    """`Forbidden` saying why, unless `tenant` may run commands."""
    if not commands_allowed(tenant):
        raise Forbidden(refusal(tenant))

"""Who may reach a scheduling task (FACES.md, "Access").

A user reaches the tasks they own and every task whose `metadata.spaceType` is `shared` or
`managed`; a tenant admin (`admin` in the token's roles) reaches every task of the tenant.
Anything else in the tenant is 403; another tenant's task is 404 (its key starts with the
tenant, so it is never even read). A chain's parents must be reachable by the writer, as
reading them would be. Deleting takes the owner or a tenant admin; since PUT and PATCH make a
non-owner with access the owner (the page's rule), whoever may change a shared task may take it
over and then delete it: the takeover is recorded in `ownerId` and `updatedBy`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.errors import Forbidden
from chalicelib.identity import Principal

#: Space types whose tasks every user of the tenant may reach.
SHARED_SPACE_TYPES = frozenset({"shared", "managed"})


def owner_of(document: Mapping[str, Any] | None) -> str | None:
    """The owner's user id recorded in a stored document."""
    return ((document or {}).get("metadata") or {}).get("ownerId")


def can_reach(principal: Principal, document: Mapping[str, Any] | None) -> bool:
    """Whether the caller may read and change the task."""
    if principal.is_admin or owner_of(document) == principal.user_id:
        return True
    return ((document or {}).get("metadata") or {}).get("spaceType") in SHARED_SPACE_TYPES


def require_reach(principal: Principal, document: Mapping[str, Any] | None, task_id: str) -> None:
    """`Forbidden` unless the caller may reach the task."""
    if not can_reach(principal, document):
        raise Forbidden(f"you do not have access to task {task_id}")


def require_delete(principal: Principal, document: Mapping[str, Any] | None, task_id: str) -> None:
    """`Forbidden` unless the caller owns the task or is a tenant admin."""
    if principal.is_admin or owner_of(document) == principal.user_id:
        return
    if can_reach(principal, document):
        raise Forbidden(f"only the owner or a tenant admin may delete task {task_id}")
    raise Forbidden(f"you do not have access to task {task_id}")

"""Bearer tokens and the request's principal.

Tokens are HS256 JWTs (PyJWT does the cryptography and the time claims) with the claims `sub`
(user id), `tenant`, `roles` (`admin` grants tenant-admin rights, `operator` the daemon face's
operator rights: see permissions.py) and, for agents, `actor_kind` and `session`. The secret
comes from the environment; it is never logged or returned.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass

import jwt

from chalicelib.errors import Unauthenticated, ValidationError

ALGORITHM = "HS256"
#: Tenant ids lead every partition key, so they must not contain the key separator.
TENANT_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
DEFAULT_TTL_SECONDS = 12 * 3600
#: `sub` becomes the owner of what the caller creates: a non-empty printable string this long at most.
MAX_USER_ID_LENGTH = 256
#: `actor_kind` and `session`, when present, are printable strings at most this long.
MAX_ACTOR_KIND_LENGTH = 32
MAX_SESSION_LENGTH = 128
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True, kw_only=True)
class Principal:
    """Who is calling: a verified user of one tenant."""

    #: The user id (`sub`).
    user_id: str
    #: The tenant every key of this request starts with.
    tenant: str
    #: Roles granted by the token; `admin` is tenant admin.
    roles: tuple[str, ...] = ()
    #: For agents: what kind of actor this is (`agent`, `human`, ...).
    actor_kind: str | None = None
    #: For agents: the session that holds leases.
    session: str | None = None

    @property
    def is_admin(self) -> bool:
        """True for a tenant admin."""
        return "admin" in self.roles


def mint_token(
    secret: str,
    *,
    tenant: str,
    user: str,
    admin: bool = False,
    roles: Iterable[str] = (),
    actor_kind: str | None = None,
    session: str | None = None,
    ttl_seconds: int = DEFAULT_TTL_SECONDS,
    now: float | None = None,
) -> str:
    """Sign a token for `user` in `tenant` granting `roles` (`admin=True` adds `admin`)."""
    if not secret:
        raise ValidationError("a signing secret is required", location="TASKLANE_JWT_SECRET")
    if not TENANT_PATTERN.match(tenant):
        raise ValidationError(
            "tenant must be 1-64 of A-Z a-z 0-9 _ . : -, starting with a letter or digit",
            location="tenant",
            value=tenant,
        )
    if not user:
        raise ValidationError("user must not be empty", location="user")
    issued = int(now if now is not None else time.time())
    claims: dict[str, object] = {
        "sub": user,
        "tenant": tenant,
        "roles": list(dict.fromkeys([*(["admin"] if admin else []), *roles])),
        "iat": issued,
        "exp": issued + ttl_seconds,
    }
    if actor_kind:
        claims["actor_kind"] = actor_kind
    if session:
        claims["session"] = session
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_token(secret: str, token: str) -> Principal:
    """Check a token's signature, expiry and claims; raise `Unauthenticated` if anything is off."""
    if not secret:
        raise Unauthenticated("the server has no token secret configured")
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={"require": ["sub", "tenant", "exp"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthenticated("token has expired") from exc
    except jwt.MissingRequiredClaimError as exc:
        raise Unauthenticated(f"invalid token: the {exc.claim} claim is required") from None
    except jwt.InvalidSignatureError:
        raise Unauthenticated("invalid token: the signature does not verify") from None
    except jwt.ImmatureSignatureError:
        raise Unauthenticated("invalid token: not valid yet") from None
    except jwt.InvalidAlgorithmError:
        raise Unauthenticated(f"invalid token: only {ALGORITHM} is accepted") from None
    except jwt.InvalidTokenError:
        # PyJWT's own wording names its internals (padding, segments, codecs): say it plainly.
        raise Unauthenticated("invalid token: not a well-formed JWT with numeric time claims") from None
    tenant = claims.get("tenant")
    if not isinstance(tenant, str) or not TENANT_PATTERN.match(tenant):
        raise Unauthenticated("invalid token: bad tenant claim")
    roles = claims.get("roles") or []
    if isinstance(roles, str):
        roles = [r for r in roles.split(",") if r]
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise Unauthenticated("invalid token: bad roles claim")
    for name in ("exp", "iat", "nbf"):
        if name in claims and not _is_number(claims[name]):
            raise Unauthenticated(f"invalid token: {name} must be a number of seconds")
    return Principal(
        user_id=_claim_text(claims["sub"], "sub", MAX_USER_ID_LENGTH),
        tenant=tenant,
        roles=tuple(roles),
        actor_kind=_optional_claim_text(claims.get("actor_kind"), "actor_kind", MAX_ACTOR_KIND_LENGTH),
        session=_optional_claim_text(claims.get("session"), "session", MAX_SESSION_LENGTH),
    )


def _is_number(value: object) -> bool:
    # PyJWT reads time claims with int(), which takes the string "9999999999": RFC 7519 says NumericDate.
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _claim_text(value: object, name: str, max_length: int) -> str:
    """A claim that must be a non-empty printable string of bounded length, else 401."""
    if not isinstance(value, str) or not value.strip() or len(value) > max_length or _CONTROL.search(value):
        raise Unauthenticated(f"invalid token: {name} must be a non-empty string of at most {max_length} characters")
    return value


def _optional_claim_text(value: object, name: str, max_length: int) -> str | None:
    return None if value is None else _claim_text(value, name, max_length)


def bearer_token(authorization: str | None) -> str:
    """Extract the token from an `Authorization: Bearer <token>` header value."""
    if not authorization:
        raise Unauthenticated("missing Authorization header")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Authorization header must be 'Bearer <token>'")
    return token.strip()

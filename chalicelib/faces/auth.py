"""The Chalice authorizer shared by every face.

It verifies the bearer token and hands the claims to the route through the authorizer context
(API Gateway allows only strings there, so roles travel as a comma-separated string). A token
that does not verify is not denied here: the request goes on with `auth_error` in the context,
and the face answers 401 in its own product's error shape (see faces/http.py), which a gateway
denial could not do.
"""

from __future__ import annotations

from chalice import AuthResponse, Blueprint
from chalice.app import AuthRequest

from chalicelib import settings
from chalicelib.errors import Unauthenticated
from chalicelib.identity import bearer_token, verify_token

auth_blueprint = Blueprint(__name__)


@auth_blueprint.authorizer(ttl_seconds=0)
def bearer_authorizer(auth_request: AuthRequest) -> AuthResponse:
    """Verify `Authorization: Bearer <JWT>` and pass the principal on."""
    try:
        principal = verify_token(settings.current().jwt_secret, bearer_token(auth_request.token))
    except Unauthenticated as exc:
        return AuthResponse(routes=["*"], principal_id="anonymous", context={"auth_error": exc.message})
    return AuthResponse(
        routes=["*"],
        principal_id=principal.user_id,
        context={
            "tenant": principal.tenant,
            "roles": ",".join(principal.roles),
            "actor_kind": principal.actor_kind or "",
            "session": principal.session or "",
        },
    )

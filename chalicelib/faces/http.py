"""What every face shares: the request context, authentication, and one error translation point.

A face creates a `Face` with its blueprint and its error renderer, then declares routes with
`face.route(...)`. The wrapper binds a trace id (the caller's `X-Trace-Id` only when it is a
short safe token), refuses bodies over the size limit (413) and of media types no route takes
(415) before anything reads them, resolves the caller from the authorizer's context, turns
domain errors into the face's own error shape, and turns anything unexpected into a 500 in that
shape, logged with the trace id. Route functions receive a `Call` first; `Call.json_body` parses
strictly (see `chalicelib.faces.body`).
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib import settings
from chalicelib.errors import (
    BadRequest,
    FieldProblem,
    MethodNotAllowed,
    TasklaneError,
    Unauthenticated,
    UnsupportedMediaType,
)
from chalicelib.faces import body, request_models
from chalicelib.faces.auth import bearer_authorizer
from chalicelib.identity import Principal, bearer_token, verify_token
from chalicelib.observability import get_logger, log_event, set_trace_id, trace_id
from chalicelib.permissions import Role, require_role

_log = get_logger("http")

#: Media types a body may have on any route; the route itself checks what it really takes. Any
#: other is a 415 in the face's shape from the wrapper (Chalice is told to let every type through,
#: `*/*`, so that it never answers with its own `{"Code": "UnsupportedMediaType"}` body).
KNOWN_CONTENT = [
    "application/json",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/problem+json",
    "application/x-www-form-urlencoded",
    "application/octet-stream",
    "application/toml",
    "text/plain",
    "text/event-stream",
    "multipart/form-data",
]
ANY_CONTENT = ["*/*"]

#: A caller's `X-Trace-Id` is used only when it is a short token of these characters.
TRACE_ID_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")

#: Names the `from` that continues a log text response cut at the response byte cap.
NEXT_FROM_HEADER = "X-Log-Next-From"

#: Methods every path answers: served, or refused with a 405 in the face's shape (HEAD too,
#: which Chalice would otherwise answer with its own body and an `Allow` naming every method).
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"})

ErrorRenderer = Callable[[TasklaneError, str], Response]


@dataclass(frozen=True)
class Call:
    """One authenticated request, as a route function sees it."""

    request: Request
    principal: Principal
    trace_id: str
    #: The route's declared query and body models (`Face.route(query=..., body=...)`).
    query_model: type | None = None
    body_model: type | None = None

    @property
    def query(self) -> dict[str, str]:
        return dict(self.request.query_params or {})

    @functools.cached_property
    def params(self) -> Any:
        """The query, validated by the route's query model; errors name `query.<parameter>`."""
        if self.query_model is None:
            raise TypeError(f"{self.request.path}: the route declares no query model")
        return request_models.decode_query(self.query_model, self.query)

    def body(self, *, required: bool = True, location: str = "body") -> Any:
        """The strict JSON body validated by the route's body model (None when absent and
        not `required`); errors name `body.<field path>`."""
        if self.body_model is None:
            raise TypeError(f"{self.request.path}: the route declares no body model")
        raw = self.json_body(required=required)
        if raw is None and not required:
            return None
        return request_models.decode(self.body_model, raw, location=location)  # a JSON null is refused there

    def header(self, name: str) -> str | None:
        return request_headers(self.request).get(name.lower())

    def json_body(self, *, required: bool = True) -> Any:
        """The request body parsed as strict JSON; `BadRequest` naming the field if it is not."""
        raw = self.request.raw_body
        if not raw:
            if required:
                raise BadRequest("body: is required", problems=[FieldProblem(location="body", message="is required")])
            return None
        return body.parse_json(raw)


def request_headers(request: Request) -> Mapping[str, Any]:
    """The request's headers by lower-case name (empty when it has none)."""
    return request.headers or {}


def principal_from_request(request: Request) -> Principal:
    """The caller, from the authorizer's context (deployed) or the header (direct invocation)."""
    context = (request.context or {}).get("authorizer") or {}
    if context.get("auth_error"):
        raise Unauthenticated(context["auth_error"])
    if context.get("tenant"):
        roles = tuple(r for r in str(context.get("roles", "")).split(",") if r)
        user_id = context.get("principalId") or context.get("sub")
        if not isinstance(user_id, str) or not user_id:
            raise Unauthenticated("invalid token: bad sub claim")
        return Principal(
            user_id=user_id,
            tenant=str(context["tenant"]),
            roles=roles,
            actor_kind=context.get("actor_kind") or None,
            session=context.get("session") or None,
        )
    token = bearer_token(request_headers(request).get("authorization"))
    return verify_token(settings.current().jwt_secret, token)


def trace_id_from(request: Request) -> str | None:
    """The caller's `X-Trace-Id` if it is a short safe token; None (generate one) otherwise."""
    incoming = request_headers(request).get("x-trace-id")
    return incoming if incoming and TRACE_ID_PATTERN.fullmatch(incoming) else None


def check_body(request: Request) -> None:
    """Refuse an oversized body (413) or one of a media type no route takes (415), unread."""
    headers = request_headers(request)
    body.check_size(request.raw_body, headers.get("content-length"))
    if not request.raw_body:
        return
    media = (headers.get("content-type") or "application/json").split(";")[0].strip().lower()
    if media not in KNOWN_CONTENT:
        raise UnsupportedMediaType(f"Content-Type {media[:64]!r} is not taken here; send application/json")


@dataclass(frozen=True, kw_only=True)
class RouteDoc:
    """One declared operation, as `/openapi.json` describes it."""

    path: str
    method: str
    summary: str
    public: bool
    #: The request models (`chalicelib.faces.request_models`), if the route takes any.
    query: type | None = None
    body: type | None = None
    #: Media types the body may be sent as, and whether a body must be sent.
    body_types: tuple[str, ...] = ("application/json",)
    body_required: bool = True
    #: The success status and, if the answer has one, its schema.
    status: str = "200"
    response: dict[str, Any] | None = None
    description: str | None = None
    #: Other answers of this operation alone, by status (OpenAPI response objects).
    answers: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class FaceDoc:
    """What the document says about a whole face."""

    tag: str
    description: str
    #: Error answers every operation may give, by status (or `default`).
    errors: dict[str, Any] = field(default_factory=dict)
    #: Schemas of path parameters by name (others are plain strings).
    path_parameters: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Response schemas (request schemas come from the models).
    schemas: dict[str, Any] = field(default_factory=dict)


#: The body of an answer given before any face is chosen (API Gateway's responses in
#: template.yaml, and the local server's): no `Authorization` header (401), no such path (404).
#: The system routes answer their own errors in this shape too.
GATEWAY_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["error", "traceId"],
    "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
        "code": {"type": "string"}, "message": {"type": "string"}}}, "traceId": {"type": "string"}}}
GATEWAY_ERROR_REF = {"$ref": "#/components/schemas/GatewayError"}

_PATH_PARAMETER = re.compile(r"{(\w+)}")

#: Every face created with a `FaceDoc`, in creation order: what `/openapi.json` describes.
DOCUMENTED_FACES: list[Face] = []


class Face:
    """A blueprint plus the rules every route of one face follows."""

    def __init__(self, name: str, blueprint: Blueprint, render_error: ErrorRenderer, *, mount: str | None = None,
                 doc: FaceDoc | None = None) -> None:
        self.name = name
        self.blueprint = blueprint
        self.render_error = render_error
        #: The URL prefix the face is mounted under (None: the root).
        self.mount = mount
        self.doc = doc
        self.routes: list[RouteDoc] = []
        self._methods: dict[str, set[str]] = {}
        self._sealed = False
        if doc is not None:
            DOCUMENTED_FACES.append(self)

    def operations(self) -> dict[str, dict[str, Any]]:
        """The OpenAPI path items of every declared route (405 answers left out), derived from
        the declarations: parameters from the path and the query model, the body from the body
        model, the success answer and the face's error answers."""
        paths: dict[str, dict[str, Any]] = {}
        for route in self.routes:
            operation: dict[str, Any] = {"summary": route.summary}
            if self.doc is not None:
                operation["tags"] = [self.doc.tag]
            if route.description:
                operation["description"] = route.description
            named = self.doc.path_parameters if self.doc is not None else {}
            parameters = [{"name": name, "in": "path", "required": True, "schema": named.get(name, {"type": "string"})}
                          for name in _PATH_PARAMETER.findall(route.path)]
            if route.query is not None:
                parameters += request_models.query_parameters(route.query)
            operation["parameters"] = parameters
            if route.body is not None:
                schema = request_models.reference(route.body)
                operation["requestBody"] = {"required": route.body_required,
                                            "content": {media: {"schema": schema} for media in route.body_types}}
            success: dict[str, Any] = {"description": route.summary}
            if route.response is not None:
                success["content"] = {"application/json": {"schema": route.response}}
            operation["responses"] = {route.status: success, **(self.doc.errors if self.doc is not None else {}),
                                      **route.answers}
            if route.public:
                operation["security"] = []
            else:
                operation["responses"]["401"] = with_gateway_401(operation["responses"].get("401"))
            paths.setdefault((self.mount or "") + route.path, {})[route.method.lower()] = operation
        return paths

    def schemas(self) -> dict[str, Any]:
        """The component schemas: the face's response schemas and every request model's."""
        models = sorted({m for route in self.routes for m in (route.query, route.body) if m is not None},
                        key=repr)
        queries = {route.query.__name__ for route in self.routes if route.query is not None}
        derived = {name: schema for name, schema in request_models.schemas(models).items() if name not in queries}
        return {**(self.doc.schemas if self.doc is not None else {}), **derived}

    def seal(self) -> None:
        """Answer every method a path does not serve with a 405 in this face's shape (instead
        of Chalice's default body). Called once by chalicelib/handlers.py, after every route is declared."""
        if self._sealed:
            return
        self._sealed = True
        for path, served in list(self._methods.items()):
            missing = sorted(HTTP_METHODS - served)
            if not missing:
                continue
            allowed = tuple(sorted(served))

            def refuse(call: Call, _allowed: tuple[str, ...] = allowed, **_: Any) -> Any:
                raise MethodNotAllowed(f"{call.request.method} is not allowed here; allowed: {', '.join(_allowed)}",
                                       allowed=_allowed)

            refuse.__name__ = f"method_not_allowed_{len(self._methods)}_{abs(hash(path))}"
            refuse.method_not_allowed = True  # type: ignore[attr-defined]
            self.route(path, missing, public=True)(refuse)

    def route(self, path: str, methods: list[str] | None = None, *, public: bool = False,
              role: Role | None = None, query: type | None = None, body: type | None = None,
              body_types: tuple[str, ...] = ("application/json",), body_required: bool = True, status: int = 200,
              response: dict[str, Any] | None = None, summary: str | None = None,
              description: str | None = None, answers: dict[str, Any] | None = None) -> Callable:
        """Declare a route; the function is called as `fn(call, **url_params)`. With `role`, a
        caller whose token does not grant it gets a 403 before the function runs. `query` and
        `body` name the request models (`call.params`, `call.body()` validate with them) and,
        with `status`, `response`, `answers` (other statuses of this route alone) and `summary`
        (default: the docstring's first line), describe the operation in `/openapi.json`."""
        if public and role is not None:
            raise ValueError(f"{path}: a public route has no caller to hold the role {role!r}")
        self._methods.setdefault(path, set()).update(methods or ["GET"])

        def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
            if not getattr(fn, "method_not_allowed", False):
                title = summary or (fn.__doc__ or fn.__name__).strip().splitlines()[0].rstrip(".")
                self.routes += [RouteDoc(path=path, method=method, summary=title, public=public, query=query,
                                         body=body, body_types=body_types, body_required=body_required,
                                         status=str(status), response=response,
                                         description=description, answers=answers or {})
                                for method in methods or ["GET"]]
            @functools.wraps(fn)
            def view(**params: Any) -> Any:
                request = self.blueprint.current_request
                set_trace_id(trace_id_from(request))
                try:
                    check_body(request)
                    principal = None if public else principal_from_request(request)
                    if role is not None:
                        require_role(principal, role)  # type: ignore[arg-type]
                    call = Call(request, principal, trace_id(), query_model=query, body_model=body)  # type: ignore[arg-type]
                    return fn(call, **params)
                except TasklaneError as exc:
                    if exc.status >= 500:
                        log_event(_log, logging.ERROR, "request failed", face=self.name, path=path, error=exc.message)
                    return with_allow(self.render_error(exc, trace_id()), exc)
                except Exception:
                    _log.exception("unexpected failure", extra={"fields": {"face": self.name, "path": path}})
                    return self.render_error(TasklaneError("internal error"), trace_id())

            #: The declaration, readable from the app's route table (the role x route tests use it).
            view.required_role = role  # type: ignore[attr-defined]
            kwargs: dict[str, Any] = {"methods": methods or ["GET"], "content_types": ANY_CONTENT}
            if not public:
                kwargs["authorizer"] = bearer_authorizer
            self.blueprint.route(path, **kwargs)(view)
            return view

        return decorator


def with_gateway_401(answer: dict[str, Any] | None) -> dict[str, Any]:
    """A guarded route's 401 answer, with the gateway's own (no `Authorization` header at all:
    `GatewayError` as `application/json`) beside the face's (a token that does not verify)."""
    answer = dict(answer or {"description": "No or bad token"})
    content = dict(answer.get("content") or {})
    current = (content.get("application/json") or {}).get("schema")
    if current is None:
        content["application/json"] = {"schema": GATEWAY_ERROR_REF}
    elif current != GATEWAY_ERROR_REF and GATEWAY_ERROR_REF not in current.get("anyOf", []):
        content["application/json"] = {"schema": {"anyOf": [current, GATEWAY_ERROR_REF]}}
    answer["content"] = content
    return answer


def with_allow(response: Response, error: TasklaneError) -> Response:
    """`response` with `Allow` when `error` is a 405 that knows the methods the path serves."""
    allowed = getattr(error, "allowed", None)
    if allowed:
        response.headers["Allow"] = ", ".join(allowed)
    return response


def retry_after_headers(error: TasklaneError) -> dict[str, str]:
    """`Retry-After` (whole seconds) for an error that says when to come back, else nothing."""
    retry_after = getattr(error, "retry_after", None)
    return {} if retry_after is None else {"Retry-After": str(max(0, int(retry_after)))}


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response with the given status."""
    return Response(
        body=json.dumps(body, default=str),
        status_code=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )

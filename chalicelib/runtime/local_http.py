"""The local HTTP server's edges, answered the way the deployed API Gateway answers them.

Chalice's local server emulates API Gateway's defaults, not tasklane's gateway responses
(template.yaml): a path no route serves is a 403 about AWS signatures ("Authorization header
requires 'Credential' parameter...") or "Missing Authentication Token", a known path without an
`Authorization` header is a bare `{"message":"Unauthorized"}`, and a method `http.server` has no
`do_<METHOD>` for (TRACE, CONNECT, any odd token) is its 501 HTML page. Here, locally as deployed:

- a path no face serves is a 404 `{"error": {"code": "not_found", "message"}, "traceId"}` whose
  message names the path and points at `/openapi.json` (template.yaml's UnknownPathResponse);
- a known path without `Authorization` is template.yaml's MissingTokenResponse 401;
- a method the server does not know is a 405 in the error shape of the face owning the path.

`tasklane local` builds its server with `create_server`. `chalice local` builds its server by
calling `chalice.local.create_local_server` after it has imported app.py and offers no hook for
the handler, so the `local` stage routes that one call through `create_server`
(`serve_edges_under_chalice_local`, called from `start_for_chalice_local`).
"""

from __future__ import annotations

import functools
import importlib
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from chalice import Response
from chalice import local as chalice_local

from chalicelib.errors import MethodNotAllowed, NotFound, TasklaneError, Unauthenticated
from chalicelib.observability import new_trace_id

#: Path prefixes and the module whose `render_error` answers for them; the rest is the system face's.
FACE_PREFIXES = (
    ("/daemon", "chalicelib.faces.daemon.face"),
    ("/api/scheduling", "chalicelib.faces.scheduling.face"),
    ("/api/tasks", "chalicelib.faces.agent.face"),
    ("/api/task-runs", "chalicelib.faces.agent.face"),
    ("/api/agent", "chalicelib.faces.agent.face"),
    ("/api/observe", "chalicelib.faces.agent.face"),
)
_SYSTEM_FACE = "chalicelib.faces.system"
#: The message of template.yaml's 401 for a request with no Authorization header.
MISSING_TOKEN = "missing Authorization: Bearer <token> header"
_CHALICE_CREATE_LOCAL_SERVER = chalice_local.create_local_server


def unknown_path_message(path: str) -> str:
    """What a 404 for a path no face serves says."""
    return f"no such path: {path}; the paths this API serves are listed at /openapi.json"


def _render_for(path: str) -> Any:
    """The error renderer of the face that owns `path` (the system face's outside every face)."""
    for prefix, module in FACE_PREFIXES:
        if path == prefix or path.startswith(prefix + "/"):
            return importlib.import_module(module).render_error
    return importlib.import_module(_SYSTEM_FACE).render_error


class EdgeAnswer(chalice_local.LocalGatewayException):
    """An answer the gateway gives without invoking the app, as a gateway response does deployed."""

    def __init__(self, response: Response) -> None:
        answer = response.to_dict()
        super().__init__(answer["headers"], answer["body"].encode("utf-8"))
        self.CODE = answer["statusCode"]


def gateway_answer(error: TasklaneError) -> EdgeAnswer:
    """`error` in the shape template.yaml's gateway responses use (the system face's)."""
    render = importlib.import_module(_SYSTEM_FACE).render_error
    return EdgeAnswer(render(error, new_trace_id()))


class TasklaneGateway(chalice_local.LocalGateway):
    """Chalice's API Gateway emulation with tasklane's gateway responses."""

    def _generate_lambda_event(self, method: str, path: str, headers: Any, body: bytes | None) -> Any:
        try:
            return super()._generate_lambda_event(method, path, headers, body)
        except ValueError:  # Chalice's route matcher found no route for the path
            raise gateway_answer(NotFound(unknown_path_message(urlsplit(path).path))) from None

    def handle_request(self, method: str, path: str, headers: Any, body: bytes | None) -> Any:
        try:
            return super().handle_request(method, path, headers, body)
        except chalice_local.NotAuthorizedError:  # raised only when the header is absent
            raise gateway_answer(Unauthenticated(MISSING_TOKEN)) from None


class TasklaneRequestHandler(chalice_local.ChaliceRequestHandler):
    """Chalice's request handler over `TasklaneGateway`, answering unknown methods with a 405."""

    def __init__(self, request: Any, client_address: Any, server: Any, app_object: Any, config: Any) -> None:
        # ChaliceRequestHandler.__init__ does the same with its own gateway class.
        self.local_gateway = TasklaneGateway(app_object, config)
        BaseHTTPRequestHandler.__init__(self, request, client_address, server)

    def __getattr__(self, name: str) -> Any:
        # http.server answers 501 HTML for a method it finds no `do_<METHOD>` for.
        if name.startswith("do_"):
            return self._refuse_method
        raise AttributeError(name)

    def _refuse_method(self) -> None:
        self._parse_payload()  # read a Content-Length body so the connection stays usable
        if self.headers.get("transfer-encoding"):
            self.close_connection = True  # a chunked body is not read; the connection cannot go on
        path = urlsplit(self.path).path
        allowed = self._allowed(path)
        error = MethodNotAllowed(f"{self.command} is not a method this API serves; see /openapi.json",
                                 allowed=allowed)
        response = _render_for(path)(error, new_trace_id())
        if allowed:
            response.headers["Allow"] = allowed  # RFC 9110: a 405 lists the methods the path serves
        self._send_error_response(EdgeAnswer(response))

    def _allowed(self, path: str) -> str | None:
        """The methods the route matching `path` serves (its 405 stand-ins left out), or None."""
        gateway = self.local_gateway
        try:
            route = gateway.event_converter._route_matcher.match_route(path).route
        except ValueError:
            return None
        entries = gateway._app_object.routes.get(route, {})
        served = sorted(method for method, entry in entries.items()
                        if not getattr(entry.view_function, "method_not_allowed", False))
        return ", ".join(served) or None


    def _send_http_response_with_body(self, code: int, headers: Any, body: str | bytes) -> None:
        if self.command != "HEAD":
            super()._send_http_response_with_body(code, headers, body)
            return
        # A HEAD answer carries the headers of the GET answer and no body; writing one would
        # be read as the start of the next answer on a kept-alive connection.
        encoded = body if isinstance(body, bytes) else body.encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Length", str(len(encoded)))
        self.send_header("Content-Type", headers.pop("Content-Type", "application/json"))
        self._send_headers(headers)


def _with_edges(server: chalice_local.LocalDevServer, app: Any, config: Any) -> chalice_local.LocalDevServer:
    server.server.RequestHandlerClass = functools.partial(TasklaneRequestHandler, app_object=app, config=config)
    return server


def create_server(app: Any, config: Any, host: str, port: int) -> chalice_local.LocalDevServer:
    """Chalice's local server (threaded, the same as `chalice local`'s) with tasklane's edges."""
    return _with_edges(_CHALICE_CREATE_LOCAL_SERVER(app, config, host, port), app, config)


def serve_edges_under_chalice_local() -> None:
    """Make the server `chalice local` is about to build use tasklane's edges too."""
    if chalice_local.create_local_server is not _CHALICE_CREATE_LOCAL_SERVER:
        return
    chalice_local.create_local_server = create_server

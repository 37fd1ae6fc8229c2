"""The local HTTP server's edges, answered the way the deployed API Gateway answers them.

Chalice's local server emulates API Gateway's defaults, not tasklane's gateway responses
(template.yaml): a path no route serves is a 403 about AWS signatures ("Authorization header
requires 'Credential' parameter...") or "Missing Authentication Token", a known path without an
`Authorization` header is a bare `{"message":"Unauthorized"}`, and a method `http.server` has no
`do_<METHOD>` for (TRACE, CONNECT, any odd token) is its 501 HTML page. Here, locally as deployed:

- a path no face serves is a 404 `{"error": {"code": "not_found", "message"}, "traceId"}` whose
  message names the path and points at `/openapi.json` (template.yaml's UnknownPathResponse);
- a known path without `Authorization` is template.yaml's MissingTokenResponse 401;
- a method the server does not know is a 405 in the error shape of the face owning the path;
- path parameters reach the route URL-decoded, as API Gateway hands them to a Lambda proxy
  integration (Chalice's local matcher passes `edge%3Aname` through as it came);
- a body is read as the gateway reads it: a chunked body is de-chunked (Chalice's server read
  it as no body, then parsed its chunks as the next request), a declared length over the body
  cap is answered 413 without reading the body, a length that is not a number is a 400.

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
from urllib.parse import unquote, urlsplit

from chalice import Chalice, Response
from chalice import local as chalice_local
from chalice.config import Config

from chalicelib.errors import BadRequest, MethodNotAllowed, NotFound, TasklaneError, Unauthenticated
from chalicelib.faces.body import MAX_BODY_BYTES
from chalicelib.faces.http import with_allow
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
            event = super()._generate_lambda_event(method, path, headers, body)
        except ValueError:  # Chalice's route matcher found no route for the path
            raise gateway_answer(NotFound(unknown_path_message(urlsplit(path).path))) from None
        parameters = event.get("pathParameters") or {}
        event["pathParameters"] = {name: unquote(value) for name, value in parameters.items()}
        return event

    def handle_request(self, method: str, path: str, headers: Any, body: bytes | None) -> Any:
        try:
            return super().handle_request(method, path, headers, body)
        except chalice_local.NotAuthorizedError:  # raised only when the header is absent
            raise gateway_answer(Unauthenticated(MISSING_TOKEN)) from None


def served_methods(app: Any, path: str) -> tuple[str, ...]:
    """The methods the route matching `path` serves (its 405 refusals left out), sorted."""
    try:
        route = chalice_local.RouteMatcher(list(app.routes)).match_route(path).route
    except ValueError:
        return ()
    return tuple(sorted(method for method, entry in app.routes[route].items()
                        if not getattr(entry.view_function, "method_not_allowed", False)))


class TasklaneRequestHandler(chalice_local.ChaliceRequestHandler):
    """Chalice's request handler over `TasklaneGateway`, answering unknown methods with a 405."""

    def __init__(self, request: Any, client_address: Any, server: Any, app_object: Any, config: Any) -> None:
        # ChaliceRequestHandler.__init__ does the same with its own gateway class.
        self.local_gateway = TasklaneGateway(app_object, config)
        self.app_object = app_object
        BaseHTTPRequestHandler.__init__(self, request, client_address, server)

    def _generic_handle(self) -> None:
        try:
            headers, body = self._parse_payload()
        except EdgeAnswer as answer:
            self.close_connection = True  # the body was not read: the connection cannot go on
            self._send_error_response(answer)
            return
        try:
            response = self.local_gateway.handle_request(method=self.command, path=self.path, headers=headers,
                                                         body=body)
            headers = {**response["headers"], **response["multiValueHeaders"]}
            self._send_http_response(response["statusCode"], headers, self._handle_binary(response)["body"])
        except chalice_local.LocalGatewayException as error:
            self._send_error_response(error)

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _generic_handle

    def _parse_payload(self) -> tuple[dict[str, str], bytes | None]:
        """The headers and the body, read as API Gateway reads them, at most the body cap."""
        headers = dict(self.headers)
        path = urlsplit(self.path).path
        if "chunked" in (self.headers.get("transfer-encoding") or "").lower():
            body = self._read_chunked(path)
            for name in [name for name in headers if name.lower() in ("transfer-encoding", "content-length")]:
                del headers[name]
            headers["Content-Length"] = str(len(body))
            return headers, body or None
        declared = (self.headers.get("content-length") or "0").strip()
        if not declared.isdigit():
            raise EdgeAnswer(_render_for(path)(BadRequest("Content-Length must be a number of bytes"),
                                               new_trace_id()))
        if int(declared) > MAX_BODY_BYTES:
            self.close_connection = True  # the body is left unread; the route answers 413
            return headers, None
        return headers, self.rfile.read(int(declared)) if int(declared) else None

    def _read_chunked(self, path: str) -> bytes:
        """A chunked body, refused (400) when malformed; past the cap, what was read (the route
        answers 413) and the connection is closed."""
        body = b""
        while True:
            size_line = self.rfile.readline(1024).split(b";", 1)[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                raise EdgeAnswer(_render_for(path)(BadRequest("a chunked body is malformed"), new_trace_id())) from None
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailer fields
                return body
            if len(body) + size > MAX_BODY_BYTES:
                self.close_connection = True
                return body + self.rfile.read(MAX_BODY_BYTES + 1 - len(body))
            body += self.rfile.read(size)
            self.rfile.readline(1024)  # the CRLF after the chunk

    def __getattr__(self, name: str) -> Any:
        # http.server answers 501 HTML for a method it finds no `do_<METHOD>` for.
        if name.startswith("do_"):
            return self._refuse_method
        raise AttributeError(name)

    def _refuse_method(self) -> None:
        try:
            self._parse_payload()  # read the body so the connection stays usable
        except EdgeAnswer:
            self.close_connection = True  # an unreadable body: the connection cannot go on
        path = urlsplit(self.path).path
        error = MethodNotAllowed(f"{self.command} is not a method this API serves; see /openapi.json",
                                 allowed=served_methods(self.app_object, path))
        answer = EdgeAnswer(with_allow(_render_for(path)(error, new_trace_id()), error))
        self._send_error_response(answer)


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


#: Connections the local server lets wait to be accepted (http.server's default is 5).
LISTEN_BACKLOG = 128


def _with_edges(server: chalice_local.LocalDevServer, app: Any, config: Any) -> chalice_local.LocalDevServer:
    server.server.RequestHandlerClass = functools.partial(TasklaneRequestHandler, app_object=app, config=config)
    return server


def create_server(app_obj: Chalice, config: Config, host: str, port: int) -> chalice_local.LocalDevServer:
    """Chalice's local server (threaded, the same as `chalice local`'s) with tasklane's edges."""
    server = _with_edges(_CHALICE_CREATE_LOCAL_SERVER(app_obj, config, host, port), app_obj, config)
    # http.server listens with a backlog of 5: 16 agents connecting at once got connection
    # resets (bench/claim_contention.py). Listening again on a listening socket widens it.
    server.server.socket.listen(LISTEN_BACKLOG)
    return server


def serve_edges_under_chalice_local() -> None:
    """Make the server `chalice local` is about to build use tasklane's edges too."""
    if chalice_local.create_local_server is not _CHALICE_CREATE_LOCAL_SERVER:
        return
    chalice_local.create_local_server = create_server

"""A step's action as an HTTP call to the strategy's service.

The action names a service and one of its methods; the call goes to the service's base URL for
the environment tasklane runs in, with the method's HTTP method and path, the action's query
params and headers, the environment's authorization, and a JSON body (the envelope below). A 2xx
answer is a success and its body (JSON, else text) the step's data; anything else, a refused
connection or a timeout is a failure with the status and body recorded. An asynchronous method
that answers 2xx leaves the event waiting for its resume.

The body of a POST, PUT or PATCH is

    {"data": <the action's data>, "step": key, "results": {step: data of earlier steps},
     "instance": {"sid", "cycle", "attributes"}, "event": {"sid", "task", "date", "attempt",
     "correlationId"}}

and every call carries `X-Correlation-Id`, `X-Execution-Instance` and `X-Execution-Event`.

Authorization (opened only here, in the worker, and never recorded): the service's entry for the
environment is a token request to its `url` (absolute, or a path under the base URL) with its
method, headers, params and JSON data; the answer's value at the service's `credentialPath`
(default `access_token`) is sent as `Authorization: <credentialType or Bearer> <value>`, asked
for once per event unless `noCache`. Hosts that resolve to link-local addresses (where cloud
instance metadata lives) are refused.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib.engine.execution.definition import (
    ExecutionAction,
    ExecutionAuthorization,
    ExecutionBaseUrl,
    ExecutionService,
)
from chalicelib.engine.execution.steps import StepCall, StepContext, StepPlan

#: How long one call may take before the step fails.
STEP_TIMEOUT_SECONDS = 30.0
#: The most of an answer's body that is read and recorded.
MAX_ANSWER_BYTES = 256 * 1024

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


#: Opens a service's authorization entry for the environment (None: it has none). The runner
#: passes one that decrypts in the worker; nothing opened is recorded.
AuthorizationSource = Callable[[str], ExecutionAuthorization | None]


@dataclass(frozen=True, kw_only=True)
class CallSubject:
    """Which instance and event a call is made for (the envelope's `instance` and `event`)."""

    instance_sid: str
    cycle: int
    attributes: Mapping[str, Any]
    event_sid: str
    task: str
    #: The event's date, ISO 8601.
    date: str


class CallRefused(Exception):
    """The call cannot be made (no base URL for the environment, a forbidden address...)."""


@dataclass(frozen=True, kw_only=True)
class _Answer:
    status: int | None
    body: Any
    failure: str | None = None


class HttpStepCaller:
    """Calls steps' actions over HTTP for one event (a `StepCaller`)."""

    def __init__(self, *, services: Sequence[ExecutionService], actions: Sequence[ExecutionAction],
                 environment: str, subject: CallSubject, authorization: AuthorizationSource,
                 timeout: float = STEP_TIMEOUT_SECONDS) -> None:
        self._services = {service.key: service for service in services}
        self._actions = {action.key: action for action in actions}
        self._environment = environment
        self._authorization_of = authorization
        self._subject = subject
        self._timeout = timeout
        self._tokens: dict[str, str] = {}

    def __call__(self, step: StepPlan, context: StepContext) -> StepCall:
        try:
            action = self._actions[str(step.action)]
            service = self._services[action.service]
            method = next(m for m in service.methods if m.key == action.method)
        except (KeyError, StopIteration):
            return StepCall(success=False, message=f"step {step.key!r}: action {step.action!r} names no service method")
        try:
            base = _for_environment(service.base_urls, self._environment, f"service {service.key!r} base URL").url
            url = _joined(base, method.url, action.params or {})
            headers = {"Accept": "application/json", "X-Correlation-Id": context.correlation_id,
                       "X-Execution-Instance": self._subject.instance_sid,
                       "X-Execution-Event": self._subject.event_sid, **_texts(action.headers),
                       **self._authorization(service, base)}
        except CallRefused as refused:
            return StepCall(success=False, message=str(refused))
        verb = method.method.upper()
        body = self._envelope(step, action, context) if verb in _BODY_METHODS else None
        answer = _request(verb, url, headers=headers, body=body, timeout=self._timeout)
        http = {"request": {"method": verb, "url": _without_query(url), "headers": sorted(headers)},
                "response": {"status": answer.status}}
        if answer.failure is not None:
            return StepCall(success=False, message=answer.failure, data=answer.body, http=http)
        return StepCall(success=True, data=answer.body, http=http, waits=bool(method.async_))

    def _envelope(self, step: StepPlan, action: ExecutionAction, context: StepContext) -> dict[str, Any]:
        subject = self._subject
        return {
            "data": dict(action.data or {}), "step": step.key, "results": dict(context.results),
            "instance": {"sid": subject.instance_sid, "cycle": subject.cycle, "attributes": dict(subject.attributes)},
            "event": {"sid": subject.event_sid, "task": subject.task, "date": subject.date,
                      "attempt": context.attempt, "correlationId": context.correlation_id},
        }

    def _authorization(self, service: ExecutionService, base: str) -> dict[str, str]:
        """The `Authorization` header for a call to `service` in this environment (none when the
        service has no authorization there)."""
        entry = self._authorization_of(service.key)
        if entry is None:
            return {}
        token = None if entry.no_cache else self._tokens.get(service.key)
        if token is None:
            token = self._fetch_token(service, entry, base)
            if not entry.no_cache:
                self._tokens[service.key] = token
        return {"Authorization": f"{service.credential_type or 'Bearer'} {token}"}

    def _fetch_token(self, service: ExecutionService, entry: ExecutionAuthorization, base: str) -> str:
        """Ask the authorization URL (absolute, or a path under the base URL) for a credential."""
        verb = entry.method.upper()
        url = _joined(entry.url, "", entry.params or {}) if "://" in entry.url else \
            _joined(base, entry.url, entry.params or {})
        headers = {"Accept": "application/json", **_texts(entry.headers)}
        answer = _request(verb, url, headers=headers, body=dict(entry.data or {}) if verb in _BODY_METHODS else None,
                          timeout=self._timeout)
        where = f"service {service.key!r} authorization"
        if answer.failure is not None:
            raise CallRefused(f"{where} failed: {answer.failure}")
        path = service.credential_path or "access_token"
        value: Any = answer.body
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if not isinstance(value, str) or not value:
            raise CallRefused(f"{where}: the answer has no credential at {path!r}")
        return value


def _texts(values: Mapping[str, Any] | None) -> dict[str, str]:
    """Header or query values as text (JSON for anything but a string)."""
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in (values or {}).items()}


def _for_environment(entries: Sequence[ExecutionBaseUrl], environment: str, what: str) -> ExecutionBaseUrl:
    for entry in entries:
        if entry.environment == environment:
            return entry
    raise CallRefused(f"{what}: none for environment {environment!r}")


def _joined(base: str, path: str, params: Mapping[str, Any]) -> str:
    url = base.rstrip("/") + ("/" + path.lstrip("/") if path else "")
    if not url.startswith(("http://", "https://")):
        raise CallRefused(f"{url!r} is not an http(s) URL")
    _refuse_metadata_address(url)
    if params:
        url += ("&" if "?" in url else "?") + urllib.parse.urlencode(_texts(params))
    return url


def _refuse_metadata_address(url: str) -> None:
    """Refuse hosts that resolve to link-local addresses (cloud instance metadata lives there)."""
    host = urllib.parse.urlsplit(url).hostname or ""
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return  # the request itself will fail and say so
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if address.is_link_local:
            raise CallRefused(f"host {host!r} resolves to a link-local address; calls there are refused")


def _without_query(url: str) -> str:
    return urllib.parse.urlsplit(url)._replace(query="").geturl()


def _request(verb: str, url: str, *, headers: Mapping[str, str], body: Any, timeout: float) -> _Answer:
    data = None if body is None else json.dumps(body).encode()
    all_headers = dict(headers)
    if data is not None:
        all_headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, method=verb, headers=all_headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            status, payload = int(response.status), response.read(MAX_ANSWER_BYTES)
    except urllib.error.HTTPError as exc:
        status, payload = int(exc.code), exc.read(MAX_ANSWER_BYTES)
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, TimeoutError) or "timed out" in str(reason):
            return _Answer(status=None, body=None, failure=f"timed out after {timeout:g}s")
        return _Answer(status=None, body=None, failure=f"request failed: {reason}")
    parsed = _parsed(payload)
    if 200 <= status < 300:
        return _Answer(status=status, body=parsed)
    return _Answer(status=status, body=parsed, failure=f"HTTP {status}")


def _parsed(payload: bytes) -> Any:
    if not payload:
        return None
    text = payload.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text

"""What app.py's handlers call, deployed and locally alike: the Lambda glue.

app.py stays thin by delegating here: blueprint registration, binding the store to the
settings, and the adapters from Chalice's event shapes to the three background roles and the
command function. Nothing here imports the local runtime (runtime/): that is handed the app.
"""

from __future__ import annotations

import threading
from typing import Any

from chalice import Chalice

from chalicelib import (
    backends,  # noqa: F401 - registers the deployed set as the engine's default backend
    settings,
)
from chalicelib.engine import roles
from chalicelib.observability import configure_logging, set_trace_id
from chalicelib.store.models import bind
from chalicelib.timefmt import utcnow

_bound_lock = threading.Lock()
_bound_to: settings.Settings | None = None


def ensure_bound() -> settings.Settings:
    """Bind the store to the current settings once per process (and again if they change)."""
    global _bound_to
    current = settings.current()
    with _bound_lock:
        if _bound_to is not current:
            bind(current)
            _bound_to = current
    return current


def register_blueprints(app: Chalice) -> None:
    """Mount the authorizer, the system routes and every face (each under its prefix)."""
    from chalicelib.faces.agent.routes import face as agent_face
    from chalicelib.faces.auth import auth_blueprint
    from chalicelib.faces.daemon.routes import face as daemon_face
    from chalicelib.faces.execution import events as _execution_events  # noqa: F401 - registers its routes
    from chalicelib.faces.execution.routes import face as execution_face
    from chalicelib.faces.scheduling.routes import face as scheduling_face
    from chalicelib.faces.system import system_blueprint

    configure_logging()
    app.register_blueprint(auth_blueprint)
    app.register_blueprint(system_blueprint)
    for face in (scheduling_face, agent_face, daemon_face, execution_face):
        face.seal()
        app.register_blueprint(face.blueprint, url_prefix=face.mount)
    # Bind lazily on the first request; importing app.py must not talk to AWS.
    app.register_middleware(_bind_middleware, "http")


def _bind_middleware(event: Any, get_response: Any) -> Any:
    ensure_bound()
    return get_response(event)


def dispatcher(event: Any) -> dict:
    """Scheduled-event adapter for the dispatcher role."""
    from chalicelib.engine import dispatch

    set_trace_id(None)
    current = ensure_bound()
    return roles.run_dispatcher(utcnow(), lambda now: dispatch.dispatch_due(now, current))


def worker(event: Any) -> dict:
    """SQS-event adapter for the worker role; answers `batchItemFailures`."""
    from chalicelib.engine import worker as run_worker

    set_trace_id(None)
    ensure_bound()
    messages = []
    for record in event:
        raw = record.to_dict()
        attrs = raw.get("attributes") or {}
        messages.append(
            roles.QueueMessage(
                message_id=raw["messageId"],
                body=record.body,
                receive_count=int(attrs.get("ApproximateReceiveCount", "1")),
            )
        )
    return roles.run_worker_batch(messages, run_worker.handle_message, now=utcnow()).as_lambda_response()


def maintenance(event: Any) -> dict:
    """Scheduled-event adapter for the maintenance role."""
    from chalicelib.engine import maintenance as sweep

    set_trace_id(None)
    ensure_bound()
    return roles.run_maintenance(utcnow(), sweep.run_maintenance)


def command_runner(event: Any) -> dict:
    """Invoke adapter for the command function: runs one command, binds to nothing of the
    service's (its role reaches no table, queue or bucket)."""
    from chalicelib.engine.command_runner import handle_invocation

    set_trace_id(None)
    return handle_invocation(event)


"""Daemon tasks: list, read, create/replace, delete, reload the file, service stop/restart.

Defining tasks (PUT, DELETE, reload) takes the `admin` role, stopping and restarting services
the `operator` role (permissions.py); every user of the tenant reads."""

from __future__ import annotations

import os

from chalice import Response

from chalicelib.engine import services
from chalicelib.engine import tasks as task_engine
from chalicelib.engine.config_source import read_source
from chalicelib.engine.model import DisabledReason
from chalicelib.errors import Forbidden, ValidationError
from chalicelib.faces.daemon import catalog
from chalicelib.faces.daemon.config_file import parse_config
from chalicelib.faces.daemon.definition import parse_definition
from chalicelib.faces.daemon.face import face
from chalicelib.faces.daemon.names import check_name
from chalicelib.faces.daemon.openapi_doc import ref
from chalicelib.faces.daemon.requests import DaemonTaskDefinition
from chalicelib.faces.daemon.task_view import render_task
from chalicelib.faces.http import Call, json_response
from chalicelib.permissions import Role
from chalicelib.timefmt import utcnow

#: Where `POST /api/reload` reads the file: a path, or `s3://bucket/key` when deployed.
CONFIG_SOURCE_ENV = "TASKLANE_DAEMON_CONFIG"
#: The tenant the file's tasks belong to.
CONFIG_TENANT_ENV = "TASKLANE_DAEMON_TENANT"


@face.route("/health", public=True)
def health(call: Call) -> Response:
    """Liveness of the daemon face (no authentication, as the product)."""
    return json_response({"status": "ok"})


@face.route("/api/tasks", response=ref("DaemonTaskList"))
def list_tasks(call: Call) -> Response:
    """Every task and service of the caller's tenant, by name."""
    return json_response([render_task(t) for t in catalog.daemon_tasks(call.principal.tenant)])


@face.route("/api/tasks/{taskName}", response=ref("DaemonTask"))
def get_task(call: Call, taskName: str) -> Response:  # noqa: N803 - the product's path parameter name
    """Get a task."""
    check_name(taskName)
    return json_response(render_task(catalog.get(call.principal.tenant, taskName)))


@face.route("/api/tasks/{taskName}", ["PUT"], role=Role.ADMIN, body=DaemonTaskDefinition, response=ref("DaemonTask"),
            summary="Create (201) or replace (200) a task")
def put_task(call: Call, taskName: str) -> Response:  # noqa: N803
    """Create (201) or replace (200) a definition from a JSON body."""
    check_name(taskName)
    body = call.json_body()
    if isinstance(body, dict) and body.get("name") not in (None, taskName):
        raise ValidationError("name must match the path", location="body.name", value=body.get("name"))
    definition = parse_definition(taskName, body)
    task, created = catalog.put(call.principal.tenant, definition, now=utcnow())
    return json_response(render_task(task), 201 if created else 200)


@face.route("/api/tasks/{taskName}", ["DELETE"], role=Role.ADMIN, status=204)
def delete_task(call: Call, taskName: str) -> Response:  # noqa: N803
    """Delete a task; its pending runs are canceled and running runs stopped."""
    check_name(taskName)
    catalog.delete(call.principal.tenant, taskName, now=utcnow())
    return Response(body="", status_code=204)


@face.route("/api/tasks/{taskName}/stop", ["POST"], role=Role.OPERATOR, response=ref("DaemonTask"))
def stop_service(call: Call, taskName: str) -> Response:  # noqa: N803
    """Stop a service: it stays down (no restarts) until restarted."""
    task = _service(call, taskName)
    now = utcnow()
    if task.enabled:
        task = task_engine.set_enabled(task, False, now=now, disabled_code=DisabledReason.STOPPED)
    stopped = services.stop_service(task, now=now)
    return json_response({**render_task(task), "stopped_runs": stopped})


@face.route("/api/tasks/{taskName}/restart", ["POST"], role=Role.OPERATOR, response=ref("DaemonTask"))
def restart_service(call: Call, taskName: str) -> Response:  # noqa: N803
    """Restart a service: stop its instances and start them again (also after start_failed)."""
    task = _service(call, taskName)
    now = utcnow()
    stopped = services.stop_service(task, now=now)
    if not task.enabled:
        task = task_engine.set_enabled(task, True, now=now)
    # The new instances wait (overlap `queue`) for the stopping ones to give their slots back.
    started = services.start_missing(task, now=now, key=f"restart|{now.isoformat()}", include_down=True,
                                     ignore=frozenset(stopped))
    return json_response({**render_task(task), "stopped_runs": stopped, "started_instances": started})


def _service(call: Call, name: str):
    check_name(name)
    task = catalog.get(call.principal.tenant, name)
    if task.spec.kind != "service":
        raise ValidationError(f"{name!r} is a task, not a service", location="path.taskName", value=name)
    return task


@face.route("/api/reload", ["POST"], role=Role.ADMIN)
def reload(call: Call) -> Response:
    """Re-read the configuration file; apply it whole or not at all: `{added, removed, changed}`."""
    source = os.environ.get(CONFIG_SOURCE_ENV)
    tenant = os.environ.get(CONFIG_TENANT_ENV)
    if not source or not tenant:
        raise ValidationError("no configuration file is configured (TASKLANE_DAEMON_CONFIG and "
                              "TASKLANE_DAEMON_TENANT)", location="config")
    if call.principal.tenant != tenant:
        raise Forbidden("the configuration file belongs to another tenant")
    config = parse_config(read_source(source))
    return json_response(catalog.apply_file(tenant, config, now=utcnow()).to_api())

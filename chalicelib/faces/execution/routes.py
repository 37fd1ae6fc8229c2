"""Execution face routes (seed 004 and FACES.md): strategies, instances, their events, the queue.
Importing this module registers every route on `face`.

Every route needs the tenant's bearer token; every one but strategy creation also needs
`Strategy-Secret: base64(secret)` of the strategy involved (for an instance: the version it is
pinned to; for `/queue`: any strategy of the tenant). A missing or wrong secret is a 401 that
does not say which; another tenant's resource is a 404.
"""

from __future__ import annotations

from chalice import Response

from chalicelib.engine.execution import instances, strategies
from chalicelib.engine.execution import queue as event_queue
from chalicelib.engine.execution.definition import ExecutionStrategyBody
from chalicelib.engine.execution.values import InstanceCancelReason
from chalicelib.engine.instants import instant_field
from chalicelib.errors import Unauthenticated
from chalicelib.faces.execution.face import face, ref
from chalicelib.faces.execution.requests import ExecutionCancelTasksQuery, ExecutionInstanceBody
from chalicelib.faces.execution.views import encode_instant, event_view, instance_view, strategy_view
from chalicelib.faces.http import Call, json_response
from chalicelib.timefmt import utcnow

SECRET_HEADER = "Strategy-Secret"


def _secret(call: Call) -> str | None:
    return call.header(SECRET_HEADER)


@face.route("/execution-strategy", ["POST"], body=ExecutionStrategyBody, status=201,
            response=ref("ExecutionStrategy"))
def create_strategy(call: Call) -> Response:
    """Create a strategy, or a new version of one (that needs the current version's secret)."""
    body: ExecutionStrategyBody = call.body()
    strategy = strategies.create_strategy(call.principal.tenant, body, secret_header=_secret(call), now=utcnow())
    return json_response(strategy_view(strategy), status=201)


@face.route("/execution-instance", ["POST"], body=ExecutionInstanceBody, status=201,
            response=ref("ExecutionInstanceAnswer"))
def create_instance(call: Call) -> Response:
    """Create an instance: cycle 1, its main event, leading-up and on-create events."""
    body: ExecutionInstanceBody = call.body()
    start = instant_field(body.start_date, field="body.startDate") if body.start_date is not None else None
    instance, events, strategy = instances.create_instance(
        call.principal.tenant, strategy_id=body.strategy_id, secret_header=_secret(call), now=utcnow(),
        start_date=start, attributes=body.attributes, description=body.description,
        strategy_version=body.strategy_version)
    answer = instance_view(instance, strategy)
    answer["events"] = [event_view(event) for event in events]
    return json_response(answer, status=201)


@face.route("/execution-instance/{instanceSid}", response=ref("ExecutionInstanceAnswer"))
def get_instance(call: Call, instanceSid: str) -> Response:  # noqa: N803 - the page's name
    """Get an execution instance (with the strategy version it runs on)."""
    instance, strategy = instances.get_instance(call.principal.tenant, instanceSid, secret_header=_secret(call))
    return json_response(instance_view(instance, strategy))


@face.route("/execution-instance/{instanceSid}/get-tasks", response=ref("ExecutionEventList"))
def get_tasks(call: Call, instanceSid: str) -> Response:  # noqa: N803
    """Get pending Execution Instance tasks (every event not finished, ONHOLD included)."""
    instance, events = instances.pending_events(call.principal.tenant, instanceSid, secret_header=_secret(call))
    return json_response([event_view(event, instance) for event in events])


@face.route("/execution-instance/{instanceSid}/cancel", ["POST"], response=ref("ExecutionInstanceAnswer"))
def cancel_instance(call: Call, instanceSid: str) -> Response:  # noqa: N803
    """Cancel an instance: waiting events are canceled and its onCancelTasks events created."""
    instance, _ = instances.get_instance(call.principal.tenant, instanceSid, secret_header=_secret(call))
    canceled, created = instances.cancel_instance(call.principal.tenant, instance,
                                                  reason=InstanceCancelReason.HTTP_REQUEST, now=utcnow())
    answer = instance_view(canceled)
    answer["events"] = [event_view(event) for event in created]
    return json_response(answer)


@face.route("/execution-instance/{instanceSid}/pause", ["POST"], response=ref("ExecutionInstance"))
def pause_instance(call: Call, instanceSid: str) -> Response:  # noqa: N803
    """Pause an active instance: its waiting events are held (PAUSED)."""
    instance, _ = instances.get_instance(call.principal.tenant, instanceSid, secret_header=_secret(call))
    return json_response(instance_view(instances.pause_instance(call.principal.tenant, instance, now=utcnow())))


@face.route("/execution-instance/{instanceSid}/resume", ["POST"], response=ref("ExecutionInstance"))
def resume_instance(call: Call, instanceSid: str) -> Response:  # noqa: N803
    """Resume a paused instance: held events are armed again (due ones run at once)."""
    instance, _ = instances.get_instance(call.principal.tenant, instanceSid, secret_header=_secret(call))
    return json_response(instance_view(instances.resume_instance(call.principal.tenant, instance, now=utcnow())))


@face.route("/execution-instance/{instanceSid}/cancel-tasks", ["POST"], query=ExecutionCancelTasksQuery,
            response=ref("ExecutionEventList"))
def cancel_tasks(call: Call, instanceSid: str) -> Response:  # noqa: N803
    """Cancel the instance's waiting events of the tasks named in `tasks=a,b`."""
    params: ExecutionCancelTasksQuery = call.params
    names = [name.strip() for name in params.tasks.split(",") if name.strip()]
    instance, _ = instances.get_instance(call.principal.tenant, instanceSid, secret_header=_secret(call))
    canceled = instances.cancel_tasks(call.principal.tenant, instance, names, now=utcnow())
    return json_response([event_view(event) for event in canceled])


def _queue_caller(call: Call) -> str:
    tenant = call.principal.tenant
    if not strategies.any_secret_matches(tenant, _secret(call)):
        raise Unauthenticated(strategies.SECRET_REFUSED)
    return tenant


def _queue_answer(tenant: str, released: int | None = None) -> Response:
    state, waiting = event_queue.status(tenant)
    answer: dict[str, object] = {"paused": state.paused, "waiting": waiting}
    if state.updated_at is not None:
        answer["updatedAt"] = encode_instant(state.updated_at)
    if released is not None:
        answer["released"] = released
    return json_response(answer)


@face.route("/queue", response=ref("ExecutionQueue"))
def queue_status(call: Call) -> Response:
    """Report the tenant's event queue: paused or not, and how many due events wait."""
    return _queue_answer(_queue_caller(call))


@face.route("/queue", ["POST"], response=ref("ExecutionQueue"))
def resume_queue(call: Call) -> Response:
    """Resume the queue: events that fell due while it was paused run now."""
    tenant = _queue_caller(call)
    _, released = event_queue.resume(tenant, now=utcnow())
    return _queue_answer(tenant, released)


@face.route("/queue", ["DELETE"], response=ref("ExecutionQueue"))
def pause_queue(call: Call) -> Response:
    """Pause the queue: events that fall due wait (QUEUED) until it is resumed."""
    tenant = _queue_caller(call)
    event_queue.pause(tenant, now=utcnow())
    return _queue_answer(tenant)

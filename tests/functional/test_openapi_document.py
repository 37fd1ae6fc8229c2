"""/openapi.json is derived from what the faces register: every route, and the request models
that validate each body and query."""

from __future__ import annotations

import json

import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from tests.functional.test_daemon_api import call


@pytest.fixture
def document(client) -> dict:
    return json.loads(client.http.get("/openapi.json").body)


#: More `$ref` hops than any schema of the document takes (a cycle of references fails).
MAX_REF_HOPS = 10


def resolve(document: dict, schema: dict) -> dict:
    """A schema with its `$ref` (if any) followed into the components."""
    for _ in range(MAX_REF_HOPS):
        if "$ref" not in schema:
            return schema
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    raise AssertionError(f"more than {MAX_REF_HOPS} $ref hops: {schema['$ref']}")


def test_the_document_is_valid_openapi_3_1(document):
    assert document["openapi"].startswith("3.1.")
    validate(document)  # raises on the first violation
    broken = {**document, "paths": {**document["paths"], "/broken": {"get": {"responses": "none"}}}}
    with pytest.raises(OpenAPIValidationError):  # the check above can fail: a broken document is refused
        validate(broken)


def test_the_document_lists_exactly_the_routes_the_app_serves():
    import app as app_module
    from chalicelib.faces import openapi

    served = {(path, method.lower()) for path, methods in app_module.app.routes.items()
              for method, entry in methods.items()
              if not getattr(entry.view_function, "method_not_allowed", False)}
    documented = {(path, method) for path, item in openapi.document()["paths"].items() for method in item}
    assert documented == served


def test_request_bodies_carry_the_schema_of_the_model_that_validates_them(document):
    put = document["paths"]["/daemon/api/tasks/{taskName}"]["put"]["requestBody"]["content"]["application/json"]
    definition = resolve(document, put["schema"])
    assert definition["required"] == ["run"] and definition["additionalProperties"] is False
    assert definition["properties"]["run"]["minLength"] == 1  # "" is refused, so the document says so
    assert definition["properties"]["instances"]["anyOf"][0] == {"type": "integer", "minimum": 1, "maximum": 64}

    create = document["paths"]["/api/scheduling/tasks"]["post"]["requestBody"]["content"]["application/json"]
    task = resolve(document, create["schema"])
    assert set(task["required"]) == {"name", "specVersion"}
    assert task["properties"]["name"] == {"type": "string", "minLength": 1, "maxLength": 256}
    assert task["properties"]["specVersion"] == {"type": "string", "minLength": 1}
    start = {p["name"]: p for p in document["paths"]["/api/scheduling/tasks/{id}/actions/start"]["post"]["parameters"]}
    assert start["source"]["schema"]["maxLength"] == 256 and "pattern" in start["source"]["schema"]
    start = resolve(document, task["properties"]["start"]["anyOf"][0])
    assert set(start["properties"]) == {"schedule", "stateName"}

    patch = document["paths"]["/api/scheduling/tasks/{id}"]["patch"]["requestBody"]["content"]
    assert set(patch) == {"application/json", "application/json-patch+json"}
    operation = resolve(document, patch["application/json-patch+json"]["schema"]["items"])
    assert operation["properties"]["op"]["enum"] == ["add", "copy", "move", "remove", "replace", "test"]


def test_query_parameters_come_from_the_query_models(document):
    runs = {p["name"]: p for p in document["paths"]["/daemon/api/runs"]["get"]["parameters"]}
    assert set(runs) == {"status", "triggered_by", "since", "until", "limit", "offset"}
    assert runs["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50}
    log = {p["name"]: p for p in document["paths"]["/api/scheduling/tasks/{id}/runs/{runId}/log"]["get"]["parameters"]}
    assert log["from"]["in"] == "query" and log["from"]["schema"]["minimum"] == 1
    assert log["id"]["in"] == "path" and log["id"]["required"] is True


def test_a_documented_bound_is_the_bound_the_face_enforces(client, document):
    put = document["paths"]["/daemon/api/tasks/{taskName}"]["put"]["requestBody"]["content"]["application/json"]
    highest = resolve(document, put["schema"])["properties"]["instances"]["anyOf"][0]["maximum"]
    status, body, _ = call(client, "PUT", "/api/tasks/svc", {"kind": "service", "run": "sleep 1",
                                                              "instances": highest + 1})
    assert status == 422 and body["errors"][0]["location"] == "body.instances"
    assert body["errors"][0]["message"] == f"body.instances must be a whole number from 1 to {highest}"
    status, body, _ = call(client, "PUT", "/api/tasks/svc", {"kind": "service", "run": "sleep 1",
                                                              "instances": highest})
    assert status == 201 and body["instances"] == highest


def test_every_error_a_route_can_answer_is_documented_in_the_shape_it_comes_in(document):
    schemas = document["components"]["schemas"]
    gateway = {"$ref": "#/components/schemas/GatewayError"}
    assert schemas["GatewayError"]["required"] == ["error", "traceId"]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            answers = operation["responses"]
            if operation.get("security") == []:
                continue  # public: no token to miss
            # No Authorization header: the gateway's 401, before any face is chosen.
            missing_token = answers["401"]["content"]["application/json"]["schema"]
            assert missing_token == gateway or gateway in missing_token.get("anyOf", []), (path, method)
    scheduling = document["paths"]["/api/scheduling/tasks"]["post"]["responses"]
    assert {"400", "401", "403", "405", "409", "413", "415", "429", "500"} <= set(scheduling)
    assert set(schemas["SchedulingErrors"]["required"]) == {"errors", "traceId"}
    daemon = document["paths"]["/daemon/api/tasks/{taskName}"]["put"]["responses"]
    problem = {"$ref": "#/components/schemas/DaemonProblem"}
    assert daemon["401"]["content"]["application/problem+json"]["schema"] == problem
    assert "default" in daemon
    assert "503" in document["paths"]["/health"]["get"]["responses"]
    assert "401" in document["paths"]["/whoami"]["get"]["responses"]

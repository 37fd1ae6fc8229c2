"""The built Lambda package runs: every function's handler, on the events Lambda hands it.

`make package STAGE=dev` is run once for this module; its `deployment.zip` is extracted into a
task root that a fresh virtualenv holding only boto3 (what Lambda's Python runtime provides)
runs, one process per function (see lambda_sandbox.py). The stage's tables, queues and bucket
are created on a moto server from the packaged template and the token secret is created in its
Secrets Manager, as README "Deploy" tells a deployer to. What this proves and what it does not
is in that README section: API Gateway and IAM are played or absent, the handlers are real.
"""

from __future__ import annotations

import platform
import re
import sys
import tempfile
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest

from chalicelib.identity import mint_token
from chalicelib.runtime.resources import create_resources
from tests.e2e.lambda_sandbox import (
    REGION,
    ROOT,
    Backend,
    LambdaFunction,
    RestApi,
    build_package,
    extract,
    make_sandbox,
    resolve_environment,
    runtime_distributions,
    sandbox_distributions,
    scheduled_event,
    sqs_event,
)
from tests.unit.test_requirements import packaged_dependencies
from tests.waiting import wait_until

pytestmark = pytest.mark.slow

STAGE = "dev"
SECRET = "sandbox-token-secret-sandbox-token-secret"
FORGED = "a-secret-that-is-not-the-deployed-one"
#: The deployer's function table (config.json's environment_variables): a stdlib callable, so
#: the run needs nothing but the package.
FUNCTIONS = '{"sandbox.version": {"executor": "python", "workerType": "sandbox", ' \
            '"config": {"callable": "platform:python_version"}}}'
ZIPPED_LIMIT = 50 * 1024 * 1024
UNZIPPED_LIMIT = 250 * 1024 * 1024


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    return build_package(tmp_path_factory.mktemp("package") / STAGE, stage=STAGE)


@pytest.fixture(scope="module")
def task_root(package, tmp_path_factory):
    return extract(package, tmp_path_factory.mktemp("var-task"))


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    return make_sandbox(tmp_path_factory.mktemp("lambda-runtime") / "venv")


@pytest.fixture(scope="module")
def backend():
    server = Backend()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def aws(backend):
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                    region_name=REGION)
    return {svc: session.client(svc, endpoint_url=backend.url) for svc in ("sqs", "s3", "secretsmanager")}


@pytest.fixture(scope="module")
def stack(package, backend, aws):
    """The stage's resources from the packaged template, and the secret the deployer creates."""
    template = package.template()
    created = create_resources(stage=STAGE, region=REGION, endpoint_url=backend.url, template=template)
    refs = {"TasklaneStage": STAGE}
    for logical_id, resource in template["Resources"].items():
        env_name = resource.get("Metadata", {}).get("Tasklane", {}).get("Env")
        if env_name:
            refs[logical_id] = created.env[env_name]
    secret_name = resolve_environment(template, "APIHandler", refs)["TASKLANE_JWT_SECRET_NAME"]
    aws["secretsmanager"].create_secret(Name=secret_name, SecretString=SECRET)
    return {"template": template, "refs": refs}


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """The functions' empty home directory: no ~/.aws of this machine reaches them."""
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="module")
def functions(package, task_root, sandbox, backend, stack, home, tmp_path_factory):
    """Every function of the packaged template, cold-started in the sandbox (lazily)."""
    template = stack["template"]
    logs = tmp_path_factory.mktemp("function-logs")
    started: dict[str, LambdaFunction] = {}

    def get(logical_id: str) -> LambdaFunction:
        if logical_id not in started:
            props = template["Resources"][logical_id]["Properties"]
            environment = {
                "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "en_US.UTF-8", "TZ": ":UTC", "HOME": str(home),
                "LAMBDA_TASK_ROOT": str(task_root), "AWS_LAMBDA_FUNCTION_NAME": f"tasklane-{STAGE}-{logical_id}",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(props["MemorySize"]),
                "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION, "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
                # The one difference from AWS: every client talks to the moto server.
                "AWS_ENDPOINT_URL": backend.url,
                "TASKLANE_FUNCTIONS": FUNCTIONS,
                **resolve_environment(template, logical_id, stack["refs"]),
            }
            started[logical_id] = LambdaFunction(
                python=sandbox, task_root=task_root, logical_id=logical_id, handler=props["Handler"],
                environment=environment, log_path=logs / f"{logical_id}.log", timeout=float(props["Timeout"]),
            )
        return started[logical_id]

    yield get
    for function in started.values():
        function.stop()


@pytest.fixture(scope="module")
def api(stack, functions):
    return RestApi(stack["template"], functions("APIHandler"), functions("BearerAuthorizer"))


def token(tenant: str = "acme", user: str = "alice", *, admin: bool = True, secret: str = SECRET) -> str:
    return mint_token(secret, tenant=tenant, user=user, admin=admin)


def _normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_the_package_carries_every_runtime_dependency_and_fits_lambdas_limits(package):
    with zipfile.ZipFile(package.zip_path) as archive:
        names = archive.namelist()
        unzipped = sum(info.file_size for info in archive.infolist())
    top = {name.split("/")[0] for name in names}
    dist_infos = {_normalised(entry.split("-", 1)[0]) for entry in top if entry.endswith(".dist-info")}
    missing = [name for name in packaged_dependencies() if name not in dist_infos]
    assert not missing, f"deployment.zip lacks {missing}"
    assert "app.py" in names and "chalicelib/__init__.py" in names
    assert not any(name.startswith(("tests/", "moto/", "bench/")) for name in names)
    assert package.zip_path.stat().st_size < ZIPPED_LIMIT
    assert unzipped < UNZIPPED_LIMIT


def test_the_sandbox_holds_only_what_lambdas_python_runtime_provides(sandbox):
    expected = {_normalised(d.metadata["Name"]) for d in runtime_distributions()}
    assert sandbox_distributions(sandbox) == expected
    assert "pynamodb" not in expected and "moto" not in expected


def test_health_answers_through_the_api_function(api):
    response = api.request("GET", "/health")
    assert response.status == 200, response.body


def test_the_authorizer_passes_a_good_tokens_claims_on(functions):
    answer = functions("BearerAuthorizer").invoke({
        "type": "TOKEN", "authorizationToken": f"Bearer {token(user='bob', admin=False)}",
        "methodArn": f"arn:aws:execute-api:{REGION}:123456789012:abc123/api/GET/whoami",
    })
    assert answer["principalId"] == "bob"
    assert answer["context"]["tenant"] == "acme"
    assert answer["policyDocument"]["Statement"][0]["Effect"] == "Allow"


def test_the_authorizer_marks_a_token_signed_with_another_secret(functions):
    answer = functions("BearerAuthorizer").invoke({
        "type": "TOKEN", "authorizationToken": f"Bearer {token(secret=FORGED)}",
        "methodArn": f"arn:aws:execute-api:{REGION}:123456789012:abc123/api/GET/whoami",
    })
    assert answer["principalId"] == "anonymous"
    assert "signature" in answer["context"]["auth_error"].lower()


def test_an_authorized_read_on_each_face(api):
    whoami = api.request("GET", "/whoami", token=token())
    assert whoami.status == 200, whoami.body
    scheduling = api.request("GET", "/api/scheduling/tasks", token=token())
    assert scheduling.status == 200, scheduling.body
    assert scheduling.json["data"] == []
    daemon = api.request("GET", "/daemon/api/tasks", token=token())
    assert daemon.status == 200, daemon.body


def test_a_write_with_a_bad_token_is_refused_in_the_faces_shape_and_writes_nothing(api):
    refused = api.request("PUT", "/daemon/api/tasks/nightly", token=token(secret=FORGED),
                          body={"run": "echo hi", "cron": "0 3 * * *"})
    assert refused.status == 401, refused.body
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    assert api.request("GET", "/daemon/api/tasks/nightly", token=token()).status == 404
    # The same write with a good token reaches the face, which applies the deployment's default
    # trust boundary: no tenant may run commands until the operator names it.
    untrusted = api.request("PUT", "/daemon/api/tasks/nightly", token=token(),
                            body={"run": "echo hi", "cron": "0 3 * * *"})
    assert untrusted.status == 403, untrusted.body
    assert "TASKLANE_COMMAND_TENANTS" in untrusted.body
    assert api.request("GET", "/daemon/api/tasks/nightly", token=token()).status == 404


def _receive(sqs, queue_url: str, deadline_seconds: float = 15.0) -> list[dict]:
    """Long-poll the runs queue as Lambda's SQS event source does, until messages come."""
    return wait_until(lambda: sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=2, AttributeNames=["All"],
        MessageAttributeNames=["All"]).get("Messages", []),
        timeout=deadline_seconds, interval=0, message="no message reached the runs queue")


def test_a_due_task_is_fired_by_the_dispatcher_and_run_by_the_worker_with_its_log_in_s3(api, functions, stack, aws):
    starts_at = (datetime.now(UTC) + timedelta(seconds=2)).replace(microsecond=0)
    action = {"name": "version", "functionRef": {"refName": "sandbox.version"}}
    created = api.request("POST", "/api/scheduling/tasks", token=token(), body={
        "name": "report-version", "specVersion": "1.16.0", "version": "1.0.0", "enabled": True,
        "states": [{"name": "Run", "type": "operation", "actions": [action], "end": True}],
        "start": {"schedule": f"R1/{starts_at.strftime('%Y-%m-%dT%H:%M:%SZ')}/PT1H", "stateName": "Run"},
    })
    assert created.status == 201, created.body
    task_id = created.json["id"]

    summary = functions("Dispatcher").invoke(scheduled_event("tasklane-dev-Dispatcher"))
    assert summary["fired"] == 1, summary

    refs = stack["refs"]
    messages = _receive(aws["sqs"], refs["RunsQueue"])
    assert len(messages) == 1, messages
    queue_arn = aws["sqs"].get_queue_attributes(QueueUrl=refs["RunsQueue"], AttributeNames=["QueueArn"])
    outcome = functions("RunWorker").invoke(sqs_event(messages, queue_arn["Attributes"]["QueueArn"]))
    assert outcome == {"batchItemFailures": []}
    for message in messages:  # the event source deletes what the handler did not report failed
        aws["sqs"].delete_message(QueueUrl=refs["RunsQueue"], ReceiptHandle=message["ReceiptHandle"])

    runs = api.request("GET", f"/api/scheduling/tasks/{task_id}/runs", token=token())
    assert runs.status == 200, runs.body
    (run,) = runs.json["data"]
    log = api.request("GET", f"/api/scheduling/tasks/{task_id}/runs/{run['id']}/log", token=token())
    assert log.status == 200, log.body
    assert run["status"] == "SUCCEEDED", log.body
    assert platform.python_version() in log.body

    objects = aws["s3"].list_objects_v2(Bucket=refs["RunLogBucket"]).get("Contents", [])
    stored = [aws["s3"].get_object(Bucket=refs["RunLogBucket"], Key=o["Key"])["Body"].read() for o in objects]
    assert any(platform.python_version().encode() in body for body in stored), [o["Key"] for o in objects]


def test_maintenance_sweeps_and_reports(functions):
    summary = functions("Maintenance").invoke(scheduled_event("tasklane-dev-Maintenance"))
    assert isinstance(summary, dict) and summary, summary


def test_the_command_function_runs_a_command_with_only_the_environment_it_is_handed(functions):
    answer = functions("CommandRunner").invoke({
        "args": ["/bin/sh", "-e", "-c", "env; echo done"], "env": {"OWN": "mine"}, "working_dir": None,
        "timeout_seconds": 10, "log_max_bytes": None})
    assert answer["outcome"] == "success" and answer["exit_code"] == 0, answer
    texts = [line["text"] for line in answer["lines"]]
    assert "done" in texts and "OWN=mine" in texts
    leaked = [text for text in texts if text.startswith(("TASKLANE_", "AWS_"))]
    assert not leaked, leaked


#: Modules a deployed function must never import: the emulated backend, the local runtime, tests.
LOCAL_ONLY = ("moto", "tests", "chalicelib.runtime.local", "chalicelib.runtime.backend_process",
              "chalicelib.runtime.moto_isolation", "chalicelib.runtime.moto_indexes",
              "chalicelib.runtime.event_sources", "chalicelib.runtime.resources")


def test_no_function_reads_a_file_outside_the_package_or_imports_local_or_test_code(
        functions, task_root, sandbox, home):
    allowed = [Path(task_root), sandbox.parent.parent, Path(sys.base_prefix), Path("/dev"), Path("/proc"),
               Path("/sys"), Path("/etc"), Path("/usr/share/zoneinfo"), Path(home)]
    for logical_id in ("APIHandler", "BearerAuthorizer", "Dispatcher", "RunWorker", "Maintenance", "CommandRunner"):
        report = functions(logical_id).report()
        # The command function makes each command a fresh HOME in Lambda's writable /tmp.
        scratch = [Path(tempfile.gettempdir())] if logical_id == "CommandRunner" else []
        outside = [path for path in report["opened"]
                   if not any(Path(path).is_relative_to(root) for root in allowed + scratch)]
        assert not outside, f"{logical_id} opened {outside}"
        assert not [p for p in report["opened"] if Path(p).is_relative_to(ROOT) or p.endswith("template.yaml")]
        local = [name for name in report["modules"] if name.split(".")[0] in ("moto", "tests")
                 or any(name == m or name.startswith(m + ".") for m in LOCAL_ONLY)]
        assert not local, f"{logical_id} imported {local}"

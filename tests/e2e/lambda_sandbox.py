"""Run the built Lambda package the way AWS Lambda runs it, on this machine and offline.

`make package` builds `deployment.zip` and the merged template; the zip is extracted into a task
root, and a fresh virtualenv holding only what Lambda's Python runtime provides (boto3 and its
dependencies) runs each function's handler in a process of its own (tests/e2e/lambda_host.py):
one cold start, then one call per event. The functions' environment is what the packaged
template gives them, its references resolved to resources created on a moto server; the only
addition is `AWS_ENDPOINT_URL`, which points every AWS client at that server. API Gateway is
played by `RestApi`: it routes by the packaged API definition and calls the authorizer function
before the API function, as the gateway does. IAM is not played at all.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
import select
import shutil
import subprocess
import sys
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement

from chalicelib.runtime.resources import load_template

ROOT = Path(__file__).resolve().parents[2]
HOST = Path(__file__).with_name("lambda_host.py")
#: What Lambda's Python runtime provides besides the standard library (with its dependencies).
RUNTIME_PROVIDED = ("boto3",)
ACCOUNT = "123456789012"
REGION = "us-east-1"


@dataclass(frozen=True)
class Package:
    """What `make package` produced."""

    directory: Path

    @property
    def zip_path(self) -> Path:
        return self.directory / "deployment.zip"

    @property
    def template_path(self) -> Path:
        return self.directory / "sam.yaml"

    def template(self) -> dict[str, Any]:
        return load_template(self.template_path)


def build_package(out: Path, *, stage: str = "dev") -> Package:
    """`make package STAGE=<stage>`, the README's command, into `out` with this venv's Chalice."""
    command = ["make", "--no-print-directory", "-o", ".venv/.installed", "package",
               f"STAGE={stage}", f"PACKAGE_DIR={out}", f"BIN={Path(sys.executable).parent}"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"make package failed:\n{output}"
    # Chalice still builds the zip when it finds no Lambda-compatible wheel for a dependency.
    assert "Could not install dependencies" not in output, output
    return Package(out)


def extract(package: Package, task_root: Path) -> Path:
    """Unzip the deployment package as Lambda does into /var/task."""
    with zipfile.ZipFile(package.zip_path) as archive:
        archive.extractall(task_root)
    return task_root


def _normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def runtime_distributions() -> list[importlib.metadata.Distribution]:
    """boto3 and everything it needs (no extras): what the sandbox holds."""
    found: dict[str, importlib.metadata.Distribution] = {}
    pending = list(RUNTIME_PROVIDED)
    while pending:
        name = pending.pop()
        if _normalised(name) in found:
            continue
        dist = importlib.metadata.distribution(name)
        found[_normalised(name)] = dist
        for line in dist.requires or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(requirement.name)
    return list(found.values())


def make_sandbox(directory: Path) -> Path:
    """A fresh virtualenv with only boto3 and its dependencies; returns its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(directory)], check=True, timeout=120)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    site = directory / "lib" / version / "site-packages"
    for dist in runtime_distributions():
        for file in dist.files or []:
            if file.parts[0] == "..":
                continue  # console scripts outside site-packages
            source = Path(str(dist.locate_file(file)))
            if source.is_file():
                target = site / file
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
    return directory / "bin" / "python"


def sandbox_distributions(python: Path) -> set[str]:
    """The distributions installed in the sandbox, by normalised name."""
    code = "import importlib.metadata as m; print('\\n'.join(d.metadata['Name'] for d in m.distributions()))"
    out = subprocess.run([str(python), "-I", "-c", code], capture_output=True, text=True, check=True, timeout=60)
    return {_normalised(line) for line in out.stdout.split()}


class Backend:
    """A moto server in a child process, started the way the local runtime starts it."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "chalicelib.runtime.backend_process", "0"],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        line = self.process.stdout.readline()
        assert line.startswith("ready "), f"the moto server did not start: {line!r}"
        self.url = f"http://127.0.0.1:{int(line.split()[1])}"

    def stop(self) -> None:
        self.process.stdin.close()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def resolve_environment(template: dict[str, Any], logical_id: str, refs: dict[str, str]) -> dict[str, str]:
    """A function's environment as CloudFormation would set it: Globals, then its own variables."""
    variables = dict(template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {}))
    own = template["Resources"][logical_id]["Properties"].get("Environment", {}).get("Variables", {})
    variables.update(own)

    def value(node: Any) -> str:
        if isinstance(node, str):
            return node
        if isinstance(node, dict) and set(node) == {"Ref"}:
            return refs[node["Ref"]]
        if isinstance(node, dict) and set(node) == {"Fn::Sub"}:
            return re.sub(r"\$\{([^}]+)\}", lambda m: refs[m.group(1)], node["Fn::Sub"])
        raise AssertionError(f"the sandbox cannot resolve {node!r} in {logical_id}'s environment")

    return {name: value(node) for name, node in variables.items()}


class InvocationFailed(AssertionError):
    """The handler raised, or the function could not start."""


class LambdaFunction:
    """One function of the package in its own sandbox process: one cold start, many invocations."""

    def __init__(self, *, python: Path, task_root: Path, logical_id: str, handler: str,
                 environment: dict[str, str], log_path: Path, timeout: float = 60.0) -> None:
        self.logical_id = logical_id
        self.handler = handler
        self.log_path = log_path
        self.timeout = timeout
        self._log = open(log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [str(python), "-I", "-B", str(HOST), str(task_root), handler],
            cwd=task_root, env={**environment, "SANDBOX_FUNCTION_TIMEOUT": str(timeout)},
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, text=True,
        )
        ready = self._answer(120.0)
        if not ready.get("ready"):
            raise InvocationFailed(f"cold start of {logical_id} ({handler}) failed: {ready.get('error')}\n"
                                   f"{ready.get('trace', '')}{self.log_tail()}")
        self.init_seconds: float = ready["init_seconds"]

    def _answer(self, timeout: float) -> dict[str, Any]:
        readable, _, _ = select.select([self.process.stdout], [], [], timeout)
        line = self.process.stdout.readline() if readable else ""
        if not line:
            raise InvocationFailed(f"{self.logical_id} gave no answer within {timeout:g}s{self.log_tail()}")
        return json.loads(line)

    def log_tail(self, lines: int = 40) -> str:
        self._log.flush()
        text = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        return "\n--- function log ---\n" + "\n".join(text) if text else ""

    def invoke(self, event: dict[str, Any]) -> Any:
        """Call the handler with `event`; its return value, or `InvocationFailed` if it raised."""
        self.process.stdin.write(json.dumps({"event": event}) + "\n")
        self.process.stdin.flush()
        answer = self._answer(self.timeout + 5)
        if "error" in answer:
            error = answer["error"]
            raise InvocationFailed(f"{self.logical_id} raised {error['type']}: {error['message']}\n"
                                   f"{error['trace']}{self.log_tail()}")
        return answer["result"]

    def report(self) -> dict[str, Any]:
        """Every path the process opened and every module it imported."""
        self.process.stdin.write(json.dumps({"report": True}) + "\n")
        self.process.stdin.flush()
        return self._answer(30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def scheduled_event(rule: str) -> dict[str, Any]:
    """What EventBridge hands a function on a schedule."""
    return {
        "version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
        "account": ACCOUNT, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "region": REGION,
        "resources": [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{rule}"], "detail": {},
    }


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """What Lambda's SQS event source hands the worker for received messages."""
    return {"Records": [
        {
            "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
            "attributes": m.get("Attributes", {}), "messageAttributes": m.get("MessageAttributes", {}),
            "md5OfBody": m["MD5OfBody"], "eventSource": "aws:sqs", "eventSourceARN": queue_arn, "awsRegion": REGION,
        }
        for m in messages
    ]}


@dataclass
class Response:
    """What API Gateway returns to a client."""

    status: int
    headers: dict[str, str]
    body: str
    #: The authorizer's answer, when the route called it.
    authorizer: dict[str, Any] | None = field(default=None)

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class RestApi:
    """API Gateway's part, from the packaged API definition: route, authorize, proxy the event."""

    def __init__(self, template: dict[str, Any], api: LambdaFunction, authorizer: LambdaFunction,
                 stage: str = "api") -> None:
        definition = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
        self.paths: dict[str, dict[str, Any]] = definition["paths"]
        self.api = api
        self.authorizer = authorizer
        self.stage = stage

    def _route(self, path: str) -> tuple[str, dict[str, str]]:
        """The resource path API Gateway matches (literal segments win) and its path parameters."""
        candidates = []
        for resource in self.paths:
            pattern = "^" + re.sub(r"\\\{([^}]+)\\\}", lambda m: f"(?P<{m.group(1)}>[^/]+)", re.escape(resource)) + "$"
            match = re.match(pattern, path)
            if match:
                literal = sum(1 for part in resource.split("/") if part and not part.startswith("{"))
                candidates.append((literal, resource, match.groupdict()))
        assert candidates, f"no resource of the packaged API serves {path}"
        _, resource, params = max(candidates)
        return resource, params

    def request(self, method: str, path: str, *, token: str | None = None, body: Any = None,
                query: dict[str, str] | None = None, headers: dict[str, str] | None = None) -> Response:
        resource, params = self._route(path)
        operation = self.paths[resource].get(method.lower())
        assert operation is not None, f"the packaged API has no {method} {resource}"
        headers = {"Host": "abc123.execute-api.us-east-1.amazonaws.com", "Accept": "application/json",
                   **(headers or {})}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if body is not None:
            headers["Content-Type"] = "application/json"
        authorizer_context: dict[str, Any] = {}
        answer = None
        if operation.get("security"):
            if "Authorization" not in headers:
                return Response(401, {}, json.dumps({"message": "Unauthorized"}))
            answer = self.authorizer.invoke({
                "type": "TOKEN", "authorizationToken": headers["Authorization"],
                "methodArn": f"arn:aws:execute-api:{REGION}:{ACCOUNT}:abc123/{self.stage}/{method.upper()}{path}",
            })
            statement = answer["policyDocument"]["Statement"][0]
            if statement["Effect"] != "Allow":
                return Response(403, {}, json.dumps({"message": "User is not authorized to access this resource"}))
            authorizer_context = {**answer.get("context", {}), "principalId": answer["principalId"]}
        event = {
            "resource": resource, "path": path, "httpMethod": method.upper(), "headers": headers,
            "multiValueHeaders": {k: [v] for k, v in headers.items()},
            "queryStringParameters": query or None,
            "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
            "pathParameters": params or None, "stageVariables": None,
            "requestContext": {
                "resourcePath": resource, "httpMethod": method.upper(), "path": f"/{self.stage}{path}",
                "stage": self.stage, "requestId": str(uuid.uuid4()), "accountId": ACCOUNT, "apiId": "abc123",
                "protocol": "HTTP/1.1", "requestTimeEpoch": int(time.time() * 1000),
                "identity": {"sourceIp": "203.0.113.7", "userAgent": "lambda-sandbox"},
                "authorizer": authorizer_context or None,
            },
            "body": json.dumps(body) if body is not None else None, "isBase64Encoded": False,
        }
        result = self.api.invoke(event)
        return Response(result["statusCode"], result.get("headers") or {}, result.get("body") or "", answer)

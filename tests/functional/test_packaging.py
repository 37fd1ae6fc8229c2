"""The deployable template: chalice package merged with template.yaml passes cfn-lint."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def packaged(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("package") / "dev"
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "TASKLANE_STAGE": "dev"}
    subprocess.run(
        [str(BIN / "chalice"), "package", "--stage", "dev", "--merge-template", "template.yaml", str(out)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    yield out / "sam.yaml"
    shutil.rmtree(out, ignore_errors=True)


@pytest.mark.slow
def test_the_packaged_template_passes_cfn_lint(packaged):
    result = subprocess.run([str(BIN / "cfn-lint"), str(packaged)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def _load(path: Path) -> dict:
    from chalicelib.runtime.resources import _CfnLoader

    return yaml.load(path.read_text(), Loader=_CfnLoader)


@pytest.mark.slow
def test_the_worker_reports_partial_batch_failures_from_the_runs_queue(packaged):
    worker = _load(packaged)["Resources"]["RunWorker"]
    source = worker["Properties"]["Events"]["RunWorkerSqsEventSource"]["Properties"]
    assert source["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert source["Queue"]["Fn::Sub"].endswith(":tasklane-dev-runs")


@pytest.mark.slow
def test_every_function_learns_every_resource_name_from_the_template(packaged):
    variables = _load(packaged)["Globals"]["Function"]["Environment"]["Variables"]
    for name in ("TASKLANE_TASKS_TABLE", "TASKLANE_RUNS_TABLE", "TASKLANE_EVENTS_TABLE",
                 "TASKLANE_RUNS_QUEUE_URL", "TASKLANE_DEAD_LETTER_QUEUE_URL", "TASKLANE_LOG_BUCKET"):
        assert name in variables


@pytest.mark.slow
def test_the_dispatcher_and_maintenance_are_scheduled(packaged):
    resources = _load(packaged)["Resources"]
    assert resources["Dispatcher"]["Properties"]["Events"]
    assert resources["Maintenance"]["Properties"]["Events"]


def _statements(resources: dict, role: str) -> list[dict]:
    return [s for policy in resources[role]["Properties"]["Policies"] for s in policy["PolicyDocument"]["Statement"]]


@pytest.mark.slow
def test_the_command_function_has_its_own_role_that_reaches_nothing_of_the_service(packaged):
    resources = _load(packaged)["Resources"]
    command = resources["CommandRunner"]["Properties"]
    assert command["Role"] == {"Fn::GetAtt": ["CommandRunnerRole", "Arn"]}
    assert command["FunctionName"] == {"Fn::Sub": "tasklane-${TasklaneStage}-command_runner"}
    for statement in _statements(resources, "CommandRunnerRole"):
        assert all(action.startswith("logs:") for action in statement["Action"])
        assert all("/aws/lambda/tasklane-*-command_runner" in arn for arn in statement["Resource"])
    worker = resources["RunWorker"]["Properties"]
    assert worker["Environment"]["Variables"]["TASKLANE_COMMAND_RUNNER"] == "lambda"
    assert worker["Environment"]["Variables"]["TASKLANE_COMMAND_FUNCTION"] == "tasklane-dev-command_runner"
    invoke = [s for s in _statements(resources, worker["Role"]["Fn::GetAtt"][0]) if "lambda" in str(s["Action"])]
    assert invoke == [{"Sid": "InvokeCommandFunction", "Effect": "Allow", "Action": "lambda:InvokeFunction",
                       "Resource": {"Fn::GetAtt": ["CommandRunner", "Arn"]}}]

"""`POST .../actions/start?source=` is stored on the run (`triggeredBy`), so it is held to the
rules of a task name: at most 256 characters, no control characters; a refusal starts nothing."""

from __future__ import annotations

import pytest

from tests.functional.scheduling_support import BASE, Api, task_body
from tests.functional.test_scheduling_tasks import assert_error


@pytest.fixture
def api(client):
    return Api(client)


@pytest.mark.parametrize("source", ["s" * 257, "a%0D%0AX-Forged:%201", "%00", "tab%09bed"])
def test_a_source_that_is_too_long_or_holds_control_characters_is_refused_and_starts_nothing(api, source):
    task = api.create(task_body("sourced"))
    answer = api.call("POST", f"{BASE}/{task['id']}/actions/start?source={source}")
    assert_error(answer, 400, "query.source")
    assert api.get(f"{BASE}/{task['id']}/runs").json["data"] == []


def test_a_plain_source_still_starts_a_run(api):
    task = api.create(task_body("sourced"))
    assert api.call("POST", f"{BASE}/{task['id']}/actions/start?source=" + "s" * 256).status == 200
    assert api.call("POST", f"{BASE}/{task['id']}/actions/start?source=nightly%20batch").status == 200

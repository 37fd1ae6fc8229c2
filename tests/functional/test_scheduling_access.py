"""Scheduling face access beyond reading: chaining to a parent, and deleting by taking over."""

from __future__ import annotations

import pytest

from tests.functional.scheduling_support import BASE, Api, task_body
from tests.functional.test_scheduling_tasks import assert_error


@pytest.fixture
def api(client):
    return Api(client)


def names(api: Api) -> set[str]:
    return {task["name"] for task in api.get(BASE).json["data"]}


def test_a_chain_to_a_task_the_writer_cannot_read_is_refused_as_reading_is(api):
    private = api.create(task_body("alice-private"))
    bob = api.as_("bob")
    assert_error(bob.get(f"{BASE}/{private['id']}"), 403, private["id"])

    assert_error(bob.call("POST", BASE, task_body("spy", parent=private["id"])), 403,
                 f"you do not have access to task {private['id']}")
    assert "spy" not in names(api.as_("root", admin=True))

    own = bob.create(task_body("bob-own"))
    assert_error(bob.call("PUT", f"{BASE}/{own['id']}", task_body("bob-own", parent=private["id"])), 403)
    patch = [{"op": "add", "path": "/events", "value": task_body("x", parent=private["id"])["events"]},
             {"op": "replace", "path": "/states", "value": task_body("x", parent=private["id"])["states"]}]
    assert_error(bob.call("PATCH", f"{BASE}/{own['id']}", patch), 403)
    after = bob.get(f"{BASE}/{own['id']}").json
    assert "events" not in after and after["metadata"]["topology"]["isChild"] is False


def test_a_chain_to_a_shared_parent_or_by_an_admin_is_allowed(api):
    shared = api.create(task_body("team", space_type="shared"))
    private = api.create(task_body("alice-private"))
    assert api.as_("bob").call("POST", BASE, task_body("follows-team", parent=shared["id"])).status == 201
    assert api.as_("root", admin=True).call("POST", BASE, task_body("ops", parent=private["id"])).status == 201
    assert api.call("POST", BASE, task_body("mine", parent=private["id"])).status == 201


def test_taking_over_a_shared_task_that_chains_to_a_private_parent_is_refused(api):
    private = api.create(task_body("alice-private"))
    child = api.create(task_body("alice-child", parent=private["id"], space_type="shared"))
    bob = api.as_("bob")
    assert bob.get(f"{BASE}/{child['id']}").status == 200  # alice shared it
    ops = [{"op": "add", "path": "/description", "value": "mine now"}]
    assert_error(bob.call("PATCH", f"{BASE}/{child['id']}", ops), 403, private["id"])
    assert api.get(f"{BASE}/{child['id']}").json["metadata"]["ownerId"] == "alice"


def test_another_tenants_task_as_a_parent_is_unknown_not_forbidden(api):
    foreign = api.as_("eve", tenant="globex").create(task_body("theirs"))
    assert_error(api.call("POST", BASE, task_body("child", parent=foreign["id"])), 400, "does not exist")


def test_a_shared_task_is_deleted_by_its_owner_or_an_admin_and_anyone_who_may_change_it_may_take_it_over(api):
    task = api.create(task_body("team", space_type="shared"))
    bob = api.as_("bob")
    assert_error(bob.call("DELETE", f"{BASE}/{task['id']}"), 403, "only the owner or a tenant admin")

    taken = bob.call("PUT", f"{BASE}/{task['id']}", task_body("team", space_type="shared"))
    assert taken.status == 200
    meta = taken.json["metadata"]
    assert (meta["ownerId"], meta["updatedBy"], meta["createdBy"]) == ("bob", "bob", "alice")
    assert_error(api.call("DELETE", f"{BASE}/{task['id']}"), 403)  # alice is no longer the owner
    assert bob.call("DELETE", f"{BASE}/{task['id']}").status == 204
    assert_error(api.get(f"{BASE}/{task['id']}"), 404)


def test_a_personal_task_can_be_neither_taken_over_nor_deleted_by_another_user(api):
    task = api.create(task_body("solo"))
    bob = api.as_("bob")
    assert_error(bob.call("PUT", f"{BASE}/{task['id']}", task_body("solo", space_type="shared")), 403)
    assert_error(bob.call("PATCH", f"{BASE}/{task['id']}", [{"op": "add", "path": "/description", "value": "x"}]),
                 403)
    assert_error(bob.call("DELETE", f"{BASE}/{task['id']}"), 403, "you do not have access")
    still = api.get(f"{BASE}/{task['id']}").json
    assert still["metadata"]["ownerId"] == "alice" and "description" not in still

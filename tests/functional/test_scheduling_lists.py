"""Scheduling face lists: SCIM filter, sort, limit, signed cursors, links, and rate tiers."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from chalicelib import settings
from tests.functional.scheduling_support import BASE, Api, task_body
from tests.functional.test_scheduling_tasks import assert_error


@pytest.fixture
def api(client):
    return Api(client)


@pytest.fixture
def pinned_clock(monkeypatch):
    """The rate limiter's clock fixed mid-window, so no window rolls over during a test."""
    from datetime import UTC, datetime

    from chalicelib.faces.scheduling import rate_limit

    monkeypatch.setattr(rate_limit, "clock", lambda: datetime(2026, 1, 1, 12, 0, 30, tzinfo=UTC))


@pytest.fixture
def five(api):
    """Five tasks: sales-1..3 (enabled), ops-1..2 (disabled), created in that order."""
    made = []
    for name, enabled in (("sales-1", True), ("sales-2", True), ("sales-3", True), ("ops-1", False),
                          ("ops-2", False)):
        made.append(api.create(task_body(name, enabled=enabled, app_id=f"app-{name}")))
    return made


def names(answer):
    assert answer.status == 200, answer.raw
    return [task["name"] for task in answer.json["data"]]


def test_the_default_order_is_newest_update_first(api, five):
    assert names(api.get(BASE)) == ["ops-2", "ops-1", "sales-3", "sales-2", "sales-1"]


def test_every_documented_sort_value_is_accepted_and_others_are_a_400(api, five):
    assert names(api.get(f"{BASE}?sort=%2Bname")) == ["ops-1", "ops-2", "sales-1", "sales-2", "sales-3"]
    assert names(api.get(f"{BASE}?sort=-name"))[0] == "sales-3"
    assert sorted(names(api.get(f"{BASE}?sort=-enabled"))[:3]) == ["sales-1", "sales-2", "sales-3"]
    from chalicelib.faces.scheduling.scim import TASK_SORT_FIELDS

    for field in TASK_SORT_FIELDS:
        assert api.get(f"{BASE}?sort=-{field}").status == 200, field
    assert_error(api.get(f"{BASE}?sort=name"), 400, "sort")
    assert_error(api.get(f"{BASE}?sort=-description"), 400, "sort")


def test_a_scim_filter_narrows_the_list(api, five):
    assert names(api.get(f'{BASE}?filter=enabled eq true and name co "SALES"&sort=%2Bname')) == [
        "sales-1", "sales-2", "sales-3"]
    assert names(api.get(f'{BASE}?filter=not (name sw "sales") or resourceId eq "app-sales-2"&sort=%2Bname')) == [
        "ops-1", "ops-2", "sales-2"]
    assert names(api.get(f'{BASE}?filter=ownerId eq "alice" and triggerType eq 0&sort=%2Bname&limit=1')) == ["ops-1"]
    assert names(api.get(f'{BASE}?filter=createdAt gt "2000-01-01T00:00:00Z" and lastStatus pr')) == []


def test_an_unknown_field_or_malformed_filter_is_a_400_naming_it(api, five):
    assert_error(api.get(f'{BASE}?filter=colour eq "red"'), 400, "filter", "colour")
    assert_error(api.get(f'{BASE}?filter=name eq'), 400, "filter")
    assert_error(api.get(f'{BASE}?filter=not name eq "x"'), 400, "filter")


def test_resource_id_narrows_the_list(api, five):
    assert names(api.get(f"{BASE}?resourceId=app-ops-1")) == ["ops-1"]


def test_pages_follow_their_links_forward_and_back(api, five):
    first = api.get(f"{BASE}?limit=2&sort=%2Bname")
    assert names(first) == ["ops-1", "ops-2"]
    links = first.json["links"]
    assert "prev" not in links and "page" not in links["self"]["href"]
    second = api.follow(links["next"]["href"])
    assert names(second) == ["sales-1", "sales-2"]
    third = api.follow(second.json["links"]["next"]["href"])
    assert names(third) == ["sales-3"] and "next" not in third.json["links"]
    assert names(api.follow(third.json["links"]["prev"]["href"])) == ["sales-1", "sales-2"]
    assert names(api.follow(second.json["links"]["self"]["href"])) == ["sales-1", "sales-2"]
    assert parse_qs(urlsplit(links["next"]["href"]).query)["sort"] == ["+name"]


def test_a_forged_or_foreign_cursor_is_rejected(api, five):
    href = api.get(f"{BASE}?limit=2").json["links"]["next"]["href"]
    page = parse_qs(urlsplit(href).query)["page"][0]
    tampered = page[:-2] + ("AA" if page[-2:] != "AA" else "BB")
    assert_error(api.get(f"{BASE}?limit=2&page={tampered}"), 400, "page")
    assert_error(api.get(f"{BASE}?limit=2&page=not-a-cursor"), 400, "page")
    # the same cursor under another sort, another user or another tenant is refused too
    assert_error(api.get(f"{BASE}?limit=2&sort=%2Bname&page={page}"), 400, "page")
    assert_error(api.as_("bob").get(f"{BASE}?limit=2&page={page}"), 400, "page")
    assert_error(api.as_("alice", tenant="globex").get(f"{BASE}?limit=2&page={page}"), 400, "page")


@pytest.mark.parametrize("limit", ["0", "101", "ten"])
def test_limit_is_bounded(api, limit):
    assert_error(api.get(f"{BASE}?limit={limit}"), 400, "limit")


def test_tier_two_limits_writes_per_user_with_retry_after(api, monkeypatch, pinned_clock):
    monkeypatch.setenv("TASKLANE_RATE_TIER2", "2")
    settings.reset()
    api.create(task_body("w1"))
    api.create(task_body("w2"))
    refused = api.call("POST", BASE, task_body("w3"))
    body = assert_error(refused, 429)
    assert int(refused.headers["retry-after"]) == 30  # the rest of the minute window
    assert body["errors"][0]["title"] == "Too many requests"
    assert api.as_("bob").call("POST", BASE, task_body("b1")).status == 201  # per user
    assert api.get(BASE).status == 200  # reads are tier 1
    assert names(api.get(BASE)) == ["w2", "w1"]  # the refused write wrote nothing


def test_tier_one_limits_reads_and_zero_turns_limiting_off(api, monkeypatch, pinned_clock):
    monkeypatch.setenv("TASKLANE_RATE_TIER1", "1")
    monkeypatch.setenv("TASKLANE_RATE_TIER2", "0")
    settings.reset()
    assert api.get(BASE).status == 200
    assert_error(api.get(BASE), 429)
    for index in range(5):
        api.create(task_body(f"free-{index}"))


def test_the_rate_window_is_shared_through_the_store_and_resets_each_minute(aws):
    from datetime import UTC, datetime

    from chalicelib.engine.rate_limits import count_request

    at = datetime(2026, 1, 1, 12, 0, 10, tzinfo=UTC)
    first = count_request("acme", "alice", "tier2", limit=2, now=at)
    second = count_request("acme", "alice", "tier2", limit=2, now=at.replace(second=50))
    third = count_request("acme", "alice", "tier2", limit=2, now=at.replace(second=59))
    assert (first.count, second.count, third.count) == (1, 2, 3)
    assert first.allowed and second.allowed and not third.allowed and third.retry_after == 1
    assert count_request("acme", "alice", "tier2", limit=2, now=at.replace(minute=1)).count == 1
    assert count_request("acme", "bob", "tier2", limit=2, now=at).count == 1


@pytest.fixture
def mixed(api):
    """24 tasks updated in turn: alice's sales-N and ops-N, and bob's private bob-N."""
    bob = api.as_("bob")
    for n in range(8):
        api.create(task_body(f"sales-{n}", app_id=f"s{n}"))
        api.create(task_body(f"ops-{n}", app_id=f"o{n}"))
        bob.create(task_body(f"bob-{n}", app_id=f"b{n}"))


#: More pages than any walk here takes (a link that loops fails the walk).
MAX_PAGES = 50


def walk(api, href, direction="next"):
    pages = []
    for _ in range(MAX_PAGES):
        if not href:
            return pages
        answer = api.follow(href)
        pages.append(names(answer))
        href = answer.json["links"].get(direction, {}).get("href")
    raise AssertionError(f"still a {direction} link after {MAX_PAGES} pages")


def test_the_default_sort_pages_by_key_forward_and_back_with_filter_and_access(api, mixed):
    query = f'{BASE}?limit=3&filter=name co "sales" or name co "bob"'
    pages = walk(api, query)
    # alice sees her sales tasks only (bob's are private), newest update first, each once
    assert pages == [["sales-7", "sales-6", "sales-5"], ["sales-4", "sales-3", "sales-2"], ["sales-1", "sales-0"]]
    last = api.get(query)
    for _ in range(2):
        last = api.follow(last.json["links"]["next"]["href"])
    assert "next" not in last.json["links"]
    assert walk(api, last.json["links"]["prev"]["href"], "prev") == pages[-2::-1]
    # ascending order pages by the same index
    assert [name for page in walk(api, f"{BASE}?limit=5&sort=%2BupdatedAt&filter=name sw \"ops\"")
            for name in page] == [f"ops-{n}" for n in range(8)]
    # an admin sees bob's too
    admin = api.as_("root", admin=True)
    assert sum(len(page) for page in walk(admin, f"{BASE}?limit=7")) == 24


def test_the_first_page_of_the_default_sort_reads_a_page_of_tasks_not_all(api, mixed):
    from chalicelib.store import metrics

    metrics.reset()
    assert names(api.as_("root", admin=True).get(f"{BASE}?limit=3")) == ["bob-7", "ops-7", "sales-7"]
    # the page and one more as listings (to know a next page exists), the page's tasks whole, + the caller
    assert metrics.items_read() <= 4 + 3 + 1

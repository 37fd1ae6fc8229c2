from __future__ import annotations

import pytest

from chalicelib.cursor import CursorCodec
from chalicelib.errors import ValidationError

POSITION = {"pk": {"S": "acme#task"}, "sk": {"S": "run-0042"}}


def test_a_cursor_round_trips_its_position():
    codec = CursorCodec("k")
    cursor = codec.encode(POSITION, tenant="acme", scope="runs")
    assert codec.decode(cursor, tenant="acme", scope="runs") == POSITION


def test_a_cursor_does_not_show_its_keys_in_clear_text_form_of_the_tenant_elsewhere():
    cursor = CursorCodec("k").encode(POSITION, tenant="acme", scope="runs")
    assert "acme" not in cursor


def test_a_tampered_cursor_is_refused_naming_the_parameter():
    codec = CursorCodec("k")
    cursor = codec.encode(POSITION, tenant="acme", scope="runs")
    tampered = cursor[:-2] + ("A" if cursor[-2] != "A" else "B") + cursor[-1]
    with pytest.raises(ValidationError) as info:
        codec.decode(tampered, tenant="acme", scope="runs")
    assert info.value.location == "query.page"


def test_a_cursor_from_another_tenant_is_refused():
    codec = CursorCodec("k")
    cursor = codec.encode(POSITION, tenant="other", scope="runs")
    with pytest.raises(ValidationError):
        codec.decode(cursor, tenant="acme", scope="runs")


def test_a_cursor_for_another_list_is_refused():
    codec = CursorCodec("k")
    cursor = codec.encode(POSITION, tenant="acme", scope="tasks")
    with pytest.raises(ValidationError):
        codec.decode(cursor, tenant="acme", scope="runs")


def test_a_cursor_signed_with_another_key_is_refused():
    cursor = CursorCodec("k1").encode(POSITION, tenant="acme", scope="runs")
    with pytest.raises(ValidationError):
        CursorCodec("k2").decode(cursor, tenant="acme", scope="runs")


@pytest.mark.parametrize("garbage", ["", "!!!", "abc", "a" * 200])
def test_garbage_is_refused(garbage):
    with pytest.raises(ValidationError):
        CursorCodec("k").decode(garbage, tenant="acme", scope="runs")

"""The embedded backend's short path for top-level projections (`moto_indexes._item_project`)
gives what moto's own `Item.project` gives: the same attributes, values and order."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from moto.dynamodb.models.dynamo_type import DynamoType, Item

from chalicelib.runtime import moto_indexes

STOCK = getattr(Item.project, "__wrapped__", Item.project)
NAMES = st.sampled_from(["pk", "sk", "a", "b", "doc", "n", "missing", "a.b", "l[0]"])
values = st.one_of(
    st.text(max_size=5).map(lambda v: {"S": v}),
    st.sampled_from(["1", "1.50", "1e2", "-0", "100"]).map(lambda v: {"N": v}),
    st.booleans().map(lambda v: {"BOOL": v}),
    st.just({"NULL": True}),
    st.just({"M": {"b": {"S": "x"}}}),
    st.just({"L": [{"S": "x"}, {"N": "2"}]}),
    st.just({"SS": ["x", "y"]}),
)


def item_of(attrs):
    attrs = {"pk": {"S": "p"}, "sk": {"S": "s"}, **attrs}
    return Item(hash_key=DynamoType(attrs["pk"]), range_key=DynamoType(attrs["sk"]), attrs=attrs)


def described(item):
    return list(item.to_json()["Attributes"].items())  # order included


@settings(max_examples=400, deadline=None)
@given(attrs=st.dictionaries(st.sampled_from(["a", "b", "doc", "n", "l"]), values, max_size=5),
       paths=st.lists(st.one_of(NAMES.map(lambda n: [n]), st.just(["a", "b"])), min_size=1, max_size=6))
def test_projection_answers_as_moto(attrs, paths):
    item = item_of(attrs)
    try:
        stock = STOCK(item, paths)
    except Exception as exc:  # moto fails some nested paths into a non-map: so must the short path
        with pytest.raises(type(exc)):
            moto_indexes._item_project(STOCK, item, paths)
        return
    fast = moto_indexes._item_project(STOCK, item, paths)
    assert described(fast) == described(stock)
    assert (fast.hash_key, fast.range_key) == (stock.hash_key, stock.range_key)


def test_text_and_boolean_attributes_are_copied_without_moto_and_others_are_left_to_it():
    item = item_of({"doc": {"S": "{}"}, "enabled": {"BOOL": True}, "n": {"N": "1e2"}})
    calls = []

    def original(*args):
        calls.append(args)
        return STOCK(*args)

    assert described(moto_indexes._item_project(original, item, [["pk"], ["doc"], ["enabled"], ["gone"]])) == [
        ("pk", {"S": "p"}), ("doc", {"S": "{}"}), ("enabled", {"BOOL": True})]
    assert calls == []
    assert described(moto_indexes._item_project(original, item, [["n"]])) == [("n", {"N": "1E+2"})]  # moto's
    assert len(calls) == 1

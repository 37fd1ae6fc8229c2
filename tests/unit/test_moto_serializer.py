"""The embedded backend's short path for DynamoDB item values writes what moto's stock
serializer writes, byte for byte (chalicelib/runtime/moto_serializer.py)."""

from __future__ import annotations

import enum

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto.core.serialize import JSONSerializer, XFormedAttributePicker
from moto.core.utils import get_service_model

from chalicelib.runtime import moto_serializer

MODEL = get_service_model("dynamodb")
FAST = moto_serializer._fast_serializer_class(JSONSerializer)


class Color(enum.Enum):
    RED = "red"


def serialize(serializer_class: type, operation: str, result: object) -> dict:
    serializer = serializer_class(operation_model=MODEL.operation_model(operation), pretty_print=False,
                                  value_picker=XFormedAttributePicker(response_transformers=None))
    return serializer.serialize(result)


def both(operation: str, result: object) -> tuple[dict, dict]:
    """(the short path's answer, the stock serializer's): status, headers and the body text."""
    return serialize(FAST, operation, result), serialize(JSONSerializer, operation, result)


text = st.text(max_size=8)
numbers = st.integers(-10**6, 10**6).map(str)
binary = st.binary(max_size=8)
scalars = st.one_of(
    text.map(lambda v: {"S": v}), numbers.map(lambda v: {"N": v}), binary.map(lambda v: {"B": v}),
    st.lists(text, min_size=1, max_size=3, unique=True).map(lambda v: {"SS": v}),
    st.lists(numbers, min_size=1, max_size=3, unique=True).map(lambda v: {"NS": v}),
    st.lists(binary, min_size=1, max_size=3, unique=True).map(lambda v: {"BS": v}),
    st.just({"NULL": True}), st.booleans().map(lambda v: {"BOOL": v}),
)
#: What the stock path must still handle: members of the wrong type, unknown keys, None values.
odd = st.one_of(
    st.just({"S": Color.RED}), st.just({"SS": ["a", Color.RED]}), st.just({"s": "lower"}),
    st.just({"S": "x", "Extra": 1}), st.just({"N": 5}), st.just({"S": None}), st.just({"B": "text-as-blob"}),
    st.just({"S": "a", "N": "1"}), st.just(None), st.just({}),
)
values = st.recursive(
    st.one_of(scalars, odd),
    lambda inner: st.one_of(st.dictionaries(text, inner, max_size=3).map(lambda v: {"M": v}),
                            st.lists(inner, max_size=3).map(lambda v: {"L": v})),
    max_leaves=12,
)
items = st.dictionaries(st.text(min_size=1, max_size=6), values, max_size=6)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(item=items, others=st.lists(items, max_size=3))
def test_item_results_serialize_as_stock(item, others):
    results = {
        "GetItem": {"Item": item, "ConsumedCapacity": {"TableName": "t", "CapacityUnits": 1.0}},
        "Query": {"Items": [item, *others], "Count": 1 + len(others), "ScannedCount": 3, "LastEvaluatedKey": item},
        "Scan": {"Items": others, "Count": len(others), "ScannedCount": len(others)},
        "BatchGetItem": {"Responses": {"t": [item, *others]}, "UnprocessedKeys": {"t": {"Keys": others}},
                         "ConsumedCapacity": [{"CapacityUnits": 2, "TableName": "t"}]},
        "UpdateItem": {"Attributes": item},
        "TransactGetItems": {"Responses": [{"Item": item}, {"Item": None}]},
    }
    for operation, result in results.items():
        fast, stock = both(operation, result)
        assert fast == stock, operation


def test_plain_values_take_the_short_path():
    """The short path is taken (a plain item never reaches the stock AttributeValue code), and
    what it writes is what the wire carries."""
    item = {"pk": {"S": "acme"}, "n": {"N": "1"}, "b": {"B": b"\x00\x01"}, "m": {"M": {"x": {"L": [{"BOOL": True}]}}}}

    class Guarded(FAST):
        def _serialize_type_structure(self, serialized, value, shape, key):
            if key and shape.name == "AttributeValue" and moto_serializer._plain(value):
                return super()._serialize_type_structure(serialized, value, shape, key)
            assert shape.name != "AttributeValue", value
            return super()._serialize_type_structure(serialized, value, shape, key)

        def _serialize(self, serialized, value, shape, key):
            assert shape.name != "AttributeValue", "a plain item value went the stock way"
            return super()._serialize(serialized, value, shape, key)

    body = serialize(Guarded, "GetItem", {"Item": item})["body"]
    assert body == ('{"Item": {"pk": {"S": "acme"}, "n": {"N": "1"}, "b": {"B": "AAE="}, '
                    '"m": {"M": {"x": {"L": [{"BOOL": true}]}}}}}')
    assert body == serialize(JSONSerializer, "GetItem", {"Item": item})["body"]


def test_moto_answers_through_the_short_path_are_what_was_written():
    """End to end through moto with the short path installed: every attribute type comes back."""
    import boto3
    from moto import mock_aws

    from chalicelib.runtime import moto_indexes

    moto_indexes.install()
    item = {"pk": {"S": "p"}, "sk": {"S": "s"}, "n": {"N": "12.5"}, "b": {"B": b"\xff"}, "ss": {"SS": ["a", "b"]},
            "ns": {"NS": ["1", "2"]}, "bs": {"BS": [b"x"]}, "m": {"M": {"k": {"NULL": True}}},
            "l": {"L": [{"S": ""}, {"BOOL": False}]}}
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(TableName="t", BillingMode="PAY_PER_REQUEST",
                            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                       {"AttributeName": "sk", "KeyType": "RANGE"}],
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                                  {"AttributeName": "sk", "AttributeType": "S"}])
        client.put_item(TableName="t", Item=item)
        got = client.get_item(TableName="t", Key={"pk": {"S": "p"}, "sk": {"S": "s"}})["Item"]
        batch = client.batch_get_item(RequestItems={"t": {"Keys": [{"pk": {"S": "p"}, "sk": {"S": "s"}}]}})
    normalize = {"ss": lambda v: {"SS": sorted(v["SS"])}, "ns": lambda v: {"NS": sorted(v["NS"])}}
    for answer in (got, batch["Responses"]["t"][0]):
        assert {k: normalize.get(k, lambda v: v)(v) for k, v in answer.items()} == item


def test_refuses_a_model_it_was_not_written_for(monkeypatch):
    shape = MODEL.shape_for("AttributeValue")
    members = dict(shape.members)
    monkeypatch.setattr(type(shape), "members", property(lambda self: dict(reversed(list(members.items())))))
    with pytest.raises(RuntimeError, match="AttributeValue"):
        moto_serializer._check_model()


# -- reading requests ---------------------------------------------------------------------------

FAST_PARSER = moto_serializer._fast_parser_class(__import__("moto.core.parse", fromlist=["JSONParser"]).JSONParser)
wire_scalars = st.one_of(
    text.map(lambda v: {"S": v}), numbers.map(lambda v: {"N": v}),
    binary.map(lambda v: {"B": __import__("base64").b64encode(v).decode()}),
    st.lists(text, min_size=1, max_size=3).map(lambda v: {"SS": v}),
    st.lists(binary, min_size=1, max_size=2).map(lambda v: {"BS": [__import__("base64").b64encode(b).decode()
                                                                   for b in v]}),
    st.just({"NULL": True}), st.booleans().map(lambda v: {"BOOL": v}),
    st.just({"S": "x", "Unknown": 1}), st.just({"S": None, "N": "2"}), st.just({}), st.just(None),
)
wire_values = st.recursive(
    wire_scalars,
    lambda inner: st.one_of(st.dictionaries(text, inner, max_size=3).map(lambda v: {"M": v}),
                            st.lists(inner, max_size=3).map(lambda v: {"L": v})),
    max_leaves=12,
)
wire_items = st.dictionaries(st.text(min_size=1, max_size=6), wire_values, max_size=6)


def parsed(parser_class: type, operation: str, body: dict) -> str:
    import json

    parser = parser_class(MODEL.operation_model(operation), map_type=dict)
    answer = parser.parse({"method": "POST", "values": {}, "headers": {}, "body": json.dumps(body).encode(),
                           "url_path": "/", "url_params": {}})
    return json.dumps(answer, default=repr)  # key order and bytes included


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(item=wire_items, key=wire_items)
def test_requests_are_read_as_stock(item, key):
    from moto.core.parse import JSONParser

    bodies = {
        "PutItem": {"TableName": "t", "Item": item, "ExpressionAttributeValues": key},
        "Query": {"TableName": "t", "ExclusiveStartKey": key, "ExpressionAttributeValues": item},
        "BatchGetItem": {"RequestItems": {"t": {"Keys": [key, item]}}},
        "UpdateItem": {"TableName": "t", "Key": key, "ExpressionAttributeValues": item},
        "TransactWriteItems": {"TransactItems": [{"Put": {"TableName": "t", "Item": item}}]},
    }
    for operation, body in bodies.items():
        assert parsed(FAST_PARSER, operation, body) == parsed(JSONParser, operation, body), operation

"""Serialize the embedded backend's DynamoDB item values in time proportional to what they hold.

moto 5.2.5 writes every DynamoDB response through its generic, model-driven serializer: for
each `AttributeValue` (one per attribute of every item returned, and one per element of its
maps and lists) it walks all ten members of the shape (`S`, `N`, `B`, `SS`, `NS`, `BS`, `M`,
`L`, `NULL`, `BOOL`), and for each member asks its attribute picker for the value through four
alias providers. A `BatchGetItem` of 100 task items cost about 50 ms of the backend's time,
under the lock every DynamoDB request of the embedded backend takes (`moto_isolation`), so a
list reading a few hundred tasks held every other request back for a second or more.

Here the JSON serializer of DynamoDB results takes a short path for an `AttributeValue` that
is a plain dict whose keys are among the shape's members and whose values have the types moto
produces (exactly `str` for `S`, `N` and the elements of `SS` and `NS`, `bytes` or `str` for
`B` and the elements of `BS`, lists for the sets and `L`, a dict for `M`, booleans for `NULL`
and `BOOL`): it writes the same members, in the shape's order, with the same conversions
(`str` for strings, base64 for binary) as the stock serializer. Anything else (an unexpected
key or type, a map key the stock code treats specially) goes through the stock code,
unchanged. Only the embedded backend installs this (`moto_indexes.install`); the answers are
byte for byte moto's (the differential test in tests/unit/test_moto_serializer.py holds that
against the stock serializer). Requests are read the same way: moto's JSON request parser
reads an `AttributeValue` dict by the same short path (`install_parser`), with the same answer
as its `_parse_structure` (differential test too).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

#: The members of DynamoDB's `AttributeValue` shape, in the model's order, with the Python type
#: moto gives each (the short path is taken only when every present value has that type).
MEMBERS: tuple[tuple[str, tuple[type, ...]], ...] = (
    ("S", (str,)), ("N", (str,)), ("B", (bytes, str)), ("SS", (list,)), ("NS", (list,)), ("BS", (list,)),
    ("M", (dict,)), ("L", (list,)), ("NULL", (bool,)), ("BOOL", (bool,)),
)
_MEMBER_NAMES = frozenset(name for name, _ in MEMBERS)
#: The element types of the sets (an enum or None element takes the stock path).
_SET_ITEMS: tuple[tuple[str, tuple[type, ...]], ...] = (("SS", (str,)), ("NS", (str,)), ("BS", (bytes, str)))
_SHAPE = "AttributeValue"


def install() -> None:
    """Give DynamoDB results of moto the short path for item values (idempotent)."""
    from moto.core.serialize import JSONSerializer
    from moto.dynamodb.responses import DynamoResult

    if getattr(DynamoResult.execute_result, "_tasklane_fast", False):
        return
    _check_model()
    fast = _fast_serializer_class(JSONSerializer)
    stock = DynamoResult.execute_result

    def execute_result(self: Any, context: Any) -> Any:
        if context.serializer_class is JSONSerializer:
            context = dataclasses.replace(context, serializer_class=fast)
        return stock(self, context)

    execute_result._tasklane_fast = True  # type: ignore[attr-defined]
    DynamoResult.execute_result = execute_result  # type: ignore[method-assign]


def install_parser() -> None:
    """Give moto's reading of DynamoDB requests the short path for item values (idempotent)."""
    from moto.core.parse import PROTOCOL_PARSERS, JSONParser
    from moto.core.request import determine_request_protocol
    from moto.core.utils import get_service_model
    from moto.dynamodb.responses import DynamoHandler

    if getattr(DynamoHandler.parse_parameters, "_tasklane_fast", False):
        return
    _check_model()
    fast = _fast_parser_class(JSONParser)

    def parse_parameters(self: Any, request: Any) -> None:
        # moto's BaseResponse.parse_parameters, with the fast parser where moto picks its JSON one.
        service_model = get_service_model(self.boto3_service_name)
        operation_model = service_model.operation_model(self._get_action())
        parser_cls: Any = PROTOCOL_PARSERS[determine_request_protocol(service_model, request.content_type)]
        if parser_cls is JSONParser:
            parser_cls = fast
        parser = parser_cls(operation_model, map_type=self.PROTOCOL_PARSER_MAP_TYPE)
        self.params = parser.parse({"method": request.method, "values": request.values, "headers": request.headers,
                                    "body": request.data, "url_path": request.path, "url_params": self.uri_match})

    parse_parameters._tasklane_fast = True  # type: ignore[attr-defined]
    DynamoHandler.parse_parameters = parse_parameters  # type: ignore[method-assign]


def _fast_parser_class(base: type) -> type:
    """A subclass of moto's JSON request parser that reads a plain `AttributeValue` (a dict)
    member by member as the stock `_parse_structure` does, without its per-member dispatch."""

    class FastAttributeValueParser(base):  # type: ignore[misc]
        def _parse_structure(self, shape: Any, value: Any) -> Any:
            if shape.name == _SHAPE and type(value) is dict:
                return _read_attribute_value(self, shape, value)
            return super()._parse_structure(shape, value)

    return FastAttributeValueParser


def _read_attribute_value(parser: Any, shape: Any, value: dict[str, Any]) -> dict[str, Any]:
    """The stock JSON parser's reading of an `AttributeValue` dict: the shape's members in its
    order, None and unknown keys left out, blobs decoded, maps and lists of values read in turn."""
    out: dict[str, Any] = parser.MAP_TYPE()
    for name, _ in MEMBERS:
        raw = value.get(name)
        if raw is None:
            continue
        if name in ("S", "N", "NULL", "BOOL"):
            out[name] = raw
        elif name in ("SS", "NS"):
            out[name] = [item for item in raw]  # noqa: C416 - the stock list parse iterates the node
        elif name == "B":
            out[name] = parser._blob_parser(raw)
        elif name == "BS":
            out[name] = [parser._blob_parser(item) for item in raw]
        elif name == "M":
            mapped = parser.MAP_TYPE()
            for key, item in raw.items():
                mapped[key] = _read_attribute_value(parser, shape, item) if type(item) is dict else \
                    parser._parse_shape(shape, item)
            out[name] = mapped
        else:  # L
            out[name] = [_read_attribute_value(parser, shape, item) if type(item) is dict else
                         parser._parse_shape(shape, item) for item in raw]
    return out


def _check_model() -> None:
    """The short path writes the members of `AttributeValue` as this module lists them: refuse
    to install on a botocore whose model says otherwise."""
    from moto.core.utils import get_service_model

    shape = get_service_model("dynamodb").shape_for(_SHAPE)
    members = [(name, member.type_name, member.serialization.get("name")) for name, member in shape.members.items()]
    expected = [("S", "string"), ("N", "string"), ("B", "blob"), ("SS", "list"), ("NS", "list"), ("BS", "list"),
                ("M", "map"), ("L", "list"), ("NULL", "boolean"), ("BOOL", "boolean")]
    if [(name, kind) for name, kind, _ in members] != expected or any(alias for _, _, alias in members):
        raise RuntimeError(f"DynamoDB's AttributeValue shape is not the one moto_serializer writes: {members}")


def _fast_serializer_class(base: type) -> type:
    """A subclass of moto's JSON serializer with the short path for `AttributeValue`s."""

    class FastAttributeValueSerializer(base):  # type: ignore[misc]
        def _serialize_type_structure(self, serialized: Any, value: Any, shape: Any, key: str) -> None:
            if key and shape.name == _SHAPE and _plain(value):
                self.attribute_value_shape = shape
                serialized[key] = _attribute_value(self, value)
                return
            super()._serialize_type_structure(serialized, value, shape, key)

        def _serialize_type_map(self, serialized: Any, value: Any, shape: Any, key: str) -> None:
            member = shape.value
            if member.name != _SHAPE or not isinstance(value, dict):
                super()._serialize_type_map(serialized, value, shape, key)
                return
            self.attribute_value_shape = member
            map_obj: dict[str, Any] = {}
            self._default_serialize(serialized, map_obj, shape, key)
            for sub_key, sub_value in value.items():
                if sub_key and _plain(sub_value):
                    map_obj[sub_key] = _attribute_value(self, sub_value)
                else:
                    self._serialize(map_obj, sub_value, member, sub_key)

    return FastAttributeValueSerializer


def _plain(value: Any) -> bool:
    """Whether an `AttributeValue` is a dict of members with the types moto gives them."""
    if type(value) is not dict or not _MEMBER_NAMES.issuperset(value):
        return False
    for name, kind in MEMBERS:
        member = value.get(name)
        if member is not None and type(member) not in kind:
            return False
    return all(value.get(name) is None or all(type(item) in kind for item in value[name])
               for name, kind in _SET_ITEMS)


def _string(value: Any) -> Any:
    """The stock JSON serializer's string conversion (enums are not plain: they never get here)."""
    return str(value) if value not in [None, {}, []] else value


def _attribute_value(serializer: Any, value: dict[str, Any]) -> dict[str, Any]:
    """What the stock serializer writes for a plain `AttributeValue`, member by member."""
    out: dict[str, Any] = {}
    for name, _ in MEMBERS:
        member = value.get(name)
        if member is None:
            continue
        out[name] = _WRITERS[name](serializer, member)
    return out


def _map(serializer: Any, value: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key and _plain(item):  # (the stock code writes a value under an empty key into the map itself)
            out[key] = _attribute_value(serializer, item)
        elif item is not None:
            serializer._serialize(out, item, serializer.attribute_value_shape, key)
    return out


def _list(serializer: Any, value: list[Any]) -> list[Any]:
    out: list[Any] = []
    for item in value:
        if _plain(item):
            out.append(_attribute_value(serializer, item))
        elif item is None:
            out.append(None)  # as the stock list: an element that serializes to nothing stays as it was
        else:
            wrapper: dict[str, Any] = {}
            serializer._serialize(wrapper, item, serializer.attribute_value_shape, _SHAPE)
            out.append(wrapper.get(_SHAPE, item))
    return out


_WRITERS: dict[str, Callable[[Any, Any], Any]] = {
    "S": lambda _, v: _string(v),
    "N": lambda _, v: _string(v),
    "B": lambda serializer, v: serializer._base64(v),
    "SS": lambda _, v: [_string(item) for item in v],
    "NS": lambda _, v: [_string(item) for item in v],
    "BS": lambda serializer, v: [serializer._base64(item) for item in v],
    "M": _map,
    "L": _list,
    "NULL": lambda _, v: v,
    "BOOL": lambda _, v: v,
}

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
against the stock serializer).
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

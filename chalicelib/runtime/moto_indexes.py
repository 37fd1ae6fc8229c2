"""Give the embedded moto server DynamoDB's query cost: proportional to what a query returns.

moto 5.2.5 answers a Query on a table by sorting every item of the partition, and a Query on a
secondary index by scanning and sorting the whole table, so every tenant-wide read of the local
runtime cost O(stored items) where DynamoDB costs O(result). Here each table keeps, next to
moto's own items, one sorted list per partition for the table and for each secondary index:
entries ordered exactly as moto orders them (the index's range key, then the table's hash and
range keys), maintained on every write. A key-condition query then finds its first entry with
bisect and walks only what it returns; the copying, index projection, filter and projection
expression are moto's own code, so the answers are moto's answers (the differential test in
tests/functional/test_moto_indexes.py holds that against stock moto).

What keeps the index true. It is built from moto's items on a table's first query (so items
loaded straight into `table.items` before that are seen), then every write moto makes goes
through a hook that re-reads the written key from moto's items and moves its entries: a put or
delete of the table (`Table.put_item`, `Table.delete_item`, which moto's batch writes and
transactions call), an update (`DynamoDBBackend.update_item`, which changes items in place),
and a transaction's rollback (its targets are re-read after it, committed or not). A table whose
secondary indexes change is re-indexed on its next query. Anything that writes `table.items`
by other means after the first query must call `forget(table)`. Every hook runs inside moto's
request handling, which `moto_isolation` serializes, so the index never sees a half-done write.

What is not indexed falls through to moto's own query, unchanged: legacy `QueryFilter`s,
multi-attribute keys, key values of a type the table does not declare, and an ESK that is not a
key of the table or index.

moto's internals are what this patches, so it is written for one moto version and refuses to
install on another (moto is pinned in pyproject.toml).
"""

from __future__ import annotations

import bisect
import copy
import functools
import weakref
from collections.abc import Callable, Iterator
from typing import Any

MOTO_VERSION = "5.2.5"

Key = tuple[Any, Any]  # (hash DynamoType, range DynamoType or None): a table's primary key
PartKey = tuple[tuple[str, Any], ...]  # ((type, value), ...) of the partition attributes

_INDEXES: weakref.WeakKeyDictionary[Any, _TableIndex] = weakref.WeakKeyDictionary()
_STOCK: set[tuple[str, str]] = set()  # (account id, region) left to moto's own queries


def require_pinned_moto(what: str) -> None:
    """RuntimeError unless the installed moto is the one `what` (a patch of its internals) is
    written for."""
    import moto

    if moto.__version__ != MOTO_VERSION:
        raise RuntimeError(
            f"tasklane's {what} for the embedded backend are written for moto {MOTO_VERSION}, "
            f"found moto {moto.__version__}: install moto[server]=={MOTO_VERSION} (pyproject.toml pins it)")


def install() -> None:
    """Answer moto's DynamoDB queries from sorted indexes (idempotent). Also installs
    `moto_isolation`, whose lock these indexes rely on. Raises RuntimeError on another moto."""
    require_pinned_moto("query indexes")
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import Item
    from moto.dynamodb.models.table import Table

    from chalicelib.runtime import moto_isolation, moto_serializer

    moto_isolation.install()  # first: its transaction wrapper (rollback) must run inside ours
    moto_serializer.install()  # item values serialized in time proportional to what they hold
    moto_serializer.install_parser()  # and read so from requests
    if getattr(Table.query, "_tasklane_indexed", False):
        return
    Table.query = _patched(Table.query, _query)  # type: ignore[method-assign]
    Table.put_item = _patched(Table.put_item, _put_item)  # type: ignore[method-assign]
    Table.delete_item = _patched(Table.delete_item, _delete_item)  # type: ignore[method-assign]
    DynamoDBBackend.update_item = _patched(DynamoDBBackend.update_item, _update_item)  # type: ignore[method-assign]
    DynamoDBBackend.transact_write_items = _patched(  # type: ignore[method-assign]
        DynamoDBBackend.transact_write_items, _transact_write_items)
    Item.project = _patched(Item.project, _item_project)  # type: ignore[method-assign]


def leave_stock(account_id: str, region: str) -> None:
    """Let the tables of one account and region answer with moto's own query (the differential
    test compares the two in one process)."""
    _STOCK.add((account_id, region))


def forget(table: Any) -> None:
    """Drop a table's index; it is rebuilt from moto's items on the table's next query. For code
    that writes `table.items` directly."""
    _INDEXES.pop(table, None)


def _patched(original: Callable[..., Any], replacement: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def method(*args: Any, **kwargs: Any) -> Any:
        return replacement(original, *args, **kwargs)

    method._tasklane_indexed = True  # type: ignore[attr-defined]
    return method


# -- write hooks -----------------------------------------------------------------------------


def _put_item(original: Callable[..., Any], table: Any, *args: Any, **kwargs: Any) -> Any:
    item = original(table, *args, **kwargs)
    index = _INDEXES.get(table)
    if index is not None:
        index.refresh((item.hash_key, item.range_key))
    return item


def _delete_item(original: Callable[..., Any], table: Any, hash_key: Any, range_key: Any) -> Any:
    try:
        return original(table, hash_key, range_key)
    finally:
        index = _INDEXES.get(table)
        if index is not None:
            index.refresh((hash_key, range_key or None))


def _update_item(original: Callable[..., Any], backend: Any, table_name: str, key: Any, *args: Any,
                 **kwargs: Any) -> Any:
    try:
        return original(backend, table_name, key, *args, **kwargs)
    finally:  # moto changes the item in place, and may have changed part of it before failing
        table = backend.tables.get(table_name)
        index = _INDEXES.get(table) if table is not None else None
        if index is not None:
            primary = _key_of(table, key)
            if primary is not None:
                index.refresh(primary)


def _transact_write_items(original: Callable[..., Any], backend: Any, transact_items: list[dict[str, Any]]) -> Any:
    try:
        return original(backend, transact_items)
    finally:  # a cancelled transaction restored its targets behind moto's back: re-read them
        for entry in transact_items:
            _kind, op = next(iter(entry.items()))
            table = backend.tables.get(op.get("TableName"))
            index = _INDEXES.get(table) if table is not None else None
            if index is None:
                continue
            primary = _key_of(table, op.get("Item") or op.get("Key") or {})
            if primary is not None:
                index.refresh(primary)


def _key_of(table: Any, attrs: dict[str, Any]) -> Key | None:
    from moto.dynamodb.models.dynamo_type import DynamoType

    if not isinstance(attrs, dict) or table.hash_key_attr not in attrs:
        return None
    range_key = None
    if table.range_key_attr is not None:
        if table.range_key_attr not in attrs:
            return None
        range_key = DynamoType(attrs[table.range_key_attr])
    return DynamoType(attrs[table.hash_key_attr]), range_key


# -- the index -------------------------------------------------------------------------------


class _Sorted:
    """The entries of the table or of one secondary index, per partition, in moto's query order.

    An entry is (sort value, ..., primary key): the cast values of the attributes moto sorts by
    after the partition attributes, then the item's primary key (never compared: the sort values
    end with the table's keys, so they are unique in a partition)."""

    def __init__(self, part_attrs: list[str], sort_attrs: list[str], member_attrs: list[str],
                 types: dict[str, str]) -> None:
        self.part_attrs = part_attrs
        self.sort_attrs = sort_attrs
        self.member_attrs = member_attrs  # an item belongs if it has all of these
        self.types = types  # declared type of every attribute above
        self.parts: dict[PartKey, list[tuple[Any, ...]]] = {}
        self.where: dict[Key, tuple[PartKey, tuple[Any, ...]]] = {}
        self.usable = True  # False once an item holds a key value of an undeclared type

    def add(self, primary: Key, item: Any) -> None:
        attrs = item.attrs
        if any(name not in attrs for name in self.member_attrs):
            return
        for name in (*self.part_attrs, *self.sort_attrs):
            if attrs[name].type != self.types[name]:
                self.usable = False  # moto would compare across types; leave such queries to it
                return
        part = tuple((attrs[name].type, attrs[name].cast_value) for name in self.part_attrs)
        entry = (*(attrs[name].cast_value for name in self.sort_attrs), primary)
        bisect.insort(self.parts.setdefault(part, []), entry, key=_sort_values)
        self.where[primary] = (part, entry)

    def remove(self, primary: Key) -> None:
        placed = self.where.pop(primary, None)
        if placed is None:
            return
        part, entry = placed
        entries = self.parts[part]
        at = bisect.bisect_left(entries, _sort_values(entry), key=_sort_values)
        del entries[at]
        if not entries:
            del self.parts[part]


def _sort_values(entry: tuple[Any, ...]) -> tuple[Any, ...]:
    return entry[:-1]


def _first(entry: tuple[Any, ...]) -> Any:
    return entry[0]


class _TableIndex:
    def __init__(self, table: Any) -> None:
        self.table = table
        self.signature = _signature(table)
        types = {a["AttributeName"]: a["AttributeType"] for a in table.attr}
        hash_attr, range_attr = table.hash_key_attr, table.range_key_attr
        sort_attrs = [range_attr] if range_attr else []
        self.base = _Sorted([hash_attr], sort_attrs, [hash_attr, *sort_attrs], types)
        self.by_index: dict[str, _Sorted] = {}
        for index in table.all_indexes():
            hashes = [k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"]
            ranges = [k["AttributeName"] for k in index.schema if k["KeyType"] == "RANGE"]
            if len(hashes) != 1 or len(ranges) > 1:
                continue  # multi-attribute keys: moto's own query
            # moto's order for an index query (Table.query, Table._generate_attr_to_sort_by)
            if ranges:
                range_attrs: list[str | None] = [ranges[0], range_attr]
            else:
                range_attrs = [range_attr if range_attr else hash_attr, range_attr]
            order = table._generate_attr_to_sort_by([*hashes, hash_attr], range_attrs)
            if order[0] != hashes[0] or any(name not in types for name in order):
                continue
            self.by_index[index.name] = _Sorted(hashes, order[1:], [*hashes, *ranges], types)
        for primary, item in _all_items(table):
            self._add(primary, item)

    def _structures(self) -> Iterator[_Sorted]:
        yield self.base
        yield from self.by_index.values()

    def _add(self, primary: Key, item: Any) -> None:
        for structure in self._structures():
            structure.add(primary, item)

    def refresh(self, primary: Key) -> None:
        """Make the entries of one primary key what moto's items hold now."""
        for structure in self._structures():
            structure.remove(primary)
        item = _current(self.table, primary)
        if item is not None:
            self._add(primary, item)


def _signature(table: Any) -> Any:
    return (
        table.hash_key_attr, table.range_key_attr,
        tuple((a["AttributeName"], a["AttributeType"]) for a in table.attr),
        tuple((i.name, tuple((k["AttributeName"], k["KeyType"]) for k in i.schema)) for i in table.all_indexes()),
    )


def _all_items(table: Any) -> Iterator[tuple[Key, Any]]:
    from moto.dynamodb.models.dynamo_type import Item

    for hash_key, held in list(table.items.items()):
        if table.range_key_attr:
            for range_key, item in list(held.items()):
                if isinstance(item, Item):
                    yield (hash_key, range_key), item
        elif isinstance(held, Item):
            yield (hash_key, None), held


def _current(table: Any, primary: Key) -> Any:
    from moto.dynamodb.models.dynamo_type import Item

    hash_key, range_key = primary
    held = table.items.get(hash_key)  # .get: moto's items are a defaultdict
    if held is None:
        return None
    item = held.get(range_key) if table.range_key_attr else held
    return item if isinstance(item, Item) else None


def _index_of(table: Any) -> _TableIndex | None:
    if (table.account_id, table.region_name) in _STOCK:
        return None
    index = _INDEXES.get(table)
    if index is None or index.signature != _signature(table):
        index = _INDEXES[table] = _TableIndex(table)
    return index


# -- the query -------------------------------------------------------------------------------


def _query(original: Callable[..., Any], table: Any, hash_key: Any, range_comparison: str | None,
           range_objs: list[Any], limit: int | None, exclusive_start_key: dict[str, Any] | None,
           scan_index_forward: bool, projection_expressions: Any, index_name: str | None = None,
           consistent_read: bool = False, filter_expression: Any = None,
           hash_key_conditions: list[tuple[str, Any]] | None = None,
           range_key_conditions: list[tuple[str, str, list[Any]]] | None = None,
           **filter_kwargs: Any) -> Any:
    answer = None
    if not filter_kwargs:
        index = _index_of(table)
        if index is not None:
            answer = _indexed_query(table, index, hash_key, range_comparison, range_objs, limit,
                                    exclusive_start_key, scan_index_forward, index_name, consistent_read,
                                    hash_key_conditions or [], range_key_conditions or [])
    if answer is None:
        return original(table, hash_key, range_comparison, range_objs, limit, exclusive_start_key,
                        scan_index_forward, projection_expressions, index_name, consistent_read,
                        filter_expression, hash_key_conditions=hash_key_conditions,
                        range_key_conditions=range_key_conditions, **filter_kwargs)
    results, last_evaluated_key = answer
    # From here on, moto's own Table.query, so the items come out as moto makes them.
    scanned_count = len(results)
    if index_name:
        secondary = table.get_index(index_name)
        results = [_project(secondary, r) for r in results]
    else:
        results = copy.deepcopy(results)
    if filter_expression is not None:
        results = [item for item in results if filter_expression.expr(item)]
    if projection_expressions:
        results = [r.project(projection_expressions) for r in results]
    return results, scanned_count, last_evaluated_key


#: Attribute types whose value moto's projection gives back unchanged (it turns the whole item
#: into plain Python values and serializes the picked ones again; a number can come back
#: written another way, `1e2` as `1E+2`, so numbers and everything else stay with moto).
_VERBATIM_TYPES = frozenset({"S", "BOOL"})


def _item_project(original: Callable[..., Any], item: Any, projection_expressions: list[list[str]]) -> Any:
    """`Item.project` for a projection of top-level attributes of text or boolean values (what
    the stores ask for): the picked attributes copied, where moto converts the whole item to
    plain JSON and back once per projected path. Any other projection is moto's."""

    attrs: dict[str, Any] = {}
    for expression in projection_expressions:
        if len(expression) != 1 or "[" in expression[0]:
            return original(item, projection_expressions)
        name = expression[0]
        value = item.attrs.get(name)
        if value is None or name in attrs:
            continue
        if value.type not in _VERBATIM_TYPES:
            return original(item, projection_expressions)
        attrs[name] = {value.type: value.value}
    return _item_of(item.hash_key, item.range_key, attrs)


def _item_of(hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> Any:
    """`Item(hash_key, range_key, attrs)` for attributes taken from a stored item: moto's
    constructor checks the 400 KB limit again on every attribute it sets (summing the sizes of
    all set so far), which a part of an item that passed it cannot exceed."""
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    made = Item(hash_key=hash_key, range_key=range_key, attrs={})
    dict.update(made.attrs, {name: DynamoType(value) for name, value in attrs.items()})
    return made


def _project(secondary: Any, item: Any) -> Any:
    """A copy of `item` as the index holds it: `secondary.project(copy.deepcopy(item))`. moto's
    projection turns the whole item into plain JSON and back once per key attribute; a
    KEYS_ONLY index whose keys are strings is projected here by copying those attributes."""

    if (secondary.projection or {}).get("ProjectionType") != "KEYS_ONLY":
        return secondary.project(copy.deepcopy(item))
    attrs: dict[str, Any] = {}
    for name in [*secondary.table_key_attrs, *(key["AttributeName"] for key in secondary.schema)]:
        value = item.attrs.get(name)
        if value is None or name in attrs:
            continue
        if value.type != "S":
            return secondary.project(copy.deepcopy(item))
        attrs[name] = {"S": value.value}
    return _item_of(copy.deepcopy(item.hash_key), copy.deepcopy(item.range_key), attrs)


def _indexed_query(table: Any, index: _TableIndex, hash_key: Any, range_comparison: str | None,
                   range_objs: list[Any], limit: int | None, exclusive_start_key: dict[str, Any] | None,
                   forward: bool, index_name: str | None, consistent_read: bool,
                   hash_key_conditions: list[tuple[str, Any]],
                   range_key_conditions: list[tuple[str, str, list[Any]]]) -> tuple[list[Any], Any] | None:
    """The items of one page and its LastEvaluatedKey, as moto's Table.query finds them, or None
    where the query is one to leave to moto."""
    from moto.dynamodb.models.table import RESULT_SIZE_LIMIT, GlobalSecondaryIndex

    if index_name:
        structure = index.by_index.get(index_name)
        if structure is None:
            return None  # unknown index (moto raises) or one with multi-attribute keys
        if consistent_read and isinstance(table.get_index(index_name), GlobalSecondaryIndex):
            return None  # moto refuses it
        if len(structure.member_attrs) == 1 and range_comparison:
            return None  # moto refuses a range condition on an index without a range key
        if len(hash_key_conditions) != 1 or hash_key_conditions[0][0] != structure.part_attrs[0]:
            return None
        wanted = hash_key_conditions[0][1]
    else:
        structure = index.base
        if hash_key is None:
            return None
        wanted = hash_key
    if not structure.usable or wanted.type != structure.types[structure.part_attrs[0]]:
        return None
    if range_comparison:
        if len(range_key_conditions) != 1:
            return None
        name, comparison, values = range_key_conditions[0]
        if (name != structure.sort_attrs[0] or comparison != range_comparison or len(values) != len(range_objs)
                or any(v.type != structure.types[name] for v in range_objs)):
            return None
    elif range_key_conditions:
        return None

    part = ((wanted.type, wanted.cast_value),)
    entries = structure.parts.get(part, [])
    count = len(entries)

    # Where moto's walk starts: after the ExclusiveStartKey, in the walk's direction.
    start, stop = 0, count  # the walk covers entries[start:stop], reversed if not forward
    if exclusive_start_key is not None:
        bound = _start_bound(structure, part, exclusive_start_key, forward)
        if bound is None:
            return None
        if bound == "all":
            start = stop = 0
        elif bound != "none":
            if forward:
                start = bisect.bisect_right(entries, bound, key=_sort_values)
            else:
                stop = bisect.bisect_left(entries, bound, key=_sort_values)

    # Which entries match the key condition: one run of the sorted entries.
    low, high = 0, count
    if range_comparison:
        span = _span(entries, range_comparison, [v.cast_value for v in range_objs], structure.types[name])
        if span is None:
            return None
        low, high = span
    low, high = max(low, start), min(high, stop)

    results: list[Any] = []
    result_size = 0
    last_evaluated_key = None
    positions = range(low, high) if forward else range(high - 1, low - 1, -1)
    last_position = None
    for position in positions:
        item = _current(table, entries[position][-1])
        if item is None:
            raise RuntimeError(f"tasklane moto index out of step with table {table.name}")
        size = item.size()
        if len(results) == limit or result_size + size > RESULT_SIZE_LIMIT:
            last_evaluated_key = table._get_last_evaluated_key(results[-1], index_name)
            break
        results.append(item)
        result_size += size
        last_position = position
    else:
        # moto walks on past the matching run to the partition's end and stops at the next item
        # when the page is full (by count, or by size: any item that would not fit).
        if results and last_position is not None:
            rest = range(last_position + 1, stop) if forward else range(last_position - 1, start - 1, -1)
            if len(rest) and (len(results) == limit or _any_too_big(table, entries, rest, result_size,
                                                                  RESULT_SIZE_LIMIT)):
                last_evaluated_key = table._get_last_evaluated_key(results[-1], index_name)
    return results, last_evaluated_key


_LARGEST_ITEM = 400 * 1024  # DynamoDB's (and moto's) item size limit


def _any_too_big(table: Any, entries: list[tuple[Any, ...]], rest: range, result_size: int, limit: int) -> bool:
    if result_size + _LARGEST_ITEM <= limit:
        return False  # no item can push the page over
    return any(result_size + _current(table, entries[p][-1]).size() > limit for p in rest)


def _start_bound(structure: _Sorted, part: PartKey, exclusive_start_key: dict[str, Any],
                 forward: bool) -> Any:
    """The sort values of the ExclusiveStartKey, or "all"/"none" when it names another partition
    (moto then skips every item or none), or None when it is not a key of the structure."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    values = []
    for name in (*structure.part_attrs, *structure.sort_attrs):
        raw = exclusive_start_key.get(name)
        if not isinstance(raw, dict) or len(raw) != 1:
            return None
        value = DynamoType(raw)
        if value.type != structure.types[name]:
            return None
        values.append(value.cast_value)
    named = tuple(values[:len(structure.part_attrs)])
    ours = tuple(value for _type, value in part)
    if named != ours:  # moto compares the partition attribute first (Table._item_comes_before_dct)
        return "all" if (ours < named) == forward else "none"
    return tuple(values[len(structure.part_attrs):])


def _span(entries: list[tuple[Any, ...]], comparison: str, values: list[Any], declared: str) -> tuple[int, int] | None:
    count = len(entries)
    if comparison == "BEGINS_WITH":
        if declared != "S" or len(values) != 1 or not isinstance(values[0], str):
            return None
        prefix = values[0]
        low = bisect.bisect_left(entries, prefix, key=_first)
        if prefix and ord(prefix[-1]) < 0x10FFFF:
            successor = prefix[:-1] + chr(ord(prefix[-1]) + 1)
            return low, bisect.bisect_left(entries, successor, key=_first)
        high = low
        while high < count and entries[high][0].startswith(prefix):
            high += 1
        return low, high
    if comparison == "BETWEEN":
        if len(values) != 2:
            return None
        low = bisect.bisect_left(entries, values[0], key=_first)
        return low, max(low, bisect.bisect_right(entries, values[1], key=_first))
    if len(values) != 1:
        return None
    value = values[0]
    if comparison in ("=", "EQ"):
        return bisect.bisect_left(entries, value, key=_first), bisect.bisect_right(entries, value, key=_first)
    if comparison in ("<", "LT"):
        return 0, bisect.bisect_left(entries, value, key=_first)
    if comparison in ("<=", "LE"):
        return 0, bisect.bisect_right(entries, value, key=_first)
    if comparison in (">", "GT"):
        return bisect.bisect_right(entries, value, key=_first), count
    if comparison in (">=", "GE"):
        return bisect.bisect_left(entries, value, key=_first), count
    return None

"""The embedded backend's indexed queries give stock moto's answers (chalicelib/runtime/moto_indexes).

A differential, stateful property test: the same random writes go to two copies of a table shaped
like ours (string hash and range keys, GSIs with hash and range keys, sparse GSI items, a hash-only
GSI, an LSI), one in a region whose tables answer from the sorted indexes, one in a region left to
moto's own query; every query (each key condition, both directions, Limit and ExclusiveStartKey
paging, filters, projections) must come back the same from both, page by page.

    TASKLANE_HYPOTHESIS_EXAMPLES=2000 .venv/bin/python -m pytest -q -p no:cacheprovider \
        tests/functional/test_moto_indexes.py     # a longer run than the default
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from moto import mock_aws

from chalicelib.runtime import moto_indexes

ACCOUNT = "123456789012"  # moto's default account
INDEXED, STOCK = "eu-west-1", "eu-west-2"
EXAMPLES = int(os.environ.get("TASKLANE_HYPOTHESIS_EXAMPLES", "60"))

moto_indexes.install()
moto_indexes.leave_stock(ACCOUNT, STOCK)

# Few values, so partitions fill up and keys tie, share prefixes and collide.
PARTITIONS = st.sampled_from(["a", "b"])
SORTS = st.sampled_from(["a", "aa", "ab", "abc", "b", "ba", "bb", "c"])
MAYBE = st.one_of(st.none(), SORTS)
TARGETS = st.sampled_from(["table", "g_all", "g_keys", "g_hash", "l_local"])
OPERATORS = st.sampled_from([None, "=", "<", "<=", ">", ">=", "BETWEEN", "begins_with"])


def _create(client: Any) -> None:
    client.create_table(
        TableName="t", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": name, "AttributeType": "S"}
                              for name in ("pk", "sk", "gpk", "gsk", "rid", "lsk")],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {"IndexName": "g_all", "Projection": {"ProjectionType": "ALL"},
             "KeySchema": [{"AttributeName": "gpk", "KeyType": "HASH"}, {"AttributeName": "gsk", "KeyType": "RANGE"}]},
            {"IndexName": "g_keys", "Projection": {"ProjectionType": "KEYS_ONLY"},
             "KeySchema": [{"AttributeName": "gsk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]},
            {"IndexName": "g_hash", "Projection": {"ProjectionType": "KEYS_ONLY"},
             "KeySchema": [{"AttributeName": "rid", "KeyType": "HASH"}]},
        ],
        LocalSecondaryIndexes=[
            {"IndexName": "l_local", "Projection": {"ProjectionType": "ALL"},
             "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "lsk", "KeyType": "RANGE"}]},
        ],
    )


def _item(pk: str, sk: str, gpk: str | None, gsk: str | None, lsk: str | None, rid: str | None,
          value: int) -> dict[str, Any]:
    item: dict[str, Any] = {"pk": {"S": pk}, "sk": {"S": sk}, "v": {"N": str(value)}}
    for name, held in (("gpk", gpk), ("gsk", gsk), ("lsk", lsk), ("rid", rid)):
        if held is not None:
            item[name] = {"S": held}
    return item


def _call(client: Any, operation: str, **kwargs: Any) -> Any:
    try:
        answer = getattr(client, operation)(**kwargs)
    except ClientError as error:
        return ("error", error.response["Error"]["Code"])
    answer.pop("ResponseMetadata", None)
    return answer


class Differential(RuleBasedStateMachine):
    """Writes go to both regions; every answer must be the same."""

    #: Answers compared across all runs of the machine (the test checks some were).
    compared = 0

    @initialize()
    def start(self) -> None:
        self.clients = [boto3.client("dynamodb", region_name=region) for region in (INDEXED, STOCK)]
        for client in self.clients:
            with contextlib.suppress(client.exceptions.ResourceNotFoundException):  # first example: none yet
                client.delete_table(TableName="t")
            _create(client)
        self.queries = 0

    def _both(self, operation: str, **kwargs: Any) -> Any:
        indexed, stock = (_call(client, operation, **kwargs) for client in self.clients)
        assert indexed == stock, (operation, kwargs)
        Differential.compared += 1
        return indexed

    @rule(pk=PARTITIONS, sk=SORTS, gpk=st.one_of(st.none(), PARTITIONS), gsk=MAYBE, lsk=MAYBE,
          rid=MAYBE, value=st.integers(0, 9), only_new=st.booleans())
    def put(self, pk: str, sk: str, gpk: str | None, gsk: str | None, lsk: str | None, rid: str | None,
            value: int, only_new: bool) -> None:
        extra = {"ConditionExpression": "attribute_not_exists(pk)"} if only_new else {}
        self._both("put_item", TableName="t", Item=_item(pk, sk, gpk, gsk, lsk, rid, value), **extra)

    @rule(pk=PARTITIONS, sk=SORTS, gpk=st.one_of(st.none(), PARTITIONS), gsk=MAYBE, lsk=MAYBE,
          value=st.integers(0, 9), condition=st.sampled_from([None, "exists", "v_below"]))
    def update(self, pk: str, sk: str, gpk: str | None, gsk: str | None, lsk: str | None, value: int,
               condition: str | None) -> None:
        sets, removes, values = ["v = :v"], [], {":v": {"N": str(value)}}
        for name, held in (("gpk", gpk), ("gsk", gsk), ("lsk", lsk)):
            if held is None:
                removes.append(name)
            else:
                sets.append(f"{name} = :{name}")
                values[f":{name}"] = {"S": held}
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        extra: dict[str, Any] = {}
        if condition == "exists":
            extra["ConditionExpression"] = "attribute_exists(pk)"
        elif condition == "v_below":
            extra["ConditionExpression"] = "v < :v"
        self._both("update_item", TableName="t", Key={"pk": {"S": pk}, "sk": {"S": sk}},
                   UpdateExpression=expression, ExpressionAttributeValues=values, ReturnValues="ALL_NEW", **extra)

    @rule(pk=PARTITIONS, sk=SORTS, conditional=st.booleans())
    def delete(self, pk: str, sk: str, conditional: bool) -> None:
        extra = {"ConditionExpression": "attribute_exists(gsk)"} if conditional else {}
        self._both("delete_item", TableName="t", Key={"pk": {"S": pk}, "sk": {"S": sk}}, **extra)

    @rule(pk=PARTITIONS, first=SORTS, second=SORTS, gsk=MAYBE, rid=MAYBE, fail=st.booleans(),
          delete_second=st.booleans())
    def transact(self, pk: str, first: str, second: str, gsk: str | None, rid: str | None, fail: bool,
                 delete_second: bool) -> None:
        if first == second:
            return
        items: list[dict[str, Any]] = [{"Put": {"TableName": "t", "Item": _item(pk, first, pk, gsk, gsk, rid, 1)}}]
        key = {"pk": {"S": pk}, "sk": {"S": second}}
        if delete_second:
            items.append({"Delete": {"TableName": "t", "Key": key}})
        else:
            items.append({"Update": {"TableName": "t", "Key": key, "UpdateExpression": "SET gpk = :g, gsk = :s",
                                     "ExpressionAttributeValues": {":g": {"S": pk}, ":s": {"S": first}}}})
        if fail:  # cancelled after the first write: the rollback must reach the index too
            items[1][next(iter(items[1]))]["ConditionExpression"] = "attribute_exists(nothing_has_this)"
        self._both("transact_write_items", TransactItems=items)

    @rule(pk=PARTITIONS, sks=st.lists(SORTS, min_size=1, max_size=6, unique=True), gsk=MAYBE)
    def batch(self, pk: str, sks: list[str], gsk: str | None) -> None:
        requests = [{"PutRequest": {"Item": _item(pk, sk, pk, gsk or sk, sk, sk, 2)}} for sk in sks[:-1]]
        requests.append({"DeleteRequest": {"Key": {"pk": {"S": pk}, "sk": {"S": sks[-1]}}}})
        self._both("batch_write_item", RequestItems={"t": requests})

    @rule(on=TARGETS, partition=st.sampled_from(["a", "b", "ab", "c"]), operator=OPERATORS, low=SORTS, high=SORTS,
          forward=st.booleans(), limit=st.one_of(st.none(), st.integers(1, 4)), filtered=st.booleans(),
          projected=st.booleans())
    def query(self, on: str, partition: str, operator: str | None, low: str, high: str, forward: bool,
              limit: int | None, filtered: bool, projected: bool) -> None:
        hash_name, range_name = {"table": ("pk", "sk"), "g_all": ("gpk", "gsk"), "g_keys": ("gsk", "sk"),
                                 "g_hash": ("rid", None), "l_local": ("pk", "lsk")}[on]
        if range_name is None:
            operator = None
        names = {"#h": hash_name}
        values: dict[str, Any] = {":h": {"S": partition}}
        condition = "#h = :h"
        if operator is not None:
            names["#r"] = range_name  # type: ignore[assignment]
            values[":lo"] = {"S": low}
            if operator == "BETWEEN":
                low, high = sorted((low, high))
                values[":lo"], values[":hi"] = {"S": low}, {"S": high}
                condition += " AND #r BETWEEN :lo AND :hi"
            elif operator == "begins_with":
                condition += " AND begins_with(#r, :lo)"
            else:
                condition += f" AND #r {operator} :lo"
        kwargs: dict[str, Any] = {"TableName": "t", "KeyConditionExpression": condition,
                                  "ExpressionAttributeNames": names, "ExpressionAttributeValues": values,
                                  "ScanIndexForward": forward}
        if on != "table":
            kwargs["IndexName"] = on
        if limit is not None:
            kwargs["Limit"] = limit
        if filtered:
            kwargs["FilterExpression"] = "v > :f"
            values[":f"] = {"N": "4"}
        if projected:
            kwargs["ProjectionExpression"] = "pk, sk, v"
        self.queries += 1
        for _page in range(100):  # at most a few dozen items: far fewer pages than this
            answer = self._both("query", **kwargs)
            if not isinstance(answer, dict) or "LastEvaluatedKey" not in answer:
                return
            kwargs["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
        raise AssertionError("paging did not end")

    @invariant()
    def same_items(self) -> None:
        if not hasattr(self, "clients"):
            return
        indexed, stock = (client.scan(TableName="t")["Items"] for client in self.clients)
        key = lambda item: (item["pk"]["S"], item["sk"]["S"])  # noqa: E731
        assert sorted(indexed, key=key) == sorted(stock, key=key)


Differential.TestCase.settings = settings(max_examples=EXAMPLES, stateful_step_count=50, deadline=None,
                                          suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture
def regions():
    with mock_aws():
        yield


def test_indexed_queries_answer_as_stock_moto(regions):
    """The state machine's rules and invariant assert that both backends answer alike."""
    before = Differential.compared
    Differential.TestCase().runTest()
    assert Differential.compared > before


def test_the_indexes_answer_rather_than_moto(regions, monkeypatch):
    """Each key condition on the table and on each index is answered from the index (the
    differential test alone would pass if every query fell through to moto)."""
    answered: list[bool] = []
    real = moto_indexes._indexed_query

    def spy(*args, **kwargs):
        answer = real(*args, **kwargs)
        answered.append(answer is not None)
        return answer

    monkeypatch.setattr(moto_indexes, "_indexed_query", spy)
    client = boto3.client("dynamodb", region_name=INDEXED)
    _create(client)
    for n in range(5):
        client.put_item(TableName="t", Item=_item("a", f"s{n}", "a", f"g{n}", f"l{n}", f"r{n}", n))
    conditions = ["", " AND #r = :v", " AND #r < :v", " AND #r <= :v", " AND #r > :v", " AND #r >= :v",
                  " AND #r BETWEEN :v AND :w", " AND begins_with(#r, :v)"]
    asked = 0
    for index, hash_name, range_name, low in ((None, "pk", "sk", "s"), ("g_all", "gpk", "gsk", "g"),
                                              ("l_local", "pk", "lsk", "l"), ("g_hash", "rid", None, "r")):
        for condition in conditions if range_name else [""]:
            names = {"#h": hash_name, **({"#r": range_name} if condition else {})}
            values = {":h": {"S": "a" if hash_name != "rid" else "r1"}}
            if condition:
                values[":v"] = {"S": low + "1"}
            if "BETWEEN" in condition:
                values[":w"] = {"S": low + "3"}
            kwargs = {"IndexName": index} if index else {}
            for forward in (True, False):
                client.query(TableName="t", KeyConditionExpression="#h = :h" + condition, Limit=2,
                             ExpressionAttributeNames=names, ExpressionAttributeValues=values,
                             ScanIndexForward=forward, **kwargs)
                asked += 1
    assert answered == [True] * asked


def test_a_query_reads_its_page_not_the_table(regions, monkeypatch):
    """moto walks every item of the table for a GSI query (Table.all_items); the indexed query
    reads only the items of its page."""
    from moto.dynamodb.models.table import Table

    client = boto3.client("dynamodb", region_name=INDEXED)
    _create(client)
    for n in range(300):
        client.put_item(TableName="t", Item=_item(f"p{n % 30}", f"s{n:03d}", f"p{n % 30}", f"g{n:03d}", None, None, 1))

    def whole_table(self):
        raise AssertionError("the query walked the whole table")

    monkeypatch.setattr(Table, "all_items", whole_table)
    page = client.query(TableName="t", IndexName="g_all", KeyConditionExpression="gpk = :h AND gsk > :g",
                        ExpressionAttributeValues={":h": {"S": "p7"}, ":g": {"S": "g100"}}, Limit=3)
    assert [item["gsk"]["S"] for item in page["Items"]] == ["g127", "g157", "g187"]
    page = client.query(TableName="t", KeyConditionExpression="pk = :h AND begins_with(sk, :s)",
                        ExpressionAttributeValues={":h": {"S": "p7"}, ":s": {"S": "s1"}}, ScanIndexForward=False)
    assert [item["sk"]["S"] for item in page["Items"]] == ["s187", "s157", "s127"]


def test_refuses_another_moto_version(monkeypatch):
    import moto

    monkeypatch.setattr(moto, "__version__", "9.9.9")
    with pytest.raises(RuntimeError, match="written for moto 5.2.5, found moto 9.9.9"):
        moto_indexes.install()

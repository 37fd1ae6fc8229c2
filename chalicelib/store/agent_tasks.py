"""Agent tasks in the tasks table, beside the other faces' tasks under the tenant's partition.

A task is a record (pk = tenant, sk = "agent#task#<id>", data = its stored form, counter = its
revision). The edges read backwards are records of their own, written in the same transaction
as the task: "agent#child#<parent>#<child>" and "agent#dep#<blocker>#<dependent>", so a
parent's children and a task's dependents are one query each. "agent#number" counts the
tenant's tasks for identifiers.
"""

from __future__ import annotations

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from chalicelib.engine.agent_model import AgentTask, task_from_data, task_to_data
from chalicelib.errors import Conflict, NotFound
from chalicelib.store import metrics
from chalicelib.store.conditions import conditional
from chalicelib.store.models import RecordItem, transaction_connection
from chalicelib.timefmt import to_iso

TASK_PREFIX = "agent#task#"


def _child(parent: str, child: str) -> str:
    return f"agent#child#{parent}#{child}"


def _dependent(blocker: str, dependent: str) -> str:
    return f"agent#dep#{blocker}#{dependent}"


def _from_item(tenant: str, item: RecordItem) -> AgentTask:
    return task_from_data(tenant, item.sk[len(TASK_PREFIX):], int(item.counter), item.data)


def _failed(exc: TransactWriteError) -> list[bool]:
    return [reason is not None and reason.code == "ConditionalCheckFailed" for reason in exc.cancellation_reasons or []]


class DynamoAgentTaskStore:
    """`AgentTaskStore` over the tasks table's records."""

    def create_task(self, task: AgentTask) -> None:
        item = RecordItem(task.tenant, TASK_PREFIX + task.task_id, data=task_to_data(task), counter=1,
                          updated_at=to_iso(task.updated_at))
        try:
            with TransactWrite(connection=transaction_connection()) as transaction:
                transaction.save(item, condition=RecordItem.sk.does_not_exist())
                if task.parent_task_id is not None:
                    transaction.condition_check(RecordItem, task.tenant, TASK_PREFIX + task.parent_task_id,
                                                condition=RecordItem.sk.exists())
                    transaction.save(RecordItem(task.tenant, _child(task.parent_task_id, task.task_id)))
        except TransactWriteError as exc:
            if any(_failed(exc)):
                raise Conflict(f"task {task.task_id} exists or its parent is gone") from exc
            raise

    def get_task(self, tenant: str, task_id: str) -> AgentTask:
        try:
            item = RecordItem.get(tenant, TASK_PREFIX + task_id, consistent_read=True)
        except DoesNotExist as exc:
            raise NotFound(f"task {task_id} not found") from exc
        metrics.count_read()
        return _from_item(tenant, item)

    def save_task(self, task: AgentTask, *, expected_revision: int, dependency_added: str | None = None,
                  dependency_removed: str | None = None) -> AgentTask:
        item = RecordItem(task.tenant, TASK_PREFIX + task.task_id)
        actions: list[Action] = [RecordItem.data.set(task_to_data(task)), RecordItem.counter.set(expected_revision + 1),
                   RecordItem.updated_at.set(to_iso(task.updated_at))]
        condition = RecordItem.sk.exists() & (RecordItem.counter == expected_revision)
        if dependency_added is None and dependency_removed is None:  # one item: no transaction needed
            if not conditional(lambda: item.update(actions=actions, condition=condition)):
                self.get_task(task.tenant, task.task_id)  # NotFound when it is gone
                raise Conflict(f"task {task.task_id} was changed concurrently")
            return task.changed(revision=expected_revision + 1)
        try:
            with TransactWrite(connection=transaction_connection()) as transaction:
                transaction.update(item, actions=actions, condition=condition)
                if dependency_added is not None:
                    transaction.save(RecordItem(task.tenant, _dependent(dependency_added, task.task_id)))
                if dependency_removed is not None:
                    transaction.delete(RecordItem(task.tenant, _dependent(dependency_removed, task.task_id)))
        except TransactWriteError as exc:
            if any(_failed(exc)):
                self.get_task(task.tenant, task.task_id)  # NotFound when it is gone
                raise Conflict(f"task {task.task_id} was changed concurrently") from exc
            raise
        return task.changed(revision=expected_revision + 1)  # what was written: no second read

    def delete_task(self, tenant: str, task_id: str) -> None:
        task = self.get_task(tenant, task_id)
        try:
            with TransactWrite(connection=transaction_connection()) as transaction:
                transaction.delete(RecordItem(tenant, TASK_PREFIX + task_id), condition=RecordItem.sk.exists())
                if task.parent_task_id is not None:
                    transaction.delete(RecordItem(tenant, _child(task.parent_task_id, task_id)))
                for blocker in task.depends_on:
                    transaction.delete(RecordItem(tenant, _dependent(blocker, task_id)))
        except TransactWriteError as exc:
            if any(_failed(exc)):
                raise NotFound(f"task {task_id} not found") from exc
            raise

    def list_tasks(self, tenant: str, *, after: str | None, limit: int) -> tuple[list[AgentTask], str | None]:
        start = {"pk": {"S": tenant}, "sk": {"S": TASK_PREFIX + after}} if after else None
        result = RecordItem.query(tenant, RecordItem.sk.startswith(TASK_PREFIX), limit=limit + 1,
                                  page_size=limit + 1, last_evaluated_key=start, consistent_read=True)
        tasks = []
        for item in result:
            metrics.count_read()
            tasks.append(_from_item(tenant, item))
        page = tasks[:limit]
        return page, page[-1].task_id if len(tasks) > limit else None

    def _edges(self, tenant: str, prefix: str) -> list[str]:
        ids = []
        for item in RecordItem.query(tenant, RecordItem.sk.startswith(prefix), consistent_read=True):
            metrics.count_read()
            ids.append(item.sk[len(prefix):])
        return ids

    def children(self, tenant: str, parent_id: str) -> list[str]:
        return self._edges(tenant, f"agent#child#{parent_id}#")

    def dependents(self, tenant: str, task_id: str) -> list[str]:
        return self._edges(tenant, f"agent#dep#{task_id}#")

    def next_number(self, tenant: str) -> int:
        updated = RecordItem(tenant, "agent#number").update(actions=[RecordItem.counter.add(1)])
        return int(updated["Attributes"]["counter"]["N"])

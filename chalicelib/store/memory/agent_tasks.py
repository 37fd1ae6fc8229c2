"""Agent tasks in memory, under the conditions of the deployed store (store/agent_tasks.py)."""

from __future__ import annotations

from chalicelib.engine.agent_model import AgentTask, task_from_data, task_to_data
from chalicelib.errors import Conflict, NotFound
from chalicelib.store.memory.state import MemoryState, copied


class MemoryAgentTaskStore:
    """`AgentTaskStore` in memory: children and dependents are read off the stored tasks."""

    def __init__(self, state: MemoryState) -> None:
        self._state = state

    def _task(self, tenant: str, task_id: str) -> AgentTask:
        row = self._state.agent_tasks.get((tenant, task_id))
        if row is None:
            raise NotFound(f"task {task_id} not found")
        return task_from_data(tenant, task_id, row[0], copied(row[1]))

    def create_task(self, task: AgentTask) -> None:
        with self._state.lock:
            if (task.tenant, task.task_id) in self._state.agent_tasks:
                raise Conflict(f"task {task.task_id} exists")
            if task.parent_task_id is not None and (task.tenant, task.parent_task_id) not in self._state.agent_tasks:
                raise Conflict(f"parent task {task.parent_task_id} is gone")
            self._state.agent_tasks[(task.tenant, task.task_id)] = (1, task_to_data(task))

    def get_task(self, tenant: str, task_id: str) -> AgentTask:
        with self._state.lock:
            return self._task(tenant, task_id)

    def save_task(self, task: AgentTask, *, expected_revision: int, dependency_added: str | None = None,
                  dependency_removed: str | None = None) -> AgentTask:
        with self._state.lock:
            current = self._task(task.tenant, task.task_id)
            if current.revision != expected_revision:
                raise Conflict(f"task {task.task_id} was changed concurrently")
            self._state.agent_tasks[(task.tenant, task.task_id)] = (expected_revision + 1, task_to_data(task))
            return self._task(task.tenant, task.task_id)

    def delete_task(self, tenant: str, task_id: str) -> None:
        with self._state.lock:
            if self._state.agent_tasks.pop((tenant, task_id), None) is None:
                raise NotFound(f"task {task_id} not found")

    def list_tasks(self, tenant: str, *, after: str | None, limit: int) -> tuple[list[AgentTask], str | None]:
        with self._state.lock:
            ids = sorted(i for t, i in self._state.agent_tasks if t == tenant and (after is None or i > after))
            page = [self._task(tenant, i) for i in ids[:limit]]
        return page, page[-1].task_id if len(ids) > limit else None

    def _where(self, tenant: str, test: str, task_id: str) -> list[str]:
        with self._state.lock:
            found = []
            for (t, i), (_, data) in self._state.agent_tasks.items():
                if t != tenant:
                    continue
                if test == "child" and data.get("parent_task_id") == task_id:
                    found.append(i)
                if test == "dependent" and any(d["id"] == task_id for d in data.get("dependencies", [])):
                    found.append(i)
            return sorted(found)

    def children(self, tenant: str, parent_id: str) -> list[str]:
        return self._where(tenant, "child", parent_id)

    def dependents(self, tenant: str, task_id: str) -> list[str]:
        return self._where(tenant, "dependent", task_id)

    def next_number(self, tenant: str) -> int:
        with self._state.lock:
            number = self._state.agent_numbers.get(tenant, 0) + 1
            self._state.agent_numbers[tenant] = number
            return number

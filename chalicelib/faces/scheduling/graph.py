"""The task dependency graph: breadth-first traversal over (parent, child) edges. Pure.

An edge (parent, child) means "child runs when parent's run finishes". In the responses an
edge goes from `source` = the child to `target` = the parent it depends on: that is the
reading under which the page's example is consistent (its depth-1 vertex `isChild`, the root
`isParent`, the edge's source the child). Choice; the page is silent on the direction.

`isParent` / `isChild` describe a task's place in the whole tenant graph (it has children /
parents), as `metadata.topology` does, not only within the traversed part. `depth` is the
breadth-first distance from the root; an edge's `depth` is the depth of the vertex it reached.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum


class Direction(StrEnum):
    """Which relationships a traversal follows."""

    #: Towards parents (upstream).
    ANCESTORS = "ancestors"
    #: Towards children (downstream).
    DESCENDANTS = "descendants"
    #: Both ways.
    BOTH = "subgraph"


@dataclass(frozen=True, kw_only=True)
class Vertex:
    """One task reached by a traversal."""

    task_id: str
    #: Breadth-first distance from the root (0 for the root).
    depth: int
    #: The task has at least one parent in the tenant graph.
    is_child: bool
    #: The task has at least one child in the tenant graph.
    is_parent: bool


@dataclass(frozen=True, kw_only=True)
class GraphEdge:
    """A dependency between two reached tasks: `source` (child) depends on `target` (parent)."""

    source: str
    target: str
    #: The depth of the vertex the traversal reached through this edge.
    depth: int


@dataclass(frozen=True, kw_only=True)
class Graph:
    """What a traversal reached, vertices in breadth-first order."""

    root: str
    vertices: list[Vertex] = field(default_factory=list)
    edges: list[GraphEdge] = field(default_factory=list)


@dataclass(frozen=True)
class Adjacency:
    """Parents and children of every task, from the tenant's edges."""

    #: child id -> parent ids.
    parents: dict[str, list[str]]
    #: parent id -> child ids.
    children: dict[str, list[str]]

    @classmethod
    def from_edges(cls, edges: Iterable[tuple[str, str]]) -> Adjacency:
        """Build from (parent, child) pairs; duplicates collapse, order is kept."""
        parents: dict[str, list[str]] = {}
        children: dict[str, list[str]] = {}
        for parent, child in edges:
            if parent not in parents.setdefault(child, []):
                parents[child].append(parent)
            if child not in children.setdefault(parent, []):
                children[parent].append(child)
        return cls(parents, children)

    def is_child(self, task_id: str) -> bool:
        return bool(self.parents.get(task_id))

    def is_parent(self, task_id: str) -> bool:
        return bool(self.children.get(task_id))


def traverse(root: str, adjacency: Adjacency, direction: Direction, level: int | None = None) -> Graph:
    """Breadth-first from `root` along `direction`, at most `level` steps (None: no limit)."""
    depths = {root: 0}
    order = [root]
    edges: list[GraphEdge] = []
    seen_edges: set[tuple[str, str]] = set()
    queue = deque([root])
    while queue:
        current = queue.popleft()
        depth = depths[current]
        if level is not None and depth >= level:
            continue
        steps: list[tuple[str, str, str]] = []  # (neighbour, child, parent)
        if direction in (Direction.ANCESTORS, Direction.BOTH):
            steps += [(parent, current, parent) for parent in adjacency.parents.get(current, [])]
        if direction in (Direction.DESCENDANTS, Direction.BOTH):
            steps += [(child, child, current) for child in adjacency.children.get(current, [])]
        for neighbour, child, parent in steps:
            if neighbour not in depths:
                depths[neighbour] = depth + 1
                order.append(neighbour)
                queue.append(neighbour)
            if (child, parent) not in seen_edges:
                seen_edges.add((child, parent))
                edges.append(GraphEdge(source=child, target=parent, depth=depths[neighbour]))
    vertices = [
        Vertex(task_id=task_id, depth=depths[task_id], is_child=adjacency.is_child(task_id),
               is_parent=adjacency.is_parent(task_id))
        for task_id in order
    ]
    return Graph(root=root, vertices=vertices, edges=edges)

"""The scheduling face's dependency graph traversal (pure)."""

from __future__ import annotations

from chalicelib.faces.scheduling.graph import Adjacency, Direction, traverse

#: a -> b -> c, a -> d, e -> b (parent, child)
EDGES = [("a", "b"), ("b", "c"), ("a", "d"), ("e", "b")]


def depths(graph):
    return {v.task_id: v.depth for v in graph.vertices}


def test_descendants_are_reached_breadth_first_with_depths():
    graph = traverse("a", Adjacency.from_edges(EDGES), Direction.DESCENDANTS)
    assert [v.task_id for v in graph.vertices] == ["a", "b", "d", "c"]
    assert depths(graph) == {"a": 0, "b": 1, "d": 1, "c": 2}
    assert {(e.source, e.target, e.depth) for e in graph.edges} == {("b", "a", 1), ("d", "a", 1), ("c", "b", 2)}


def test_ancestors_follow_parents_only():
    graph = traverse("c", Adjacency.from_edges(EDGES), Direction.ANCESTORS)
    assert depths(graph) == {"c": 0, "b": 1, "a": 2, "e": 2}
    assert "d" not in depths(graph)


def test_level_bounds_the_depth_and_zero_keeps_only_the_root():
    adjacency = Adjacency.from_edges(EDGES)
    assert depths(traverse("a", adjacency, Direction.DESCENDANTS, 1)) == {"a": 0, "b": 1, "d": 1}
    zero = traverse("a", adjacency, Direction.BOTH, 0)
    assert depths(zero) == {"a": 0} and zero.edges == []


def test_the_subgraph_goes_both_ways_and_lists_each_edge_once():
    graph = traverse("b", Adjacency.from_edges(EDGES), Direction.BOTH)
    assert depths(graph) == {"b": 0, "a": 1, "e": 1, "c": 1, "d": 2}
    pairs = [(e.source, e.target) for e in graph.edges]
    assert len(pairs) == len(set(pairs)) == 4


def test_vertex_flags_describe_the_whole_graph():
    graph = traverse("b", Adjacency.from_edges(EDGES), Direction.DESCENDANTS)
    flags = {v.task_id: (v.is_child, v.is_parent) for v in graph.vertices}
    assert flags == {"b": (True, True), "c": (True, False)}


def test_a_cycle_terminates():
    graph = traverse("x", Adjacency.from_edges([("x", "y"), ("y", "x")]), Direction.BOTH)
    assert depths(graph) == {"x": 0, "y": 1}
    assert len(graph.edges) == 2


def test_an_isolated_task_is_its_own_graph():
    graph = traverse("lonely", Adjacency.from_edges(EDGES), Direction.BOTH)
    assert [(v.task_id, v.is_child, v.is_parent) for v in graph.vertices] == [("lonely", False, False)]

"""The layers, checked on the source: no import circle, no storage in a face, no face words in the engine.

The import graph is read with `ast` from chalicelib/ and app.py: every `import` and `from ...
import`, at module level or inside a function (a function-level import closes a circle at run
time as surely as one at the top), and the module names a module hands to
`importlib.import_module` as string constants. `from a.b import c` is an edge to `a.b.c` when
that is a module, else to `a.b` (as import-linter's grimp reads it).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def sources() -> dict[str, Path]:
    found = {module_name(path): path for path in (ROOT / "chalicelib").rglob("*.py")}
    found["app"] = ROOT / "app.py"
    return found


def _absolute(module: str, path: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(module: str, path: Path, known: set[str]) -> set[str]:
    """The modules of `known` that `module` imports, wherever in the file it imports them."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    edges: set[str] = set()
    uses_importlib = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            edges.update(alias.name for alias in node.names)
            uses_importlib |= any(alias.name == "importlib" for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(module, path, node)
            uses_importlib |= base == "importlib"
            for alias in node.names:
                edges.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    if uses_importlib:  # a name handed to importlib.import_module is an import too
        edges.update(node.value for node in ast.walk(tree)
                     if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in known)
    return {edge for edge in edges if edge in known and edge != module}


def import_graph() -> dict[str, set[str]]:
    found = sources()
    known = set(found)
    return {module: imports_of(module, path, known) for module, path in found.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle as [a, b, ..., a], or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_the_import_graph_of_chalicelib_and_app_has_no_circle():
    graph = import_graph()
    assert "chalicelib.handlers" in graph["app"]
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def test_the_cycle_finder_sees_a_circle_closed_inside_a_function_or_through_importlib(tmp_path):
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    code = "def later():\n    import importlib\n    return importlib.import_module('app')\n"
    (tmp_path / "late.py").write_text(code)
    assert imports_of("late", tmp_path / "late.py", {"app", "late"}) == {"app"}


def test_the_lambda_glue_and_the_faces_never_import_the_local_runtime():
    graph = import_graph()
    for module, targets in graph.items():
        if module == "chalicelib.handlers" or module.startswith("chalicelib.faces"):
            assert not [t for t in targets if t.startswith("chalicelib.runtime")], module


def test_no_face_imports_the_store_pynamodb_or_boto3():
    pattern = re.compile(r"^\s*(from|import) (pynamodb|boto3|chalicelib\.store)\b", re.MULTILINE)
    offenders = [str(path.relative_to(ROOT)) for path in (ROOT / "chalicelib" / "faces").rglob("*.py")
                 if pattern.search(path.read_text(encoding="utf-8"))]
    assert offenders == []


def test_no_face_vocabulary_sits_in_the_engine():
    pattern = re.compile(r"workerType|functionRef|CONSECUTIVE-FAILURES|MANUALLY|daemon_stopped|DAEMON_STOPPED")
    offenders = [f"{path.relative_to(ROOT)}: {match.group(0)}"
                 for path in (ROOT / "chalicelib" / "engine").rglob("*.py")
                 for match in pattern.finditer(path.read_text(encoding="utf-8"))]
    assert offenders == []

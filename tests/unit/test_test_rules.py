"""Rules for the tests themselves, read from their syntax tree (every file under tests/):

- every `test_*` function checks something: an `assert`, `pytest.raises`/`pytest.fail`/
  `pytest.warns`, or a call to a helper named `assert_*`/`expect_*` (a leading `_` allowed) or listed in `ASSERTING`;
- nothing waits on a fixed time: no `time.sleep`/`asyncio.sleep`/`threading.Timer` outside
  tests/waiting.py (the pause between two looks at a condition), save the cases in `SLEEPS`,
  where the passing time is the behaviour under test;
- every `while` loop ends: its condition or body reads a deadline (a name containing
  `deadline`, or `time.monotonic()`), or its condition compares a counter that the body moves
  at every pass (`while x < end: ... x = ...`), save the cases in `WHILE_LOOPS`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]

#: Helpers that fail the test themselves, by name, with why that counts as checking.
ASSERTING: dict[str, str] = {}

#: (file relative to tests/, function) -> why a real sleep there is the behaviour under test.
SLEEPS: dict[tuple[str, str], str] = {
    ("waiting.py", "wait_until"): "the pause between two looks at the condition",
}

#: (file relative to tests/, function) -> why that `while` loop ends without a deadline.
WHILE_LOOPS: dict[tuple[str, str], str] = {
    ("e2e/lambda_sandbox.py", "runtime_distributions"):
        "a walk over installed distributions' requirements: each name is expanded once",
}


def _files() -> list[Path]:
    return sorted(p for p in TESTS.rglob("*.py") if "__pycache__" not in p.parts)


def _name(path: Path) -> str:
    return path.relative_to(TESTS).as_posix()


def _called_name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return ""


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    if isinstance(node, ast.Name):
        return node.id
    return "?"


def _functions(tree: ast.AST) -> list[tuple[str, ast.AST]]:
    """Every function with its own body (nested functions are their own entries)."""
    return [(node.name, node) for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)]


def _enclosing(tree: ast.AST) -> dict[ast.AST, str]:
    """Each node's innermost enclosing function name ("<module>" at top level)."""
    owner: dict[ast.AST, str] = {}

    def visit(node: ast.AST, name: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else name
            owner[child] = inner
            visit(child, inner)

    visit(tree, "<module>")
    return owner


def _checks(function: ast.AST) -> bool:
    for node in ast.walk(function):
        if isinstance(node, ast.Assert):
            return True
        if isinstance(node, ast.Call):
            name = _called_name(node)
            if _dotted(node.func) in {"pytest.raises", "pytest.fail", "pytest.warns"}:
                return True
            if name.lstrip("_").startswith(("assert_", "expect_")) or name in ASSERTING:
                return True
    return False


def _sleeps(tree: ast.AST) -> list[ast.Call]:
    from_time = {alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                 and node.module in {"time", "asyncio", "threading"} for alias in node.names}
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        dotted = _dotted(node.func)
        if dotted in {"time.sleep", "asyncio.sleep", "threading.Timer"} or (
                dotted in {"sleep", "Timer"} and dotted in from_time):
            found.append(node)
    return found


def _reads_a_deadline(loop: ast.While) -> bool:
    for node in ast.walk(loop):
        if isinstance(node, ast.Name) and "deadline" in node.id.lower():
            return True
        if isinstance(node, ast.Attribute) and ("deadline" in node.attr.lower() or node.attr == "monotonic"):
            return True
    return False


def _moves_its_counter(loop: ast.While) -> bool:
    test = loop.test
    if not (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name)
            and all(isinstance(op, ast.Lt | ast.LtE | ast.Gt | ast.GtE) for op in test.ops)):
        return False
    counter = test.left.id
    for statement in loop.body:  # top level: the counter moves at every pass, not on some
        targets = (statement.targets if isinstance(statement, ast.Assign)
                   else [statement.target] if isinstance(statement, ast.AugAssign) else [])
        for target in targets:
            names = target.elts if isinstance(target, ast.Tuple) else [target]
            if any(isinstance(n, ast.Name) and n.id == counter for n in names):
                return True
    return False


def _parsed() -> list[tuple[str, ast.AST]]:
    return [(_name(path), ast.parse(path.read_text(), filename=str(path))) for path in _files()]


def test_every_test_function_checks_something():
    unchecked = [f"{name}::{function}" for name, tree in _parsed() for function, node in _functions(tree)
                 if function.startswith("test_") and not _checks(node)]
    assert not unchecked, "no assert in:\n" + "\n".join(unchecked)


def test_no_test_waits_on_a_fixed_sleep():
    sleeping = []
    for name, tree in _parsed():
        owner = _enclosing(tree)
        for call in _sleeps(tree):
            if (name, owner[call]) not in SLEEPS:
                sleeping.append(f"{name}:{call.lineno} in {owner[call]}")
    assert not sleeping, "a fixed sleep (wait with tests/waiting.py) at:\n" + "\n".join(sleeping)


def test_every_while_loop_in_the_tests_has_a_deadline_or_a_moving_counter():
    endless = []
    for name, tree in _parsed():
        owner = _enclosing(tree)
        for loop in (node for node in ast.walk(tree) if isinstance(node, ast.While)):
            if (name, owner[loop]) in WHILE_LOOPS or _reads_a_deadline(loop) or _moves_its_counter(loop):
                continue
            endless.append(f"{name}:{loop.lineno} in {owner[loop]}")
    assert not endless, "a while loop with no deadline at:\n" + "\n".join(endless)


def test_the_exemption_lists_name_code_that_exists():
    functions = {(name, function) for name, tree in _parsed() for function, _ in _functions(tree)}
    assert set(SLEEPS) <= functions and set(WHILE_LOOPS) <= functions


# The rules themselves fail on what they forbid (a rule that passes everything checks nothing).
BAD = '''
import time
from threading import Timer

def test_nothing_checked():
    x = 1

def test_sleeps():
    time.sleep(1)
    assert True

def test_times():
    Timer(0.2, print).start()
    assert True

def test_spins(ready):
    while not ready():
        pass
    assert True

def test_counts_on_some_passes(n=0):
    while n < 3:
        if n:
            n += 1
    assert True
'''


@pytest.fixture
def bad_tree() -> ast.AST:
    return ast.parse(BAD)


def test_the_rules_catch_what_they_forbid(bad_tree):
    assert [name for name, node in _functions(bad_tree) if not _checks(node)] == ["test_nothing_checked"]
    owner = _enclosing(bad_tree)
    assert [owner[call] for call in _sleeps(bad_tree)] == ["test_sleeps", "test_times"]
    loops = [node for node in ast.walk(bad_tree) if isinstance(node, ast.While)]
    assert [_reads_a_deadline(loop) or _moves_its_counter(loop) for loop in loops] == [False, False]


def test_the_rules_let_a_deadline_or_a_moving_counter_through():
    good = ast.parse("while time.monotonic() < end:\n    pass\n"
                     "while not done:\n    if time_left(deadline): break\n"
                     "while wall < end:\n    wall = step(wall)\n")
    loops = [node for node in ast.walk(good) if isinstance(node, ast.While)]
    assert [_reads_a_deadline(loop) or _moves_its_counter(loop) for loop in loops] == [True, True, True]

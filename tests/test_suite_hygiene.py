"""The test suite's own rules: tests share helpers through tests/support and conftest fixtures,
never by importing another test module, and every test checks something.

A test "checks" when its body asserts, raises, expects an exception or warning
(`pytest.raises`, `pytest.warns`), fails explicitly (`pytest.fail`), uses
Playwright's `expect`, or calls a helper of the suite that does one of these
(helpers are looked up by name among the functions defined under tests/).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

TESTS = Path(__file__).resolve().parent
CHECKING_CALLS = {"raises", "warns", "deprecated_call", "fail", "expect"}


@dataclass(frozen=True)
class Function:
    """A function defined under tests/: where it is, what it calls, whether it checks by itself."""

    where: str
    name: str
    calls: frozenset[str]
    checks: bool


def _modules() -> Iterator[tuple[Path, ast.Module]]:
    for path in sorted(TESTS.rglob("*.py")):
        yield path, ast.parse(path.read_text(), filename=str(path))


def _called_name(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _describe(path: Path, node: ast.FunctionDef | ast.AsyncFunctionDef) -> Function:
    calls: set[str] = set()
    checks = False
    for sub in ast.walk(node):
        if isinstance(sub, ast.Assert | ast.Raise):
            checks = True
        elif isinstance(sub, ast.Call):
            name = _called_name(sub)
            if name in CHECKING_CALLS:
                checks = True
            elif name is not None:
                calls.add(name)
    where = f"{path.relative_to(TESTS.parent)}:{node.lineno}"
    return Function(where, node.name, frozenset(calls), checks)


def _functions() -> list[Function]:
    found = []
    for path, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                found.append(_describe(path, node))
    return found


def _checking_names(functions: list[Function]) -> set[str]:
    """Names of the helpers that check, directly or through other helpers (a fixed point)."""
    checking = {f.name for f in functions if f.checks and not f.name.startswith("test")}
    changed = True
    while changed:
        changed = False
        for f in functions:
            if f.name not in checking and not f.name.startswith("test") and f.calls & checking:
                checking.add(f.name)
                changed = True
    return checking


def _is_test_module(path: Path) -> bool:
    return path.name.startswith("test_") or path.name == "conftest.py"


def _idle_tests(functions: list[Function]) -> list[str]:
    """Where the tests are that check nothing (test functions of test modules only)."""
    checking = _checking_names(functions)
    return [
        f.where
        for f in functions
        if f.name.startswith("test")
        and Path(f.where.split(":")[0]).name.startswith("test_")
        and not f.checks
        and not f.calls & checking
    ]


def test_every_test_checks_something() -> None:
    assert _idle_tests(_functions()) == []


def test_the_scan_sees_a_test_that_asserts_nothing() -> None:
    source = "def helper(x):\n    assert x\n\ndef test_idle():\n    print(1)\n\ndef test_ok():\n    helper(1)\n"
    tree = ast.parse(source)
    path = TESTS / "test_example.py"
    functions = [_describe(path, n) for n in tree.body if isinstance(n, ast.FunctionDef)]
    assert _idle_tests(functions) == ["tests/test_example.py:4"]


def _imported_test_modules(tree: ast.Module) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
    return [
        n
        for n in names
        if n == "tests" or (n.startswith("tests.") and not n.startswith("tests.support"))
    ]


def test_no_module_imports_a_test_module() -> None:
    """Tests share code through tests/support and fixtures, never through another test module
    or a conftest."""
    offenders = {
        str(path.relative_to(TESTS.parent)): found
        for path, tree in _modules()
        if (found := _imported_test_modules(tree))
    }
    assert offenders == {}


def test_support_holds_helpers_not_tests() -> None:
    support = TESTS / "support"
    assert not [p.name for p in support.rglob("*.py") if _is_test_module(p)]

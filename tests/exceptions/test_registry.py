"""The registry of exception types: one name each, stdlib-only, and imports that run one way."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import control_tower
from control_tower.exceptions import registry
from control_tower.exceptions.rules.base import ExceptionType

PACKAGE = Path(control_tower.__file__).parent


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports (absolute names; relative imports resolved in the package)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = path.relative_to(PACKAGE.parent).with_suffix("").parts[: -node.level]
                base = ".".join((*parts, base)) if base else ".".join(parts)
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return found


def modules_of(folder: str) -> list[Path]:
    return sorted((PACKAGE / folder).rglob("*.py"))


def test_the_registry_and_rules_import_the_standard_library_and_each_other_only() -> None:
    # ...and the one list of roles, itself free of imports (the owners of queues), and the ATP
    # inputs' SQL (standard library only), which order_at_risk shares with promising.
    allowed = (
        "control_tower.exceptions.rules",
        "control_tower.exceptions.registry",
        "control_tower.roles",
        "control_tower.promising.sql",
    )
    files = [PACKAGE / "exceptions" / "registry.py", *modules_of("exceptions/rules")]
    assert len(files) >= 8
    for path in files:
        ours = {m for m in imported_modules(path) if m.split(".")[0] == "control_tower"}
        assert all(m.startswith(allowed) for m in ours), (path.name, sorted(ours))
        third_party = {
            m.split(".")[0] for m in imported_modules(path) if m.split(".")[0] != "control_tower"
        }
        assert third_party <= {"__future__", "collections", "dataclasses", "re", "types"}, path


def test_kpi_imports_only_the_registry_of_exceptions() -> None:
    for path in modules_of("kpi"):
        used = {m for m in imported_modules(path) if m.startswith("control_tower.exceptions")}
        assert all(m.startswith("control_tower.exceptions.registry") for m in used), path


def test_exceptions_never_import_kpi() -> None:
    for path in modules_of("exceptions"):
        used = {m for m in imported_modules(path) if m.startswith("control_tower.kpi")}
        assert not used, (path, used)


def test_the_checker_sees_a_forbidden_import(tmp_path: Path) -> None:
    probe = PACKAGE / "views" / "kpi.py"
    assert "control_tower.kpi.catalog" in imported_modules(probe)
    assert "control_tower.kpi.compiler.compile_kpi" in imported_modules(probe)


def test_names_are_unique_and_include_the_alert_type() -> None:
    assert registry.type_names()[-1] == registry.ALERT_TYPE == "kpi_alert"
    assert len(set(registry.type_names())) == len(registry.type_names()) == 19
    assert registry.type_label("kpi_alert") == "KPI alert"
    assert registry.type_label("late_wave") == "Late wave"
    assert registry.type_label("gone") == "gone"


def test_a_name_declared_twice_is_refused() -> None:
    twice = registry.EXCEPTION_TYPES["late_wave"]
    with pytest.raises(ValueError, match="'late_wave' is declared twice"):
        registry._registry([twice, twice])
    alert = ExceptionType(**{**vars(twice), "name": "kpi_alert"})
    with pytest.raises(ValueError, match="'kpi_alert' is declared twice"):
        registry._registry([alert])


def test_roles_module_imports_nothing_and_is_the_accounts_list() -> None:
    from control_tower import accounts, roles

    assert all(m.startswith("__future__") for m in imported_modules(Path(roles.__file__)))
    assert accounts.ROLES is roles.ROLES
    assert registry.OWNER_ROLES is roles.ROLES

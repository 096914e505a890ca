"""Fixtures of the action request tests: a private copy of the small demo (requests change the
app database), its serving snapshot, its exception store and the demo's actors."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pytest

from control_tower.accounts import Scope
from control_tower.exceptions.store import ExceptionStore
from control_tower.settings import Settings
from tests.support.data_copies import private_copy


@dataclass(frozen=True)
class Person:
    """Who acts, as the service sees a signed-in user."""

    name: str
    role: str
    scope: Scope = field(default_factory=Scope)
    permissions: frozenset[str] = frozenset()


@pytest.fixture(scope="module")
def settings(demo_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A private copy of the small demo."""
    return private_copy(demo_settings, tmp_path_factory.mktemp("requests"))


@pytest.fixture(scope="module")
def cur(snapshot: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """The small demo's serving snapshot (requests change the app database, never the data)."""
    return snapshot


@pytest.fixture(scope="module")
def store(settings: Settings) -> Iterator[ExceptionStore]:
    """The copy's exception store (requests live beside the items)."""
    with ExceptionStore.open(settings.app_db_url) as opened:
        yield opened


def first_item(store: ExceptionStore, type_name: str, **where: Any) -> Any:
    """The oldest unresolved item of a type (matching `where`)."""
    items = [
        i
        for i in store.items(type=type_name, status="unresolved")
        if all(getattr(i, k) == v for k, v in where.items())
    ]
    assert items, f"the small demo has no unresolved {type_name} {where}"
    return items[-1]

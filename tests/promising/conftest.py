"""The promising tests' landed delivery (`tests.support.promise_case`), landed once per module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from tests.support.extracts import warehouse
from tests.support.promise_case import land_promising_case


@pytest.fixture(scope="module")
def promise_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder holding the hand-drawn promising delivery, landed and published."""
    return land_promising_case(tmp_path_factory.mktemp("promise") / "home")


@pytest.fixture
def con(promise_home: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """The landed warehouse, read only."""
    with warehouse(promise_home) as c:
        yield c

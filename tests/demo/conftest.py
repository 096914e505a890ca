"""Fixtures of the demo tests: one small demo extract per session, loaded into DuckDB as text.

The extract is taken on a Sunday whose window spans the US spring-forward, which these
tests check; the landed demo the other tests share (tests/conftest.py) is taken on a
weekday, when receipts wait to be put away."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from control_tower.contracts import TABLES
from control_tower.demo import GenerateReport, Scale, generate

AS_OF = dt.date(2026, 3, 15)  # the window spans the US spring-forward of 2026-03-08
# a short window for the determinism tests
TINY = Scale("tiny", days=35, items=120, customers=90, suppliers=15, order_lines=4_000)


def table_files(root: Path, table: str) -> list[Path]:
    """Files of one contract table under root/<system>/."""
    system_dir = root / TABLES[table].system
    return sorted(
        p
        for p in system_dir.iterdir()
        if p.name.split(".")[0] == table or p.name.startswith(f"{table}_")
    )


def load_duckdb(root: Path) -> duckdb.DuckDBPyConnection:
    """Every contract table as a DuckDB table; CSV and JSON Lines columns kept as text."""
    con = duckdb.connect()
    for name in TABLES:
        files = [str(p) for p in table_files(root, name)]
        assert files, f"no files for {name}"
        if files[0].endswith(".csv"):
            rel = f"read_csv({files!r}, all_varchar=true, header=true)"
        elif files[0].endswith(".parquet"):
            rel = f"read_parquet({files!r})"
        else:
            cols = ", ".join(f"'{c}': 'VARCHAR'" for c in TABLES[name].column_names)
            rel = f"read_json({files!r}, format='newline_delimited', columns={{{cols}}})"
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM {rel}")
    return con


@pytest.fixture(scope="session")
def as_of() -> dt.date:
    return AS_OF


@pytest.fixture(scope="session")
def tiny() -> Scale:
    return TINY


@pytest.fixture(scope="session")
def small(tmp_path_factory: pytest.TempPathFactory) -> GenerateReport:
    """The small scale, generated once."""
    return generate(tmp_path_factory.mktemp("demo-small"), seed=7, scale="small", as_of=AS_OF)


@pytest.fixture(scope="session")
def small_root(small: GenerateReport) -> Path:
    return small.files[0][0].parent.parent


@pytest.fixture(scope="session")
def db(small_root: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = load_duckdb(small_root)
    yield con
    con.close()

"""Every generated value satisfies the extract contract: types, enums, required, keys, references."""

from __future__ import annotations

import duckdb
import pytest

from control_tower.contracts import TABLES, ColumnType

TS_PATTERN = {
    "erp": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$",  # local time with offset
    "wms": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$",  # naive local time
    "tms": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$",  # UTC
}


def _count(db: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = db.execute(sql).fetchone()
    assert row is not None
    return int(row[0])


def _bad_values(db: duckdb.DuckDBPyConnection, table: str) -> dict[str, int]:
    t = TABLES[table]
    present = {r[0] for r in db.execute(f"DESCRIBE {table}").fetchall()}
    bad: dict[str, int] = {}
    for c in t.columns:
        if c.name not in present:
            continue
        v = f'"{c.name}"::VARCHAR'
        checks = []
        if c.required and not c.nullable:
            checks.append(f"{v} IS NULL OR trim({v}) = ''")
        if c.type is ColumnType.TIMESTAMP:
            checks.append(f"NOT regexp_matches({v}, '{TS_PATTERN[t.system]}')")
            checks.append(f"try_cast({v} AS TIMESTAMPTZ) IS NULL")
        elif c.type is ColumnType.DATE:
            checks.append(rf"NOT regexp_matches({v}, '^\d{{4}}-\d\d-\d\d$')")
            checks.append(f"try_cast({v} AS DATE) IS NULL")
        elif c.type is ColumnType.INT:
            checks.append(rf"NOT regexp_matches({v}, '^-?\d+$')")
        elif c.type in (ColumnType.DECIMAL, ColumnType.QTY):
            checks.append(rf"NOT regexp_matches({v}, '^-?\d+(\.\d+)?$')")
        elif c.type is ColumnType.BOOL:
            checks.append(f"{v} NOT IN ('true', 'false')")
        elif c.type is ColumnType.ENUM:
            allowed = ", ".join(f"'{a}'" for a in c.allowed)
            checks.append(f"{v} NOT IN ({allowed})")
        elif c.type is ColumnType.ID:
            checks.append(rf"regexp_matches({v}, '\.0$') OR {v} <> trim({v})")
        elif c.type is ColumnType.PERIOD:
            checks.append(rf"NOT regexp_matches({v}, '^\d{{4}}-\d\d$')")
        elif c.type is ColumnType.TIMEZONE:
            checks.append(f"{v} NOT IN (SELECT name FROM pg_timezone_names())")
        if c.min_value is not None:
            op = "<=" if c.min_exclusive else "<"
            checks.append(f"try_cast({v} AS DOUBLE) {op} {c.min_value}")
        if c.max_value is not None:
            checks.append(f"try_cast({v} AS DOUBLE) > {c.max_value}")
        for check in checks:
            n = _count(db, f"SELECT count(*) FROM {table} WHERE {v} IS NOT NULL AND ({check})")
            if check.startswith(f"{v} IS NULL"):
                n = _count(db, f"SELECT count(*) FROM {table} WHERE {check}")
            if n:
                bad[f"{c.name}: {check}"] = n
    return bad


@pytest.mark.parametrize("table", list(TABLES))
def test_values_satisfy_the_contract(db: duckdb.DuckDBPyConnection, table: str) -> None:
    assert _count(db, f"SELECT count(*) FROM {table}") > 0
    assert _bad_values(db, table) == {}


@pytest.mark.parametrize("table", list(TABLES))
def test_keys_are_unique(db: duckdb.DuckDBPyConnection, table: str) -> None:
    t = TABLES[table]
    key = ", ".join(f'"{k}"' for k in t.key)
    # versioned tables may repeat a key across files (sales lines: first version + update)
    per_key = 2 if t.name == "sales_order_lines" else 1
    dup = _count(
        db,
        f"SELECT count(*) FROM (SELECT {key} FROM {table} GROUP BY ALL HAVING count(*) > {per_key})",
    )
    assert dup == 0


@pytest.mark.parametrize("table", [t for t in TABLES if TABLES[t].references])
def test_references_resolve(db: duckdb.DuckDBPyConnection, table: str) -> None:
    for ref in TABLES[table].references:
        on = " AND ".join(
            f'a."{c}"::VARCHAR = b."{tc}"::VARCHAR'
            for c, tc in zip(ref.columns, ref.target_columns, strict=True)
        )
        missing = _count(
            db,
            f"SELECT count(*) FROM {table} a WHERE NOT EXISTS (SELECT 1 FROM {ref.table} b WHERE {on})",
        )
        assert missing == 0, (table, ref)


@pytest.mark.parametrize("table", [t for t in TABLES if TABLES[t].row_checks])
def test_row_checks_hold(db: duckdb.DuckDBPyConnection, table: str) -> None:
    t = TABLES[table]
    casts = []
    for c in t.columns:
        if c.type is ColumnType.TIMESTAMP:
            casts.append(f'"{c.name}"::TIMESTAMPTZ AS "{c.name}"')
        elif c.type in (ColumnType.DECIMAL, ColumnType.QTY, ColumnType.INT):
            casts.append(f'"{c.name}"::DOUBLE AS "{c.name}"')
        elif c.type is ColumnType.DATE:
            casts.append(f'"{c.name}"::DATE AS "{c.name}"')
        else:
            casts.append(f'"{c.name}"')
    typed = f"(SELECT {', '.join(casts)} FROM {table})"
    for _, condition, reason in t.row_checks:
        assert _count(db, f"SELECT count(*) FROM {typed} WHERE NOT ({condition})") == 0, reason


def test_all_timestamps_parse_with_duckdb(db: duckdb.DuckDBPyConnection) -> None:
    for name, t in TABLES.items():
        for col in t.timestamp_columns:
            n = _count(
                db,
                f'SELECT count(*) FROM {name} WHERE "{col}" IS NOT NULL '
                f'AND try_cast("{col}" AS TIMESTAMPTZ) IS NULL',
            )
            assert n == 0, (name, col)

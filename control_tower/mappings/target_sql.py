"""The SELECT that builds one target table's canonical rows from a mapping's source rows.

Shared by file and SQL mappings. Each canonical column is the mapping's
compiled expression cast to text (the contract validates text, as for a
canonical file); each row keeps its source line and, when a value it parses
(a format, a cast, `parse_*`) is present but does not parse, the list of
those problems. The contract path quarantines such a row with them: nothing
turns into an empty value silently.
"""

from __future__ import annotations

import duckdb

from control_tower.contracts import TABLES
from control_tower.landing import LINE_COLUMN, PROBLEMS_COLUMN, ReadResult
from control_tower.mappings.checks import Check
from control_tower.mappings.spec import SOURCE_ALIAS, Target


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _problems(target: Target) -> str | None:
    """SQL: the row's parse problems, a list of {column, value, reason, affects}; None if none."""
    checks: dict[str, tuple[Check, list[str]]] = {}
    parts = [*target.columns.items(), *([("", target.where)] if target.where else [])]
    for col, compiled in parts:
        for check in compiled.checks:
            _, affects = checks.setdefault(check.failed, (check, []))
            if col and col not in affects:
                affects.append(col)
    if not checks:
        return None
    items = []
    for check, affects in checks.values():
        cols = "[" + ", ".join(_text(c) for c in affects) + "]::VARCHAR[]"
        items.append(
            f"CASE WHEN {check.failed} THEN {{'column': {_text(check.column)}, "
            f"'value': {check.value}, 'reason': {check.reason}, 'affects': {cols}}} END"
        )
    return f"list_filter([{', '.join(items)}], lambda x: x IS NOT NULL)"


def _where_failed(target: Target) -> str:
    """SQL: a value the `where` filter parses failed (the row cannot be judged: it is kept)."""
    if target.where is None or not target.where.checks:
        return "false"
    return " OR ".join(f"({c.failed})" for c in target.where.checks)


def target_select(target: Target, from_sql: str, scope: str | None = None) -> str:
    """The SELECT building a target's canonical text columns (plus the source line) from `src`.

    `scope` (SQL) restricts the source rows before anything else (a SQL
    pull: the rows that changed). A row whose `where` cannot be evaluated
    because a value in it does not parse stays, to be quarantined.
    """
    cols = [
        f"CAST({compiled.sql} AS VARCHAR) AS {_q(col)}" for col, compiled in target.columns.items()
    ]
    cols.append(f"{SOURCE_ALIAS}.{LINE_COLUMN} AS {LINE_COLUMN}")
    problems = _problems(target)
    if problems is not None:
        cols.append(f"{problems} AS {PROBLEMS_COLUMN}")
    sql = f"SELECT {', '.join(cols)} FROM {from_sql}"
    filters = [f"({scope})"] if scope else []
    if target.where is not None:
        filters.append(f"(coalesce({target.where.sql}, false) OR {_where_failed(target)})")
    if filters:
        sql += " WHERE " + " AND ".join(filters)
    if target.dedupe:
        keys = TABLES[target.table].key
        key = ", ".join(_q(k) for k in keys)
        bad = f"len({PROBLEMS_COLUMN}) > 0" if problems is not None else "false"
        # The first good row (in source order) of each key; rows with a NULL key or a value
        # that does not parse all stay (they are quarantined with their reasons).
        sql = (
            f"SELECT * FROM ({sql}) QUALIFY {' OR '.join(f'{_q(k)} IS NULL' for k in keys)} "
            f"OR {bad} OR row_number() OVER (PARTITION BY {key} ORDER BY {bad}, "
            f"{LINE_COLUMN}) = 1"
        )
    return sql + f" ORDER BY {LINE_COLUMN}"


def record_sql(
    con: duckdb.DuckDBPyConnection, source: str, names: dict[str, str] | None = None
) -> str:
    """SQL giving a mapped row's source row as JSON (over the raw row `r`): for quarantine.

    `source` is the relation holding the source rows with their line;
    `names` gives a column's name as the source wrote it (default: as read).
    Internal columns (the line, `_ct_*`) are left out.
    """
    columns = [d[0] for d in con.execute(f"SELECT * FROM {source} LIMIT 0").description]
    shown = [c for c in columns if c != LINE_COLUMN and not c.startswith("_ct_")]
    names = names or {}
    fields = ", ".join(f"{_text(names.get(c) or c)}: _src.{_q(c)}" for c in shown)
    return (
        f"(SELECT to_json({{{fields}}}) FROM {source} AS _src "
        f"WHERE _src.{LINE_COLUMN} = r.{LINE_COLUMN} LIMIT 1)"
    )


def build_target_raw(
    con: duckdb.DuckDBPyConnection,
    target: Target,
    from_sql: str,
    *,
    scope: str | None = None,
    record: str | None = None,
) -> ReadResult:
    """Replace the temp table `raw` with the target's canonical rows; the read result describing it.

    `record` (see `record_sql`) gives quarantine the source row of a refused row.
    """
    con.execute("DROP TABLE IF EXISTS raw")
    con.execute(f"CREATE TEMP TABLE raw AS {target_select(target, from_sql, scope)}")
    rows = int(con.execute("SELECT count(*) FROM raw").fetchone()[0])  # type: ignore[index]
    names = list(target.columns)
    read = ReadResult("mapping", names, names, rows, line_expr=f"r.{LINE_COLUMN}")
    read.record_sql = record
    read.source_problems = _problems(target) is not None
    return read

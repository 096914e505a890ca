"""Incremental KPI materialisation: which groups of `kpi.values` a run's batches changed.

Every KPI value is an aggregate over the rows of one group of its base model:
the rows of one period (day, or month) and one dimension value (or all of
them). Nothing else goes in: the compiler has no rolling window, a
semi-additive measure takes the last snapshot within the group itself, and
whatever depends on the as-of date (backlog age, what was due) or on the
exceptions mirror lives in the model's rows. So a value can change only if a
row of its group changed, and the groups to recompute are found by comparing
each base model's rows with the rows it had at the last refresh:

- `kpi_state.<model>` keeps, per model row, a hash of all its columns with the
  columns that place it in groups (its dimensions and time dimensions);
- a run rebuilds only the models that read a table the run loaded, plus the
  models whose rows can change with no batch at all (see `always_rebuilt`),
  and diffs the new rows against the stored ones. A row that changed, came
  or went contributes its old AND its new groups (an order line whose date
  moved leaves one day and enters another);
- each affected group is deleted from `kpi.values` and recomputed from the
  model rows of that group only.

Groups are matched on the period and the dimension value as text, as
`kpi.values` stores them. The stored rows are only trusted for the same
catalog (every definition and model text, version and materialised grains:
`fingerprint`) and the same as-of date; anything else refreshes in full.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import duckdb
from sqlglot import exp

from control_tower.kpi.catalog import Kpi, Model
from control_tower.kpi.compiler import DIALECT, period_expr
from control_tower.storage.changes import Changes

SCHEMA = "kpi_state"
# Bump when what is stored, or how groups are derived from it, changes: old state is then
# not trusted and the next run refreshes in full.
STATE_FORMAT = 1
# SQL whose result moves with the clock or by chance, not with the rows read.
VOLATILE = re.compile(
    r"\b(now|current_date|current_time|current_timestamp|get_current_timestamp|today|"
    r"random|uuid|gen_random_uuid)\b",
    re.IGNORECASE,
)
META_DDL = f"""
CREATE SCHEMA IF NOT EXISTS {SCHEMA};
CREATE TABLE IF NOT EXISTS {SCHEMA}.meta (
    fingerprint VARCHAR NOT NULL,   -- the catalog the stored model rows were computed for
    as_of DATE NOT NULL             -- and the as-of date
);
"""


def fingerprint(kpis: Iterable[Kpi], grains: Mapping[str, Sequence[Any]]) -> str:
    """A digest of everything the stored model rows and `kpi.values` were computed from."""
    parts = [
        [k.name, k.version, k.text, [m.text for m in k.chain], repr(grains[k.name])]
        for k in sorted(kpis, key=lambda k: k.name)
    ]
    text = json.dumps([STATE_FORMAT, parts], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def full_reason(
    con: duckdb.DuckDBPyConnection,
    changes: Changes,
    print_: str,
    as_of: Any,
    new_versions: int,
    tables: Iterable[str],
) -> str | None:
    """Why this refresh must recompute everything (None: it may go by groups).

    `tables` are the stored model rows a delta needs (`state_table` names)."""
    if changes.full:
        return changes.full_reason
    if new_versions:
        return "new KPI versions"
    con.execute(META_DDL)
    row = con.execute(f"SELECT fingerprint, as_of FROM {SCHEMA}.meta").fetchone()
    if row is None:
        return "no stored model rows"
    if row[0] != print_:
        return "the KPI catalog changed"
    if row[1] != as_of:
        return "the stored model rows are of another as-of date"
    if set(tables) - _stored(con):
        return "stored model rows are missing"
    return None


def _stored(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The stored model row tables, as SCHEMA.name."""
    rows = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = ? AND table_name <> 'meta' "
        "AND database_name = current_database()",
        [SCHEMA],
    ).fetchall()
    return {f"{SCHEMA}.{name}" for (name,) in rows}


def always_rebuilt(model: Model) -> bool:
    """Whether the model's rows may change without a landed batch.

    A model reading a table outside the landed contract (the exceptions mirror
    `exc.queue_items`, rewritten by the exceptions step on every run, whose
    copy time sets the ages of exception_aging), or calling a clock or random
    function, is rebuilt and diffed on every run.
    """
    return any("." in t for t in model.tables) or bool(VOLATILE.search(model.sql))


def needs_rebuild(chain: Sequence[Model], changes: Changes) -> bool:
    """Whether any model of a KPI's chain may have other rows than at the last refresh."""
    return any(always_rebuilt(m) or changes.touches(m.tables) for m in chain)


def state_table(key: tuple[str, tuple[tuple[str, Any], ...]]) -> str:
    """The stored rows of one (model, parameter values), a table of SCHEMA."""
    name, params = key
    digest = hashlib.sha256(repr(params).encode()).hexdigest()[:8]
    return f"{SCHEMA}.{name}_{digest}"


def _quote(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def _projection(model: Model) -> str:
    """A model row as stored: the hash of every column, then what places it in groups."""
    everything = ", ".join(_quote(c) for c in model.columns)
    placing = ", ".join(_quote(c) for c in (*model.dimensions, *model.time_dimensions))
    return f"hash({everything}) AS _row_hash, {placing}"


def store_rows(con: duckdb.DuckDBPyConnection, model: Model, source: str, table: str) -> None:
    """Keep the model's rows (built in `source`) as `table`, for the next run's diff."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT {_projection(model)} FROM {source}")


def diff_rows(
    con: duckdb.DuckDBPyConnection, model: Model, source: str, table: str, diff: str
) -> int:
    """The rows that came, went or changed since the stored ones, into temp table `diff`
    (old and new version both); the stored rows become the new ones. Returns how many."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE kpi_new_rows AS SELECT {_projection(model)} FROM {source}"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {diff} AS "
        f"(SELECT * FROM {table} EXCEPT ALL SELECT * FROM kpi_new_rows) UNION ALL "
        f"(SELECT * FROM kpi_new_rows EXCEPT ALL SELECT * FROM {table})"
    )
    row = con.execute(f"SELECT count(*) FROM {diff}").fetchone()
    changed = int(row[0]) if row else 0
    if changed:
        con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM kpi_new_rows")
    con.execute("DROP TABLE kpi_new_rows")
    return changed


def write_meta(con: duckdb.DuckDBPyConnection, print_: str, as_of: Any, keep: set[str]) -> None:
    """Record what the stored rows are of; drop stored rows of models no KPI reads now."""
    con.execute(META_DDL)
    con.execute(f"DELETE FROM {SCHEMA}.meta")
    con.execute(f"INSERT INTO {SCHEMA}.meta VALUES (?, ?)", [print_, as_of])
    for table in _stored(con) - keep:
        con.execute(f"DROP TABLE {table}")


def _period(kpi: Kpi, grain: str, alias: str) -> str:
    """The period of a row of `alias` at `grain`, as the compiled KPI query computes it."""
    expr = period_expr(kpi.time_dimension, grain)
    for col in expr.find_all(exp.Column):
        col.set("table", exp.to_identifier(alias))
    return expr.sql(dialect=DIALECT)


def _literal(text: str) -> str:
    return exp.Literal.string(text).sql(dialect=DIALECT)


def affected_groups(
    con: duckdb.DuckDBPyConnection, kpi: Kpi, grain: str, dims: Sequence[str], diff: str
) -> int:
    """The groups (period, dimension, value) of the KPI at `grain` the changed rows fall in,
    into temp table kpi_groups. Returns how many."""
    period = _period(kpi, grain, "d")
    parts = [
        f"SELECT DISTINCT {period} AS period, 'ALL' AS dimension, 'ALL' AS dimension_value "
        f"FROM {diff} AS d"
    ]
    parts += [
        f"SELECT DISTINCT {period}, {_literal(dim)}, CAST(d.{_quote(dim)} AS VARCHAR) FROM {diff} AS d"
        for dim in dims
    ]
    con.execute(
        "CREATE OR REPLACE TEMP TABLE kpi_groups AS "
        f"SELECT * FROM ({' UNION ALL '.join(parts)}) WHERE period IS NOT NULL"
    )
    row = con.execute("SELECT count(*) FROM kpi_groups").fetchone()
    return int(row[0]) if row else 0


def delete_groups(con: duckdb.DuckDBPyConnection, kpi: Kpi, grain: str) -> None:
    """Remove the KPI's values of the groups in kpi_groups."""
    con.execute(
        "DELETE FROM kpi.values AS v WHERE v.kpi = ? AND v.grain = ? AND EXISTS ("
        "  SELECT 1 FROM kpi_groups AS g WHERE g.period = v.period AND g.dimension = v.dimension"
        "  AND g.dimension_value IS NOT DISTINCT FROM v.dimension_value)",
        [kpi.name, grain],
    )


def group_rows(con: duckdb.DuckDBPyConnection, kpi: Kpi, grain: str, dim: str, source: str) -> str:
    """A temp view of the model rows of the affected groups of one dimension ('' = overall):
    whole groups, so every value computed over it is the value over all the rows."""
    period = _period(kpi, grain, "s")
    if dim:
        match = (
            f"g.dimension = {_literal(dim)} AND "
            f"g.dimension_value IS NOT DISTINCT FROM CAST(s.{_quote(dim)} AS VARCHAR)"
        )
    else:
        match = "g.dimension = 'ALL'"
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW kpi_group_rows AS SELECT s.* FROM {source} AS s "
        f"SEMI JOIN kpi_groups AS g ON g.period = {period} AND {match}"
    )
    return "kpi_group_rows"

"""Incremental KPI materialisation: which periods of `kpi.values` a run's batches changed.

Every KPI value is an aggregate over model rows of one period (day, or month)
and nothing outside it: the compiler has no rolling window, a semi-additive
measure takes the last snapshot within its period (and group), and whatever
depends on the as-of date (backlog age, what was due) or on the exceptions
mirror is computed into the model's rows. So the values of a period can
change only if a model row of that period changed, and the periods to
recompute are found by comparing each base model's rows with the rows it had
at the last refresh:

- `kpi_state.<model>_<parameters>` keeps, per model row, a hash of all its
  columns and its time dimensions (which place it in periods); a model that
  declares `incremental` keeps its whole rows, the row's hash and its key's
  hash (`keeps_rows`);
- a run rebuilds only the models that read a table the run loaded, plus the
  models whose rows can change with no batch at all (`always_rebuilt`), and
  diffs their new rows against the stored ones; a model keeping its rows is
  rebuilt only for the keys the run reached (`kpi.keyed`). A row that
  changed, came or went contributes its old AND its new period (an order line
  whose date moved leaves one day and enters another);
- each affected period of each KPI on the model is deleted from `kpi.values`
  and recomputed from all the model rows of that period: every value of it,
  by every dimension, is then exactly what a full refresh computes. For a
  model keeping its rows they are read from the stored rows, just brought up
  to date by key, so no run builds the whole model. (Rebuilding the affected
  periods instead would mean building the model for a set of dates, which
  its SQL cannot be restricted to: an order line's row depends on shipments
  and deliveries of any date; and a 1% delta spread over the year touches
  every day. Keeping the rows costs a full refresh one more write of each
  such model and the warehouse its size: about 85 MB at 1M order lines.)

The stored rows are only trusted for the same catalog (every definition and
model text, version and materialised grains: `fingerprint`) and the same
as-of date; anything else refreshes in full.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp

from control_tower.kpi.catalog import Kpi, Model
from control_tower.kpi.compiler import DIALECT, period_expr
from control_tower.storage.changes import Changes
from control_tower.storage.schema import KPI_STATE_SCHEMA

SCHEMA = KPI_STATE_SCHEMA  # the writer's own: publishing leaves it out of serving snapshots
# Bump when what is stored, or how periods are derived from it, changes: old state is then
# not trusted and the next run refreshes in full.
STATE_FORMAT = 2
# A delta touching at least this share of a KPI's periods recomputes them all from the whole
# model table (the same values; the whole table is then cheaper than picking its periods).
WHOLE_SHARE = 0.5
# Functions whose result moves with the clock or by chance, not with the rows read.
VOLATILE = (exp.CurrentDate, exp.CurrentTime, exp.CurrentTimestamp, exp.Rand, exp.Uuid)
VOLATILE_NAMES = frozenset(
    {"now", "get_current_timestamp", "transaction_timestamp", "current_localtimestamp", "setseed"}
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
    """Why this refresh must recompute everything (None: it may go by periods).

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
    if any("." in t for t in model.tables):
        return True
    tree = sqlglot.parse_one(model.sql, dialect=DIALECT)
    return tree.find(*VOLATILE) is not None or any(
        f.name.lower() in VOLATILE_NAMES for f in tree.find_all(exp.Anonymous)
    )


def needs_rebuild(chain: Sequence[Model], changes: Changes) -> bool:
    """Whether any model of a KPI's chain may have other rows than at the last refresh."""
    return any(always_rebuilt(m) or changes.touches(m.tables) for m in chain)


def state_table(key: tuple[str, tuple[tuple[str, Any], ...]]) -> str:
    """The stored rows of one (model, parameter values), a table of SCHEMA."""
    name, params = key
    digest = hashlib.sha256(repr(params).encode()).hexdigest()[:8]
    return f"{SCHEMA}.{name}_{digest}"


def quote(column: str) -> str:
    """A column name as a SQL identifier."""
    return '"' + column.replace('"', '""') + '"'


def keeps_rows(model: Model) -> bool:
    """Whether the model's whole rows are stored (it refreshes by key: `kpi.keyed`), not
    only their hashes and time dimensions."""
    return model.incremental is not None


def _projection(model: Model) -> str:
    """A model row as stored: the hash of every column, then its time dimensions; a model
    refreshed by key keeps every column, then the row's hash and its key's hash."""
    everything = ", ".join(quote(c) for c in model.columns)
    if keeps_rows(model):
        key = ", ".join(quote(c) for c in model.key)
        return f"*, hash({everything}) AS _row_hash, hash({key}) AS _key_hash"
    dates = ", ".join(quote(c) for c in model.time_dimensions)
    return f"hash({everything}) AS _row_hash, {dates}"


def _new_rows(con: duckdb.DuckDBPyConnection, model: Model, source: str) -> None:
    """The model's rows (built in `source`) as stored, into temp table kpi_new_rows.

    Row hashes are made unique: identical rows (a model may repeat one) are told
    apart by their ordinal, so that a diff on the hash alone counts copies."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE kpi_new_rows AS SELECT {_projection(model)} FROM {source}"
    )
    row = con.execute("SELECT count(*) = count(DISTINCT _row_hash) FROM kpi_new_rows").fetchone()
    if row is not None and not row[0]:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE kpi_new_rows AS SELECT * REPLACE ("
            "hash(_row_hash, row_number() OVER (PARTITION BY _row_hash)) AS _row_hash) "
            "FROM kpi_new_rows"
        )


def store_rows(con: duckdb.DuckDBPyConnection, model: Model, source: str, table: str) -> None:
    """Keep the model's rows (built in `source`) as `table`, for the next run's diff."""
    _new_rows(con, model, source)
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM kpi_new_rows")
    con.execute("DROP TABLE kpi_new_rows")


def diff_rows(
    con: duckdb.DuckDBPyConnection,
    model: Model,
    source: str,
    table: str,
    diff: str,
    *,
    old: str | None = None,
) -> int:
    """The rows that came, went or changed since the stored ones, into temp table `diff`
    (the old and the new version of a changed row); the stored rows become the new ones.
    Returns how many rows `diff` holds. `old`: the stored rows `source` replaces (default:
    all of `table`; the rows of some keys when `source` is built for those keys only).

    A changed row has another hash (a 64-bit hash of all its columns: two
    different rows hashing alike is what would hide a change)."""
    _new_rows(con, model, source)
    old = old or table
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {diff} AS "
        f"SELECT * FROM {old} AS o ANTI JOIN kpi_new_rows USING (_row_hash) UNION ALL "
        f"SELECT * FROM kpi_new_rows ANTI JOIN {old} AS o USING (_row_hash)"
    )
    row = con.execute(f"SELECT count(*) FROM {diff}").fetchone()
    changed = int(row[0]) if row else 0
    if changed:
        con.execute(f"DELETE FROM {table} WHERE _row_hash IN (SELECT _row_hash FROM {diff})")
        con.execute(
            f"INSERT INTO {table} SELECT n.* FROM kpi_new_rows AS n "
            f"SEMI JOIN {diff} AS d ON d._row_hash = n._row_hash"
        )
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


def affected_periods(con: duckdb.DuckDBPyConnection, kpi: Kpi, grain: str, diff: str) -> int:
    """The KPI's periods at `grain` the changed rows in `diff` fall in (old and new), into
    temp table kpi_periods. Returns how many."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE kpi_periods AS "
        f"SELECT DISTINCT {_period(kpi, grain, 'd')} AS period FROM {diff} AS d "
        "WHERE period IS NOT NULL"
    )
    row = con.execute("SELECT count(*) FROM kpi_periods").fetchone()
    return int(row[0]) if row else 0


def most_periods(con: duckdb.DuckDBPyConnection, kpi: Kpi, grain: str) -> bool:
    """Whether the periods in kpi_periods are at least WHOLE_SHARE of the KPI's periods at
    `grain` (then recomputing them all from the whole model table is cheaper)."""
    row = con.execute(
        "SELECT count(*), count(p.period) FROM (SELECT DISTINCT period FROM kpi.values "
        "  WHERE kpi = ? AND grain = ? AND dimension = 'ALL') AS v "
        "LEFT JOIN kpi_periods AS p USING (period)",
        [kpi.name, grain],
    ).fetchone()
    return row is not None and row[0] > 0 and row[1] >= WHOLE_SHARE * row[0]


def delete_periods(
    con: duckdb.DuckDBPyConnection, kpi: Kpi, grain: str, *, every: bool = False
) -> None:
    """Remove the KPI's values at `grain` of the periods in kpi_periods (`every`: all)."""
    periods = "" if every else " AND period IN (SELECT period FROM kpi_periods)"
    con.execute(f"DELETE FROM kpi.values WHERE kpi = ? AND grain = ?{periods}", [kpi.name, grain])


def period_rows(con: duckdb.DuckDBPyConnection, kpi: Kpi, grain: str, source: str) -> str:
    """A temp view of the model rows (in `source`) of the periods in kpi_periods: whole
    periods, so every value computed over it is the value over all the rows."""
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW kpi_period_rows AS SELECT s.* FROM {source} AS s "
        f"SEMI JOIN kpi_periods AS p ON p.period = {_period(kpi, grain, 's')}"
    )
    return "kpi_period_rows"


def drop_temp(con: duckdb.DuckDBPyConnection, diffs: Iterable[str]) -> None:
    """Drop the temporary tables and views of a refresh by periods (`diffs`: its diff tables)."""
    con.execute("DROP VIEW IF EXISTS temp.kpi_period_rows")
    for table in ("kpi_periods", "kpi_new_rows", *(d for d in diffs if d)):
        con.execute(f"DROP TABLE IF EXISTS temp.{table}")

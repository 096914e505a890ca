"""Keyed refresh of a model's rows: a delta rebuilds only the keys its rows reach.

A model declaring `incremental` (`kpi.models.Incremental`) says how the run's
rows of each table it reads map to its keys (`keys_from`) and how to read each
table restricted to some keys (`scoped`). On a delta, when every table the run
loaded that the model reads maps to keys and every model it uses keeps its
rows (declares `incremental` too), the refresh:

- collects the keys in scope into temp table `kpi_scope` (typed as the stored
  key columns, with `_key_hash`, the hash of the key): the keys the run's rows
  of each landed table reach (CTE `touched`, the rows of the run's batches as
  `Changes.rows_sql` picks them), and the keys the changed rows (old and new)
  of each model it uses reach: a model built on another (orders on
  order_lines) follows exactly the rows its input changed;
- builds only those keys' rows: the model SQL's references to each table of
  `scoped` are replaced, on the sqlglot AST, by that SELECT (reading `scope`),
  and the models it uses are read from their stored rows, already brought up
  to date in this run; rows outside the scope are dropped;
- diffs them with the stored rows of the same keys (`_key_hash`): a key whose
  rows vanished (a cancelled line) leaves its old rows as removed.

The stored rows are then the model's whole rows (not only their hashes), kept
current by key; the values of an affected period are recomputed from them, so
no run builds the whole model unless a scope covers more than `SCOPE_SHARE` of
its keys (building everything is then cheaper) or a table it reads maps to no
keys (a dimension table without `keys_from`): that run rebuilds it whole and
diffs every row, as a model without `incremental` always does.

`keys_from` sees the rows as they are after the run: a row whose link to the
model's keys is re-pointed (a return moved to another order line) reaches the
new key only, and the old key's rows stay as they were until the next full
refresh.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp

from control_tower.kpi import incremental
from control_tower.kpi.catalog import Kpi, Model
from control_tower.kpi.compiler import DIALECT, bind_parameters, model_query
from control_tower.kpi.models import SCOPE_TABLE
from control_tower.storage.changes import Changes

SCOPE = "kpi_scope"  # the temp table of the keys in scope (`scope` in the model's SQL)
# A scope of more than this share of a model's stored keys rebuilds the model whole.
SCOPE_SHARE = 0.2


def whole_reason(model: Model, changes: Changes, kept: set[str]) -> str | None:
    """Why a delta rebuilds the model whole (None: by the keys it reached).

    `kept`: the models whose whole rows are stored and current in this run."""
    inc = model.incremental
    if inc is None:
        return "no incremental"
    if incremental.always_rebuilt(model):
        return "its rows move without a batch"
    for table in model.direct:
        if changes.batch_ids(table) and table not in inc.keys_from:
            return f"{table} got rows and maps to no keys"
    for dep in model.uses:
        if dep not in kept:
            return f"model {dep} keeps no rows"
    return None


def _bound(sql: str, params: Mapping[str, Any]) -> dict[str, Any]:
    used = {p.name for p in sqlglot.parse_one(sql, dialect=DIALECT).find_all(exp.Placeholder)}
    return {k: v for k, v in params.items() if k in used}


def _keys(model: Model) -> str:
    return ", ".join(incremental.quote(k) for k in model.key)


def set_scope(
    con: duckdb.DuckDBPyConnection,
    kpi: Kpi,
    changes: Changes,
    state: str,
    diffs: Mapping[str, str],
    *,
    as_of: date,
) -> int:
    """The keys of `kpi.model` the run reached, into temp table SCOPE; returns how many.

    `diffs`: the changed rows of each model it uses (their diff tables)."""
    model = kpi.model
    assert model.incremental is not None
    keys = _keys(model)
    params = {"as_of": as_of, **bind_parameters(kpi, {})}
    con.execute(f"CREATE OR REPLACE TEMP TABLE {SCOPE} AS SELECT {keys} FROM {state} LIMIT 0")
    for table, sql in model.incremental.keys_from.items():
        if table in diffs:
            touched = f"SELECT * FROM {diffs[table]}"
        elif changes.batch_ids(table):
            touched = f"SELECT * FROM {table} WHERE {changes.rows_sql(table)}"
        else:
            continue
        con.execute(
            f"INSERT INTO {SCOPE} BY NAME WITH touched AS ({touched}) "
            f"SELECT {keys} FROM ({sql}) AS reached",
            _bound(sql, params),
        )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {SCOPE} AS "
        f"SELECT DISTINCT *, hash({keys}) AS _key_hash FROM {SCOPE}"
    )
    row = con.execute(f"SELECT count(*) FROM {SCOPE}").fetchone()
    return int(row[0]) if row else 0


def too_many(con: duckdb.DuckDBPyConnection, scope: int, state: str) -> bool:
    """Whether `scope` keys are more than SCOPE_SHARE of the stored rows in `state`."""
    row = con.execute(f"SELECT count(*) FROM {state}").fetchone()
    return scope > SCOPE_SHARE * (int(row[0]) if row else 0)


def scoped_sql(model: Model, *, scope: str = SCOPE, tables: Mapping[str, str] | None = None) -> str:
    """The model's SQL reading each table of its `scoped` restricted to the keys in `scope`
    (a table or view of the model's key columns; SCOPE by default).

    `tables` replaces the `scoped` SELECT of some tables by another (reading `scope` too)."""
    assert model.incremental is not None
    scoped = {**model.incremental.scoped, **(tables or {})}
    tree = sqlglot.parse_one(model.sql, dialect=DIALECT)
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    for table in list(tree.find_all(exp.Table)):
        if table.db or table.name not in scoped or table.name in ctes:
            continue
        sub = sqlglot.parse_one(scoped[table.name], dialect=DIALECT)
        for ref in list(sub.find_all(exp.Table)):
            if ref.name == SCOPE_TABLE and not ref.db:
                ref.replace(exp.alias_(exp.to_table(scope), ref.alias_or_name, table=True))
        table.replace(sub.subquery(table.alias_or_name))
    return tree.sql(dialect=DIALECT)


def diff_keys(
    con: duckdb.DuckDBPyConnection,
    kpi: Kpi,
    current: Mapping[str, str],
    state: str,
    diff: str,
    *,
    as_of: date,
) -> int:
    """Build the rows of the keys in SCOPE and diff them with their stored rows in `state`
    (into temp table `diff`; `state` is brought up to date). `current`: the tables of the
    models it uses. Returns how many rows `diff` holds."""
    model = kpi.model
    scoped = replace(kpi, model=replace(model, sql=scoped_sql(model)))
    sql, params = model_query(scoped, as_of=as_of, tables=current)
    con.execute(f"CREATE OR REPLACE TEMP TABLE kpi_scoped_rows AS {sql}", params)
    in_scope = f"hash({_keys(model)}) IN (SELECT _key_hash FROM {SCOPE})"
    try:
        return incremental.diff_rows(
            con,
            model,
            f"(SELECT * FROM kpi_scoped_rows WHERE {in_scope})",
            state,
            diff,
            old=f"(SELECT * FROM {state} WHERE _key_hash IN (SELECT _key_hash FROM {SCOPE}))",
        )
    finally:
        con.execute("DROP TABLE IF EXISTS temp.kpi_scoped_rows")


def drop_scope(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the temp table of the keys in scope."""
    con.execute(f"DROP TABLE IF EXISTS temp.{SCOPE}")

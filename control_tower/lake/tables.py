"""Which warehouse tables the lake publishes: every landed table, and the derived inputs.

Landed tables are the extract contract's (`control_tower.contracts.TABLES`, schema `main`).
Derived inputs are the schema-qualified tables the governed SQL reads besides them (the
`money` step's rates, the risk scores, the exception queue, the run ledger): they are found by
parsing, with sqlglot, every KPI model's SQL (and its incremental parts) and every exception
rule's SQL (its rule, keys and due queries), so the list follows the definitions by itself.
A name that is no table of the warehouse (a CTE, another model, a temp table such as
`exc_scope` the detection creates for itself) is left out.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import sqlglot
from sqlglot import exp

from control_tower.contracts import TABLES
from control_tower.lake.layout import UNPARTITIONED, PartitionSpec, partition_spec


@dataclass(frozen=True)
class LakeTable:
    """One table to publish: its lake name, kind and warehouse source."""

    name: str  # sales_order_lines (landed) or money.fx_daily (derived)
    kind: str  # landed | derived
    schema: str
    table: str
    partition: PartitionSpec

    @property
    def source(self) -> str:
        """schema.table in the warehouse."""
        return f"{self.schema}.{self.table}"


def governed_sql(kpi_definitions: Path | Sequence[Path] | None = None) -> Iterator[tuple[str, str]]:
    """(what, SQL) of every KPI model (with its incremental parts) and every exception rule
    (with its keys and due queries): the SQL that reads warehouse tables."""
    from control_tower.exceptions.registry import EXCEPTION_TYPES
    from control_tower.kpi.catalog import load_catalog

    catalog = load_catalog(kpi_definitions)
    models = {m.name: m for kpi in catalog.kpis.values() for m in kpi.chain}
    models.update(catalog.models)
    for name, model in sorted(models.items()):
        yield f"KPI model {name}", model.sql
        if model.incremental is not None:
            for part in (model.incremental.keys_from, model.incremental.scoped):
                for table, sql in part.items():
                    yield f"KPI model {name} (incremental, {table})", sql
    for name, rule in EXCEPTION_TYPES.items():
        yield f"exception rule {name}", rule.rule
        for table, sql in rule.keys_from.items():
            yield f"exception rule {name} (keys of {table})", sql
        if rule.due:
            yield f"exception rule {name} (due)", rule.due


def qualified_tables(sql: str, *, what: str) -> frozenset[tuple[str, str]]:
    """The (schema, table) pairs `sql` reads by a schema-qualified name (`main.` included)."""
    try:
        return _qualified(sql)
    except sqlglot.errors.ParseError as exc:
        raise ValueError(f"{what}: the SQL does not parse: {exc}") from None


@functools.lru_cache(maxsize=1024)
def _qualified(sql: str) -> frozenset[tuple[str, str]]:
    # Cached: the scheduler publishes every run, the governed SQL rarely changes.
    tree = sqlglot.parse_one(sql, dialect="duckdb")
    return frozenset(
        (t.db, t.name)
        for t in tree.find_all(exp.Table)
        if isinstance(t.this, exp.Identifier) and t.db
    )


def _warehouse_tables(con: duckdb.DuckDBPyConnection) -> set[tuple[str, str]]:
    rows = con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_catalog = current_database() AND table_type = 'BASE TABLE'"
    ).fetchall()
    return {(str(s), str(t)) for s, t in rows}


def derived_inputs(
    con: duckdb.DuckDBPyConnection, sql: Iterable[tuple[str, str]]
) -> list[tuple[str, str]]:
    """The schema-qualified non-landed tables `sql` reads that exist in the warehouse, sorted."""
    existing = _warehouse_tables(con)
    found: set[tuple[str, str]] = set()
    for what, text in sql:
        found |= {t for t in qualified_tables(text, what=what) if t[0] != "main" and t in existing}
    return sorted(found)


def lake_tables(
    con: duckdb.DuckDBPyConnection, kpi_definitions: Path | Sequence[Path] | None = None
) -> list[LakeTable]:
    """Every table the lake publishes from the warehouse `con`: the landed contract tables, then
    the derived inputs the KPI catalog at `kpi_definitions` (None: the shipped one) and the
    exception rules read."""
    existing = _warehouse_tables(con)
    out = [
        LakeTable(name, "landed", "main", name, partition_spec(name))
        for name in TABLES
        if ("main", name) in existing
    ]
    for schema, table in derived_inputs(con, governed_sql(kpi_definitions)):
        out.append(LakeTable(f"{schema}.{table}", "derived", schema, table, UNPARTITIONED))
    return out

"""`control-tower engine ...`: which engine runs the KPIs and rules, and what would not transpile.

`check` transpiles, for Spark, every query the KPI refresh runs (as the refresh compiles
them) and every exception rule, and lists each that has no exact Spark SQL form, naming
the KPI or rule and the construct; it exits 1 when there is any. `functions` prints the
built-in functions of the installed Spark (the list the transpiler accepts calls from).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import click
import duckdb

from control_tower.engines.transpile import Schema, TranspileError, schema_of, to_spark
from control_tower.export import command_settings, emit_rows, format_option
from control_tower.settings import Settings, utc_now
from control_tower.storage.engine import connect, scratch
from control_tower.storage.schema import ensure_schema


def warehouse_schema(settings: Settings) -> Schema:
    """The columns of every warehouse table (the lake holds the same): the installation's
    warehouse when it exists, else a new warehouse's."""
    if settings.warehouse_path.exists():
        try:
            con = connect(settings.warehouse_path, settings.duckdb, read_only=True)
        except duckdb.Error:  # held by the scheduler: the schema is the product's own
            con = None
        if con is not None:
            try:
                return schema_of(con)
            finally:
                con.close()
    return new_warehouse_schema()


def new_warehouse_schema() -> Schema:
    """The columns of every table of a new warehouse (landed and derived)."""
    con = scratch()
    try:
        ensure_schema(con)
        return schema_of(con)
    finally:
        con.close()


def problems(settings: Settings, *, as_of: date, now: datetime) -> list[dict[str, Any]]:
    """Every KPI query and exception rule without an exact Spark form, one row each."""
    from control_tower.exceptions.registry import EXCEPTION_TYPES
    from control_tower.kpi.catalog import load_catalog
    from control_tower.kpi.engine_refresh import untranspilable

    schema = warehouse_schema(settings)
    catalog = load_catalog(settings.kpi_definitions)
    errors = untranspilable(list(catalog.kpis.values()), as_of=as_of, schema=schema)
    for name, rule in EXCEPTION_TYPES.items():
        try:
            to_spark(
                rule.rule,
                rule.bindings(as_of=as_of, now=now),
                what=f"exception rule {name}",
                schema=schema,
            )
        except TranspileError as exc:
            errors.append(exc)
    return [{"query": e.what, "construct": e.construct} for e in errors]


@click.group("engine")
def engine_group() -> None:
    """The engine of the KPI refresh and the exception rules: DuckDB, or Spark over the lake."""


@engine_group.command("check")
@format_option()
@click.pass_context
def check_command(ctx: click.Context, fmt: str) -> None:
    """List every KPI query and exception rule that has no exact Spark SQL form."""
    settings = command_settings(ctx)
    now = utc_now()
    rows = problems(settings, as_of=now.date(), now=now)
    if rows:
        emit_rows(rows, ("query", "construct"), fmt, title="Not transpilable to Spark SQL")
        ctx.exit(1)
    click.echo("every KPI query and exception rule transpiles to Spark SQL")


@engine_group.command("functions")
def functions_command() -> None:
    """Print the built-in functions of the installed Spark (starts a local session)."""
    from control_tower.engines.spark import SparkConfig, start_session

    session = start_session(SparkConfig(master="local[1]"))
    try:
        names = sorted({row[0] for row in session.sql("SHOW FUNCTIONS").collect()})
    finally:
        session.stop()
    click.echo("\n".join(names))

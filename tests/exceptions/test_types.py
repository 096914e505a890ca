"""The exception type registry: complete, well-formed, linked to KPIs that exist."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import duckdb
import pytest

from control_tower.exceptions.registry import (
    EXCEPTION_TYPES,
    OPTIONAL_RULE_COLUMNS,
    RULE_COLUMNS,
    exception_type,
)
from control_tower.kpi.catalog import load_catalog
from control_tower.settings import DEFAULT_KPI_DEFINITIONS
from control_tower.storage.schema import ensure_schema

REQUIRED = {
    "adjustment_anomaly",
    "stockout_risk",
    "backordered_line",
    "order_at_risk",
    "short_shipment",
    "missed_promise",
    "late_wave",
    "cycle_count_variance",
    "receipt_not_put_away",
    "carrier_delay",
    "freight_cost_overrun",
    "unmatched_invoice_line",
    "overdue_close_task",
    "quarantined_rows",
    "stale_source",
    "failing_step",
    "action_not_confirmed",
    "missing_fx_rate",
}


def test_every_required_type_is_declared() -> None:
    assert set(EXCEPTION_TYPES) == REQUIRED


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_rule_runs_on_an_empty_warehouse_and_returns_the_rule_columns(name: str) -> None:
    t = EXCEPTION_TYPES[name]
    con = duckdb.connect()
    ensure_schema(con)
    con.execute("CREATE TABLE ops.table_freshness AS SELECT '' AS system, '' AS table_name, "
                "NULL::TIMESTAMP AS last_loaded_at, 1.0 AS sla_hours LIMIT 0")  # fmt: skip
    cur = con.execute(t.rule, t.bindings(as_of="2026-03-12", now="2026-03-12 10:00:00"))
    names = tuple(d[0] for d in cur.description)
    assert names[: len(RULE_COLUMNS)] == RULE_COLUMNS
    assert set(names[len(RULE_COLUMNS) :]) <= set(OPTIONAL_RULE_COLUMNS)
    assert cur.fetchall() == []


def test_every_type_behind_a_kpi_definition_is_registered() -> None:
    catalog = load_catalog(Path(DEFAULT_KPI_DEFINITIONS))
    behind = {t for kpi in catalog.kpis.values() for t in kpi.exception_types}
    assert behind
    assert behind <= set(EXCEPTION_TYPES)


def test_declaration_errors_name_the_type() -> None:
    with pytest.raises(ValueError, match="'stockout_risk': owner role 'nobody'"):
        dataclasses.replace(EXCEPTION_TYPES["stockout_risk"], owner_role="nobody")
    with pytest.raises(KeyError, match="unknown exception type 'nope'; known types: stockout_risk"):
        exception_type("nope")

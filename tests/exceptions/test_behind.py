"""The unresolved items behind a KPI's number: its types and its own alerts, or every item past SLA."""

from __future__ import annotations

import json
from datetime import datetime

import duckdb
import pytest

from control_tower.accounts import Scope
from control_tower.exceptions.behind import exceptions_behind
from control_tower.storage.schema import ensure_schema

NOW = datetime(2026, 3, 12, 12, 0)
# id, type, status, location, created_at, sla_hours, value at risk, detail
ROWS = [
    ("1", "short_shipment", "open", "DC-NJ", "2026-03-12 06:00", 48, 50.0, {}),
    ("2", "short_shipment", "acknowledged", "DC-CHI", "2026-03-01 06:00", 48, 90.0, {}),
    ("3", "short_shipment", "resolved", "DC-NJ", "2026-03-01 06:00", 48, 500.0, {}),
    ("4", "late_wave", "open", "DC-NJ", "2026-03-01 06:00", 24, None, {}),
    ("5", "kpi_alert", "open", None, "2026-03-12 11:00", 24, None, {"kpi": "line_fill_rate"}),
    ("6", "kpi_alert", "open", None, "2026-03-12 11:00", 24, None, {"kpi": "stockout_rate"}),
]


@pytest.fixture
def cur() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    ensure_schema(con)
    for r in ROWS:
        con.execute(
            "INSERT INTO exc.queue_items (id, type, key, status, location_id, created_at, "
            "sla_hours, value_at_risk, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [r[0], r[1], f"k{r[0]}", r[2], r[3], r[4], r[5], r[6], json.dumps(r[7])],
        )
    return con


def test_the_types_of_a_kpi_and_its_own_alerts(cur) -> None:
    found = exceptions_behind(cur, "line_fill_rate", ("short_shipment",), scope=Scope(), now=NOW)
    assert [r.id for r in found.rows] == ["2", "1", "5"]  # biggest value at risk first
    assert (found.count, found.value_at_risk, found.past_sla) == (3, 140.0, 1)
    assert found.types == ("short_shipment",)


def test_a_kpi_without_types_has_only_its_alerts(cur) -> None:
    found = exceptions_behind(cur, "stockout_rate", (), scope=Scope(), now=NOW)
    assert [r.id for r in found.rows] == ["6"]


def test_past_sla_items_of_every_type(cur) -> None:
    found = exceptions_behind(
        cur, "exception_aging", (), scope=Scope(), now=NOW, past_sla_only=True
    )
    assert sorted(r.id for r in found.rows) == ["2", "4"]
    assert found.count == found.past_sla == 2


def test_the_scope_and_an_empty_mirror(cur) -> None:
    only_nj = Scope.of(locations=["DC-NJ"])
    found = exceptions_behind(cur, "line_fill_rate", ("short_shipment",), scope=only_nj, now=NOW)
    assert [r.id for r in found.rows] == ["1"]
    empty = exceptions_behind(duckdb.connect(), "x", ("late_wave",), scope=Scope(), now=NOW)
    assert (empty.count, empty.rows, empty.types) == (0, (), ("late_wave",))

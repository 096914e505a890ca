"""Golden SQL: the compiled SQL of every KPI, checked in under tests/kpi/golden/ as
`<kpi>.sql.golden` (expected compiler output, data rather than code).

Regenerate on purpose only: `CONTROL_TOWER_UPDATE_GOLDEN=1 pytest tests/kpi/test_golden_sql.py`.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

from control_tower.kpi.catalog import load_catalog
from control_tower.kpi.compiler import CompileError, compile_kpi

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("CONTROL_TOWER_UPDATE_GOLDEN") == "1"
CATALOG = load_catalog()


@pytest.mark.parametrize("name", sorted(CATALOG.kpis))
def test_compiled_sql_matches_its_golden_snapshot(name: str) -> None:
    kpi = CATALOG.kpi(name)
    sql = compile_kpi(
        kpi,
        as_of=date(2026, 3, 10),
        grain="week",
        by=kpi.dimensions[:1],
        where={kpi.dimensions[0]: "X"},
    ).sql
    path = GOLDEN / f"{name}.sql.golden"
    if UPDATE:
        path.write_text(sql + "\n")
    assert path.exists(), f"no golden SQL for {name}: run with CONTROL_TOWER_UPDATE_GOLDEN=1"
    assert sql + "\n" == path.read_text(), f"{name} compiles differently from {path}"


def test_user_values_are_bound_never_pasted() -> None:
    q = compile_kpi(
        CATALOG.kpi("line_fill_rate"), as_of=date(2026, 3, 10), where={"channel": "x' OR 1=1 --"}
    )
    assert "OR 1=1" not in q.sql
    assert q.params == {"as_of": date(2026, 3, 10), "filter_channel_0": "x' OR 1=1 --"}
    assert "-- kpi: line_fill_rate v1 (certified" in q.sql


def test_a_dimension_not_allowed_is_a_clear_error() -> None:
    with pytest.raises(
        CompileError, match="cannot be grouped by 'carrier_id'; allowed dimensions: location_id"
    ):
        compile_kpi(CATALOG.kpi("line_fill_rate"), as_of=date(2026, 3, 10), by=["carrier_id"])

"""Rollup property: a ratio KPI over the whole is sum(numerator) / sum(denominator) of its parts.

For random small datasets landed through the real pipeline, every ratio KPI of
the order models, grouped by each allowed dimension (and by day), has parts
whose numerators and denominators sum to the whole's, and the whole's value is
that ratio (never an average of the parts' ratios).
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from control_tower.kpi.catalog import load_catalog
from control_tower.kpi.query import compute
from tests.support.extracts import warehouse
from tests.support.kpi_rows import (
    FREIGHT_HEADER,
    ORDER_HEADER,
    SHIP_HEADER,
    freight_row,
    land_rows,
    order_row,
    ship_row,
)

AS_OF = date(2026, 3, 8)
KPIS = (
    "line_fill_rate",
    "unit_fill_rate",
    "order_fill_rate",
    "order_promise_accuracy",
    "otif_requested",
    "perfect_order_rate",
)

line = st.fixed_dictionaries(
    {
        "order": st.sampled_from(["O1", "O2", "O3", "O4"]),
        "location": st.sampled_from(["L1", "L2"]),
        "item": st.sampled_from(["I1", "I2", "I3"]),
        "customer": st.sampled_from(["C1", "C2"]),
        "channel": st.sampled_from(["EDI", "web"]),
        "order_day": st.integers(1, 5),
        "promise_day": st.integers(3, 12),
        "qty": st.integers(1, 10),
        "shipped": st.integers(0, 12),  # 0: never shipped
        "delivered": st.booleans(),
        "cancelled": st.booleans(),
    }
)


def _files(lines: list[dict]) -> dict[str, str]:
    """The generated lines as order, shipment and freight CSVs (line numbers per order)."""
    orders, ships, freight = ORDER_HEADER, SHIP_HEADER, FREIGHT_HEADER
    numbers: dict[str, int] = {}
    for i, ln in enumerate(lines):
        n = numbers[ln["order"]] = numbers.get(ln["order"], 0) + 1
        promised = f"2026-03-{ln['promise_day']:02d}"
        orders += order_row(
            ln["order"],
            n,
            location=ln["location"],
            item=ln["item"],
            customer=ln["customer"],
            channel=ln["channel"],
            qty=ln["qty"],
            order_ts=f"2026-03-{ln['order_day']:02d} 09:00:00",
            requested=promised,
            promised=promised,
            status="cancelled" if ln["cancelled"] else "open",
        )
        if ln["shipped"]:
            day = f"2026-03-{ln['order_day'] + 1:02d}"
            sid = f"S{i}"
            ships += ship_row(
                sid,
                ln["order"],
                n,
                ln["shipped"],
                f"{day} 10:00:00",
                item=ln["item"],
                location=ln["location"],
            )
            if ln["delivered"]:
                freight += freight_row(
                    f"F{i}", sid, delivered=f"{day} 18:00:00", status="delivered"
                )
    return {"sales_order_lines": orders, "shipments": ships, "freight_shipments": freight}


@settings(
    max_examples=3,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.lists(line, min_size=1, max_size=10))
def test_ratio_kpis_roll_up_over_every_allowed_dimension(lines: list[dict]) -> None:
    catalog = load_catalog()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        land_rows(home, _files(lines))
        with warehouse(home) as con:
            for name in KPIS:
                kpi = catalog.kpi(name)
                whole = compute(con, kpi, as_of=AS_OF)["rows"]
                assert len(whole) == 1
                num, den = whole[0]["numerator"] or 0, whole[0]["denominator"] or 0
                if den:
                    assert whole[0]["value"] == pytest.approx(num / den)
                else:
                    assert whole[0]["value"] is None
                for dim in kpi.dimensions:
                    for grain in (None, "day") if dim == "location_id" else (None,):
                        parts = compute(con, kpi, as_of=AS_OF, by=[dim], grain=grain)["rows"]
                        where = f"{name} by {dim} ({grain or 'all'})"
                        assert sum(p["numerator"] or 0 for p in parts) == num, where
                        assert sum(p["denominator"] or 0 for p in parts) == den, where
                        for p in parts:
                            if p["denominator"]:
                                assert p["value"] == pytest.approx(
                                    p["numerator"] / p["denominator"]
                                ), where

"""`control-tower kpi compute` JSON shape, read from the published serving snapshot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from control_tower.cli import main
from tests.support.kpi_rows import ORDER_HEADER, SHIP_HEADER, land_rows

TS = "2026-03-01T00:00:00Z"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two lines at L1 (one filled, one short) and one at L2 (not shipped, past promise)."""
    home = tmp_path_factory.mktemp("cli") / "home"
    orders = ORDER_HEADER + (
        f"O1,1,E1,C1,I1,L1,EDI,2026-03-02 09:00:00,10,EA,4.00,2026-03-05,2026-03-05,,open,{TS}\n"
        f"O1,2,E1,C1,I1,L1,EDI,2026-03-02 09:00:00,10,EA,4.00,2026-03-05,2026-03-05,,open,{TS}\n"
        f"O2,1,E2,C2,I3,L2,web,2026-03-03 10:00:00,5,EA,0.10,2026-03-06,2026-03-06,,open,{TS}\n"
    )
    ships = SHIP_HEADER + (
        "S1,O1,1,I1,L1,,10,EA,2026-03-04 13:00:00\nS1,O1,2,I1,L1,,4,EA,2026-03-04 13:00:00\n"
    )
    land_rows(home, {"sales_order_lines": orders, "shipments": ships})
    return home


def run(home: Path, *args: str) -> dict:
    result = CliRunner().invoke(main, ["--home", str(home), "kpi", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_overall_is_one_row_for_all_history(home: Path) -> None:
    out = run(home, "compute", "line_fill_rate", "--as-of", "2026-03-10", "--format", "json")
    assert set(out) == {"kpi", "version", "as_of", "freshness", "rows"}
    assert (out["kpi"], out["version"], out["as_of"]) == ("line_fill_rate", 1, "2026-03-10")
    assert out["freshness"] is not None
    assert out["rows"] == [{"numerator": 1.0, "denominator": 3.0, "value": pytest.approx(1 / 3)}]


def test_by_dimension_and_grain_with_a_filter(home: Path) -> None:
    out = run(
        home,
        "compute",
        "line_fill_rate",
        "--as-of",
        "2026-03-10",
        "--grain",
        "week",
        "--by",
        "location_id",
        "--where",
        "entity_id=E1",
        "--format",
        "json",
    )
    assert out["rows"] == [
        {
            "location_id": "L1",
            "period": "2026-03-02",
            "numerator": 1.0,
            "denominator": 2.0,
            "value": 0.5,
        }
    ]


def test_a_dimension_not_allowed_names_the_allowed_ones(home: Path) -> None:
    result = CliRunner().invoke(
        main,
        [
            "--home",
            str(home),
            "kpi",
            "compute",
            "line_fill_rate",
            "--as-of",
            "2026-03-10",
            "--by",
            "carrier_id",
        ],
    )
    assert result.exit_code == 1
    assert (
        "cannot be grouped by 'carrier_id'; allowed dimensions: location_id, entity_id"
        in result.output
    )


def test_materialised_values_match_the_computed_figures(home: Path) -> None:
    from tests.support.extracts import fetch

    rows = fetch(
        home,
        "SELECT grain, dimension, dimension_value, sum(numerator), sum(denominator) "
        "FROM kpi.values WHERE kpi = 'line_fill_rate' GROUP BY ALL ORDER BY ALL",
    )
    assert ("day", "ALL", "ALL", 1.0, 3.0) in rows
    assert ("day", "location_id", "L1", 1.0, 2.0) in rows
    # high-cardinality dimensions (item, customer) are materialised by month, beside ALL
    assert ("month", "ALL", "ALL", 1.0, 3.0) in rows
    assert ("month", "customer_id", "C1", 1.0, 2.0) in rows
    assert not [r for r in rows if r[0] == "day" and r[1] in ("item_id", "customer_id")]

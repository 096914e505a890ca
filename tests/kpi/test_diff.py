"""`control-tower kpi diff NAME`: values under the previous and the current definition."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from control_tower.cli import main
from control_tower.kpi.catalog import DEFAULT_DIR
from tests.support.kpi_rows import ORDER_HEADER, SHIP_HEADER, land_rows, order_row, ship_row

REDEFINED = """measures:
  numerator: {expr: "CASE WHEN filled_units * 2 >= measurable_units AND is_fill_measurable = 1 THEN 1 ELSE 0 END", agg: sum}
  denominator: {expr: is_fill_measurable, agg: sum}
"""


@pytest.fixture(scope="module")
def landed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Three lines at L1 promised 03-05, as of 03-10, landed with a copy of the definitions.

    line  ordered  first shipment  v1 (filled in full)  v2 (half filled is enough)
    O1    10       10              filled               filled
    O2    10       6               not filled           filled
    O3    10       none            not filled           not filled
    Line fill rate v1 = 1/3, v2 = 2/3: the diff shows 0.333 -> 0.667, delta +0.333.
    """
    base = tmp_path_factory.mktemp("diff")
    defs = base / "kpi_definitions"
    shutil.copytree(DEFAULT_DIR, defs)
    home = base / "home"
    orders = ORDER_HEADER + "".join(order_row(o, promised="2026-03-05") for o in ("O1", "O2", "O3"))
    ships = SHIP_HEADER + (
        ship_row("S1", "O1", 1, 10, "2026-03-04 13:00:00")
        + ship_row("S2", "O2", 1, 6, "2026-03-04 13:00:00")
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CONTROL_TOWER_KPI_DEFINITIONS", str(defs))
        land_rows(home, {"sales_order_lines": orders, "shipments": ships})  # records v1
        path = defs / "line_fill_rate.yml"
        text = path.read_text().replace("version: 1", "version: 2")
        start, end = text.index("measures:"), text.index("time_dimension:")
        path.write_text(text[:start] + REDEFINED + text[end:])
        land_rows(home, {}, master=False)  # the refresh records v2
    return home, defs


def run(home: Path, defs: Path, *args: str) -> CliRunner:
    """Invoke `control-tower --home HOME kpi ARGS` with the copied definitions."""
    return CliRunner().invoke(
        main, ["--home", str(home), "kpi", *args], env={"CONTROL_TOWER_KPI_DEFINITIONS": str(defs)}
    )


def test_diff_shows_both_versions_side_by_side(landed: tuple[Path, Path]) -> None:
    result = run(*landed, "diff", "line_fill_rate", "--as-of", "2026-03-10", "--format", "json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert (out["kpi"], out["previous_version"], out["version"]) == ("line_fill_rate", 1, 2)
    assert out["previous_content"] != out["content"]
    assert out["rows"] == [
        {
            "previous": pytest.approx(1 / 3),
            "current": pytest.approx(2 / 3),
            "delta": pytest.approx(1 / 3),
        }
    ]


def test_diff_by_dimension_and_grain(landed: tuple[Path, Path]) -> None:
    result = run(
        *landed,
        "diff",
        "line_fill_rate",
        "--as-of",
        "2026-03-10",
        "--by",
        "location_id",
        "--grain",
        "day",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)["rows"]
    assert [(r["location_id"], r["period"]) for r in rows] == [("L1", "2026-03-02")]


def test_table_output_names_both_versions(landed: tuple[Path, Path]) -> None:
    result = run(*landed, "diff", "line_fill_rate", "--as-of", "2026-03-10")
    assert result.exit_code == 0, result.output
    assert "line_fill_rate v1 (" in result.output
    assert "-> v2 (" in result.output


def test_a_kpi_without_a_previous_definition_is_a_clear_error(landed: tuple[Path, Path]) -> None:
    result = run(*landed, "diff", "unit_fill_rate", "--as-of", "2026-03-10")
    assert result.exit_code == 1
    assert "unit_fill_rate has no previous recorded definition" in result.output

"""Dates follow the data: a delivery 13 days old ends the default range on its own as-of day,
tiles say when the data is as of and when it was loaded, and flag each stale source they read.

    now (the product clock)  2026-03-31 11:00
    waves (wms)              newest extract 2026-03-18 06:00, loaded 03-18 07:00: stale (SLA 26 h)
    sales_order_lines (erp)  newest extract 2026-03-18 05:00, loaded 03-31 07:00: fresh
    planned times in the future (2026-04-02) do not make the data newer than the clock
"""

from __future__ import annotations

from datetime import date, datetime

import duckdb
import pytest

from control_tower.accounts import Scope
from control_tower.contracts import TABLES
from control_tower.kpi.catalog import load_catalog
from control_tower.kpi.serving import latest_as_of
from control_tower.storage.schema import ensure_schema
from control_tower.views.data_time import data_as_of, data_time, range_end
from control_tower.views.executive import executive_view
from control_tower.views.kpi import Tile
from control_tower.web.kpi_ui import freshness_line

NOW = datetime(2026, 3, 31, 11, 0)


@pytest.fixture
def cur():
    con = duckdb.connect()
    ensure_schema(con)
    con.execute(
        "CREATE TABLE ops.table_freshness AS SELECT * FROM (VALUES "
        "('wms', 'waves', 40, TIMESTAMP '2026-03-18 06:00', TIMESTAMP '2026-03-18 07:00'), "
        "('erp', 'sales_order_lines', 90, TIMESTAMP '2026-03-18 05:00', "
        " TIMESTAMP '2026-03-31 07:00'), "
        "('tms', 'freight_shipments', 0, TIMESTAMP '2026-04-02 00:00', NULL)"
        ") AS t(system, table_name, row_count, newest_data_at, last_loaded_at)"
    )
    con.execute(
        "ALTER TABLE ops.table_freshness ADD COLUMN last_batch_id BIGINT; "
        "ALTER TABLE ops.table_freshness ADD COLUMN batches_loaded INTEGER DEFAULT 1; "
        "ALTER TABLE ops.table_freshness ADD COLUMN batches_rejected INTEGER DEFAULT 0; "
        "ALTER TABLE ops.table_freshness ADD COLUMN rows_quarantined INTEGER DEFAULT 0"
    )
    yield con
    con.close()


def test_the_default_range_ends_at_the_data_as_of_day_not_today(cur) -> None:
    assert data_as_of(cur, NOW) == datetime(2026, 3, 18, 6, 0)
    assert range_end(cur, date(2026, 3, 31), NOW) == date(2026, 3, 18)
    assert range_end(cur, date(2026, 3, 10), NOW) == date(2026, 3, 10)  # never after the values


def test_a_stale_source_is_flagged_on_every_kpi_that_reads_it(cur) -> None:
    catalog = load_catalog()
    for kpi in catalog.kpis.values():
        flagged = data_time(cur, kpi.model.tables, NOW).stale
        assert bool(flagged) == ("waves" in kpi.model.tables), kpi.name
    waves = data_time(cur, catalog.kpi("wave_release_adherence").model.tables, NOW)
    assert waves.stale == ("wms (waves)",)
    assert (waves.data_as_of, waves.loaded_at) == (
        datetime(2026, 3, 18, 6),
        datetime(2026, 3, 18, 7),
    )
    both = data_time(cur, ["waves", "sales_order_lines"], NOW)
    assert both.data_as_of == datetime(2026, 3, 18, 5, 0)  # the oldest newest extract read


def test_the_tile_says_data_as_of_and_loaded_separately(cur) -> None:
    fill = data_time(cur, ["sales_order_lines"], NOW)
    line = str(freshness_line(None, NOW, fill).children)
    assert "Data as of 2026-03-18 05:00 UTC · loaded 2026-03-31 07:00 UTC" in line
    stale = freshness_line(None, NOW, data_time(cur, ["waves", "sales_order_lines"], NOW))
    assert "kpi-fresh--stale" in stale.className
    assert "Stale source: wms (waves)" in str(stale.children)


def test_every_demo_tile_says_when_its_data_is_from_and_was_loaded(snapshot, catalog) -> None:
    end = latest_as_of(snapshot)
    page = executive_view(snapshot, catalog, Scope(), start=end, end=end, grain="day")
    read = [t for t in page.tiles if isinstance(t, Tile) and set(t.kpi.model.tables) & set(TABLES)]
    assert read
    for t in read:
        assert t.data is not None, t.kpi.name
        assert t.data.data_as_of is not None, t.kpi.name
        assert t.data.loaded_at is not None, t.kpi.name
        assert t.data.data_as_of <= t.data.loaded_at, t.kpi.name


def test_master_data_unchanged_for_months_does_not_date_the_events(cur) -> None:
    cur.execute(
        "INSERT INTO ops.table_freshness (system, table_name, row_count, newest_data_at, "
        "last_loaded_at) VALUES ('erp', 'items', 12, TIMESTAMP '2025-11-02 08:00', "
        "TIMESTAMP '2026-03-31 07:00')"
    )
    lines = data_time(cur, ["sales_order_lines", "items"], NOW)
    assert lines.data_as_of == datetime(2026, 3, 18, 5, 0)  # the order lines', not the items'
    assert data_time(cur, ["items"], NOW).data_as_of == datetime(2025, 11, 2, 8, 0)

"""A delta recomputes only the KPI periods whose model rows changed, and ends where a full refresh
of the same data ends: the same `kpi.values` rows (all but computed_at).

Each test works on a private copy of the landed small demo's warehouse. A "batch" here is what
landing does to a table: the changed or new rows carry the new batch's id, and the batch is
recorded as loaded in `ops.batches` (which sets the freshness).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from control_tower.kpi import incremental as kpi_incremental
from control_tower.kpi.catalog import load_catalog
from control_tower.kpi.materialize import RefreshReport, refresh_kpis
from control_tower.settings import load_settings
from control_tower.storage.serving import current_snapshot, open_snapshot
from pipelines import steps
from pipelines.run import run_pipeline
from tests.support.clock import clock_at
from tests.support.demo_data import DEMO_AS_OF
from tests.support.kpi_deltas import LOADED_AT, Landing
from tests.support.kpi_rows import edit
from tests.support.tiny_inbox import write_master, write_orders

VALUES = "SELECT * EXCLUDE (computed_at) FROM kpi.values ORDER BY ALL"


@pytest.fixture
def con(demo_home: Path, tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A writable copy of the landed small demo's warehouse (its KPIs refreshed in full)."""
    copy = tmp_path / "warehouse.duckdb"
    shutil.copyfile(demo_home / "warehouse.duckdb", copy)
    wal = demo_home / "warehouse.duckdb.wal"
    if wal.exists():
        shutil.copyfile(wal, tmp_path / "warehouse.duckdb.wal")
    connection = duckdb.connect(str(copy))
    connection.execute("SET TimeZone = 'UTC'")
    refresh_kpis(connection, as_of=DEMO_AS_OF)
    yield connection
    connection.close()


def _values(con: duckdb.DuckDBPyConnection) -> list[tuple[object, ...]]:
    return con.execute(VALUES).fetchall()


def _delta(con: duckdb.DuckDBPyConnection, landing: Landing) -> RefreshReport:
    report = refresh_kpis(con, as_of=DEMO_AS_OF, changes=landing.changes())
    assert report.mode == "by changed periods", report.mode
    return report


def _unread_table() -> str:
    """A landed table no KPI model reads."""
    read = {t for k in load_catalog().kpis.values() for m in k.chain for t in m.tables}
    assert "tracking_events" not in read
    return "tracking_events"


@pytest.mark.parametrize(
    "whole_share",
    [
        pytest.param(kpi_incremental.WHOLE_SHARE, id="as-shipped"),
        # Never the whole model table: every recomputed period is picked out of it.
        pytest.param(1.01, id="periods-only"),
    ],
)
def test_deltas_of_several_kinds_end_where_a_full_refresh_does(
    con: duckdb.DuckDBPyConnection, whole_share: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kpi_incremental, "WHOLE_SHARE", whole_share)
    landing = Landing(con)
    lines = "sales_order_lines"
    # Recent order lines moved to another day (into another month for some), re-promised,
    # cancelled, shipped; and new lines, copies of existing ones under new order ids.
    landing.update(
        lines,
        "order_ts = order_ts - INTERVAL 9 DAY, order_ts_local_date = order_ts_local_date - 9, "
        "first_promised_date = first_promised_date + 2",
        "hash(order_id) % 7 = 0 AND order_ts_local_date >= DATE '2026-03-02'",
    )
    landing.update(lines, "status = 'cancelled'", "hash(order_id) % 67 = 1")
    landing.update(lines, "status = 'shipped'", "status = 'open' AND hash(order_id) % 5 = 2")
    landing.insert(
        lines,
        f"SELECT * EXCLUDE (_batch_id, _loaded_at) REPLACE ('N' || order_id AS order_id) "
        f"FROM {lines} WHERE hash(order_id) % 41 = 3",
    )
    first = _delta(con, landing)
    assert first.changed_rows["order_lines"] > 0
    assert "stock_days" not in first.changed_rows  # no input of the stock model changed

    # Stock: changed positions, a day's snapshots moved to the next day; shipments that left
    # a day later; an item moving to another ABC class (all its rows change groups).
    landing.update(
        "inventory_snapshots",
        "on_hand_qty = on_hand_qty + 7, allocated_qty = allocated_qty + on_hand_qty",
        "hash(item_id, location_id) % 13 = 0 AND snapshot_date > DATE '2026-02-20'",
    )
    landing.update(
        "shipments",
        "shipped_ts = shipped_ts + INTERVAL 1 DAY, shipped_ts_local_date = shipped_ts_local_date + 1",
        "hash(shipment_id) % 29 = 0",
    )
    landing.update(
        "items",
        "abc_class = CASE abc_class WHEN 'A' THEN 'C' ELSE 'A' END",
        "hash(item_id) % 7 = 0",
    )
    second = _delta(con, landing)
    assert second.changed_rows["stock_days"] > 0

    # A table no KPI reads, and the exceptions mirror re-copied with items resolved (no batch).
    landing.insert(
        _unread_table(), f"SELECT * EXCLUDE (_batch_id, _loaded_at) FROM {_unread_table()} LIMIT 5"
    )
    con.execute(
        "UPDATE exc.queue_items SET mirrored_at = mirrored_at + INTERVAL 20 MINUTE, "
        "status = CASE WHEN hash(id) % 3 = 0 THEN 'resolved' ELSE status END, "
        "resolved_at = CASE WHEN hash(id) % 3 = 0 THEN mirrored_at ELSE resolved_at END"
    )
    third = _delta(con, landing)
    assert third.changed_rows["open_exceptions"] > 0
    assert "order_lines" not in third.changed_rows

    incremental = _values(con)
    full = refresh_kpis(con, as_of=DEMO_AS_OF)
    assert full.mode == "full refresh (requested)"
    assert incremental == _values(con)


def test_a_delta_touching_no_kpi_input_recomputes_nothing(
    con: duckdb.DuckDBPyConnection,
) -> None:
    before = con.execute("SELECT * FROM kpi.values ORDER BY ALL").fetchall()
    landing = Landing(con)
    table = _unread_table()
    landing.insert(table, f"SELECT * EXCLUDE (_batch_id, _loaded_at) FROM {table} LIMIT 3")
    report = _delta(con, landing)
    assert (report.recomputed, report.periods) == (0, 0)
    # The models that read no batch were not even built; the exceptions mirror is always
    # compared, and had not changed.
    assert report.changed_rows == {"open_exceptions": 0}
    assert con.execute("SELECT * FROM kpi.values ORDER BY ALL").fetchall() == before


def test_freshness_moves_with_a_batch_that_changed_no_model_row(
    con: duckdb.DuckDBPyConnection,
) -> None:
    # Every table the stock KPIs read gets a batch newer than any other, of rows that change
    # nothing: their values are recomputed nowhere, yet are fresher.
    landing = Landing(con)
    for table in ("inventory_snapshots", "shipments", "items", "locations"):
        landing.update(table, "_loaded_at = _loaded_at", "FALSE")
    report = _delta(con, landing)
    assert report.periods == 0
    fresh = con.execute("SELECT DISTINCT freshness FROM kpi.values WHERE kpi = 'stockout_rate'")
    assert fresh.fetchall() == [(LOADED_AT,)]
    incremental = _values(con)
    refresh_kpis(con, as_of=DEMO_AS_OF)
    assert incremental == _values(con)


def test_a_changed_catalog_or_another_day_refreshes_in_full(
    con: duckdb.DuckDBPyConnection, root: Path
) -> None:
    landing = Landing(con)
    landing.update("sales_order_lines", "status = 'cancelled'", "hash(order_id) % 50 = 0")
    # New thresholds: a new version of the definition, and values between the old and the new
    # breach line are breaches now.
    edit(root, "otif_requested", "{warn: 0.85, breach: 0.8}", "{warn: 0.95, breach: 0.9}")
    report = refresh_kpis(con, as_of=DEMO_AS_OF, root=root, changes=landing.changes())
    assert report.mode == "full refresh (new KPI versions)"
    assert report.summary().endswith("; full refresh (new KPI versions), 1 new versions")
    breaches = con.execute(
        "SELECT count(*) FROM kpi.values WHERE kpi = 'otif_requested' AND status = 'breach' "
        "AND value >= 0.8"
    ).fetchone()
    assert breaches is not None
    assert breaches[0] > 0

    # A KPI taken out of the catalog: nothing new is recorded, yet the catalog is another one.
    (root / "inventory_turns.yml").unlink()
    landing.update("sales_order_lines", "status = 'shipped'", "hash(order_id) % 50 = 1")
    removed = refresh_kpis(con, as_of=DEMO_AS_OF, root=root, changes=landing.changes())
    assert removed.mode == "full refresh (the KPI catalog changed)"
    gone = con.execute("SELECT count(*) FROM kpi.values WHERE kpi = 'inventory_turns'")
    assert gone.fetchone() == (0,)

    landing.update("sales_order_lines", "status = 'closed'", "hash(order_id) % 50 = 2")
    other_day = refresh_kpis(con, as_of=date(2026, 3, 19), root=root, changes=landing.changes())
    assert other_day.mode == "full refresh (the stored model rows are of another as-of date)"
    same = refresh_kpis(con, as_of=date(2026, 3, 19), root=root, changes=landing.changes())
    assert same.mode == "by changed periods"


def test_a_pipeline_run_of_a_delta_refreshes_the_kpis_by_period(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kpis = [s for s in steps.POST_LOAD_STEPS if s.name == "kpis"]
    monkeypatch.setattr("pipelines.run.POST_LOAD_STEPS", kpis)
    settings = load_settings(tmp_path)
    write_master(settings.inbox)
    write_orders(settings.inbox, 1, 4)
    start = datetime(2026, 3, 16, 8, 0)
    with clock_at(start):
        first = run_pipeline(settings, trigger="cli")
    assert first.steps[0].refresh == "full refresh (first publish)"
    write_orders(settings.inbox, 2, 3)
    with clock_at(start + timedelta(hours=1)):
        delta = run_pipeline(settings, trigger="cli")
    step = delta.steps[0]
    assert (step.status, step.refresh) == ("ok", "delta of 1 batch")
    assert "periods of" in step.summary, step.summary

    # The kept model rows are the writer's own: the published snapshot serves the values only.
    snapshot = current_snapshot(settings.serving_dir)
    assert snapshot is not None
    served = open_snapshot(snapshot)
    try:
        schemas = {
            r[0]
            for r in served.execute(
                "SELECT schema_name FROM duckdb_tables() WHERE database_name = current_database()"
            ).fetchall()
        }
        assert "kpi" in schemas
        assert "kpi_state" not in schemas
        published = _values(served)
    finally:
        served.close()

    con = duckdb.connect(str(settings.warehouse_path))
    try:
        incremental = _values(con)
        assert incremental == published
        assert con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'kpi_state'"
        ).fetchone() != (0,)
        refresh_kpis(con, as_of=start.date())
        assert incremental == _values(con)
    finally:
        con.close()


def test_models_whose_rows_move_without_a_batch_are_always_rebuilt() -> None:
    models = load_catalog().models
    assert [name for name, m in models.items() if kpi_incremental.always_rebuilt(m)] == [
        # reads the money schema, rebuilt whole by every run (no KPI reads it: the page and
        # the positions API build it for the day they show)
        "inventory_position_values",
        "open_exceptions",  # reads the exceptions mirror, copied anew by every run
    ]
    lines = models["order_lines"]
    clocked = replace(lines, sql=lines.sql.replace("$as_of", "current_date", 1))
    assert kpi_incremental.always_rebuilt(clocked)
    commented = replace(lines, sql=lines.sql + "\n-- not random(), not now()")
    assert not kpi_incremental.always_rebuilt(commented)


# Each delta kind: (table, "update" or "insert", SQL). Every one reaches a few order lines.
LINES = "sales_order_lines"
KEYED_DELTAS = {
    "line updates": (LINES, "update", ("ordered_qty = ordered_qty + 3", "hash(order_id) % 23 = 4")),
    "a line moving date": (
        LINES,
        "update",
        (
            "order_ts = order_ts - INTERVAL 40 DAY, order_ts_local_date = order_ts_local_date - 40",
            "hash(order_id, line_no) % 31 = 2",
        ),
    ),
    "a cancelled line": (LINES, "update", ("status = 'cancelled'", "hash(order_id) % 29 = 6")),
    "a new shipment for an old line": (
        "shipments",
        "insert",
        "SELECT * EXCLUDE (_batch_id, _loaded_at) REPLACE ('X' || shipment_id AS shipment_id, "
        "TIMESTAMP '2026-03-16 09:00' AS shipped_ts, DATE '2026-03-16' AS shipped_ts_local_date) "
        "FROM shipments WHERE hash(shipment_id) % 37 = 1",
    ),
    "a freight delivery landing": (
        "freight_shipments",
        "update",
        (
            "actual_delivery_ts = TIMESTAMP '2026-03-17 10:00', "
            "actual_delivery_ts_local_date = DATE '2026-03-17'",
            "actual_delivery_ts IS NULL AND status <> 'cancelled' AND hash(tms_shipment_id) % 2 = 0",
        ),
    ),
    "a return": (
        "returns",
        "insert",
        "SELECT * EXCLUDE (_batch_id, _loaded_at) REPLACE ('R' || rma_id AS rma_id, "
        "'damaged' AS reason_code) FROM returns WHERE reason_code IN ('other', 'late')",
    ),
    "an item master change": (
        "items",
        "update",
        ("abc_class = CASE abc_class WHEN 'A' THEN 'C' ELSE 'A' END", "hash(item_id) % 40 = 0"),
    ),
    "a brand-new order": (
        LINES,
        "insert",
        "SELECT * EXCLUDE (_batch_id, _loaded_at) REPLACE ('N' || order_id AS order_id) "
        f"FROM {LINES} WHERE hash(order_id) % 97 = 5",
    ),
}


def _land(landing: Landing, table: str, how: str, sql: str | tuple[str, str]) -> None:
    if how == "update":
        assert isinstance(sql, tuple)
        landing.update(table, *sql)
    else:
        assert isinstance(sql, str)
        landing.insert(table, sql)


def test_deltas_rebuild_the_order_models_by_key_and_end_where_a_full_refresh_does(
    con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Some deltas reach more keys than the small demo has backorders (lines becoming ones):
    # by key all the same, to compare that path.
    monkeypatch.setattr("control_tower.kpi.keyed.SCOPE_SHARE", float("inf"))
    landing = Landing(con)
    for kind, (table, how, sql) in KEYED_DELTAS.items():
        _land(landing, table, how, sql)
        report = _delta(con, landing)
        # Only the keys the delta reached were rebuilt: lines, and the orders and backorders on them.
        for model in ("order_lines", "orders", "open_backorders"):
            assert report.refreshed[model].startswith("by "), (kind, report.refreshed)
        assert report.changed_rows["order_lines"] > 0, kind
        assert "rebuilt by key" in report.summary()
        incremental = _values(con)
        refresh_kpis(con, as_of=DEMO_AS_OF)
        assert incremental == _values(con), kind


def test_a_scope_over_most_keys_rebuilds_the_model_whole(
    con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("control_tower.kpi.keyed.SCOPE_SHARE", 0.0)
    landing = Landing(con)
    _land(landing, *KEYED_DELTAS["a cancelled line"])
    report = _delta(con, landing)
    assert report.refreshed["order_lines"].startswith("whole ("), report.refreshed
    assert report.refreshed["order_lines"].endswith("keys in scope)")
    incremental = _values(con)
    refresh_kpis(con, as_of=DEMO_AS_OF)
    assert incremental == _values(con)


def test_a_table_mapped_to_no_keys_rebuilds_the_model_whole_and_its_users_follow_by_key(
    con: duckdb.DuckDBPyConnection, root: Path
) -> None:
    path = root / "models" / "order_lines.yml"
    text = path.read_text()
    start = text.index("    items: SELECT")
    path.write_text(text[:start] + text[text.index("    customers: >") :])
    refresh_kpis(con, as_of=DEMO_AS_OF, root=root)  # the changed catalog, in full
    landing = Landing(con)
    _land(landing, *KEYED_DELTAS["an item master change"])
    report = refresh_kpis(con, as_of=DEMO_AS_OF, root=root, changes=landing.changes())
    assert report.refreshed["order_lines"] == "whole (items got rows and maps to no keys)"
    assert report.refreshed["orders"].startswith("by "), report.refreshed  # its lines' diff
    assert report.changed_rows["order_lines"] > 0
    incremental = _values(con)
    refresh_kpis(con, as_of=DEMO_AS_OF, root=root)
    assert incremental == _values(con)

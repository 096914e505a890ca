"""An Odoo-style PostgreSQL database lands through `pipelines/mappings/odoo_example.yml`.

A real PostgreSQL server is started for this module (tests/support/postgres.py). The
source rows are in `postgres.ODOO_ROWS`; in short (dates March 2026, all 10:00 UTC):

    order   state   line  product   qty  promise           shipped (done outgoing pickings)
    S00001  sale    1     BEER-33   10   03-02 + 3d = 03-05  10 on 03-04          on time, filled
                    2     GLASS-1    5   03-02 + 1d = 03-03   5 on 03-04          late,    filled
    S00002  sale    3     BEER-33   20   commitment 03-06    12 on 03-08, 8 03-10 late,    not filled
    S00003  sale    4     BEER-33    4   03-04 + 2d = 03-06   4 on 03-05          on time, filled
                    5     (no code)  1                                            quarantined
    S00004  cancel  6     GLASS-1    3                                            cancelled
    S00005  draft   7     BEER-33   50                                            a quotation: left out
    S00006  sale    8     GLASS-1    6   03-06 + 2d = 03-08  (picking not done)   late,    not filled
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from control_tower.kpi.catalog import load_catalog
from control_tower.kpi.query import compute
from control_tower.landing.ingest import install_zones
from control_tower.mappings import load_mapping
from control_tower.mappings import sql as sql_source
from control_tower.settings import DEFAULT_MAPPINGS
from control_tower.storage import connect_writer
from control_tower.storage.serving import current_snapshot, open_snapshot
from tests.support.extracts import batch_rows, fetch, land, quarantined
from tests.support.postgres import (
    ODOO_ROWS,
    create_odoo_database,
    execute,
    postgres_server,
    server_binaries,
)

BIN = server_binaries()
AS_OF = date(2030, 1, 1)  # after every date of the source: every line is due
ENV = "CONTROL_TOWER_SOURCE_ODOO_URL"
pytestmark = pytest.mark.skipif(
    BIN is None and not os.environ.get("CI"),
    reason="PostgreSQL server binaries not found in /usr/lib/postgresql/<version>/bin "
    "(apt-get install postgresql); under CI this test fails instead",
)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """A private PostgreSQL server for this module; its admin URL."""
    assert BIN is not None, "PostgreSQL server binaries are required under CI"
    with postgres_server(BIN) as url:
        yield url


def _home(tmp: Path, url: str) -> Path:
    home = tmp / "home"
    home.mkdir(parents=True)
    (home / "sources.yml").write_text("enabled: [odoo_example]\n")
    return home


def _land(home: Path, url: str):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(ENV, url)
        return land(home)


@pytest.fixture(scope="module")
def landed(server: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A data folder with the Odoo database pulled and landed once; (home, source URL)."""
    url = create_odoo_database(server, "odoo_first")
    home = _home(tmp_path_factory.mktemp("odoo"), url)
    report = _land(home, url)
    bad = [(b.table, b.status, b.error) for b in report.ingest.batches if b.status != "loaded"]
    assert not bad, bad
    assert all(s.status == "ok" for s in report.steps), report.steps
    return home, url


def rows(table: str) -> list[dict]:
    """The source rows of one table of ODOO_ROWS, as dicts."""
    for name, columns, data in ODOO_ROWS:
        if name == table:
            return [dict(zip(columns, r, strict=True)) for r in data]
    raise KeyError(table)


def expected_lines() -> dict[int, dict]:
    """Each order line that counts for the KPIs, judged in Python from the source rows."""
    ts = datetime.fromisoformat
    orders = {o["id"]: o for o in rows("sale_order")}
    codes = {p["id"]: p["default_code"] for p in rows("product_product")}
    pickings = {
        k["id"]: k
        for k in rows("stock_picking")
        if k["state"] == "done" and k["picking_type_code"] == "outgoing"
    }
    out = {}
    for line in rows("sale_order_line"):
        order = orders[line["order_id"]]
        if order["state"] in ("draft", "sent", "cancel") or codes[line["product_id"]] is None:
            continue
        promise = (
            ts(order["commitment_date"])
            if order["commitment_date"]
            else ts(order["date_order"]) + timedelta(days=line["customer_lead"])
        ).date()
        moves = sorted(
            (ts(pickings[m["picking_id"]]["date_done"]), m["quantity"])
            for m in rows("stock_move")
            if m["sale_line_id"] == line["id"]
            and m["state"] == "done"
            and m["picking_id"] in pickings
        )
        qty = line["product_uom_qty"]
        by_promise = sum(q for when, q in moves if when.date() <= promise)
        out[line["id"]] = {
            "filled_first_time": bool(moves) and moves[0][1] >= qty,
            "on_time": by_promise >= qty,
        }
    return out


def published_kpi(home: Path, name: str) -> dict:
    """One KPI over the whole published snapshot."""
    snapshot = current_snapshot(home / "serving")
    assert snapshot is not None
    con = open_snapshot(snapshot)
    try:
        con.execute("SET TimeZone = 'UTC'")
        (row,) = compute(con, load_catalog().kpi(name), as_of=AS_OF)["rows"]
    finally:
        con.close()
    return row


class TestFirstPull:
    def test_orders_lines_shipments_and_freight_land_with_their_keys(self, landed) -> None:
        home, _ = landed
        lines = fetch(
            home,
            "SELECT order_id, line_no, item_id, status, promised_date FROM sales_order_lines "
            "ORDER BY line_no",
        )
        assert lines == [
            ("S00001", 1, "BEER-33", "released", date(2026, 3, 5)),
            ("S00001", 2, "GLASS-1", "released", date(2026, 3, 3)),
            ("S00002", 3, "BEER-33", "released", date(2026, 3, 6)),  # the commitment date
            ("S00003", 4, "BEER-33", "released", date(2026, 3, 6)),
            ("S00004", 6, "GLASS-1", "cancelled", date(2026, 3, 7)),
            ("S00006", 8, "GLASS-1", "released", date(2026, 3, 8)),
        ]  # line 5: no product code (quarantined); line 7: a quotation (left out)
        assert fetch(
            home, "SELECT shipment_id, line_no, shipped_qty FROM shipments ORDER BY 1, 2"
        ) == [
            ("WH/OUT/00001", 1, 10),
            ("WH/OUT/00001", 2, 5),
            ("WH/OUT/00002", 3, 12),
            ("WH/OUT/00003", 3, 8),
            ("WH/OUT/00004", 4, 4),
        ]  # the receipt WH/IN/00001 and the open WH/OUT/00005 are not shipments
        assert fetch(home, "SELECT count(*) FROM freight_shipments") == [(4,)]
        assert fetch(home, "SELECT customer_id FROM customers ORDER BY 1") == [("P1",), ("P2",)]

    def test_odoo_naive_utc_times_land_as_instants_with_brussels_local_dates(self, landed) -> None:
        home, _ = landed
        assert fetch(
            home, "SELECT order_ts, order_ts_local_date FROM sales_order_lines WHERE line_no = 1"
        ) == [(datetime(2026, 3, 2, 10), date(2026, 3, 2))]

    def test_a_product_without_internal_reference_is_quarantined_with_its_line(
        self, landed
    ) -> None:
        home, _ = landed
        batches = {b["table_name"]: b for b in batch_rows(home)}
        line_batch = batches["sales_order_lines"]
        assert line_batch["file_name"] == "sql:odoo_example/sale_order_line@full"
        assert line_batch["file_format"] == "sql"
        assert line_batch["rows_read"] == 7  # 8 lines, less the quotation
        assert line_batch["rows_quarantined"] == 1
        # The quarantined row's source line is the Odoo record id.
        ((line, column, _value, reason),) = quarantined(home, line_batch["batch_id"])
        assert (line, column) == (5, "item_id")
        assert "empty" in reason or "missing" in reason

    def test_kpis_on_the_published_snapshot_match_an_independent_computation(self, landed) -> None:
        home, _ = landed
        lines = expected_lines()  # lines 1, 2, 3, 4, 8
        fill = published_kpi(home, "line_fill_rate")
        assert (fill["numerator"], fill["denominator"]) == (
            sum(v["filled_first_time"] for v in lines.values()),  # 3: lines 1, 2, 4
            len(lines),  # 5
        )
        promise = published_kpi(home, "order_promise_accuracy")
        assert (promise["numerator"], promise["denominator"]) == (
            sum(v["on_time"] for v in lines.values()),  # 2: lines 1 and 4
            len(lines),
        )
        assert (fill["numerator"], promise["numerator"]) == (3, 2)

    def test_a_watermark_is_stored_per_source_table(self, landed) -> None:
        home, _ = landed
        marks = dict(
            fetch(
                home,
                "SELECT source_table, watermark FROM ops.watermarks WHERE mapping = 'odoo_example'",
            )
        )
        assert marks["sale_order"] == "2026-03-10T10:00:00"  # the newest write_date
        assert marks["stock_move"] == "2026-03-10T10:00:00"
        assert len(marks) == 8


class TestIncrementalPull:
    def test_only_changed_rows_are_read_and_landed_and_the_watermark_advances(
        self, server: str, tmp_path: Path
    ) -> None:
        url = create_odoo_database(server, "odoo_incremental")
        home = _home(tmp_path, url)
        _land(home, url)
        first = {b["batch_id"] for b in batch_rows(home)}
        # The open delivery order S00006 is validated; line 4 gets a new price.
        execute(
            url,
            "UPDATE stock_picking SET state = 'done', date_done = '2026-03-07 10:00', "
            "write_date = '2026-03-20 09:00' WHERE id = 5",
            "UPDATE stock_move SET state = 'done', quantity = 6, "
            "write_date = '2026-03-20 09:00' WHERE id = 7",
            "UPDATE sale_order_line SET price_unit = 2.75, write_date = '2026-03-20 09:01' "
            "WHERE id = 4",
        )
        report = _land(home, url)
        assert {b.status for b in report.ingest.batches} == {"loaded"}
        new = {b["table_name"]: b for b in batch_rows(home) if b["batch_id"] not in first}
        assert {t: b["rows_read"] for t, b in new.items()} == {
            "sales_order_lines": 1,  # line 4
            "shipments": 2,  # move 7 (changed) and move 5 (its sale line 4 changed)
            "freight_shipments": 1,  # picking 5
        }
        assert new["sales_order_lines"]["file_name"] == (
            "sql:odoo_example/sale_order_line@2026-03-06T10:00:00"  # its newest write_date
        )
        assert "sale_order_line: 1 new or changed" in new["sales_order_lines"]["warnings"]
        assert fetch(home, "SELECT unit_price FROM sales_order_lines WHERE line_no = 4") == [
            (2.75,)
        ]
        assert fetch(home, "SELECT shipped_qty FROM shipments WHERE line_no = 8") == [(6,)]
        marks = dict(fetch(home, "SELECT source_table, watermark FROM ops.watermarks"))
        assert marks["stock_picking"] == "2026-03-20T09:00:00"
        assert marks["sale_order_line"] == "2026-03-20T09:01:00"
        assert marks["sale_order"] == "2026-03-10T10:00:00"  # unchanged

        # Nothing changed since: no batch at all.
        assert _land(home, url).ingest.batches == []

    def test_a_row_committed_late_inside_the_overlap_window_is_still_read(
        self, server: str, tmp_path: Path
    ) -> None:
        url = create_odoo_database(server, "odoo_overlap")
        home = _home(tmp_path, url)
        _land(home, url)
        # A transaction that started 2 minutes before the newest write_date seen commits now.
        execute(
            url,
            "INSERT INTO res_partner (id, name, customer_rank, write_date) "
            "VALUES (4, 'Late Bistro', 1, '2026-03-10 09:58')",
        )
        report = _land(home, url)
        (batch,) = report.ingest.batches
        assert (batch.table, batch.rows_read) == ("customers", 1)
        assert fetch(home, "SELECT name FROM customers WHERE customer_id = 'P4'") == [
            ("Late Bistro",)
        ]


class TestConnectionErrors:
    def test_an_unreachable_database_is_retried_then_reported_clearly(
        self, server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        waits: list[float] = []
        monkeypatch.setattr(sql_source, "_sleep", waits.append)
        down = sa.make_url(server).set(port=1, database="odoo")  # nothing listens on port 1
        home = _home(tmp_path, "")
        report = _land(home, down.render_as_string(hide_password=False))
        assert waits == [0.5, 1.0, 2.0, 4.0]  # retries: 4 in the mapping, exponential backoff
        assert {b.status for b in report.ingest.batches} == {"failed"}
        assert len(report.ingest.batches) == 6  # one per target table
        error = report.ingest.batches[0].error or ""
        assert "SQL source of mapping odoo_example (postgresql+psycopg://postgres@" in error
        assert "could not connect after 5 attempt(s) (1 + 4 retries)" in error
        assert fetch(home, "SELECT count(*) FROM ops.watermarks") == [(0,)]

    def test_a_transient_connection_error_is_retried_and_the_pull_succeeds(
        self, server: str, tmp_path: Path
    ) -> None:
        url = create_odoo_database(server, "odoo_flaky")
        mapping = load_mapping(DEFAULT_MAPPINGS / "odoo_example.yml")

        class Flaky(sql_source.SqlAlchemyClient):
            failures = 2

            def columns(self, table):  # type: ignore[no-untyped-def]
                if Flaky.failures:
                    Flaky.failures -= 1
                    raise sa.exc.OperationalError("connect", {}, ConnectionResetError("reset"))
                return super().columns(table)

        client = Flaky(url)
        waits: list[float] = []
        con = connect_writer(tmp_path / "warehouse.duckdb")
        install_zones(con)  # as land_inbox does before any batch of a run
        try:
            results = sql_source.land_sql_mapping(
                con, mapping, run_id="t1", client=client, sleep=waits.append
            )
        finally:
            client.close()
            con.close()
        assert waits == [0.5, 1.0]
        assert {r.status for r in results} == {"loaded"}, results[0].error

    def test_a_url_with_a_password_in_the_mapping_is_refused(self, tmp_path: Path) -> None:
        path = tmp_path / "m.yml"
        text = (DEFAULT_MAPPINGS / "odoo_example.yml").read_text()
        path.write_text(
            text.replace("connection: odoo", "url: postgresql+psycopg://u:secret@db/odoo")
        )
        with pytest.raises(ValueError, match="must not contain a password"):
            load_mapping(path)

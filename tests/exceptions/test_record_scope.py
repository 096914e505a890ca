"""Source records are limited to the reader's scope on both dimensions, whatever key led to them.

On the small demo's snapshot (US01 runs DC-CHI, DC-NJ and DC-RNO; NL01 runs DC-RTM). Each item
is in the reader's scope but names records elsewhere, as a changed or forged key could: the
records of another entity or site stay hidden, also in tables that carry only one dimension
(reached through the table that carries the other) or neither.
"""

from __future__ import annotations

from typing import Any

import pytest

from control_tower.accounts import Scope
from control_tower.exceptions.records import source_records
from control_tower.exceptions.store import ExceptionItem

EVERYONE = Scope()
NL01 = Scope.of(entities=["NL01"])
DC_NJ = Scope.of(locations=["DC-NJ"])


def item(type_: str, key: str, **fields: Any) -> ExceptionItem:
    return ExceptionItem(type=type_, key=key, detail=fields.pop("detail", {}), **fields)


def tables(snapshot, it: ExceptionItem, scope: Scope) -> dict[str, int]:
    out: dict[str, int] = {}
    for event in source_records(snapshot, it, scope):
        out[event.table] = out.get(event.table, 0) + 1
    return out


def first(snapshot, sql: str) -> tuple:
    row = snapshot.execute(sql).fetchone()
    assert row is not None, sql
    return row


def test_a_location_only_table_is_scoped_by_its_sites_entity(snapshot):
    (nj_wave,) = first(snapshot, "SELECT min(wave_id) FROM waves WHERE location_id = 'DC-NJ'")
    (rtm_wave,) = first(snapshot, "SELECT min(wave_id) FROM waves WHERE location_id = 'DC-RTM'")
    nj = item("late_wave", nj_wave, entity_id="NL01", location_id="DC-RTM")
    assert tables(snapshot, nj, EVERYONE).get("waves") == 1
    assert "waves" not in tables(snapshot, nj, NL01)  # a US01 site's wave
    rtm = item("late_wave", rtm_wave, entity_id="NL01", location_id="DC-RTM")
    assert tables(snapshot, rtm, NL01).get("waves") == 1


def test_an_invoice_line_is_scoped_by_the_site_of_its_po_line(snapshot):
    invoice, line = first(
        snapshot,
        "SELECT a.invoice_id, a.line_no FROM ap_invoice_lines AS a "
        "JOIN purchase_order_lines AS p ON p.po_id = a.po_id AND p.line_no = a.po_line_no "
        "WHERE p.location_id = 'DC-CHI' ORDER BY 1, 2 LIMIT 1",
    )
    chi = item("unmatched_invoice_line", f"{invoice}|{line}", entity_id="US01")
    assert tables(snapshot, chi, EVERYONE).get("ap_invoice_lines") == 1
    assert tables(snapshot, chi, DC_NJ) == {}


def test_close_tasks_and_load_batches_are_hidden_from_a_user_limited_to_sites(snapshot):
    entity, period, task = first(
        snapshot, "SELECT entity_id, period, task_id FROM close_tasks ORDER BY ALL LIMIT 1"
    )
    close = item("overdue_close_task", f"{entity}|{period}|{task}", entity_id=entity)
    assert tables(snapshot, close, EVERYONE) == {"close_tasks": 1}
    assert tables(snapshot, close, Scope.of(entities=[entity])) == {"close_tasks": 1}
    assert tables(snapshot, close, DC_NJ) == {}
    stale = item("stale_source", "sales_order_lines")
    assert tables(snapshot, stale, EVERYONE).get("ops.batches", 0) > 0
    assert tables(snapshot, stale, DC_NJ) == {}
    assert tables(snapshot, stale, NL01) == {}


def test_freight_and_tracking_are_scoped_by_the_site_of_their_shipment(snapshot):
    (nj_shipment,) = first(
        snapshot, "SELECT min(shipment_id) FROM shipments WHERE location_id = 'DC-NJ'"
    )
    (chi_freight,) = first(
        snapshot,
        "SELECT min(f.tms_shipment_id) FROM freight_shipments AS f "
        "JOIN shipments AS s ON s.shipment_id = f.shipment_id WHERE s.location_id = 'DC-CHI' "
        "AND EXISTS (SELECT 1 FROM tracking_events AS e "
        "WHERE e.tms_shipment_id = f.tms_shipment_id)",
    )
    # In DC-NJ's scope through its shipment, but naming DC-CHI's freight.
    delay = item(
        "carrier_delay",
        chi_freight,
        location_id="DC-NJ",
        entity_id="US01",
        detail={"shipment_id": nj_shipment, "tms_shipment_id": chi_freight},
    )
    everyone = tables(snapshot, delay, EVERYONE)
    assert everyone.get("freight_shipments") == 1
    assert everyone.get("tracking_events", 0) > 0
    nj = tables(snapshot, delay, DC_NJ)
    assert nj.get("shipments", 0) > 0  # its own site's shipment still shows
    assert "freight_shipments" not in nj
    assert "tracking_events" not in nj


@pytest.mark.parametrize("scope", [NL01, DC_NJ, Scope.of(["US01"], ["DC-CHI"])])
def test_every_row_shown_is_in_scope(snapshot, scope):
    """Order lines of every site, read with every scope: only rows of the scope come back."""
    rows = snapshot.execute(
        "SELECT order_id, line_no FROM sales_order_lines "
        "QUALIFY row_number() OVER (PARTITION BY location_id ORDER BY order_id, line_no) <= 3"
    ).fetchall()
    sites = dict(snapshot.execute("SELECT location_id, entity_id FROM locations").fetchall())
    for order_id, line_no in rows:
        it = item("backordered_line", f"{order_id}|{line_no}")
        for event in source_records(snapshot, it, scope):
            site = event.fields.get("location_id")
            if site is not None:
                assert scope.allows(sites[site], site), (event.table, event.fields)


@pytest.mark.parametrize("type_", ["overdue_po_line", "receipt_discrepancy"])
def test_a_purchase_order_line_item_shows_the_line_and_its_receipts_in_scope(
    snapshot, type_: str
) -> None:
    po_id, line_no, site, receipts = first(
        snapshot,
        "SELECT p.po_id, p.line_no, p.location_id, count(*) FROM purchase_order_lines AS p "
        "JOIN receipts AS r ON r.po_id = p.po_id AND r.po_line_no = p.line_no "
        "WHERE p.location_id <> 'DC-NJ' GROUP BY ALL ORDER BY count(*) DESC, 1, 2 LIMIT 1",
    )
    it = item(type_, f"{po_id}|{line_no}", location_id=site, detail={"po_id": po_id})
    assert tables(snapshot, it, EVERYONE) == {
        "purchase_order_lines": 1,
        "receipts": receipts,
    }
    assert tables(snapshot, it, DC_NJ) == {}  # the line's site is not DC-NJ

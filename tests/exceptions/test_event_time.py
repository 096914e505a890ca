"""When an item's condition began, and what keeps it open.

Against the kit's delivery (NOW = 2026-03-12 10:00 UTC):

    O1|1 (backordered_line)  first promised 2026-03-10, 4 of 10 shipped: began 03-10 00:00,
                             2 days old at NOW and past its 48 h SLA on first detection
    O4|1 (short_shipment)    15 of 20 shipped 2026-03-09 15:00: inside the 14-day look-back
                             window at NOW, outside it 15 days later while still short
    O5|1 (short_shipment)    5 of 10 shipped 2026-02-01: outside the window, never opened
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path

from sqlalchemy import update

from control_tower.exceptions.aging import item_aging
from control_tower.exceptions.detect import refresh_exceptions
from control_tower.exceptions.registry import EXCEPTION_TYPES
from control_tower.exceptions.store import ExceptionItem
from tests.support.exception_cases import (
    NOW,
    detect_at,
    items,
    later,
    settings,
    store,
    writer,
)

BACKORDER = "O1|1"
SHORT = "O4|1"


def ship_rest_of_o4_line_1(home: Path) -> None:
    """A follow-up shipment of the 5 units O4 line 1 was short."""
    with writer(home) as con:
        con.execute(
            "INSERT INTO shipments (shipment_id, order_id, line_no, item_id, location_id, "
            "shipped_qty, uom, shipped_ts) VALUES ('S6', 'O4', 1, 'I1', 'L1', 5, 'EA', "
            "TIMESTAMP '2026-03-20 09:00:00')"
        )


class TestLookBackWindow:
    def test_a_condition_that_left_the_window_keeps_its_item_open(self, home: Path) -> None:
        detect_at(home, NOW)
        assert items(home, "short_shipment")[SHORT].status == "open"
        detect_at(home, later(24 * 15))  # shipped 03-09: now 18 days ago, still short
        item = items(home, "short_shipment")[SHORT]
        assert (item.status, item.resolution_code, item.resolved_at) == ("open", None, None)
        assert item.last_seen_at == later(24 * 15)

    def test_the_item_clears_when_the_condition_is_seen_resolved(self, home: Path) -> None:
        detect_at(home, NOW)
        detect_at(home, later(24 * 15))
        ship_rest_of_o4_line_1(home)
        detect_at(home, later(24 * 16))
        item = items(home, "short_shipment")[SHORT]
        assert (item.status, item.resolution_code) == ("resolved", "cleared")

    def test_a_type_of_one_off_events_is_never_cleared_by_detection(self, home: Path) -> None:
        receipts = EXCEPTION_TYPES["receipt_not_put_away"]
        kept = {receipts.name: dataclasses.replace(receipts, clears=False)}
        url = settings(home).app_db_url
        with writer(home) as con:
            refresh_exceptions(con, url, as_of=NOW.date(), now=NOW, types=kept)
            con.execute("UPDATE receipts SET putaway_ts = TIMESTAMP '2026-03-12 10:30:00'")
            report = refresh_exceptions(con, url, as_of=NOW.date(), now=later(1), types=kept)
        assert report.actions["clear"] == 0
        assert items(home, receipts.name)["RC1|1"].status == "open"

    def test_a_condition_outside_the_window_opens_no_item(self, home: Path) -> None:
        detect_at(home, NOW)
        assert "O5|1" not in items(home, "short_shipment")


class TestEventTime:
    def test_a_first_load_shows_the_real_age_of_a_backorder(self, home: Path) -> None:
        detect_at(home, NOW)
        item = items(home, "backordered_line")[BACKORDER]
        assert item.created_at == NOW  # first detected now ...
        assert item.event_at == datetime(2026, 3, 10)  # ... but past due since its promise
        age = item_aging(item, NOW)
        assert (age.age_days, age.sla_due_at, age.sla_breached) == (2, datetime(2026, 3, 12), True)

    def test_an_item_stored_without_an_event_time_gets_it_at_its_next_sighting(
        self, home: Path
    ) -> None:
        detect_at(home, NOW)
        with store(home) as s, s.engine.begin() as db:
            db.execute(update(ExceptionItem).values(event_at=None))
        before = items(home, "backordered_line")[BACKORDER]
        assert item_aging(before, NOW).age_days == 0  # counts from its first detection meanwhile
        detect_at(home, later(1))
        after = items(home, "backordered_line")[BACKORDER]
        assert after.event_at == datetime(2026, 3, 10)
        assert item_aging(after, later(1)).age_days == 2

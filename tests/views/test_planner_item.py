"""The planner's drill (`control_tower.views.planner_item`) on the small demo snapshot: the
stock, orders and other sites it shows equal independent SQL questions, POs are judged against
the projected stockout date, and an item outside the scope is not found."""

from __future__ import annotations

from datetime import timedelta

from control_tower.accounts import Scope
from control_tower.kpi.serving import SnapshotCache, keeping
from control_tower.views.planner_item import item_view
from tests.support.web_users import SUPERVISOR_SITE

# an item-location with stock and an open PO line, the site with the lowest cover first
PICK = """
WITH latest AS (SELECT location_id, max(snapshot_date) AS d FROM inventory_snapshots GROUP BY 1)
SELECT s.location_id, s.item_id, s.snapshot_date,
       CAST(s.on_hand_qty - s.allocated_qty - s.quarantined_qty AS DOUBLE)
FROM inventory_snapshots AS s JOIN latest AS t ON t.location_id = s.location_id
     AND t.d = s.snapshot_date
WHERE EXISTS (SELECT 1 FROM purchase_order_lines AS l WHERE l.location_id = s.location_id
              AND l.item_id = s.item_id AND l.status NOT IN ('cancelled', 'closed'))
ORDER BY s.location_id = ?, s.location_id, s.item_id LIMIT 1
"""


def _pick(snapshot):
    return snapshot.execute(PICK, [SUPERVISOR_SITE]).fetchone()


def test_the_stock_and_orders_equal_the_snapshot(snapshot):
    loc, item, day, available = _pick(snapshot)
    view = item_view(snapshot, Scope(), loc, item, 56)
    assert view is not None
    assert view.stock is not None
    assert (view.facts.location_id, view.facts.item_id, view.as_of) == (loc, item, day)
    assert view.stock.available_qty == available
    open_qty = snapshot.execute(
        """SELECT coalesce(sum(open), 0) FROM (
             SELECT CAST(l.ordered_qty AS DOUBLE) - coalesce((SELECT sum(r.received_qty)
                    FROM receipts AS r WHERE r.po_id = l.po_id AND r.po_line_no = l.line_no), 0)
                    AS open
             FROM purchase_order_lines AS l
             WHERE l.location_id = ? AND l.item_id = ? AND l.status NOT IN ('cancelled', 'closed'))
           WHERE open > 0""",
        [loc, item],
    ).fetchone()[0]
    assert view.on_order == open_qty
    assert len(view.projection) == 57
    assert view.projection[0].available == available
    if view.stockout_in_window is not None:
        assert view.stockout_in_window == view.stockout <= day + timedelta(days=56)


def test_orders_are_judged_against_the_stockout_date(snapshot):
    loc, item, day, _ = _pick(snapshot)
    view = item_view(snapshot, Scope(), loc, item, 28)
    assert [r.line for r in view.po_rows] == list(view.lines)
    for row in view.po_rows:
        expected = row.line.expected_date
        if expected is None:
            assert row.timing == "undated"
        elif expected <= day:
            assert row.timing == "overdue"
        elif view.stockout is not None and expected > view.stockout:
            assert row.timing == "late"
            assert row.days_after_stockout == (expected - view.stockout).days
        else:
            assert row.timing == "ok"


def test_other_sites_are_the_scope_s_other_locations_holding_the_item(snapshot):
    loc, item, _, _ = _pick(snapshot)
    view = item_view(snapshot, Scope(), loc, item, 56)
    others = {
        r[0]
        for r in snapshot.execute(
            "SELECT DISTINCT location_id FROM inventory_snapshots WHERE item_id = ? "
            "AND location_id <> ?",
            [item, loc],
        ).fetchall()
    }
    assert {s.stock.location_id for s in view.sites} == others
    excess = [s.stock.excess_qty for s in view.sites]
    assert excess == sorted(excess, reverse=True)
    for s in view.sites:
        same = s.stock.entity_id == view.facts.entity_id
        want = "none" if s.stock.excess_qty < 1 else ("candidate" if same else "other")
        assert s.tag == want


def test_outside_the_scope_or_unknown_is_not_found(snapshot):
    loc, item, _, _ = _pick(snapshot)
    other = "DC-NOWHERE" if loc == SUPERVISOR_SITE else SUPERVISOR_SITE
    assert item_view(snapshot, Scope.of(locations=[other]), loc, item, 56) is None
    assert item_view(snapshot, Scope(), loc, "NO-SUCH-ITEM", 56) is None
    assert item_view(snapshot, Scope(), "bad\x00id", item, 56) is None


ON_TIME = """
SELECT avg(CASE WHEN r.arrived_ts_local_date <= l.expected_date THEN 1.0 ELSE 0.0 END)
FROM receipts AS r
JOIN purchase_order_lines AS l ON l.po_id = r.po_id AND l.line_no = r.po_line_no
JOIN locations AS loc ON loc.location_id = r.location_id
WHERE l.supplier_id = ? AND r.arrived_ts_local_date > CAST(? AS DATE) - 180
  AND r.arrived_ts_local_date <= CAST(? AS DATE) AND (r.location_id = ? OR ? IS NULL)
  AND (loc.entity_id = ? OR ? IS NULL)
"""


def test_a_suppliers_on_time_record_counts_only_receipts_in_scope(snapshot):
    loc, item, day, _ = _pick(snapshot)
    entity = snapshot.execute(
        "SELECT entity_id FROM locations WHERE location_id = ?", [loc]
    ).fetchone()[0]
    shares = {}
    for name, scope, site, ent in (
        ("all", Scope(), None, None),
        ("site", Scope.of(locations=[loc]), loc, None),
        ("entity", Scope.of(entities=[entity]), None, entity),
    ):
        view = item_view(snapshot, scope, loc, item, 28)
        assert view is not None
        assert view.po_rows
        for row in view.po_rows:
            supplier = row.line.supplier_id
            expected = snapshot.execute(
                ON_TIME, [supplier, day, day, site, site, ent, ent]
            ).fetchone()[0]
            assert row.on_time_share == expected, (name, supplier)
            shares.setdefault(supplier, set()).add(row.on_time_share)
    assert any(len(values) > 1 for values in shares.values())  # the scope changes the record


def test_an_item_is_read_once_per_snapshot_and_scope_in_a_reader_that_keeps_answers(snapshot):
    loc, item, _day, _available = _pick(snapshot)
    cache = SnapshotCache(16)
    with keeping("demo snapshot", cache):
        first = item_view(snapshot, Scope(), loc, item, 56)
        again = item_view(snapshot, Scope(), loc, item, 56)
        read = cache.misses
        item_view(snapshot, Scope.of(locations=[loc]), loc, item, 56)
    assert first is not None
    assert again is first
    assert read == 1
    assert cache.misses == 2  # another scope is another answer
    with keeping("the next snapshot", cache):
        assert item_view(snapshot, Scope(), loc, item, 56) is not first

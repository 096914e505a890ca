"""From the order KPIs to their queues, and from a queue item to its line's ATP projection, on
the small demo (its order_at_risk and missed_promise items)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from control_tower.exceptions.store import ExceptionStore
from control_tower.kpi.serving import latest_as_of
from control_tower.views.promise import promise_link
from tests.support import promise_page as page
from tests.support.dash_callbacks import (
    KPI_DETAIL_OUTPUTS,
    by_id,
    filter_values,
    open_page,
    post_callback,
    queue_block,
    text,
)
from tests.support.web_users import USERS, client_as, signed_in

PROMISE_TYPES = {"order_at_risk", "missed_promise"}


def _item(demo_settings, type_name: str):
    with ExceptionStore.open(demo_settings.app_db_url) as store:
        items = [i for i in store.items(type=type_name) if i.status != "resolved"]
    assert items, f"the demo has no {type_name} item"
    return items[0]


def _query(href: str) -> dict[str, str]:
    parts = urlsplit(href)
    assert parts.path == "/promise", href
    return {k: v[0] for k, v in parse_qs(parts.query).items()}


def test_an_order_at_risk_item_opens_its_lines_projection(app, demo_settings) -> None:
    item = _item(demo_settings, "order_at_risk")
    layout = open_page(client_as(app, "admin"), f"/exceptions/{item.id}")
    link = by_id(layout, "exceptions-detail-promise")
    href = next(c for c in link["props"]["children"] if isinstance(c, dict))["props"]["href"]
    assert _query(href) == {
        "item": item.item_id,
        "location": item.location_id,
        "qty": f"{float(item.detail['open_qty']):.15g}",
        "date": item.detail["promised_date"],
        "order": item.detail["order_id"],
        "line": str(item.detail["line_no"]),
    }


def test_the_drilled_line_is_answered_without_its_own_demand(app, demo_settings) -> None:
    """Checked from its queue item, a line at risk gets the ATP date the queue shows (or its
    promised day, when that is later): its own open quantity does not also stand in its
    projection as demand."""
    item = _item(demo_settings, "order_at_risk")
    q = _query(promise_link(item.type, item.item_id, item.location_id, item.detail))
    drilled = page.line(q["item"], q["qty"], q["date"], q["location"], order=q["order"],
                        line_no=q["line"])  # fmt: skip
    client = client_as(app, "admin")
    (again,) = page.check(client, [drilled])
    assert again["error"] in ("", None), again
    atp = item.detail.get("atp_date")  # from T+1, while the page asks from the promised day
    assert again["promise"] == (max(atp, q["date"]) if atp else "")
    as_new = {k: v for k, v in drilled.items() if k not in ("order", "line_no")}
    (new,) = page.check(client, [as_new])
    assert (new["promise"] or "9999") >= (again["promise"] or "9999")


def test_a_missed_promise_asks_for_what_is_still_to_deliver() -> None:
    detail = {"ordered_qty": 40, "delivered_qty": 15, "first_promised_date": "2026-03-10"}
    assert _query(promise_link("missed_promise", "I1", "L1", detail)) == {
        "item": "I1",
        "location": "L1",
        "qty": "25",
        "date": "2026-03-10",
    }
    delivered = {**detail, "delivered_qty": 40}  # delivered late, in full: the whole line
    assert _query(promise_link("missed_promise", "I1", "L1", delivered))["qty"] == "40"
    assert promise_link("short_shipment", "I1", "L1", detail) is None
    big = {**detail, "ordered_qty": 1_250_000.0, "delivered_qty": 0}
    assert _query(promise_link("missed_promise", "I1", "L1", big))["qty"] == "1250000"
    assert promise_link("missed_promise", "I1", "L1", detail, "customer_service")
    assert promise_link("missed_promise", "I1", "L1", detail, "warehouse_supervisor") is None


def _rows(client, **view) -> list[dict]:
    """The queue's rows behind OTIF (or as `view` says), every queue in the user's scope."""
    return queue_block(client, **{"kpi": "otif_requested", "queues": "all", **view})["rowData"]


def test_the_queue_grid_links_promise_items_to_the_promise_page(app) -> None:
    rows = _rows(client_as(app, "admin"))
    assert {r["type"] for r in rows} == PROMISE_TYPES
    for row in rows:
        assert row["item_link"].startswith(f"[{row['item_id']}](/promise?item="), row
    other = _rows(client_as(app, "admin"), kpi="line_fill_rate")
    assert other
    assert all(r["item_link"] == r["item_id"] for r in other)
    # A role that may not promise sees the item id, with no link to a page it cannot open.
    supervised = _rows(client_as(app, "warehouse_supervisor"))
    assert {r["type"] for r in supervised} & PROMISE_TYPES
    assert all(r["item_link"] == r["item_id"] for r in supervised)


@pytest.mark.parametrize("kpi", ["order_promise_accuracy", "otif_requested", "perfect_order_rate"])
def test_the_order_kpi_pages_open_the_promise_queues(app, snapshot, catalog, kpi) -> None:
    assert set(catalog.kpi(kpi).exception_types) == PROMISE_TYPES
    end = latest_as_of(snapshot)
    response = post_callback(
        signed_in(app, USERS["executive"]),
        KPI_DETAIL_OUTPUTS,
        [
            *filter_values("kpi", end - timedelta(days=27), end),
            ("kpi-by", "value", None),
            ("kpi-member", "data", None),
        ],
        [("kpi-name", "data", kpi)],
    )
    exceptions = response.get_json()["response"]["kpi-exceptions"]["children"]
    (count,) = snapshot.execute(
        "SELECT count(*) FROM exc.queue_items WHERE type IN ('order_at_risk', 'missed_promise') "
        "AND status <> 'resolved'"
    ).fetchone()
    assert count > 0
    assert f"{count:,} unresolved item" in text(exceptions)
    href = by_id(exceptions, "kpi-exceptions-all")["props"]["href"]
    assert f"kpi={kpi}" in href
    assert href.startswith("/exceptions?")


def test_the_planner_item_page_links_to_promising_its_item(app) -> None:
    layout = open_page(client_as(app, "planner"), "/planner/DC-NJ/SKU 1")
    link = by_id(layout, "planner-item-promise")
    assert link["props"]["children"] == "Promise"
    assert _query(link["props"]["href"]) == {"item": "SKU 1", "location": "DC-NJ"}


def test_a_20_line_order_is_answered_line_by_line_with_risk(app, snapshot) -> None:
    """The page's Check on 20 lines of the demo's open order lines answers each with a status
    and the late-order risk of its date (its speed is measured by benchmarks/atp.py)."""
    pairs = snapshot.execute(
        "SELECT DISTINCT item_id, location_id FROM sales_order_lines "
        "WHERE status IN ('open', 'backordered') ORDER BY ALL LIMIT 20"
    ).fetchall()
    assert len(pairs) == 20
    lines = [page.line(i, 12, "", loc, n) for n, (i, loc) in enumerate(pairs, start=1)]
    rows = page.check(client_as(app, "admin"), lines)
    assert len(rows) == 20
    assert all(r["status"] and not r["error"] for r in rows), rows
    assert rows[0]["risk"] is not None  # the late-order model scored every date

"""The customer service role: signs in to its own queues, reads the KPI pages, nothing else."""

from __future__ import annotations

from control_tower.web.queue_view import QueueView
from tests.support.dash_callbacks import queue_block
from tests.support.data_copies import UNRESOLVED, app_db
from tests.support.web_users import client_as

OTHER_ROLES_PAGES = ("/executive", "/warehouse", "/planner", "/finance", "/data-health")


def test_signs_in_to_the_exception_queues(app) -> None:
    client = client_as(app, "customer_service")
    assert client.get("/").headers["Location"] == "/customers"
    assert QueueView.from_query({}, "customer_service").queues == "mine"
    assert "Customer service" in client.get("/_dash-layout").get_data(as_text=True)


def test_its_queue_holds_the_missed_promises(app, demo_settings) -> None:
    block = queue_block(client_as(app, "customer_service"))
    with app_db(demo_settings) as db:
        (count,) = db.execute(
            "SELECT count(*) FROM exc_items WHERE owner_role = 'customer_service' "
            f"AND status IN {UNRESOLVED}"
        ).fetchone()
    assert block["rowCount"] == count > 0
    assert {r["type"] for r in block["rowData"]} == {"missed_promise"}


def test_a_kpi_drill_opens_the_queues_behind_promise_accuracy(app) -> None:
    block = queue_block(
        client_as(app, "customer_service"),
        kpi="order_promise_accuracy",
        queues="all",
    )
    assert {r["type"] for r in block["rowData"]} <= {"missed_promise", "order_at_risk"}
    assert "missed_promise" in {r["type"] for r in block["rowData"]}


def test_reads_the_kpi_pages_and_not_the_other_roles_pages(app) -> None:
    client = client_as(app, "customer_service")
    assert client.get("/kpi/order_promise_accuracy").status_code == 200
    assert client.get("/catalog").status_code == 200
    for path in OTHER_ROLES_PAGES:
        assert client.get(path).status_code == 403, path

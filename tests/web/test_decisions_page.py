"""The decision review page `/decisions` on a private copy of the small demo, through
Flask's test client: who may read it, and a site-scoped planner's figures and rows come
from their site only."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from control_tower.exceptions.store import ExceptionStore
from control_tower.exceptions.workflow import act
from control_tower.web import create_app
from tests.support.dash_callbacks import post_callback
from tests.support.data_copies import private_copy
from tests.support.demo_data import DEMO_NOW
from tests.support.web_users import PASSWORD, cheap_accounts, client_as, signed_in

OUTPUTS = [
    ("decisions-caption", "children"),
    ("decisions-tiles", "children"),
    ("decisions-sites", "rowData"),
    ("decisions-people", "rowData"),
    ("decisions-ranking", "children"),
    ("decisions-items", "rowData"),
]
SCOPED = "sid"  # a planner of one site


@pytest.fixture(scope="module")
def scoped(demo_settings, tmp_path_factory) -> tuple[Any, str]:
    """The app over a copy of the demo whose open stockout items, at two sites or more, were
    resolved as false positives 20 days ago; and the site of the scoped planner."""
    settings = private_copy(demo_settings, tmp_path_factory.mktemp("decisions-page"))
    with ExceptionStore.open(settings.app_db_url) as store:
        found = store.items(type="stockout_risk", status="unresolved")
        for item in found:
            act(store, item.id, "resolve", user="pat", reason="false_positive",
                now=DEMO_NOW - timedelta(days=20), role="planner")  # fmt: skip
    sites = sorted({i.location_id for i in found})
    assert len(sites) >= 2, "the demo has open stockout items at two sites"
    with cheap_accounts(settings) as accounts:
        accounts.create_user(SCOPED, "planner", PASSWORD, locations=[sites[0]])
    return create_app(settings, accounts=cheap_accounts(settings)), sites[0]


def _load(client) -> Any:
    return post_callback(
        client, OUTPUTS, [("decisions-start", "value", None), ("decisions-end", "value", None)]
    )


@pytest.mark.parametrize(
    ("role", "code"),
    [("planner", 200), ("executive", 200), ("admin", 200), ("finance", 403),
     ("warehouse_supervisor", 403), ("customer_service", 403)],
)  # fmt: skip
def test_who_may_read_it(app, role: str, code: int) -> None:
    assert _load(client_as(app, role)).status_code == code


def test_a_site_scoped_planner_sees_their_site_only(scoped) -> None:
    app, site = scoped
    everyone = _load(client_as(app, "planner")).get_json()["response"]
    mine = _load(signed_in(app, SCOPED)).get_json()["response"]
    all_sites = {r["key"] for r in everyone["decisions-sites"]["rowData"]}
    assert len(all_sites) >= 2
    assert {r["key"] for r in mine["decisions-sites"]["rowData"]} == {site}
    items = mine["decisions-items"]["rowData"]
    assert items
    assert {r["location_id"] for r in items} == {site}
    site_row = next(r for r in everyone["decisions-sites"]["rowData"] if r["key"] == site)
    assert f"({site_row['fp_hits']} of {site_row['fp_counted']})" in str(
        mine["decisions-tiles"]["children"]
    )

"""The inventory positions endpoint on the small demo, through Flask's test client: the figures
against a plain SQL query of the snapshot, the caller's scope, and a clear 400 per bad argument."""

from __future__ import annotations

import pytest

from tests.support.dash_callbacks import signed_in
from tests.support.web_users import SUPERVISOR_SITE, USERS

URL = "/api/v1/inventory/positions"


@pytest.fixture(scope="module")
def executive(app):
    return signed_in(app, USERS["executive"])


@pytest.fixture(scope="module")
def supervisor(app):
    return signed_in(app, USERS["warehouse_supervisor"])


def _expected(snapshot, day: str, location: str | None = None) -> dict[str, tuple[float, float]]:
    """Per site: on hand x unit cost and available units of the day (a plain query)."""
    rows = snapshot.execute(
        "SELECT s.location_id, sum(s.on_hand_qty * i.unit_cost), "
        "sum(s.on_hand_qty - s.allocated_qty - s.quarantined_qty) "
        "FROM inventory_snapshots AS s JOIN items AS i USING (item_id) "
        "WHERE s.snapshot_date = CAST(? AS DATE) AND (? IS NULL OR s.location_id = ?) "
        "GROUP BY ALL",
        [day, location, location],
    ).fetchall()
    return {r[0]: (float(r[1]), float(r[2])) for r in rows}


def _by_site(body: dict) -> dict[str, tuple[float, float]]:
    out: dict[str, tuple[float, float]] = {}
    for p in body["positions"]:
        value, units = out.get(p["location_id"], (0.0, 0.0))
        out[p["location_id"]] = (value + p["inventory_value"], units + p["available_units"])
    return out


def test_latest_day_by_default_with_the_figures_of_the_snapshot(executive, snapshot):
    body = executive.get(URL).get_json()
    latest = snapshot.execute(
        "SELECT max(snapshot_date) FROM inventory_snapshots "
        "WHERE snapshot_date < (SELECT max(as_of) FROM kpi.values)"
    ).fetchone()[0]
    assert body["date"] == latest.isoformat() == body["days"][0]
    expected = _expected(snapshot, body["date"])
    got = _by_site(body)
    assert got.keys() == expected.keys()
    for site, (value, units) in expected.items():
        assert got[site][0] == pytest.approx(value), site
        assert got[site][1] == pytest.approx(units), site
    assert body["totals"]["inventory_value"] == pytest.approx(sum(v for v, _ in expected.values()))
    assert body["totals"]["positions"] == len(body["positions"])


def test_an_earlier_day_and_filters(executive, snapshot):
    days = executive.get(URL).get_json()["days"]
    day = days[5]
    body = executive.get(URL, query_string={"date": day, "location_id": SUPERVISOR_SITE}).get_json()
    assert body["date"] == day
    assert {p["location_id"] for p in body["positions"]} == {SUPERVISOR_SITE}
    expected = _expected(snapshot, day, SUPERVISOR_SITE)
    assert _by_site(body)[SUPERVISOR_SITE][0] == pytest.approx(expected[SUPERVISOR_SITE][0])
    item = body["positions"][0]["item_id"]
    one = executive.get(URL, query_string={"date": day, "item_id": item}).get_json()
    assert {p["item_id"] for p in one["positions"]} == {item}
    category = body["positions"][0]["category"]
    same = executive.get(URL, query_string={"date": day, "category": category}).get_json()
    assert {p["category"] for p in same["positions"]} == {category}


def test_a_supervisor_sees_only_their_site(supervisor, snapshot):
    body = supervisor.get(URL).get_json()
    assert {p["location_id"] for p in body["positions"]} == {SUPERVISOR_SITE}
    expected = _expected(snapshot, body["date"], SUPERVISOR_SITE)
    assert body["totals"]["inventory_value"] == pytest.approx(expected[SUPERVISOR_SITE][0])
    other = snapshot.execute(
        "SELECT min(location_id) FROM locations WHERE location_id <> ?", [SUPERVISOR_SITE]
    ).fetchone()[0]
    response = supervisor.get(URL, query_string={"location_id": other})
    assert response.status_code == 403
    assert response.get_json() == {"error": f"location_id={other!r} is outside your scope"}


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"date": "2026-13-01"}, "date='2026-13-01' is not a date (YYYY-MM-DD)"),
        ({"date": "1999-01-01"}, "date='1999-01-01' has no inventory snapshot in your scope"),
        ({"location_id": "NOWHERE"}, "location_id='NOWHERE' is not a known site"),
        ({"category": "Nope"}, "category='Nope' is not an item category"),
        (
            {"site": "DC-NJ"},
            "unknown argument 'site'; allowed: date, location_id, item_id, category",
        ),
        ({"item_id": "x" * 65}, "item_id is longer than 64 characters"),
    ],
)
def test_bad_arguments_are_400_naming_them(executive, query, message):
    response = executive.get(URL, query_string=query)
    assert response.status_code == 400
    assert response.get_json() == {"error": message}


def test_other_roles_are_refused(app):
    response = signed_in(app, USERS["customer_service"]).get(URL)
    assert response.status_code == 403

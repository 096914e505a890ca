"""Every CSV export opens in a spreadsheet as data: a text cell that would run as a formula is
written with a leading single quote; numbers stay numbers.

The page download, `/api/v1/exceptions.csv` and `control-tower exceptions list --format csv`
are checked on a private copy of the small demo whose items carry keys and item ids as a
hostile source file could deliver them.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from click.testing import CliRunner

from control_tower.cli import main
from control_tower.export import csv_chunks, csv_text, write_csv
from control_tower.web import create_app
from tests.support.dash_callbacks import post_callback
from tests.support.data_copies import app_db, private_copy
from tests.support.web_users import USERS, cheap_accounts, client_as

HOSTILE = {
    '=HYPERLINK("http://evil.example","x")': '\'=HYPERLINK("http://evil.example","x")',
    "+1+cmd|' /C calc'!A0": "'+1+cmd|' /C calc'!A0",
    "-2+3": "'-2+3",
    "@SUM(A1:A9)": "'@SUM(A1:A9)",
    "\t=1": "'\t=1",
    "\r=1": "'\r=1",
}


def cells(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


class TestWriter:
    @pytest.mark.parametrize(("raw", "written"), HOSTILE.items())
    def test_a_text_cell_that_starts_like_a_formula_gets_a_single_quote(self, raw, written):
        assert cells(csv_text([{"id": raw}], ["id"])) == [{"id": written}]

    def test_numbers_and_plain_text_are_unchanged(self):
        row = {"a": -5, "b": -1.25, "c": Decimal("-3.50"), "d": "-5", "e": "+1.5e3", "f": "DC-NJ"}
        assert csv_text([row], list(row)).splitlines()[1] == "-5,-1.25,-3.50,-5,+1.5e3,DC-NJ"

    def test_the_three_writers_agree(self):
        rows = [{"id": raw} for raw in HOSTILE]
        out = io.StringIO()
        write_csv(rows, ["id"], out)
        assert out.getvalue() == csv_text(rows, ["id"]) == "".join(csv_chunks(rows, ["id"], 2))


@pytest.fixture(scope="module")
def hostile(demo_settings, tmp_path_factory):
    """A private copy whose DC-NJ unresolved items have hostile keys and item ids; returns the
    settings and {item id: (key, item_id)} of the changed items."""
    settings = private_copy(demo_settings, tmp_path_factory.mktemp("formula"))
    values = list(HOSTILE)
    changed = {}
    with app_db(settings) as db:
        ids = [
            r[0]
            for r in db.execute(
                "SELECT id FROM exc_items WHERE location_id = 'DC-NJ' "
                "AND status IN ('open', 'acknowledged', 'snoozed') ORDER BY id LIMIT ?",
                [len(values)],
            )
        ]
        for n, item in enumerate(ids):
            key, item_id = values[n], values[-1 - n]
            db.execute(
                "UPDATE exc_items SET key = ?, item_id = ? WHERE id = ?", [key, item_id, item]
            )
            changed[item] = (HOSTILE[key], HOSTILE[item_id])
    assert len(changed) == len(values)
    return settings, changed


def assert_neutralised(text: str, changed: dict[int, tuple[str, str]]) -> None:
    rows = {int(r["id"]): r for r in cells(text)}
    assert {i: (rows[i]["key"], rows[i]["item_id"]) for i in changed} == changed
    for row in rows.values():  # nothing else in the file starts like a formula
        for name, value in row.items():
            assert not value.startswith(("=", "+", "@", "\t", "\r")), (name, value)
            assert not value.startswith("-") or value.lstrip("-").replace(".", "").isdigit()


def test_the_page_download_neutralises_formula_cells(hostile):
    settings, changed = hostile
    app = create_app(settings, accounts=cheap_accounts(settings))
    view = {"status": "unresolved", "mine": [], "queues": "all"}
    state = [
        (f"exceptions-{name}", "value", view.get(name))
        for name in ("type", "kpi", "status", "severity", "filter-entity", "filter-location")
    ] + [(f"exceptions-{name}", "value", view[name]) for name in ("mine", "queues")]
    answer = post_callback(
        client_as(app, "warehouse_supervisor"),
        [("exceptions-download", "data"), ("exceptions-export-note", "children")],
        [("exceptions-export", "n_clicks", 1)],
        [("exceptions-grid", "getRowsRequest", {}), *state],
    ).get_json()["response"]
    assert_neutralised(answer["exceptions-download"]["data"]["content"], changed)


def test_the_api_csv_neutralises_formula_cells(hostile):
    settings, changed = hostile
    accounts = cheap_accounts(settings)
    token = accounts.issue_token(USERS["warehouse_supervisor"])[0]
    app = create_app(settings, accounts=accounts)
    response = app.server.test_client().get(
        "/api/v1/exceptions.csv", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    assert_neutralised(response.get_data(as_text=True), changed)


def test_the_command_line_csv_neutralises_formula_cells(hostile):
    settings, changed = hostile
    result = CliRunner().invoke(
        main, ["--home", str(settings.home), "exceptions", "list", "--format", "csv"]
    )
    assert result.exit_code == 0, result.output
    assert_neutralised(result.output, changed)

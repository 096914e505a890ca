"""`control-tower requests ...` and `control-tower users grant|revoke`: raise, decide, list, show,
check the rules file, on a private copy of the small demo."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from control_tower.cli import main
from tests.support.action_requests import first_item

TRANSFER = (
    "--param", "from_location_id=DC-NJ", "--param", "to_location_id=DC-CHI",
    "--param", "item_id=SKU100013", "--param", "quantity=4", "--param", "ship_date=2026-03-21",
)  # fmt: skip


@pytest.fixture(scope="module")
def cli(settings):
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(main, ["--home", str(settings.home), *args])
        return result.exit_code, result.output

    return run


def test_permissions_are_granted_revoked_and_listed(cli):
    code, out = cli("users", "grant", "pat", "kpi_owner")
    assert code == 0, out
    assert "pat now holds: kpi_owner." in out
    rows = {r["name"]: r for r in json.loads(cli("users", "list", "--format", "json")[1])}
    assert rows["pat"]["permissions"] == "kpi_owner"
    assert rows["ada"]["permissions"] == "-"
    code, out = cli("users", "revoke", "pat", "kpi_owner")
    assert "pat now holds: none." in out
    code, out = cli("users", "grant", "pat", "boss")
    assert code == 2
    assert "'boss' is not one of 'planner_lead', 'kpi_owner'" in out


def test_check_rules_prints_the_rules_or_the_mistake(cli, settings):
    path = settings.approval_rules_path
    code, out = cli("requests", "check-rules")
    assert code == 0
    assert "every request is approved at once" in out
    path.write_text(
        "rules:\n  - name: t\n    request_types: [stock_transfer]\n    approver_role: chief\n"
    )
    code, out = cli("requests", "check-rules")
    assert code == 1
    assert f"{path}, line 4: 'approver_role' is 'chief'" in out
    path.write_text(
        "rules:\n  - name: small transfers\n    request_types: [stock_transfer]\n"
        "    min_value: 1\n    approver_role: admin\n"
    )
    code, out = cli("requests", "check-rules", "--format", "json")
    assert json.loads(out) == [
        {
            "name": "small transfers",
            "request_types": "stock_transfer",
            "min_value": 1.0,
            "approver_role": "admin",
            "approver_permission": None,
        }
    ]


def test_raise_approve_show_and_list(cli, settings, store):
    settings.approval_rules_path.write_text(
        "rules:\n  - name: small transfers\n    request_types: [stock_transfer]\n"
        "    min_value: 1\n    approver_role: admin\n"
    )
    item = first_item(store, "stockout_risk", location_id="DC-CHI")
    code, out = cli(
        "requests", "raise", str(item.id), "--type", "stock_transfer", *TRANSFER, "--user", "pat"
    )
    assert code == 0, out
    request = json.loads(out)
    assert (request["status"], request["params"]["quantity"]) == ("pending_approval", 4.0)
    rid, version = str(request["id"]), str(request["version"])
    code, out = cli("requests", "approve", rid, "--user", "pat", "--expect-version", version)
    assert code == 1
    assert "needs approval by a admin" in out
    code, out = cli("requests", "reject", rid, "--user", "ada", "--expect-version", version)
    assert "a rejection needs a note" in out
    code, out = cli("requests", "approve", rid, "--user", "ada", "--expect-version", version)
    assert code == 0, out
    assert json.loads(out)["decided_by"] == "ada"
    shown = json.loads(cli("requests", "show", rid, "--user", "pat")[1])
    assert [e["event"] for e in shown["events"]] == ["raised", "approved", "delivered"]
    assert shown["request"]["status"] == "sent"
    listed = json.loads(
        cli("requests", "list", "--user", "pat", "--view", "mine", "--format", "json")[1]
    )
    assert int(rid) in [r["id"] for r in listed]


def test_a_bad_field_is_named(cli, store):
    item = first_item(store, "stockout_risk", location_id="DC-CHI")
    code, out = cli("requests", "raise", str(item.id), "--type", "stock_transfer", *TRANSFER,
                    "--param", "quantity=0", "--user", "pat")  # fmt: skip
    assert code == 1
    assert "quantity='0': Quantity (eaches) must be more than 0" in out
    code, out = cli(
        "requests", "raise", str(item.id), "--type", "recount", "--param", "x", "--user", "pat"
    )
    assert "'x': write NAME=VALUE" in out

"""Certifying a KPI from the catalog in a real browser.

A private copy of the small demo whose definitions differ from what its snapshot recorded:
`backorder_aging` (a draft) has a new target, as version 2. The executive (eve) holds
`kpi_owner`: she certifies version 2 with a note and sees herself as its approver and the
diff from version 1. The finance user has no button, and a callback forged from their page is
refused: nothing is recorded.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import pytest

from control_tower.kpi.catalog import DEFAULT_DIR, load_catalog
from tests.support.data_copies import app_db, private_copy
from tests.support.served import serve
from tests.support.web_users import USERS, cheap_accounts

TIMEOUT_MS = 20_000
KPI = "backorder_aging"
CARD = f"#catalog-card-{KPI}"
FORGE = """
async (body) => {
  const r = await fetch('/_dash-update-component', {
    method: 'POST',
    headers: {'Content-Type': 'application/json'},
    body: JSON.stringify(body),
  });
  return {status: r.status, body: await r.text()};
}
"""


@pytest.fixture(scope="module")
def site(demo_settings, tmp_path_factory):
    home = tmp_path_factory.mktemp("catalog-signoff")
    settings = private_copy(demo_settings, home)
    definitions = home / "definitions" / "kpi_definitions"
    shutil.copytree(DEFAULT_DIR, definitions)
    path = definitions / f"{KPI}.yml"
    text = path.read_text()
    assert "target: 3\n" in text
    assert "version: 1\n" in text
    path.write_text(
        text.replace("target: 3\n", "target: 4\n").replace("version: 1\n", "version: 2\n")
    )
    settings = replace(settings, kpi_definitions_dir=definitions)
    with cheap_accounts(settings) as accounts:
        accounts.grant(USERS["executive"], "kpi_owner")
    yield from serve(settings)


def signoffs(settings, kpi: str) -> list[tuple]:
    with app_db(settings) as db:
        return list(
            db.execute(
                "SELECT version, content_hash, signed_by, role, note FROM kpi_signoffs "
                "WHERE kpi = ?",
                [kpi],
            ).fetchall()
        )


def open_card(page, site, name: str) -> None:
    page.goto(site.url + f"/catalog?q={name}")
    page.wait_for_selector(f"#catalog-card-{name}", timeout=60_000)


def test_a_kpi_owner_certifies_a_draft_and_sees_the_approver_and_the_diff(tab_as, site, artifacts):
    current = load_catalog(site.settings.kpi_definitions).kpi(KPI)
    assert (current.version, current.status) == (2, "draft")
    page = tab_as(site, "executive", timeout_ms=TIMEOUT_MS)
    open_card(page, site, KPI)
    card = page.locator(CARD)
    assert "Draft" in card.locator(".catalog-card-head").inner_text()
    assert "not certified: no sign-off of v2" in card.inner_text()
    # v1 is what the snapshot recorded; v2, the current definition, is not recorded yet.
    versions = card.locator(".catalog-versions").inner_text()
    assert "not recorded yet" in versions
    button = card.locator("button", has_text="Certify version 2")
    assert button.count() == 1
    card.locator(".catalog-certify-note input").fill(
        "Target raised to 4 days with customer service"
    )
    button.click()
    page.wait_for_function(
        f"() => document.querySelector('{CARD}').innerText.includes('Certified: v2 signed off by')"
    )
    assert card.locator("button", has_text="Certify version").is_hidden()
    assert "Certified" in card.locator(".catalog-card-head").inner_text()
    first_row = card.locator(".catalog-versions tbody tr").first.inner_text()
    assert "v2" in first_row
    assert USERS["executive"] in first_row
    assert "Certified" in first_row
    card.locator(".catalog-diff-details summary", has_text="Changes from v1 to v2").click()
    diff = card.locator(".catalog-diff").inner_text()
    assert f"--- {KPI}.yml (v1)" in diff
    assert "-target: 3" in diff
    assert "+target: 4" in diff
    assert "-version: 1" in diff
    page.screenshot(path=str(artifacts / "catalog-signoff.png"), full_page=False)
    # Straight from the app database: who signed off which version and content.
    assert signoffs(site.settings, KPI) == [
        (
            2,
            current.content_hash,
            USERS["executive"],
            "executive",
            "Target raised to 4 days with customer service",
        )
    ]
    # Opened again, the KPI is certified and its form is gone.
    open_card(page, site, KPI)
    assert "v2 signed off by " + USERS["executive"] in card.inner_text()
    assert card.locator(".catalog-certify").count() == 0


def _forged_body(name: str, version: int, digest: str) -> dict:
    def key(kind: str) -> dict:
        return {"kpi": name, "type": kind}

    def wild(kind: str) -> str:
        return json.dumps({"kpi": ["MATCH"], "type": kind}, separators=(",", ":"))

    outputs = [
        ("catalog-certify-result", "children"),
        ("catalog-certify-form", "hidden"),
        ("catalog-status-badge", "children"),
        ("catalog-certified-by", "children"),
        ("catalog-history", "children"),
    ]
    button = key("catalog-certify")
    return {
        "output": ".." + "...".join(f"{wild(k)}.{p}" for k, p in outputs) + "..",
        "outputs": [{"id": key(k), "property": p} for k, p in outputs],
        "inputs": [{"id": button, "property": "n_clicks", "value": 1}],
        "state": [
            {"id": button, "property": "id", "value": button},
            {"id": key("catalog-certify-note"), "property": "value", "value": "forged"},
            {"id": key("catalog-certify-seen"), "property": "data", "value": [version, digest]},
        ],
        "changedPropIds": [json.dumps(button, separators=(",", ":")) + ".n_clicks"],
    }


def test_without_kpi_owner_there_is_no_button_and_a_forged_callback_is_refused(tab_as, site):
    name = "inventory_turns"
    kpi = load_catalog(site.settings.kpi_definitions).kpi(name)
    assert kpi.status == "draft"
    page = tab_as(site, "finance", timeout_ms=TIMEOUT_MS)
    open_card(page, site, name)
    assert page.locator(".catalog-certify").count() == 0
    assert page.locator("button", has_text="Certify version").count() == 0
    answer = page.evaluate(FORGE, _forged_body(name, kpi.version, kpi.content_hash))
    assert answer["status"] == 200, answer
    response = json.loads(answer["body"])["response"]
    (result,) = [v for k, v in response.items() if "catalog-certify-result" in k]
    assert f"Not certified: {USERS['finance']} may not certify KPIs" in json.dumps(result)
    assert "kpi_owner permission" in json.dumps(result)
    assert signoffs(site.settings, name) == []

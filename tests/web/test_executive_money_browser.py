"""The executive page's money in a real browser, on a private copy of the small demo.

An executive sees the value at risk and the backlog value of every site, with the reporting
currency's code, equal to independent queries of the snapshot (`support.money_figures`), the
value at risk of each queue, and the league table of the four sites. An executive scoped to
one site (DC-NJ) sees that site's money only: value at risk, backlog and inventory of DC-NJ,
one row in the site table and in the league table.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from control_tower.exceptions.registry import type_label
from control_tower.kpi.serving import latest_as_of
from control_tower.storage.serving import open_snapshot
from control_tower.web.format import fmt_amount
from tests.support.data_copies import private_copy
from tests.support.money_figures import (
    backlog,
    reporting_currency,
    value_at_risk,
    value_at_risk_by_type,
)
from tests.support.served import Served, serve, signed_in_tab
from tests.support.web_users import PASSWORD, SUPERVISOR_SITE, USERS, cheap_accounts

TIMEOUT_MS = 20_000
SCOPED = "esme"  # an executive who sees SUPERVISOR_SITE only
SITES = ("DC-CHI", "DC-NJ", "DC-RNO", "DC-RTM")


@pytest.fixture(scope="module")
def site(demo_settings, tmp_path_factory) -> Iterator[Served]:
    settings = private_copy(demo_settings, tmp_path_factory.mktemp("executive-money"))
    with cheap_accounts(settings) as accounts:
        accounts.create_user(SCOPED, "executive", PASSWORD, locations=[SUPERVISOR_SITE])
    yield from serve(settings)


@pytest.fixture(scope="module")
def con(site: Served):
    folder = site.settings.serving_dir
    cur = open_snapshot(folder / (folder / "CURRENT").read_text().strip())
    yield cur
    cur.close()


def _open(browser: Any, site: Served, name: str) -> Any:
    return signed_in_tab(browser, site.session_cookie(name), timeout_ms=TIMEOUT_MS)


def _value(tab: Any, tile: str) -> str:
    return tab.inner_text(f"#{tile} .kpi-value").splitlines()[0].strip()


def _rows(tab: Any, table: str) -> list[list[str]]:
    return tab.eval_on_selector_all(
        f"#{table} tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.innerText.trim()))"
    )


def test_the_money_equals_independent_queries(browser, site, con, artifacts):
    as_of = latest_as_of(con)
    rc = reporting_currency(con)
    with _open(browser, site, USERS["executive"]) as tab:
        tab.goto(site.url + "/executive")
        tab.wait_for_selector("#executive-money-var .kpi-value")
        assert _value(tab, "executive-money-var") == fmt_amount(value_at_risk(con), rc)
        total, missing = backlog(con, as_of)
        assert _value(tab, "executive-money-backlog") == fmt_amount(total, rc)
        for name in missing:
            assert name in tab.inner_text("#executive-money-backlog")
        by_type = value_at_risk_by_type(con)
        queues = {r[0]: r[2] for r in _rows(tab, "executive-var-queues")}
        assert queues == {type_label(t): fmt_amount(v, rc) for t, v in by_type.items()}
        sites = [r[0] for r in _rows(tab, "executive-money-sites")]
        assert set(SITES) <= set(sites)
        for row in _rows(tab, "executive-money-sites"):
            if row[0] in SITES:
                assert row[1] == fmt_amount(value_at_risk(con, row[0]), rc), row
        tab.wait_for_selector("#executive-league-table")
        league = [r[1] for r in _rows(tab, "executive-league-table")]
        assert sorted(league) == sorted(SITES)
        tab.screenshot(path=str(artifacts / "executive-money.png"), full_page=True)


def test_an_executive_scoped_to_a_site_sees_that_sites_money_only(browser, site, con):
    as_of = latest_as_of(con)
    rc = reporting_currency(con)
    with _open(browser, site, SCOPED) as tab:
        tab.goto(site.url + "/executive")
        tab.wait_for_selector("#executive-money-var .kpi-value")
        var = value_at_risk(con, SUPERVISOR_SITE)
        assert var < value_at_risk(con)  # the other sites hold items too
        assert _value(tab, "executive-money-var") == fmt_amount(var, rc)
        total, _missing = backlog(con, as_of, SUPERVISOR_SITE)
        assert _value(tab, "executive-money-backlog") == fmt_amount(total, rc)
        assert [r[0] for r in _rows(tab, "executive-money-sites")] == [SUPERVISOR_SITE]
        tab.wait_for_selector("#executive-league-table")
        assert [r[1] for r in _rows(tab, "executive-league-table")] == [SUPERVISOR_SITE]
        page = tab.inner_text("#executive-money")
        assert not any(other in page for other in SITES if other != SUPERVISOR_SITE)

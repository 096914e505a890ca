"""Small landed data folders, the app served by waitress on a free loopback port, and a browser.

The extracts (one run, batch ids in load order):

    batch  file                        status    rows  quarantined
    1      erp/bogus.csv               rejected  -     -     (name is no table)
    2      erp/locations.csv           loaded    1     0
    3      erp/items.csv               loaded    1     0
    4      erp/customers.csv           loaded    1     0
    5      erp/sales_order_lines.csv   loaded    251   241   (order line k, k = 1..250, has
                                                              ordered_qty -k unless k % 25 == 0;
                                                              line 252 names customer C9)

241 problems (240 negative quantities + 1 unknown customer) fill three blocks
of the quarantine browser's infinite row model (100 rows per block).

Each data folder has one user per role (`web_users.USERS`; the warehouse
supervisor sees only DC-NJ). Browser tests sign in with a session cookie
obtained over HTTP from the login form (`Served.session_cookie`), except where
signing in is what they test.

`served_demo`: the session's small demo (`demo_settings` of tests/conftest.py, extract
taken at a fixed date), served for the pages that show KPIs, queues and records.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from control_tower.settings import Settings, load_settings
from pipelines.run import run_pipeline
from tests.support.served import CHROMIUM, CHROMIUM_ARGS, Served, serve, signed_in_tab
from tests.support.web_users import USERS, add_test_users

ORDER_LINES = 250


def write_inbox(inbox: Path) -> None:
    """The extracts of the module docstring."""
    erp = inbox / "erp"
    erp.mkdir(parents=True)
    stamp = "2025-01-01T00:00:00Z"
    (erp / "bogus.csv").write_text("a,b\n1,2\n")
    (erp / "locations.csv").write_text(
        "location_id,name,entity_id,region,timezone,wave_based,updated_at\n"
        f"DC1,Dallas DC,E1,south,America/Chicago,true,{stamp}\n"
    )
    (erp / "items.csv").write_text(
        "item_id,description,category,abc_class,case_qty,unit_cost,unit_price,supplier_id,"
        f"lead_time_days,updated_at\nI1,Widget,hardware,A,12,1.50,2.50,S1,7,{stamp}\n"
    )
    (erp / "customers.csv").write_text(
        f"customer_id,name,segment,priority_tier,region,updated_at\nC1,Acme,retail,1,south,{stamp}\n"
    )
    lines = [
        "order_id,line_no,entity_id,customer_id,item_id,location_id,channel,order_ts,ordered_qty,"
        "uom,unit_price,requested_date,promised_date,status,updated_at"
    ]
    for k in range(1, ORDER_LINES + 1):
        qty = 5 if k % 25 == 0 else -k
        lines.append(
            f"SO{k},1,E1,C1,I1,DC1,edi,2025-03-01T10:00:00,{qty},EA,2.50,2025-03-05,2025-03-05,"
            "open,2025-03-01T10:00:00"
        )
    lines.append(
        "SO999,1,E1,C9,I1,DC1,edi,2025-03-01T10:00:00,1,EA,2.50,2025-03-05,2025-03-05,"
        "open,2025-03-01T10:00:00"
    )
    (erp / "sales_order_lines.csv").write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="package")
def landed_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A data folder with the extracts of the module docstring landed and published."""
    home = tmp_path_factory.mktemp("landed")
    settings = load_settings(home).with_home(home)
    write_inbox(home / "drop")
    run_pipeline(settings, trigger="cli", inbox=home / "drop", keep=True)
    add_test_users(settings)
    return settings


@pytest.fixture(scope="package")
def empty_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A data folder where nothing has been landed."""
    home = tmp_path_factory.mktemp("empty")
    settings = load_settings(home).with_home(home)
    add_test_users(settings)
    return settings


@pytest.fixture(scope="package")
def served_demo(demo_settings: Settings) -> Iterator[Served]:
    yield from serve(demo_settings)


@pytest.fixture(scope="package")
def served(landed_settings: Settings) -> Iterator[Served]:
    yield from serve(landed_settings)


@pytest.fixture(scope="package")
def served_empty(empty_settings: Settings) -> Iterator[Served]:
    yield from serve(empty_settings)


@pytest.fixture(scope="package")
def browser():
    """Debian's chromium driven by Playwright (never a downloaded browser)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is missing: pip install playwright"
    )
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="package")
def artifacts() -> Path:
    """tests/artifacts/ (git-ignored): screenshots to look at after a run."""
    folder = Path(__file__).resolve().parents[1] / "artifacts"
    folder.mkdir(exist_ok=True)
    return folder


@pytest.fixture
def tab_as(browser: Any) -> Iterator[Callable[..., Any]]:
    """Opens pages signed in as a role: `tab_as(served, role, **options)` (options of
    `signed_in_tab`); every page closes, and its browser errors fail the test, at teardown."""
    with ExitStack() as stack:

        def open_tab(served: Served, role: str, **options: Any) -> Any:
            cookie = served.session_cookie(USERS[role])
            return stack.enter_context(signed_in_tab(browser, cookie, **options))

        yield open_tab

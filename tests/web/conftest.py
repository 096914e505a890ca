"""A landed data folder, the app served by waitress on a free loopback port, and a browser.

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

`demo_settings` / `served_demo`: the small generated demo (seed 7, extract
taken today, as `control-tower demo` does), landed once with every post-load
step, for the pages that show KPIs, queues and records.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pytest

from control_tower.demo.generator import default_as_of, generate
from control_tower.kpi.catalog import Catalog
from control_tower.kpi.views import cached_catalog
from control_tower.settings import Settings, load_settings
from control_tower.web import create_app, make_server
from control_tower.web.runtime import EXTENSION_KEY
from pipelines.run import run_pipeline
from tests.support.web_users import USERS, add_test_users, cheap_accounts, http_sign_in

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
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


@dataclass(frozen=True)
class Served:
    """An app served on a loopback port, with a cache of signed-in session cookies."""

    settings: Settings
    url: str
    _cookies: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def session_cookie(self, name: str) -> dict[str, str]:
        """A Playwright cookie of a session signed in as `name` (signed in once, then reused)."""
        if name not in self._cookies:
            self._cookies[name] = http_sign_in(self.url, name)
        return {"name": "ct_session", "value": self._cookies[name], "url": self.url}


def _serve(settings: Settings) -> Iterator[Served]:
    app = create_app(settings, accounts=cheap_accounts(settings))
    server = make_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, name="waitress-test", daemon=True)
    thread.start()
    try:
        yield Served(settings, f"http://127.0.0.1:{server.effective_port}")
    finally:
        server.close()
        server.task_dispatcher.shutdown()
        thread.join(timeout=5)
        app.server.extensions[EXTENSION_KEY].store.close()
        app.server.extensions[EXTENSION_KEY].accounts.close()


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
def demo_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The small demo landed and published (see the module docstring); do not change it."""
    home = tmp_path_factory.mktemp("demo")
    settings = load_settings(home).with_home(home)
    generate(home / "drop", seed=7, scale="small", as_of=default_as_of())
    report = run_pipeline(settings, trigger="cli", inbox=home / "drop")
    assert report.status == "ok", report
    add_test_users(settings)
    return settings


@pytest.fixture(scope="package")
def served_demo(demo_settings: Settings) -> Iterator[Served]:
    yield from _serve(demo_settings)


@pytest.fixture(scope="package")
def served(landed_settings: Settings) -> Iterator[Served]:
    yield from _serve(landed_settings)


@pytest.fixture(scope="package")
def served_empty(empty_settings: Settings) -> Iterator[Served]:
    yield from _serve(empty_settings)


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


@pytest.fixture(scope="module")
def app(demo_settings: Settings) -> Any:
    """The web app over the small demo (not served), for Flask's test client."""
    return create_app(demo_settings, accounts=cheap_accounts(demo_settings))


@pytest.fixture(scope="module")
def snapshot(demo_settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the small demo's newest serving snapshot."""
    folder = demo_settings.serving_dir
    con = duckdb.connect(str(folder / (folder / "CURRENT").read_text().strip()), read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module")
def catalog(demo_settings: Settings) -> Catalog:
    """The small demo's KPI catalog."""
    return cached_catalog(demo_settings.kpi_definitions)


TAB_TIMEOUT_MS = 15_000


@contextmanager
def signed_in_tab(
    browser: Any,
    cookie: dict[str, str] | None,
    *,
    viewport: tuple[int, int] = (1440, 900),
    timeout_ms: int = TAB_TIMEOUT_MS,
    watch: tuple[str, ...] = ("pageerror", "console"),
) -> Iterator[Any]:
    """A fresh page in its own browser context, carrying the session `cookie` (None: signed
    out). On leaving, the context closes and any browser error `watch`ed ("pageerror": an
    uncaught page error, "console": a console error) fails the test."""
    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
    if cookie is not None:
        context.add_cookies([cookie])
    tab = context.new_page()
    tab.set_default_timeout(timeout_ms)
    errors: list[str] = []
    if "pageerror" in watch:
        tab.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    if "console" in watch:
        tab.on(
            "console",
            lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None,
        )
    try:
        yield tab
    finally:
        context.close()
    assert errors == [], errors


@pytest.fixture
def tab_as(browser: Any) -> Iterator[Callable[..., Any]]:
    """Opens pages signed in as a role: `tab_as(served, role, **options)` (options of
    `signed_in_tab`); every page closes, and its browser errors fail the test, at teardown."""
    with ExitStack() as stack:

        def open_tab(served: Served, role: str, **options: Any) -> Any:
            cookie = served.session_cookie(USERS[role])
            return stack.enter_context(signed_in_tab(browser, cookie, **options))

        yield open_tab

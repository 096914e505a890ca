"""The web app served by waitress on a free loopback port, and browser tabs signed in to it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from control_tower.settings import Settings
from control_tower.web import create_app, make_server
from control_tower.web.runtime import EXTENSION_KEY
from tests.support.web_users import cheap_accounts, http_sign_in

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
TAB_TIMEOUT_MS = 15_000


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


def serve(settings: Settings) -> Iterator[Served]:
    """The app over `settings`, served until the generator is closed (a fixture's body)."""
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
